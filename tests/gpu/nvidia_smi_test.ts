/**
 * The nvidia-smi CSV parser on recorded outputs of several GPU models (A100, H100, RTX 4090, T4 with
 * [N/A] fields), the refusals of malformed output, and the snapshot encoding the bridge uploads.
 */
import { infoJson, NVIDIA_SMI_ARGS, parseNvidiaSmi, SmiParseError } from "../../src/host/gpu/nvidia_smi.ts";
import { encodeSnapshot, sha256Hex, uploadLines } from "../../src/host/gpu/snapshot.ts";
import { assert, assertEquals, assertThrows } from "../support/assert.ts";

const fixture = (name: string) => Deno.readTextFileSync(new URL(`./fixtures/${name}`, import.meta.url));

Deno.test("nvidia-smi query asks for the parser's columns as noheader,nounits CSV", () => {
  assertEquals(NVIDIA_SMI_ARGS, [
    "--query-gpu=index,uuid,name,pci.bus_id,driver_version,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw,power.limit",
    "--format=csv,noheader,nounits",
  ]);
});

Deno.test("A100 x2: two rows with every field", () => {
  const rows = parseNvidiaSmi(fixture("a100_x2.csv"));
  assertEquals(rows.length, 2);
  assertEquals(rows[0], {
    index: 0,
    uuid: "GPU-4f6b1c2a-9d3e-5a7b-8c1d-2e3f4a5b6c7d",
    name: "NVIDIA A100-SXM4-40GB",
    busId: "00000000:07:00.0",
    driver: "535.104.05",
    memTotalMb: 40960,
    memUsedMb: 31744,
    utilPct: 87,
    tempC: 61,
    powerW: 312.45,
    powerLimitW: 400,
  });
  assertEquals(rows[1].index, 1);
  assertEquals(rows[1].memUsedMb, 4);
});

Deno.test("H100 and RTX 4090: names with spaces, large memory", () => {
  const h = parseNvidiaSmi(fixture("h100.csv"));
  assertEquals([h[0].name, h[0].memTotalMb, h[0].powerLimitW], ["NVIDIA H100 80GB HBM3", 81559, 700]);
  const r = parseNvidiaSmi(fixture("rtx4090.csv"));
  assertEquals([r[0].name, r[0].memTotalMb, r[0].utilPct, r[0].driver], ["NVIDIA GeForce RTX 4090", 24564, 9, "545.29.06"]);
});

Deno.test("T4: [N/A] and [Not Supported] fields become null, the rest parses", () => {
  const rows = parseNvidiaSmi(fixture("t4_na.csv"));
  assertEquals(rows[0].powerW, null);
  assertEquals(rows[0].powerLimitW, 70);
  assertEquals(
    [rows[1].memUsedMb, rows[1].utilPct, rows[1].tempC, rows[1].powerW, rows[1].powerLimitW],
    [null, null, null, null, null],
  );
  assertEquals(rows[1].memTotalMb, 15360);
  assertEquals(JSON.parse(infoJson(rows[1])).power_w, null);
});

Deno.test("malformed output is refused with its line number", () => {
  const few = assertThrows(() => parseNvidiaSmi(fixture("bad_fields.csv")));
  assert(few instanceof SmiParseError);
  assertEquals(few.message, "nvidia-smi output line 1: 7 fields, expected 11 (index,uuid,name,pci.bus_id,driver_version,memory.total,memory.used,utilization.gpu,temperature.gpu,power.draw,power.limit)");
  const bad = assertThrows(() => parseNvidiaSmi(fixture("bad_number.csv")));
  assertEquals(bad.message, "nvidia-smi output line 1: memory.total 'forty' is not a number in 0..16777216");
  const a100 = fixture("a100_x2.csv").split("\n")[0];
  assertThrows(() => parseNvidiaSmi(`${a100}\n${a100}\n`), /listed twice/);
  assertThrows(() => parseNvidiaSmi(a100.replace("GPU-4f6b", "XYZ-4f6b")), /is not GPU-<hex>/);
  assertThrows(() => parseNvidiaSmi(a100.replace(", 87,", ", 187,")), /utilization.gpu '187'/);
  assertThrows(() => parseNvidiaSmi(a100.replace("NVIDIA A100", 'NVIDIA "A100')), /quotes/);
  assertEquals(parseNvidiaSmi("\n"), []);
});

Deno.test("snapshot: length-prefixed records, base64 upload lines with the digest", () => {
  const gpus = parseNvidiaSmi(fixture("a100_x2.csv"));
  const bytes = encodeSnapshot({ gpus, models: [{ id: "llama3-edge-v7", manifest: 'id = "x"\n' }] });
  const text = new TextDecoder().decode(bytes);
  const info0 = infoJson(gpus[0]);
  assert(text.startsWith(`cohesix-gpu-snapshot/v1 gpus=1 models=1\ngpu ${gpus[0].uuid} ${info0.length}\n${info0}\n`));
  assert(text.endsWith('model llama3-edge-v7 9\nid = "x"\n\n'));
  // Same input, same bytes (a refresh with nothing changed uploads the same digest).
  assertEquals(sha256Hex(encodeSnapshot({ gpus, models: [{ id: "llama3-edge-v7", manifest: 'id = "x"\n' }] })), sha256Hex(bytes));
  const lines = uploadLines(bytes);
  assertEquals(lines[0], `begin bytes=${bytes.length} sha256=${sha256Hex(bytes)}`);
  assertEquals(lines.at(-1), "end");
  const joined = lines.slice(1, -1).map((l) => {
    assert(l.startsWith("b64:") && l.length <= 4004);
    return Uint8Array.from(atob(l.slice(4)), (c) => c.charCodeAt(0));
  });
  assertEquals(joined.reduce((n, b) => n + b.length, 0), bytes.length);
  assertThrows(() => encodeSnapshot({ gpus: null, models: [{ id: "../x", manifest: "" }] }), /is not \[A-Za-z0-9._-\]/);
});
