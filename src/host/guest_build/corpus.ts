/**
 * Compiles a parity corpus (`tests/parity/corpus/*.replay`, a line-based script) into the op
 * stream of `src/guest/replay/ops.ts`. Errors name file:line and what was expected.
 *
 *   target hive|probe                   which guest to drive (first line)
 *   open SLOT console KIND | open SLOT ninep
 *   in SLOT DATA                        DATA: "text with \n \r \t \\ \" \xNN escapes", hex 0a1b...,
 *                                       frame DATA (TCP console frame), or 9p Tname tag=N k=v ...
 *   tick MS                             advance the injected clock
 *   close SLOT
 *   mark NAME                           arena mark (printed; native builds record memory there)
 *   repeat COUNT SLOT DATA              bulk input; output goes to the digest
 *   digest                              print and reset the digest
 * SLOT is a name (c1, n1, ...) bound to a slot number by its first `open`. `#` starts a comment line.
 */
import { CONN, MAX_SLOTS, OP, TARGET } from "../../guest/replay/ops.ts";

export class CorpusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CorpusError";
  }
}

class OpWriter {
  bytes: number[] = [];
  u8(v: number) {
    this.bytes.push(v);
  }
  u32(v: number) {
    this.bytes.push(
      v % 256,
      Math.floor(v / 256) % 256,
      Math.floor(v / 65536) % 256,
      Math.floor(v / 16777216) % 256,
    );
  }
  blob(b: Uint8Array) {
    this.u32(b.length);
    for (const x of b) this.bytes.push(x);
  }
}

/** Splits a line into words, keeping a quoted string as one word (with its quotes). */
function words(line: string, where: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === " " || line[i] === "\t") {
      i++;
      continue;
    }
    if (line[i] === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
      if (j >= line.length) throw new CorpusError(`${where}: unterminated string`);
      out.push(line.slice(i, j + 1));
      i = j + 1;
    } else {
      // A bare word may hold a quoted part (key="a b"): spaces inside quotes do not end it.
      let j = i;
      while (j < line.length && line[j] !== " " && line[j] !== "\t") {
        if (line[j] === '"') {
          j++;
          while (j < line.length && line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
          if (j >= line.length) throw new CorpusError(`${where}: unterminated string`);
        }
        j++;
      }
      out.push(line.slice(i, j));
      i = j;
    }
  }
  return out;
}

function unescape(q: string, where: string): Uint8Array {
  const body = q.slice(1, -1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== "\\") {
      for (const b of new TextEncoder().encode(c)) out.push(b);
      continue;
    }
    const e = body[++i];
    if (e === "n") out.push(10);
    else if (e === "r") out.push(13);
    else if (e === "t") out.push(9);
    else if (e === "0") out.push(0);
    else if (e === "\\" || e === '"') out.push(e.charCodeAt(0));
    else if (e === "x" && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else {throw new CorpusError(
        `${where}: unknown escape '\\${e ?? ""}' (use \\n \\r \\t \\0 \\\\ \\" \\xNN)`,
      );}
  }
  return new Uint8Array(out);
}

/** Field kinds of the 9P T-messages a corpus can build by name. */
type FieldKind = "u16" | "u32" | "u64" | "s" | "names" | "data";
const NOFID = "4294967295";
const NINEP_MESSAGES: Record<string, { type: number; fields: [string, FieldKind, string?][] }> = {
  Tstatfs: { type: 8, fields: [["fid", "u32"]] },
  Tlopen: { type: 12, fields: [["fid", "u32"], ["flags", "u32"]] },
  Tlcreate: {
    type: 14,
    fields: [["fid", "u32"], ["name", "s"], ["flags", "u32"], ["mode", "u32", "420"], ["gid", "u32", "0"]],
  },
  Tgetattr: { type: 24, fields: [["fid", "u32"], ["mask", "u64", "2047"]] },
  Treaddir: { type: 40, fields: [["fid", "u32"], ["offset", "u64", "0"], ["count", "u32"]] },
  Tversion: { type: 100, fields: [["msize", "u32"], ["version", "s", "9P2000.L"]] },
  Tattach: {
    type: 104,
    fields: [["fid", "u32"], ["afid", "u32", NOFID], ["uname", "s"], ["aname", "s", ""], [
      "n_uname",
      "u32",
      NOFID,
    ]],
  },
  Tflush: { type: 108, fields: [["oldtag", "u16"]] },
  Twalk: { type: 110, fields: [["fid", "u32"], ["newfid", "u32"], ["names", "names", ""]] },
  Tread: { type: 116, fields: [["fid", "u32"], ["offset", "u64", "0"], ["count", "u32"]] },
  Twrite: { type: 118, fields: [["fid", "u32"], ["offset", "u64", "0"], ["data", "data"]] },
  Tclunk: { type: 120, fields: [["fid", "u32"]] },
  Tremove: { type: 122, fields: [["fid", "u32"]] },
};

/** Builds a 9P2000.L T-message: `9p Tname tag=N field=value ... [size=N to forge the size field]`. */
function ninep(ws: string[], where: string): Uint8Array {
  const spec = NINEP_MESSAGES[ws[0] ?? ""];
  if (!spec) {
    throw new CorpusError(
      `${where}: unknown 9P message '${ws[0] ?? ""}' (${Object.keys(NINEP_MESSAGES).join(" ")})`,
    );
  }
  const kv = new Map<string, string>();
  for (const w of ws.slice(1)) {
    const eq = w.indexOf("=");
    if (eq <= 0) throw new CorpusError(`${where}: expected key=value, got '${w}'`);
    let v = w.slice(eq + 1);
    if (v.startsWith('"')) v = new TextDecoder().decode(unescape(v, where));
    kv.set(w.slice(0, eq), v);
  }
  const body: number[] = [];
  const num = (name: string, v: string, max: number) => {
    if (!/^\d+$/.test(v) || Number(v) > max) {
      throw new CorpusError(`${where}: ${name} must be an integer 0..${max}, got '${v}'`);
    }
    return Number(v);
  };
  const le = (v: number, bytes: number) => {
    for (let i = 0; i < bytes; i++) {
      body.push(v % 256);
      v = Math.floor(v / 256);
    }
  };
  const str = (b: Uint8Array) => {
    le(b.length, 2);
    for (const x of b) body.push(x);
  };
  const known = new Set(["tag", "size"]);
  for (const [name, kind, dflt] of spec.fields) {
    known.add(name);
    const v = kv.get(name) ?? dflt;
    if (v === undefined) throw new CorpusError(`${where}: ${ws[0]} needs ${name}=`);
    if (kind === "u16") le(num(name, v, 0xffff), 2);
    else if (kind === "u32") le(num(name, v, 0xffffffff), 4);
    else if (kind === "u64") le(num(name, v, Number.MAX_SAFE_INTEGER), 8);
    else if (kind === "s") str(new TextEncoder().encode(v));
    else if (kind === "names") {
      const names = v === "" ? [] : v.split(",");
      le(names.length, 2);
      for (const n of names) str(new TextEncoder().encode(n));
    } else {
      const b = new TextEncoder().encode(v);
      le(b.length, 4);
      for (const x of b) body.push(x);
    }
  }
  for (const k of kv.keys()) {
    if (!known.has(k)) throw new CorpusError(`${where}: ${ws[0]} has no field '${k}'`);
  }
  const tag = num("tag", kv.get("tag") ?? "", 0xffff);
  const size = kv.has("size") ? num("size", kv.get("size")!, 0xffffffff) : body.length + 7;
  const out: number[] = [];
  for (let i = 0, v = size; i < 4; i++, v = Math.floor(v / 256)) out.push(v % 256);
  out.push(spec.type, tag % 256, Math.floor(tag / 256));
  return new Uint8Array([...out, ...body]);
}

function data(ws: string[], where: string): Uint8Array {
  if (ws.length === 0) {
    throw new CorpusError(
      `${where}: missing data (a "quoted string", hex BYTES, frame "...", or 9p Tmsg ...)`,
    );
  }
  if (ws[0] === "9p") return ninep(ws.slice(1), where);
  if (ws[0] === "frame") {
    // TCP console framing: u32 little-endian total length (header included), then the line.
    const line = data(ws.slice(1), where);
    const total = line.length + 4;
    return new Uint8Array([
      total % 256,
      Math.floor(total / 256) % 256,
      Math.floor(total / 65536) % 256,
      Math.floor(total / 16777216),
      ...line,
    ]);
  }
  if (ws[0].startsWith('"')) {
    if (ws.length !== 1) throw new CorpusError(`${where}: unexpected '${ws[1]}' after the string`);
    return unescape(ws[0], where);
  }
  if (ws[0] === "hex") {
    const hex = ws.slice(1).join("");
    if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
      throw new CorpusError(`${where}: hex data must be an even number of hex digits`);
    }
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  throw new CorpusError(`${where}: expected a "quoted string" or hex BYTES, got '${ws[0]}'`);
}

function uint(s: string | undefined, what: string, where: string): number {
  if (s === undefined || !/^\d+$/.test(s) || Number(s) > 0xffffffff) {
    throw new CorpusError(`${where}: ${what} must be an integer 0..4294967295, got '${s ?? ""}'`);
  }
  return Number(s);
}

/** Compiles corpus text; `file` only names the source in errors. */
export function compileCorpus(text: string, file: string): Uint8Array {
  const w = new OpWriter();
  const slots = new Map<string, number>();
  let sawTarget = false;
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const where = `${file}:${n + 1}`;
    const line = lines[n].trim();
    if (line === "" || line.startsWith("#")) continue;
    const ws = words(line, where);
    const verb = ws[0];
    const slotOf = (name: string | undefined, opening: boolean): number => {
      if (name === undefined) throw new CorpusError(`${where}: missing slot name`);
      let s = slots.get(name);
      if (s === undefined) {
        if (!opening) throw new CorpusError(`${where}: slot '${name}' was never opened`);
        if (slots.size >= MAX_SLOTS) throw new CorpusError(`${where}: more than ${MAX_SLOTS} slots`);
        s = slots.size;
        slots.set(name, s);
      }
      return s;
    };
    if (!sawTarget && verb !== "target") {
      throw new CorpusError(`${where}: the corpus must start with 'target hive|probe'`);
    }
    switch (verb) {
      case "target": {
        if (sawTarget) throw new CorpusError(`${where}: only one 'target' line is allowed`);
        const t = ws[1] === "hive" ? TARGET.HIVE : ws[1] === "probe" ? TARGET.PROBE : -1;
        if (t < 0 || ws.length !== 2) {
          throw new CorpusError(`${where}: expected 'target hive' or 'target probe'`);
        }
        w.u8(OP.TARGET);
        w.u8(t);
        sawTarget = true;
        break;
      }
      case "open": {
        const slot = slotOf(ws[1], true);
        w.u8(OP.OPEN);
        w.u8(slot);
        if (ws[2] === "ninep" && ws.length === 3) {
          w.u8(CONN.NINEP);
          w.blob(new Uint8Array(0));
        } else if (ws[2] === "console" && ws.length === 4 && /^[a-z]+$/.test(ws[3])) {
          w.u8(CONN.CONSOLE);
          w.blob(new TextEncoder().encode(ws[3]));
        } else throw new CorpusError(`${where}: expected 'open SLOT console KIND' or 'open SLOT ninep'`);
        break;
      }
      case "in":
        w.u8(OP.INPUT);
        w.u8(slotOf(ws[1], false));
        w.blob(data(ws.slice(2), where));
        break;
      case "tick":
        if (ws.length !== 2) throw new CorpusError(`${where}: expected 'tick MS'`);
        w.u8(OP.TICK);
        w.u32(uint(ws[1], "tick", where));
        break;
      case "close":
        if (ws.length !== 2) throw new CorpusError(`${where}: expected 'close SLOT'`);
        w.u8(OP.CLOSE);
        w.u8(slotOf(ws[1], false));
        break;
      case "mark":
        if (ws.length !== 2 || !/^[a-z0-9_-]+$/.test(ws[1])) {
          throw new CorpusError(`${where}: expected 'mark NAME' ([a-z0-9_-])`);
        }
        w.u8(OP.MARK);
        w.blob(new TextEncoder().encode(ws[1]));
        break;
      case "repeat": {
        const count = uint(ws[1], "repeat count", where);
        w.u8(OP.REPEAT);
        w.u32(count);
        w.u8(slotOf(ws[2], false));
        w.blob(data(ws.slice(3), where));
        break;
      }
      case "digest":
        if (ws.length !== 1) throw new CorpusError(`${where}: 'digest' takes no arguments`);
        w.u8(OP.DIGEST);
        break;
      default:
        throw new CorpusError(
          `${where}: unknown verb '${verb}' (target open in tick close mark repeat digest)`,
        );
    }
  }
  if (!sawTarget) throw new CorpusError(`${file}: empty corpus (it must start with 'target hive|probe')`);
  w.u8(OP.END);
  return new Uint8Array(w.bytes);
}

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}
