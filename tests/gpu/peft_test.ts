/**
 * `cohesix peft` on a hosted hive (configs/full.toml): a LoRA job finished by `cohesix run --lora-job`
 * is exported from /queen/export/lora_jobs, its adapter imported (content-addressed, sha256 checked),
 * activated through /gpu/models/active and rolled back; each refusal (unknown job, bad hash, oversize
 * adapter, nothing to roll back to, unknown model) exits 1 and changes nothing.
 */
import { decode } from "cbor-x";
import { join } from "node:path";
import { HiveLink } from "../../src/host/cli/hive_link.ts";
import { sha256Hex } from "../../src/host/gpu/snapshot.ts";
import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { withDevPorts } from "../support/dev.ts";

const COHESIX = new URL("../../cohesix", import.meta.url).pathname;
const FULL = ["--manifest", new URL("../../configs/full.toml", import.meta.url).pathname];
const dec = new TextDecoder();

async function cohesix(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(COHESIX, { args, stdout: "piped", stderr: "piped" }).output();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    try {
      for await (const e of Deno.readDir(d)) {
        if (e.isDirectory) await walk(join(d, e.name), `${rel}${e.name}/`);
        else out.push(`${rel}${e.name}`);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  };
  await walk(dir, "");
  return out.sort();
}

Deno.test("peft: run --lora-job -> export -> import -> activate -> rollback, logged and audited", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const tmp = await Deno.makeTempDir();
    const hive = ["--hive", `127.0.0.1:${ninepPort}`];
    const reg = ["--registry", join(tmp, "reg")];
    const link = await HiveLink.open({ host: "127.0.0.1", port: ninepPort });
    try {
      // A base model, active while the job runs.
      await Deno.writeTextFile(join(tmp, "base.safetensors"), "base weights v6");
      const base = await cohesix(["peft", "import", "--model", "llama3-edge-v6", "--from", join(tmp, "base.safetensors"), ...hive, ...reg]);
      assertEquals(base.code, 0, base.err);
      assertEquals((await cohesix(["peft", "activate", "--model", "llama3-edge-v6", ...hive, ...reg])).code, 0);
      const rec1 = '{"schema_version":"gpu-telemetry/v1","device_id":"GPU-0","token_count":12}';
      const run = await cohesix(["run", "--gpu", "GPU-0", "--lora-job", "job_8932", ...hive, "--", "sh", "-c", `echo '${rec1}'; echo second`]);
      assertEquals(run.code, 0, run.err);

      const out = join(tmp, "lora_jobs");
      const ex = await cohesix(["peft", "export", "--job", "job_8932", "--out", out, "--json", ...hive, ...reg]);
      assertEquals(ex.code, 0, ex.err);
      const rep = JSON.parse(ex.out);
      assertEquals([rep.records, rep.base_model], [2, "llama3-edge-v6"]);
      assertEquals(await tree(join(out, "job_8932")), ["base_model.ref", "export.json", "policy.toml", "telemetry.cbor"]);
      const cbor = await Deno.readFile(join(out, "job_8932", "telemetry.cbor"));
      const records = decode(cbor) as string[];
      assertEquals(records.map((r) => JSON.parse(r).line), [rec1, "second"]);
      assertEquals(rep.files["telemetry.cbor"].sha256, sha256Hex(cbor));
      const policy = await Deno.readTextFile(join(out, "job_8932", "policy.toml"));
      assertStringIncludes(policy, 'job = "job_8932"\ngpu_id = "GPU-0"');
      assertStringIncludes(policy, "exit_code = 0");
      // Re-export: the same bytes, no duplicates.
      assertEquals((await cohesix(["peft", "export", "--job", "job_8932", "--out", out, ...hive, ...reg])).code, 0);
      assertEquals(sha256Hex(await Deno.readFile(join(out, "job_8932", "telemetry.cbor"))), sha256Hex(cbor));

      // The trained adapter sits beside the export: import names the job and the base model.
      const adapter = join(out, "job_8932", "adapter_model.safetensors");
      await Deno.writeTextFile(adapter, "lora delta weights v7");
      const hex = sha256Hex(await Deno.readFile(adapter));
      const imp = await cohesix(["peft", "import", "--model", "llama3-edge-v7", "--from", adapter, "--sha256", hex, "--json", ...hive, ...reg]);
      assertEquals(imp.code, 0, imp.err);
      assertEquals(JSON.parse(imp.out).lora_job, "job_8932");
      const manifest = await Deno.readTextFile(join(tmp, "reg", "models", "llama3-edge-v7", "manifest.toml"));
      assertStringIncludes(manifest, `adapter_sha256 = "${hex}"\nadapter_bytes = 21\nbase_model = "llama3-edge-v6"`);
      assertEquals(await Deno.readTextFile(join(tmp, "reg", "blobs", "sha256", hex)), "lora delta weights v7");
      assertEquals(await link.read("/gpu/models/available/llama3-edge-v7/manifest.toml"), manifest);

      const act = await cohesix(["peft", "activate", "--model", "llama3-edge-v7", ...hive, ...reg]);
      assertEquals(act.code, 0, act.err);
      assertEquals(act.out, "active: llama3-edge-v7 (was llama3-edge-v6)\n");
      assertEquals(await link.read("/gpu/models/active"), "llama3-edge-v7\n");
      const rb = await cohesix(["peft", "rollback", ...hive, ...reg]);
      assertEquals(rb.code, 0, rb.err);
      assertEquals(await link.read("/gpu/models/active"), "llama3-edge-v6\n");
      const log = await link.read("/log/queen.log");
      assertStringIncludes(log, "gpu-model activate model=llama3-edge-v7 previous=llama3-edge-v6");
      assertStringIncludes(log, "gpu-model activate model=llama3-edge-v6 previous=llama3-edge-v7");
      assertStringIncludes(log, "lora-job export job=job_8932 worker=worker-1");
      // The switches are control writes: the audit journal holds each one.
      const journal = (await link.read("/audit/journal")).trim().split("\n").map((l) => JSON.parse(l));
      const switches = journal.filter((r) => r.path === "/gpu/models/active");
      assertEquals(switches.length, 3);
      const steps = (await Deno.readTextFile(join(tmp, "reg", "log.jsonl"))).trim().split("\n").map((l) => JSON.parse(l).step);
      assertEquals(steps, ["import", "activate", "export", "export", "import", "activate", "rollback"]);
    } finally {
      link.close();
      await Deno.remove(tmp, { recursive: true });
    }
  }, FULL);
});

Deno.test("peft refusals: unknown job, bad hash, oversize adapter, nothing to roll back, unknown model: exit 1, nothing changed", async () => {
  await withDevPorts(async ({ ninepPort }) => {
    const tmp = await Deno.makeTempDir();
    const hive = ["--hive", `127.0.0.1:${ninepPort}`];
    const regDir = join(tmp, "reg");
    const reg = ["--registry", regDir];
    const link = await HiveLink.open({ host: "127.0.0.1", port: ninepPort });
    try {
      const unknown = await cohesix(["peft", "export", "--job", "nope", "--out", join(tmp, "out"), ...hive, ...reg]);
      assertEquals(unknown.code, 1);
      assertStringIncludes(unknown.err, "the hive has no finished LoRA job 'nope'");
      assertEquals(await tree(tmp), []);

      const file = join(tmp, "a.safetensors");
      await Deno.writeTextFile(file, "weights");
      const bad = await cohesix(["peft", "import", "--model", "m1", "--from", file, "--sha256", "0".repeat(64), ...hive, ...reg]);
      assertEquals(bad.code, 1);
      assertStringIncludes(bad.err, `has sha256 ${sha256Hex(new TextEncoder().encode("weights"))}, not the expected ${"0".repeat(64)}; nothing imported`);
      assertEquals(await tree(regDir), []);
      assertEquals(await link.read("/gpu/bridge/status"), "state=idle\n");

      // One byte over the default manifest's 64 MiB bound (a sparse file: the bound is checked on the size).
      const big = join(tmp, "big.safetensors");
      const f = await Deno.open(big, { create: true, write: true });
      await f.truncate(67108864 + 1);
      f.close();
      const over = await cohesix(["peft", "import", "--model", "m2", "--from", big, ...hive, ...reg]);
      assertEquals(over.code, 1);
      assertStringIncludes(over.err, "is 67108865 bytes, over the manifest's [gpu.bridge] adapter_max_bytes 67108864; nothing imported");
      // A manifest with a smaller bound refuses a small adapter too.
      const small = join(tmp, "small.toml");
      await Deno.writeTextFile(
        small,
        (await Deno.readTextFile(FULL[1])).replace("adapter_max_bytes = 67108864", "adapter_max_bytes = 4"),
      );
      const over2 = await cohesix(["peft", "import", "--model", "m2", "--from", file, "--manifest", small, ...hive, ...reg]);
      assertEquals(over2.code, 1);
      assertStringIncludes(over2.err, "is 7 bytes, over the manifest's [gpu.bridge] adapter_max_bytes 4");
      assertEquals(await tree(regDir), []);

      const none = await cohesix(["peft", "rollback", ...hive, ...reg]);
      assertEquals(none.code, 1);
      assertStringIncludes(none.err, "nothing to roll back to: no model was activated");
      const who = await cohesix(["peft", "activate", "--model", "ghost", ...hive, ...reg]);
      assertEquals(who.code, 1);
      assertStringIncludes(who.err, "no model 'ghost' in the registry");
      assertEquals(await link.read("/gpu/models/active"), "");
      // Still nothing in the registry, and a good import works afterwards.
      assertEquals(await tree(regDir), []);
      assertEquals((await cohesix(["peft", "import", "--model", "m1", "--from", file, ...hive, ...reg])).code, 0);
      const one = await cohesix(["peft", "activate", "--model", "m1", ...hive, ...reg]);
      assertEquals(one.code, 0);
      const once = await cohesix(["peft", "rollback", ...hive, ...reg]);
      assertEquals(once.code, 1);
      assertStringIncludes(once.err, "only 'm1' was ever active");
      assert((await tree(regDir)).includes("models/m1/manifest.toml"));
    } finally {
      link.close();
      await Deno.remove(tmp, { recursive: true });
    }
  }, FULL);
});
