/**
 * `lifecycle <action>` through cohsh, over the TCP console and over 9P, against a hosted hive: every
 * action from every state (the 30 pairs of reference §4: 14 invalid, 16 valid), the state and log
 * after each, the local refusal of an unknown action, and a cordoned hive refusing a worker attach.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type BootConfig, defaultBootConfig } from "../../src/guest/boot.ts";
import { runEmbeddedSession } from "../../src/host/demo/embedded.ts";
import type { TransportKind } from "../../src/host/cohsh/connect.ts";
import type { CohshSession } from "../../src/host/cohsh/shell.ts";
import { LIFECYCLE_ACTIONS, LIFECYCLE_STATES } from "../../src/guest/ninedoor/providers/lifecycle.ts";
import { toWire } from "../../src/host/cohsh/shell.ts";

const TRANSPORTS: TransportKind[] = ["tcp", "9p"];

/** The reference §4 table, written out here independently of the guest. */
const TABLE: Record<string, Record<string, string>> = {
  cordon: { ONLINE: "DRAINING", DEGRADED: "DRAINING" },
  drain: { DRAINING: "QUIESCED" },
  quiesce: { ONLINE: "QUIESCED", DEGRADED: "QUIESCED", DRAINING: "QUIESCED" },
  resume: { BOOTING: "ONLINE", DEGRADED: "ONLINE", DRAINING: "ONLINE", QUIESCED: "ONLINE", OFFLINE: "ONLINE" },
  reset: { DEGRADED: "BOOTING", ONLINE: "BOOTING", DRAINING: "BOOTING", QUIESCED: "BOOTING", OFFLINE: "BOOTING" },
};

function bootIn(state: string): BootConfig {
  const b = defaultBootConfig();
  b.lifecycle = { initialState: state, autoTransitions: [] };
  return b;
}

async function ack(s: CohshSession, line: string): Promise<string> {
  const r = await s.execute(line);
  return r?.ackLine ?? "";
}

async function logLines(s: CohshSession): Promise<string[]> {
  const r = await s.execute("log");
  return (r?.lines ?? []).filter((l) => l.startsWith("lifecycle "));
}

for (const transport of TRANSPORTS) {
  Deno.test(`cohsh lifecycle over ${transport}: all 30 action x state pairs transition or are refused as the table says`, async () => {
    let invalid = 0;
    let valid = 0;
    for (const from of LIFECYCLE_STATES) {
      await runEmbeddedSession(transport, async (s) => {
        assertEquals(await ack(s, "attach queen"), "OK ATTACH role=queen");
        for (const action of LIFECYCLE_ACTIONS) {
          const to = TABLE[action][from];
          if (to !== undefined) continue;
          const a = await ack(s, `lifecycle ${action}`);
          assertEquals(
            a,
            `ERR LIFECYCLE reason=policy detail=invalid-payload path=/queen/lifecycle/ctl error=EINVAL`,
            `${action} from ${from}`,
          );
          assertEquals(await ack(s, "cat /proc/lifecycle/state"), `OK CAT path=/proc/lifecycle/state data=state=${from}`);
          assertEquals((await logLines(s)).at(-1), `lifecycle denied action=${action} state=${from} reason=invalid-transition`);
          invalid++;
        }
      }, bootIn(from));
      for (const action of LIFECYCLE_ACTIONS) {
        const to = TABLE[action][from];
        if (to === undefined) continue;
        await runEmbeddedSession(transport, async (s) => {
          await ack(s, "attach queen");
          assertEquals(await ack(s, `lifecycle ${action}`), `OK LIFECYCLE action=${action}`);
          assertEquals(await ack(s, "cat /proc/lifecycle/state"), `OK CAT path=/proc/lifecycle/state data=state=${to}`);
          assertEquals(await ack(s, "cat /proc/lifecycle/reason"), `OK CAT path=/proc/lifecycle/reason data=reason=${action}`);
          assertEquals((await logLines(s)).at(-1), `lifecycle transition old=${from} new=${to} reason=${action}`);
        }, bootIn(from));
        valid++;
      }
    }
    assertEquals([invalid, valid], [14, 16]);
  });

  Deno.test(`cohsh lifecycle over ${transport}: a cordoned hive refuses worker attach and spawn, resume lets them in`, async () => {
    await runEmbeddedSession(transport, async (s) => {
      assertEquals(await ack(s, "attach queen"), "OK ATTACH role=queen");
      assertEquals(await ack(s, "cat /proc/lifecycle/state"), "OK CAT path=/proc/lifecycle/state data=state=ONLINE");
      assertEquals(await ack(s, "lifecycle cordon reason=maintenance"), "OK LIFECYCLE action=cordon reason=maintenance");
      assertEquals(
        await ack(s, "spawn heartbeat ticks=3"),
        "ERR SPAWN reason=policy detail=denied path=/queen/ctl error=EPERM",
      );
      assertEquals(await logLines(s), [
        "lifecycle transition old=BOOTING new=ONLINE reason=boot-complete",
        "lifecycle transition old=ONLINE new=DRAINING reason=maintenance",
        "lifecycle denied action=spawn state=DRAINING reason=gate-denied",
      ]);
    });
    // A worker attach while the hive is DRAINING (from a fresh session: one attach per session).
    await runEmbeddedSession(transport, async (s) => {
      const a = await ack(s, "attach worker-heartbeat");
      if (transport === "tcp") assertEquals(a, "ERR ATTACH reason=policy detail=lifecycle-denied state=DRAINING");
      else assert(a.startsWith("ERR ATTACH reason=policy"), a);
    }, bootIn("DRAINING"));
    // In ONLINE the same attach gets past the lifecycle gate and fails on the missing ticket instead.
    await runEmbeddedSession(transport, async (s) => {
      const a = await ack(s, "attach worker-heartbeat");
      assert(a.startsWith("ERR ATTACH") && !a.includes("lifecycle"), a);
    });
  });
}

Deno.test("cohsh refuses an unknown lifecycle action locally and passes the five actions through", () => {
  for (const action of LIFECYCLE_ACTIONS) {
    assertEquals(toWire(`lifecycle ${action}`), { kind: "wire", verb: 16, wire: `LIFECYCLE ${action}` });
  }
  assertEquals(toWire("lifecycle quiesce reason=rack-7"), { kind: "wire", verb: 16, wire: "LIFECYCLE quiesce reason=rack-7" });
  for (const bad of ["lifecycle explode", "lifecycle", "lifecycle cordon now", "lifecycle cordon reason=a|b"]) {
    const r = toWire(bad);
    assertEquals(r.kind, "local-error", bad);
    assert(r.kind === "local-error" && r.message.includes("cordon|drain|resume|quiesce|reset"), bad);
  }
});
