import { assertEquals } from "../support/assert.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { interleaved } from "../../bench/console/interleave.ts";

Deno.test("interleaved 10,000 pipelined operations over four console sessions keep each session's order", async () => {
  const hive = HostedHive.start({ noNinep: true, consolePort: 0 });
  try {
    const r = await interleaved(hive.consolePort, 4, 2500, 32);
    assertEquals([r.ops, r.reordered], [10000, 0]);
  } finally {
    await hive.stop();
  }
});
