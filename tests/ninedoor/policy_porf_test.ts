/**
 * Parity: the policy gate, the approval queue and /replay booted from configs/full.toml give the
 * same bytes under Deno and under Porffor (`porf`): EPERM without approval, OK once, EPERM again,
 * the replay of two control writes with `"entries":2` and one FNV-1a 64 hash, EINVAL past the end;
 * then /host: the agent's publish, the gated restart, two k8s writes and their replay.
 */
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { EINVAL, EPERM } from "../../src/secure9p/errors.ts";
import { fnvRef } from "../support/fnv_ref.ts";
import { buildPolicyDriver, decodeDriver } from "./policy_porf.ts";
import { runDenoAndPorf } from "../support/porf.ts";

Deno.test("policy gate and /replay under porf: byte-identical to Deno, entries 2, same hash", async () => {
  const dir = await Deno.makeTempDir({ prefix: "policy-porf-" });
  try {
    const bundle = await buildPolicyDriver(dir, 0);
    const [denoOut, porfOut] = await runDenoAndPorf(bundle);
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
      (decisions as string).trim().split("\n").slice(0, 4).map((l) => JSON.parse(l).decision),
      ["deny", "queued", "consumed", "deny"],
    );
    // /host: publish, restart EPERM -> approved OK once -> EPERM, two k8s writes, their replay.
    const [hello, entry1, entry2, hostDeny, hostQueued, restart, hostAgain, k8sCordon, k8sDrain, hostReplay, hostReplayStatus, actions] =
      deno.slice(11);
    assertEquals([hello, entry1, entry2, hostDeny, hostQueued, restart, hostAgain, k8sCordon, k8sDrain, hostReplay], [
      16,
      52,
      22,
      -EPERM,
      87,
      7,
      -EPERM,
      6,
      5,
      10,
    ]);
    const hs = JSON.parse(hostReplayStatus as string);
    assertEquals([hs.entries, hs.from], [2, 4]);
    // The porf bytes equal Deno's, and Deno's hash is the BigInt reference over the two k8s writes.
    assertEquals(hs.hash, fnvRef(["/host/k8s/node/node-1/cordon", "cordon", "/host/k8s/node/node-1/drain", "drain"]));
    assertEquals(
      actions,
      "seq=1 action=restart target=/host/systemd/cohesix-agent.service\n" +
        "seq=2 action=cordon target=/host/k8s/node/node-1\nseq=3 action=drain target=/host/k8s/node/node-1\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
