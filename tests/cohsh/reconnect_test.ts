import { assert, assertEquals, assertMatch, assertRejects } from "../support/assert.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { ConsoleClient } from "../../src/host/cohsh/client.ts";
import { Shell } from "../../src/host/cohsh/shell.ts";

function shellFor(port: number, notices: string[], waits: number[]): Promise<Shell> {
  const open = () => ConsoleClient.connectTcp("127.0.0.1", port, "changeme", 2000);
  return open().then((c) => new Shell(c, open, (l) => notices.push(l), (ms) => (waits.push(ms), Promise.resolve())));
}

Deno.test("Shell reconnects after the hive restarts and re-attaches with the cached role", async () => {
  const first = HostedHive.start({ noNinep: true, consolePort: 0 });
  const port = first.consolePort;
  const notices: string[] = [];
  const waits: number[] = [];
  const shell = await shellFor(port, notices, waits);
  assertEquals((await shell.execute("attach queen"))?.ackLine, "OK ATTACH role=queen");
  await first.stop();
  const dropped = await shell.execute("ping").catch((e) => e as Error);
  assert(dropped instanceof Error || dropped?.closed, "the drop is reported on the command that saw it");
  const second = HostedHive.start({ noNinep: true, consolePort: port });
  try {
    const r = await shell.execute("cat /proc/boot");
    assertMatch(r!.ackLine, /^OK CAT path=\/proc\/boot/);
    assertEquals(notices, [
      "cohsh: connection to the hive lost; reconnecting (try 1 of 3) in 200 ms",
      `cohsh: reconnected to tcp 127.0.0.1:${port} (attach queen)`,
    ]);
    assertEquals(waits, [200]);
    shell.close();
  } finally {
    await second.stop();
  }
});

Deno.test("Shell gives up after three reconnect tries with back-off and says so", async () => {
  const hive = HostedHive.start({ noNinep: true, consolePort: 0 });
  const notices: string[] = [];
  const waits: number[] = [];
  const shell = await shellFor(hive.consolePort, notices, waits);
  await shell.execute("attach queen");
  await hive.stop();
  await shell.execute("ping").catch(() => null);
  await assertRejects(() => shell.execute("ping"), /Cannot reconnect to the hive after 3 tries \(Cannot reach the hive console/);
  assertEquals(waits, [200, 400, 800]);
  assertEquals(notices.length, 3);
  shell.close();
});

Deno.test("Shell heartbeat answers while the hive is up and marks a dead link", async () => {
  const hive = HostedHive.start({ noNinep: true, consolePort: 0 });
  const shell = await shellFor(hive.consolePort, [], []);
  assertEquals(await shell.heartbeat(), true);
  await hive.stop();
  assertEquals(await shell.heartbeat(), false);
  shell.close();
});
