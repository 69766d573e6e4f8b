/** /queen/ctl under random and mutated input: never throws; a refused write changes nothing. */
import fc from "fast-check";
import { assert, assertEquals } from "../support/assert.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { NsClient } from "./ns_client.ts";

const SEEDS = [
  '{"spawn":"heartbeat","ticks":3}',
  '{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":64,"streams":1,"ttl_s":30,"priority":1}}',
  '{"kill":"worker-1"}',
  '{"budget":{"ttl_s":9,"ops":4,"ticks":2}}',
  '{"budget":{"ops":4},"worker":"worker-1"}',
  '{"bind":{"from":"/trace","to":"/queen"}}',
  '{"mount":{"service":"log","at":"/gpu"}}',
];

/** Everything a refused write must leave as it was (the log and trace grow by design). */
function snapshot(nd: NineDoor, q: NsClient): string {
  const mounts = (q.read("/proc/sessions") as string).match(/mounts=\d+/g);
  return JSON.stringify([
    q.read("/proc/workers"),
    mounts,
    q.read("/gpu/GPU-0/info"),
    q.read("/gpu/GPU-1/info"),
    nd.workers.seq,
  ]);
}

Deno.test("NineDoor /queen/ctl applies a random write completely or not at all", () => {
  const line = fc.oneof(
    fc.constantFrom(...SEEDS),
    fc.tuple(fc.constantFrom(...SEEDS), fc.nat(), fc.string({ maxLength: 3 })).map(([s, at, ins]) =>
      s.slice(0, at % (s.length + 1)) + ins + s.slice((at % (s.length + 1)) + 1)
    ),
    fc.string({ maxLength: 40 }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.array(line, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
      (writes) => {
        const nd = new NineDoor(defaultBootConfig());
        nd.advance(0);
        const q = new NsClient(nd, nd.attach("queen", ""));
        q.write("/queen/ctl", SEEDS[0]); // worker-1 exists for kill/budget lines
        for (const lines of writes) {
          const before = snapshot(nd, q);
          const text = lines.join("\n") + "\n";
          const r = q.write("/queen/ctl", text);
          if (r < 0) {
            assertEquals(
              snapshot(nd, q),
              before,
              `refused ${r} but changed state: ${JSON.stringify(text)}`,
            );
          } else assertEquals(r, new TextEncoder().encode(text).length);
          assert(nd.walk(q.session, nd.root(q.session), new Uint8Array([112, 114, 111, 99]), 0, 4) >= 0);
        }
      },
    ),
    { numRuns: 300, seed: 42 },
  );
});
