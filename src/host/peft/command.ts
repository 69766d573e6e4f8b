/** `cohesix peft`: LoRA adapters through export -> import -> activate -> rollback. */
import { resolve } from "node:path";
import { errnoName } from "../../secure9p/errors.ts";
import { NineError, TransportError } from "../../secure9p/host/client.ts";
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { HiveLink, parseHive } from "../cli/hive_link.ts";
import { defaultRegistry, PeftError, Registry } from "./registry.ts";
import { activate, exportJob, importAdapter, rollback } from "./steps.ts";

const DEFAULT_MANIFEST = new URL("../../../configs/root_task.toml", import.meta.url).pathname;

const HELP = `cohesix peft: LoRA adapters between a hive and this host

Usage: cohesix peft export   --job J --out DIR            [common flags]
       cohesix peft import   --model ID --from FILE [--sha256 HEX] [--base-model M] [--lora-job J]
                             [--manifest FILE]           [common flags]
       cohesix peft activate --model ID                   [common flags]
       cohesix peft rollback                              [common flags]
Common flags: [--hive H:P] [--registry DIR] [--role R] [--ticket T] [--json]

  export    copies a finished LoRA job from /queen/export/lora_jobs/J/ (telemetry.cbor, base_model.ref,
            policy.toml) into DIR/J/ with export.json (sizes, sha256, records); re-exporting gives the
            same bytes. Jobs come from 'cohesix run --lora-job J'.
  import    stores an adapter in the registry by its sha256 (blobs/sha256/<hex>) with a manifest.toml,
            refusing an empty file, one over the manifest's [gpu.bridge] adapter_max_bytes (from
            --manifest, default configs/root_task.toml) or one whose digest is not --sha256; then the
            hive shows it as /gpu/models/available/ID/manifest.toml.
  activate  points /gpu/models/active at ID (atomic on the hive; the hive logs the previous one).
  rollback  points /gpu/models/active back at the model active before the current one.
Every step is appended to DIR/log.jsonl of the registry; refusals change nothing (exit 1).

Flags:
  --hive H:P        hive 9P address (default 127.0.0.1:5640)
  --registry DIR    adapter registry (default $COHESIX_PEFT_REGISTRY or ~/.cohesix/peft)
  --role R, --ticket T   attach as (default queen)
  --json            print the step's result as one JSON document

Examples:
  cohesix run --gpu GPU-0 --lora-job job_8932 -- python3 finetune.py
  cohesix peft export --job job_8932 --out out/lora_jobs
  cohesix peft import --model llama3-edge-v7 --from out/adapter/adapter_model.safetensors
  cohesix peft activate --model llama3-edge-v7
  cohesix peft rollback
`;

export const peftCommand: Subcommand = {
  name: "peft",
  summary: "LoRA adapters: export jobs, import (sha256, size-bounded), activate, rollback",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const [verb, ...rest] = argv;
    if (!["export", "import", "activate", "rollback"].includes(verb ?? "")) {
      throw new UsageError(
        verb === undefined ? "peft: give a step" : `peft: unknown step '${verb}'`,
        "run 'cohesix peft --help' (export, import, activate, rollback)",
      );
    }
    const { values, positionals } = parseFlags("peft", rest, {
      hive: { type: "string" },
      registry: { type: "string" },
      role: { type: "string" },
      ticket: { type: "string" },
      json: { type: "boolean" },
      job: { type: "string" },
      out: { type: "string" },
      model: { type: "string" },
      from: { type: "string" },
      sha256: { type: "string" },
      "base-model": { type: "string" },
      "lora-job": { type: "string" },
      manifest: { type: "string" },
    }, true);
    if (positionals.length > 0) throw new UsageError(`peft ${verb}: unexpected argument '${positionals[0]}'`);
    const need = (flag: "job" | "out" | "model" | "from") => {
      const v = values[flag];
      if (v === undefined) throw new UsageError(`peft ${verb}: --${flag} is required`, "run 'cohesix peft --help'");
      return v;
    };
    const addr = parseHive("peft", values.hive);
    const reg = new Registry(resolve(values.registry ?? defaultRegistry()));
    const say = (line: string) => console.error(`cohesix peft ${verb}: ${line}`);
    let maxBytes = 0;
    if (verb === "import") {
      need("model");
      need("from");
      const { bootConfigFromManifest } = await import("../../codegen/mod.ts");
      const path = values.manifest ?? DEFAULT_MANIFEST;
      try {
        maxBytes = (await bootConfigFromManifest(path)).ecosystem.gpuBridge.adapterMaxBytes;
      } catch (e) {
        say(`cannot read the size bound from ${path}: ${(e as Error).message.split("\n")[0]}`);
        return 1;
      }
    }
    if (verb === "export") {
      need("job");
      need("out");
    }
    if (verb === "activate") need("model");
    let link: HiveLink | null = null;
    try {
      link = await HiveLink.open(addr, values.role ?? "queen", values.ticket ?? "");
      let result: unknown;
      if (verb === "export") {
        const r = await exportJob(link, reg, values.job!, resolve(values.out!));
        result = r;
        if (!values.json) console.log(`exported ${r.job}: ${r.records} telemetry records, base model ${r.base_model} -> ${r.dir}`);
      } else if (verb === "import") {
        const m = await importAdapter(link, reg, {
          model: values.model!,
          from: values.from!,
          sha256: values.sha256,
          baseModel: values["base-model"],
          loraJob: values["lora-job"],
          maxBytes,
        });
        result = m;
        if (!values.json) console.log(`imported ${m.id}: ${m.adapter_bytes} bytes sha256=${m.adapter_sha256} (base ${m.base_model})`);
      } else if (verb === "activate") {
        const r = await activate(link, reg, values.model!);
        result = r;
        if (!values.json) console.log(`active: ${r.model} (was ${r.previous ?? "none"})`);
      } else {
        const r = await rollback(link, reg);
        result = r;
        if (!values.json) console.log(`rolled back: ${r.model} is active again (was ${r.from})`);
      }
      if (values.json) console.log(JSON.stringify({ version: 1, step: verb, ...(result as object) }));
      return 0;
    } catch (e) {
      if (e instanceof PeftError) say(e.message);
      else if (e instanceof NineError) say(`the hive refused ${e.op}: ${errnoName(e.errno)}; does its manifest enable [gpu.bridge]?`);
      else if (e instanceof TransportError) say(`${e.message}; start a hive with 'cohesix dev --manifest configs/full.toml' or pass --hive`);
      else say((e as Error).message);
      return 1;
    } finally {
      link?.close();
    }
  },
};
