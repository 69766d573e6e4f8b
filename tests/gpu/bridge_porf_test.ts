/**
 * Parity: the GPU bridge extension (snapshot upload, lease queue, ttl expiry, breadcrumbs, models,
 * LoRA export) booted from configs/full.toml gives the same bytes under Deno and under Porffor
 * (`porf`), and those bytes are the expected ones.
 */
import { bootConfigFromManifest } from "../../src/codegen/mod.ts";
import { EINVAL, ENOENT } from "../../src/secure9p/errors.ts";
import { infoJson, parseNvidiaSmi } from "../../src/host/gpu/nvidia_smi.ts";
import { encodeSnapshot, sha256Hex, uploadLines } from "../../src/host/gpu/snapshot.ts";
import { assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bundleFixture, runDenoAndPorf } from "../support/porf.ts";
import { decodeDriver } from "../ninedoor/policy_porf.ts";

const ROOT = new URL("../../", import.meta.url);

Deno.test("gpu bridge under porf: byte-identical to Deno (upload, leases by priority, ttl, breadcrumbs, models, lora export)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bridge-porf-" });
  try {
    const boot = await bootConfigFromManifest(new URL("configs/full.toml", ROOT).pathname);
    const gpus = parseNvidiaSmi(await Deno.readTextFile(new URL("./fixtures/a100_x2.csv", import.meta.url)));
    const bytes = encodeSnapshot({
      gpus: gpus.slice(0, 1),
      models: [{ id: "m-a", manifest: 'id = "m-a"\n' }, { id: "m-b", manifest: 'id = "m-b"\n' }],
    });
    const upload = uploadLines(bytes);
    const badDigest = `begin bytes=${bytes.length} sha256=${"0".repeat(64)}`;
    await Deno.writeTextFile(
      `${dir}/bridge_porf_boot.ts`,
      `import type { BootConfig } from "${new URL("src/guest/boot.ts", ROOT).pathname}";\n` +
        `export const BOOT: BootConfig = ${JSON.stringify(boot)};\n` +
        `export const UPLOAD: string[] = ${JSON.stringify(upload)};\n` +
        `export const BAD_DIGEST = ${JSON.stringify(badDigest)};\n` +
        `export const GPU_UUID = ${JSON.stringify(gpus[0].uuid)};\n`,
    );
    const bundle = await bundleFixture(new URL("./fixtures/bridge_porf_entry.ts", import.meta.url), dir);
    const [denoOut, porfOut] = await runDenoAndPorf(bundle);
    const deno = decodeDriver(denoOut);
    assertEquals(decodeDriver(porfOut), deno);
    const [endNoBegin, dataNoBegin, badBegin, badEnd, errStatus] = deno;
    assertEquals([endNoBegin, dataNoBegin, badBegin, badEnd], [-EINVAL, -EINVAL, badDigest.length, -EINVAL]);
    assertEquals(errStatus, "state=err reason=sha256-mismatch\n");
    const n = upload.length;
    assertEquals(deno.slice(5, 5 + n), upload.map((l) => l.length));
    const [okStatus, info, manifest, l1, l2, l3, lease1, rel, lease2, lease3, job] = deno.slice(5 + n);
    assertEquals(okStatus, `state=ok bytes=${bytes.length} sha256=${sha256Hex(bytes)}\n`);
    assertEquals(info, infoJson(gpus[0]) + "\n");
    assertEquals(manifest, 'id = "m-b"\n');
    // Accepted writes answer their length.
    assertEquals([l1, l2, l3, rel], [
      "LEASE req=a mem_mb=64 streams=1 ttl_s=60 priority=1".length,
      "LEASE req=low mem_mb=64 streams=1 ttl_s=60 priority=2".length,
      "LEASE req=high mem_mb=64 streams=1 ttl_s=2 priority=9".length,
      "RELEASE".length,
    ]);
    const lines = (s: unknown) => (s as string).trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(lines(lease1).map((l) => [l.state, l.request, l.position ?? 0]), [["ACTIVE", "a", 0], ["QUEUED", "high", 1], ["QUEUED", "low", 2]]);
    assertEquals(lines(lease2).map((l) => [l.state, l.request, l.worker_id]), [["ACTIVE", "high", "worker-2"], ["QUEUED", "low", null]]);
    assertEquals(lines(lease3).map((l) => [l.state, l.request, l.worker_id]), [["ACTIVE", "low", "worker-3"]]);
    assertEquals(job, -EINVAL);
    const [crumb, badCrumb, actA, actB, actZ, active, tel, exit, cbor, ref, policy, status] = deno.slice(5 + n + 11);
    assertEquals([crumb, badCrumb, actA, actB, actZ], [
      '{"schema":"gpu-breadcrumb/v1","event":"START","command":"x","status":"RUNNING","exit_code":null}'.length,
      -EINVAL,
      3,
      3,
      -ENOENT,
    ]);
    assertEquals(active, "m-b\n");
    assertEquals(tel, 18);
    assertEquals(exit, '{"schema":"gpu-breadcrumb/v1","event":"EXIT","command":"x","status":"OK","exit_code":0,"duration_ms":4,"worker_id":"worker-3","lora_job":"j1"}'.length);
    // CBOR array(1) of text(17): the bytes 0x81 0x71 decode as U+FFFD and 'q'.
    assertEquals(cbor, "\ufffdq" + '{"token_count":7}');
    assertEquals(ref, "m-b\n");
    assertStringIncludes(policy as string, 'job = "j1"\ngpu_id = "GPU-0"\nworker_id = "worker-3"\nexit_code = 0\nduration_ms = 4');
    assertStringIncludes(status as string, '"lora_job":"j1"}\n');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
