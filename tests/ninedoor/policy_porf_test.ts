/**
 * Parity: the policy gate, the approval queue and /replay booted from configs/full.toml give the
 * same bytes under Deno and under Porffor (`porf`): EPERM without approval, OK once, EPERM again,
 * the replay of two control writes with `"entries":2` and one FNV-1a 64 hash, EINVAL past the end.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { EINVAL, EPERM } from "../../src/secure9p/errors.ts";
import { buildPolicyDriver, decodeDriver, runDriverDeno, runDriverPorf } from "./policy_porf.ts";

Deno.test("policy gate and /replay under porf: byte-identical to Deno, entries 2, same hash", async () => {
  const dir = await Deno.makeTempDir({ prefix: "policy-porf-" });
  try {
    const bundle = await buildPolicyDriver(dir, 0);
    const [denoOut, porfOut] = await Promise.all([runDriverDeno(bundle), runDriverPorf(bundle)]);
    const deno = decodeDriver(denoOut);
    assertEquals(decodeDriver(porfOut), deno);
    const [deny, queued, spawned, status, again, cordon, resume, replay, past, replayStatus, decisions] =
      deno;
    assertEquals([deny, queued, spawned, again, cordon, resume, replay, past], [
      -EPERM,
      54,
      33,
      -EPERM,
      25,
      6,
      10,
      -EINVAL,
    ]);
    assertStringIncludes(status as string, "state=consumed\n");
    const st = JSON.parse(replayStatus as string);
    assertEquals([st.entries, st.targets, st.from, st.refused], [2, 1, 1, 1]);
    assertEquals(BigInt("0x" + st.hash), (BigInt(st.hash_hi) << 32n) | BigInt(st.hash_lo));
    assertEquals(
      (decisions as string).trim().split("\n").map((l) => JSON.parse(l).decision),
      ["deny", "queued", "consumed", "deny"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
