/**
 * The GPU bridge extension over the Namespace API, booted from configs/full.toml ([gpu.bridge] on):
 * the begin/b64/end snapshot upload and its refusals (no partial state), /gpu/<uuid>/info matching a
 * recorded nvidia-smi fixture, gpu-lease/v1 leases queued by priority and expiring by ttl on the
 * injected clock, gpu-breadcrumb/v1 lines on status, /gpu/models and /gpu/telemetry/schema.json.
 */
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { bootConfigFromManifest } from "../../src/codegen/mod.ts";
import type { BootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { EcosystemProviders } from "../../src/guest/ninedoor/ecosystem.ts";
import { EEXIST, EINVAL, EMSGSIZE, ENOENT, EROFS } from "../../src/secure9p/errors.ts";
import { infoJson, parseNvidiaSmi } from "../../src/host/gpu/nvidia_smi.ts";
import { encodeSnapshot, type Snapshot, sha256Hex, uploadLines } from "../../src/host/gpu/snapshot.ts";
import { NsClient } from "../ninedoor/ns_client.ts";

const FULL = await bootConfigFromManifest(new URL("../../configs/full.toml", import.meta.url).pathname);
const DEFAULT = await bootConfigFromManifest(new URL("../../configs/root_task.toml", import.meta.url).pathname);
const fixture = (name: string) => parseNvidiaSmi(Deno.readTextFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const enc = new TextEncoder();

function hive(boot: BootConfig = FULL) {
  const nd = new NineDoor(structuredClone(boot), null, new EcosystemProviders());
  nd.advance(0);
  return { nd, queen: new NsClient(nd, nd.attach("queen", "")) };
}

function ok(c: NsClient, path: string, text: string): void {
  assertEquals(c.write(path, text), enc.encode(text).length, `${path} <- ${text.slice(0, 80)}`);
}

function upload(c: NsClient, s: Snapshot): string {
  const bytes = encodeSnapshot(s);
  for (const l of uploadLines(bytes)) ok(c, "/gpu/bridge/ctl", l + "\n");
  return `state=ok bytes=${bytes.length} sha256=${sha256Hex(bytes)}\n`;
}

function leaseLines(c: NsClient, gpu = "GPU-0"): Record<string, unknown>[] {
  return (c.read(`/gpu/${gpu}/lease`) as string).trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("default manifest: no bridge files, status stays read-only; full: /gpu has bridge, models, telemetry", () => {
  const d = hive(DEFAULT);
  assertEquals(d.queen.list("/gpu"), ["GPU-0", "GPU-1"]);
  assertEquals(d.queen.write("/gpu/GPU-0/status", "x\n"), -EROFS);
  const f = hive();
  assertEquals(f.queen.list("/gpu"), ["GPU-0", "GPU-1", "bridge", "models", "telemetry"]);
  assertEquals(f.queen.list("/gpu/GPU-0"), ["info", "ctl", "job", "status", "lease"]);
  assertEquals(f.queen.read("/gpu/bridge/status"), "state=idle\n");
  const schema = JSON.parse(f.queen.read("/gpu/telemetry/schema.json") as string);
  assertEquals(schema.schema, "gpu-telemetry/v1");
  assert(schema.required.includes("latency_histogram"));
});

Deno.test("bridge snapshot: /gpu/<uuid>/info matches the fixture; a refresh replaces the set; the sim GPUs stay", () => {
  const { nd, queen } = hive();
  const a100 = fixture("a100_x2.csv");
  assertEquals(upload(queen, { gpus: a100, models: null }), queen.read("/gpu/bridge/status"));
  for (const g of a100) assertEquals(queen.read(`/gpu/${g.uuid}/info`), infoJson(g) + "\n");
  const info = JSON.parse(queen.read(`/gpu/${a100[0].uuid}/info`) as string);
  assertEquals([info.model, info.mem_mb, info.mem_used_mb, info.util_pct], ["NVIDIA A100-SXM4-40GB", 40960, 31744, 87]);
  // Refresh: utilisation moved, one GPU left, an H100 arrived.
  const moved = { ...a100[0], utilPct: 3, memUsedMb: 100 };
  const h100 = fixture("h100.csv");
  upload(queen, { gpus: [moved, ...h100], models: null });
  assertEquals(queen.read(`/gpu/${a100[0].uuid}/info`), infoJson(moved) + "\n");
  assertEquals(queen.read(`/gpu/${a100[1].uuid}/info`), -ENOENT);
  assertEquals(queen.read(`/gpu/${h100[0].uuid}/info`), infoJson(h100[0]) + "\n");
  assertStringIncludes(queen.read("/gpu/GPU-0/info") as string, '"simulated":true');
  assertStringIncludes(queen.read("/log/queen.log") as string, "gpu-bridge outcome=ok bytes=");
  // T4 with [N/A] fields publishes nulls.
  const t4 = fixture("t4_na.csv");
  upload(queen, { gpus: t4, models: null });
  assertEquals(JSON.parse(queen.read(`/gpu/${t4[1].uuid}/info`) as string).util_pct, null);
  assertEquals(nd.tree.liveCount > 0, true);
});

Deno.test("bridge refusals: end/data without begin (EINVAL, state kept), bad digest, oversize, bad records: nothing applied", () => {
  const { queen } = hive();
  assertEquals(queen.write("/gpu/bridge/ctl", "end\n"), -EINVAL);
  assertEquals(queen.write("/gpu/bridge/ctl", "b64:AAAA\n"), -EINVAL);
  assertEquals(queen.read("/gpu/bridge/status"), "state=idle\n");
  const a100 = fixture("a100_x2.csv");
  const good = upload(queen, { gpus: a100, models: null });
  const bytes = encodeSnapshot({ gpus: fixture("h100.csv"), models: null });
  const lines = uploadLines(bytes);
  // Wrong digest.
  ok(queen, "/gpu/bridge/ctl", `begin bytes=${bytes.length} sha256=${"0".repeat(64)}\n`);
  assertEquals(queen.read("/gpu/bridge/status"), "state=receiving bytes=0\n");
  for (const l of lines.slice(1, -1)) ok(queen, "/gpu/bridge/ctl", l + "\n");
  assertEquals(queen.write("/gpu/bridge/ctl", "end\n"), -EINVAL);
  assertEquals(queen.read("/gpu/bridge/status"), "state=err reason=sha256-mismatch\n");
  assertEquals(queen.read(`/gpu/${a100[0].uuid}/info`), infoJson(a100[0]) + "\n");
  assertEquals(queen.read(`/gpu/${fixture("h100.csv")[0].uuid}/info`), -ENOENT);
  // Short upload, oversize begin, bad base64, a record naming a simulated GPU.
  ok(queen, "/gpu/bridge/ctl", lines[0] + "\n");
  assertEquals(queen.write("/gpu/bridge/ctl", "end\n"), -EINVAL);
  assertEquals(queen.read("/gpu/bridge/status"), "state=err reason=short\n");
  assertEquals(queen.write("/gpu/bridge/ctl", `begin bytes=999999 sha256=${"0".repeat(64)}\n`), -EMSGSIZE);
  ok(queen, "/gpu/bridge/ctl", lines[0] + "\n");
  assertEquals(queen.write("/gpu/bridge/ctl", "b64:@@@@\n"), -EINVAL);
  assertEquals(queen.read("/gpu/bridge/status"), "state=err reason=bad-base64\n");
  const clash = encodeSnapshot({ gpus: [{ ...a100[0], uuid: "models" }], models: null });
  const clashLines = uploadLines(new TextEncoder().encode(new TextDecoder().decode(clash)));
  for (const l of clashLines.slice(0, -1)) ok(queen, "/gpu/bridge/ctl", l + "\n");
  assertEquals(queen.write("/gpu/bridge/ctl", "end\n"), -EINVAL);
  assertEquals(queen.read("/gpu/bridge/status"), "state=err reason=name-taken\n");
  assertEquals(queen.read(`/gpu/${a100[1].uuid}/info`), infoJson(a100[1]) + "\n");
  // The next good upload is ok again.
  assert(good.startsWith("state=ok"));
  assertEquals(upload(queen, { gpus: a100, models: null }), queen.read("/gpu/bridge/status"));
});

Deno.test("leases: LEASE grants a free GPU (gpu-lease/v1 ACTIVE with the request), waiters are granted by priority", () => {
  const { nd, queen } = hive();
  assertEquals(leaseLines(queen)[0].state, "FREE");
  ok(queen, "/gpu/GPU-0/ctl", "LEASE req=a mem_mb=1024 streams=1 ttl_s=60 priority=1\n");
  const [act] = leaseLines(queen);
  assertEquals(act, {
    schema: "gpu-lease/v1",
    state: "ACTIVE",
    gpu_id: "GPU-0",
    worker_id: "worker-1",
    mem_mb: 1024,
    streams: 1,
    ttl_s: 60,
    priority: 1,
    request: "a",
  });
  ok(queen, "/gpu/GPU-0/ctl", "LEASE req=low mem_mb=10 streams=1 ttl_s=60 priority=2\n");
  ok(queen, "/gpu/GPU-0/ctl", "LEASE req=high mem_mb=10 streams=1 ttl_s=60 priority=9\n");
  assertEquals(queen.write("/gpu/GPU-0/ctl", "LEASE req=high mem_mb=10 streams=1 ttl_s=60 priority=9\n"), -EEXIST);
  assertEquals(queen.write("/gpu/GPU-0/ctl", "LEASE req=big mem_mb=999999 streams=1 ttl_s=60\n"), -EINVAL);
  assertEquals(queen.write("/gpu/GPU-0/ctl", "LEASE req=x mem_mb=1 streams=1 ttl_s=60 color=red\n"), -EINVAL);
  const q = leaseLines(queen).slice(1);
  assertEquals(q.map((l) => [l.state, l.request, l.position]), [["QUEUED", "high", 1], ["QUEUED", "low", 2]]);
  assert((queen.read("/gpu/GPU-0/lease") as string).length <= 1024);
  // A waiting request can be withdrawn; an unknown one is ENOENT.
  ok(queen, "/gpu/GPU-0/ctl", "LEASE req=gone mem_mb=10 streams=1 ttl_s=60 priority=5\n");
  ok(queen, "/gpu/GPU-0/ctl", "CANCEL req=gone\n");
  assertEquals(queen.write("/gpu/GPU-0/ctl", "CANCEL req=gone\n"), -ENOENT);
  assertEquals(queen.write("/gpu/GPU-0/ctl", "CANCEL gone\n"), -EINVAL);
  ok(queen, "/gpu/GPU-0/ctl", "RELEASE\n");
  nd.advance(1);
  const after = leaseLines(queen);
  assertEquals([after[0].state, after[0].request, after[0].worker_id], ["ACTIVE", "high", "worker-2"]);
  assertEquals(after.slice(1).map((l) => l.request), ["low"]);
  // The released lease's worker ended with it.
  assertStringIncludes(queen.read("/log/queen.log") as string, "revoke worker=worker-1 reason=killed");
});

Deno.test("lease ttl on the injected clock: EXPIRED, the GPU free, a job write refused", () => {
  const { nd, queen } = hive();
  ok(queen, "/gpu/GPU-1/ctl", "LEASE req=short mem_mb=64 streams=1 ttl_s=2 priority=0\n");
  ok(queen, "/gpu/GPU-1/job", '{"id":"j1","ms":100}\n');
  nd.advance(1999);
  assertEquals(leaseLines(queen, "GPU-1")[0].state, "ACTIVE");
  nd.advance(2000);
  const [l] = leaseLines(queen, "GPU-1");
  assertEquals([l.state, l.request, l.gpu_id], ["EXPIRED", "short", "GPU-1"]);
  assertEquals(queen.write("/gpu/GPU-1/job", '{"id":"j2","ms":100}\n'), -EINVAL);
  assertStringIncludes(queen.read("/gpu/GPU-1/status") as string, "lease state=RELEASED reason=ttl");
});

Deno.test("breadcrumbs: gpu-breadcrumb/v1 lines on status, bounded to 512 bytes, other shapes refused", () => {
  const { queen } = hive();
  const start = JSON.stringify({ schema: "gpu-breadcrumb/v1", event: "START", command: "sh -c 'echo ok'", status: "RUNNING", exit_code: null }) + "\n";
  const exit = JSON.stringify({ schema: "gpu-breadcrumb/v1", event: "EXIT", command: "sh -c 'echo ok'", status: "OK", exit_code: 0, duration_ms: 12 }) + "\n";
  ok(queen, "/gpu/GPU-0/status", start);
  ok(queen, "/gpu/GPU-0/status", exit);
  const status = queen.read("/gpu/GPU-0/status") as string;
  assert(status.endsWith(start + exit), status);
  const bad = (o: Record<string, unknown>) => queen.write("/gpu/GPU-0/status", JSON.stringify(o) + "\n");
  assertEquals(bad({ schema: "gpu-breadcrumb/v2", event: "START", command: "x", status: "OK", exit_code: 0 }), -EINVAL);
  assertEquals(bad({ schema: "gpu-breadcrumb/v1", event: "START", command: "x", status: "OK" }), -EINVAL);
  assertEquals(bad({ schema: "gpu-breadcrumb/v1", event: "START", command: "x", status: "DONE", exit_code: 0 }), -EINVAL);
  assertEquals(bad({ schema: "gpu-breadcrumb/v1", event: "START", command: "x", status: "OK", exit_code: 0, extra: 1 }), -EINVAL);
  assertEquals(bad({ schema: "gpu-breadcrumb/v1", event: "START", command: "x".repeat(520), status: "OK", exit_code: 0 }), -EMSGSIZE);
  assertEquals(queen.read("/gpu/GPU-0/status"), status);
});

Deno.test("models: available from the snapshot, active names one (ENOENT otherwise), the log keeps the previous", () => {
  const { queen } = hive();
  const models = [
    { id: "llama3-edge-v7", manifest: 'id = "llama3-edge-v7"\nsha256 = "aa"\n' },
    { id: "llama3-edge-v8", manifest: 'id = "llama3-edge-v8"\nsha256 = "bb"\n' },
  ];
  upload(queen, { gpus: null, models });
  assertEquals(queen.list("/gpu/models/available"), ["llama3-edge-v7", "llama3-edge-v8"]);
  assertEquals(queen.read("/gpu/models/available/llama3-edge-v8/manifest.toml"), models[1].manifest);
  assertEquals(queen.read("/gpu/models/active"), "");
  assertEquals(queen.write("/gpu/models/active", "nope\n"), -ENOENT);
  ok(queen, "/gpu/models/active", "llama3-edge-v7\n");
  ok(queen, "/gpu/models/active", "llama3-edge-v8\n");
  assertEquals(queen.read("/gpu/models/active"), "llama3-edge-v8\n");
  assertStringIncludes(queen.read("/log/queen.log") as string, "gpu-model activate model=llama3-edge-v8 previous=llama3-edge-v7");
  // A snapshot without the active model is refused whole.
  const bytes = encodeSnapshot({ gpus: null, models: [models[0]] });
  for (const l of uploadLines(bytes).slice(0, -1)) ok(queen, "/gpu/bridge/ctl", l + "\n");
  assertEquals(queen.write("/gpu/bridge/ctl", "end\n"), -EINVAL);
  assertEquals(queen.read("/gpu/bridge/status"), "state=err reason=active-model-removed\n");
  assertEquals(queen.list("/gpu/models/available"), ["llama3-edge-v7", "llama3-edge-v8"]);
});

Deno.test("lora_jobs: an EXIT OK breadcrumb naming a job freezes its export; failed or repeated jobs are refused", () => {
  const { nd, queen } = hive();
  ok(queen, "/gpu/GPU-0/ctl", "LEASE req=r1 mem_mb=64 streams=1 ttl_s=60 priority=0\n");
  ok(queen, "/worker/worker-1/telemetry", '{"token_count":3}\n');
  const exit = (o: Record<string, unknown>) =>
    JSON.stringify({ schema: "gpu-breadcrumb/v1", event: "EXIT", command: "train", status: "OK", exit_code: 0, duration_ms: 5, worker_id: "worker-1", ...o }) + "\n";
  assertEquals(queen.write("/gpu/GPU-0/status", exit({ status: "ERR", exit_code: 2, lora_job: "j1" })), -EINVAL);
  assertEquals(queen.list("/queen/export/lora_jobs"), []);
  ok(queen, "/gpu/GPU-0/status", exit({ lora_job: "j1" }));
  assertEquals(queen.write("/gpu/GPU-0/status", exit({ lora_job: "j1" })), -EEXIST);
  assertEquals(queen.list("/queen/export/lora_jobs/j1"), ["telemetry.cbor", "base_model.ref", "policy.toml"]);
  assertEquals(queen.read("/queen/export/lora_jobs/j1/base_model.ref"), "none\n");
  // CBOR: array(1) of text(17) '{"token_count":3}'.
  const node = queen.open("/queen/export/lora_jobs/j1/telemetry.cbor");
  const buf = new Uint8Array(64);
  const n = nd.read(queen.session, node, 0, 0, buf, 0, 64);
  assertEquals([...buf.subarray(0, 2)], [0x81, 0x71]);
  assertEquals(new TextDecoder().decode(buf.subarray(2, n)), '{"token_count":3}');
  assertEquals(queen.write("/queen/export/lora_jobs/j1/policy.toml", "x"), -EROFS);
});

Deno.test("a configured GPU the bridge reports (same id) shows the bridge's live info and keeps its lease files", () => {
  const a100 = fixture("a100_x2.csv");
  const boot: BootConfig = structuredClone(FULL);
  boot.gpus[0] = { ...boot.gpus[0], id: a100[0].uuid, memMb: 40960 };
  const { nd, queen } = hive(boot);
  const uuid = a100[0].uuid;
  assertStringIncludes(queen.read(`/gpu/${uuid}/info`) as string, '"simulated":true');
  upload(queen, { gpus: a100, models: null });
  assertEquals(queen.read(`/gpu/${uuid}/info`), infoJson(a100[0]) + "\n");
  assertEquals(queen.list(`/gpu/${uuid}`), ["info", "ctl", "job", "status", "lease"]);
  assertEquals(queen.read(`/gpu/${a100[1].uuid}/info`), infoJson(a100[1]) + "\n");
  ok(queen, `/gpu/${uuid}/ctl`, "LEASE req=real mem_mb=20000 streams=1 ttl_s=60 priority=0\n");
  assertEquals(leaseLines(queen, uuid)[0].state, "ACTIVE");
  // A refresh without it brings the simulated info back.
  upload(queen, { gpus: [a100[1]], models: null });
  assertStringIncludes(queen.read(`/gpu/${uuid}/info`) as string, '"simulated":true');
  assert(nd.tree.liveCount > 0);
});
