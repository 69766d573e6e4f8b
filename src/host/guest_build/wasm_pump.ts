/**
 * A host-side platform for the guest's Wasm module (`porf wasm` output): it implements Porffor's two
 * print imports and the event-pump mailbox protocol of src/guest/native/pump.ts, the same contract
 * the C platform layer serves natively. It runs the pump in the host's Wasm engine in seconds, with
 * no cross-compile: serial input is given up front, the clock advances 10 ms per poll. Ticket seal
 * checks (src/guest/tickets/platform_verifier.ts) are answered with the hosted runtime's verifier
 * (@noble/ed25519, checkSeal), and update manifest checks (src/guest/updates/platform_signature_check.ts)
 * with the hosted update check's verifyUpdateMessage, where the native platform uses libsodium.
 */
import { runTool, StageError, TOOLS } from "./tools.ts";
import { join } from "node:path";
import { checkSeal } from "../ticket/codec.ts";
import { verifyUpdateMessage } from "../update/signature_check.ts";
import { UST_OK } from "../../guest/updates/update_store.ts";
import {
  PUS_ACK,
  PUS_DOMAIN_BYTES,
  PUS_KEY,
  PUS_MICROS,
  PUS_MSG,
  PUS_MSG_CAP,
  PUS_MSG_LEN,
  PUS_RESULT,
  PUS_SIG,
  PUS_SIGNATURE,
  pusSignatureByte,
  UPDATE_VERIFY_LINE,
} from "../../guest/updates/platform_signature_check.ts";
import {
  VB_ACK,
  VB_BYTES,
  VB_CLAIMS,
  VB_CLAIMS_LEN,
  VB_KEY,
  VB_RESULT,
  VB_SEAL,
  VB_SIG,
} from "../../guest/tickets/platform_verifier.ts";

const SIG = Array.from({ length: 32 }, (_, i) => (i * 73 + 41) % 256);
const VERIFY_SIG = Array.from({ length: VB_SIG }, (_, i) => (i * 59 + 17) % 256);
const UPDATE_SIG = Array.from({ length: PUS_SIG }, (_, i) => pusSignatureByte(i));

/** The offset of the only `sig`-marked region of `bytes` bytes in `m`; throws when none or two. */
function findSignature(m: Uint8Array, sig: number[], bytes: number, what: string): number {
  let found = -1;
  search: for (let at = 0; at + bytes <= m.length; at++) {
    for (let i = 0; i < sig.length; i++) if (m[at + i] !== sig[i]) continue search;
    if (found >= 0) throw new StageError("run-wasm", `two ${what} mailbox signatures in linear memory`);
    found = at;
  }
  if (found < 0) throw new StageError("run-wasm", `no ${what} mailbox signature in linear memory`);
  return found;
}
const MB = {
  ACK: 32,
  EOF: 33,
  TX_LEN: 36,
  RX_LEN: 40,
  NOW_LO: 44,
  NOW_HI: 48,
  RX_KEEP: 52,
  TX: 64,
  TX_CAP: 4096,
  RX_CAP: 1024,
};
const RX = MB.TX + MB.TX_CAP;

export interface WasmPumpRun {
  /** The guest's own lines (banner, transcript), as printed. */
  printed: string;
  /** Bytes the pump sent to the serial console. */
  serial: string;
  /** Poll rounds served. */
  polls: number;
}

/** Compiles a bundled script to Wasm with the guest-build flags. */
export async function porfWasm(js: string): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "cohesix-wasm-" });
  try {
    await Deno.writeTextFile(join(dir, "guest.js"), js);
    await runTool("wasm", TOOLS.porf, [
      "wasm",
      "-O1",
      "--unreachable-exceptions",
      "--no-wasm-exceptions",
      "guest.js",
      "guest.wasm",
    ], {
      cwd: dir,
      env: { NO_COLOR: "1" },
    });
    return await Deno.readFile(join(dir, "guest.wasm"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the module's main with `input` as serial input; throws StageError("run-wasm") on a trap. */
export async function runWasmPump(
  wasm: Uint8Array,
  input: Uint8Array,
  maxPolls = 100_000,
): Promise<WasmPumpRun> {
  let memory: WebAssembly.Memory | undefined;
  let mb = -1;
  let printed = "";
  const serial: number[] = [];
  let inRequest = false;
  let atLineStart = true;
  let offered = 0;
  let polls = 0;

  const poll = () => {
    polls++;
    if (polls > maxPolls) throw new StageError("run-wasm", `the guest polled more than ${maxPolls} times`);
    const m = new Uint8Array(memory!.buffer);
    if (mb < 0) mb = findSignature(m, SIG, RX + MB.RX_CAP, "event pump");
    const u32 = (o: number) =>
      m[mb + o] + m[mb + o + 1] * 256 + m[mb + o + 2] * 65536 + m[mb + o + 3] * 16777216;
    const put = (o: number, v: number) => {
      for (let i = 0; i < 4; i++) m[mb + o + i] = Math.floor(v / 256 ** i) % 256;
    };
    m[mb + MB.ACK] = 1;
    const tx = u32(MB.TX_LEN);
    const keep = u32(MB.RX_KEEP);
    if (tx > MB.TX_CAP || keep > MB.RX_CAP) throw new StageError("run-wasm", "mailbox lengths out of range");
    for (let i = 0; i < tx; i++) serial.push(m[mb + MB.TX + i]);
    const n = Math.min(MB.RX_CAP - keep, input.length - offered);
    m.set(input.subarray(offered, offered + n), mb + RX + keep);
    offered += n;
    put(MB.RX_LEN, keep + n);
    m[mb + MB.EOF] = offered === input.length ? 1 : 0;
    put(MB.NOW_LO, (polls * 10) % 4294967296);
    put(MB.NOW_HI, 0);
  };

  let vb = -1;
  const verify = () => {
    const m = new Uint8Array(memory!.buffer);
    if (vb < 0) vb = findSignature(m, VERIFY_SIG, VB_BYTES, "ticket verify");
    const at = (o: number, n: number) => m.slice(vb + o, vb + o + n);
    const len = m[vb + VB_CLAIMS_LEN] + m[vb + VB_CLAIMS_LEN + 1] * 256;
    if (len > VB_BYTES - VB_CLAIMS) {
      throw new StageError("run-wasm", "ticket verify: claims length out of range");
    }
    m[vb + VB_RESULT] = checkSeal(
      at(VB_SEAL, 4),
      at(VB_SEAL + 4, 16),
      at(VB_SEAL + 20, 64),
      at(VB_KEY, 32),
      at(VB_CLAIMS, len),
    );
    m[vb + VB_ACK] = 1;
  };
  // The update check's mailbox: found by its header, then its message capacity (set by the guest
  // once) must fit in memory, and each message must fit the capacity (the C platform traps the same).
  let ub = -1;
  const verifyUpdate = () => {
    const m = new Uint8Array(memory!.buffer);
    if (ub < 0) ub = findSignature(m, UPDATE_SIG, PUS_MSG, "update verify");
    const u32 = (o: number) =>
      m[ub + o] + m[ub + o + 1] * 256 + m[ub + o + 2] * 65536 + m[ub + o + 3] * 16777216;
    const cap = u32(PUS_MSG_CAP);
    const len = u32(PUS_MSG_LEN);
    if (cap < PUS_DOMAIN_BYTES || ub + PUS_MSG + cap > m.length) {
      throw new StageError("run-wasm", "update verify: mailbox capacity out of range");
    }
    if (len < PUS_DOMAIN_BYTES || len > cap) throw new StageError("run-wasm", "update verify: message length out of range");
    const t0 = performance.now();
    const rc = verifyUpdateMessage(
      m.slice(ub + PUS_MSG, ub + PUS_MSG + len),
      m.slice(ub + PUS_SIGNATURE, ub + PUS_SIGNATURE + 64),
      m.slice(ub + PUS_KEY, ub + PUS_KEY + 32),
    );
    const micros = Math.min(Math.round((performance.now() - t0) * 1000), 4294967295);
    for (let i = 0; i < 4; i++) m[ub + PUS_MICROS + i] = Math.floor(micros / 256 ** i) % 256;
    m[ub + PUS_RESULT] = rc === UST_OK ? 0 : 1;
    m[ub + PUS_ACK] = 1;
  };
  let request = "";

  const imports = {
    "": {
      a: (x: number) => {
        printed += String(x);
      },
      b: (unit: number) => {
        const c = unit % 65536;
        if (atLineStart && c === 1) {
          inRequest = true;
          request = "";
        }
        atLineStart = c === 10;
        if (inRequest) {
          if (c !== 10) {
            request += String.fromCharCode(c);
            return;
          }
          inRequest = false;
          if (request === "\u0001cohesix-poll") poll();
          else if (request === "\u0001cohesix-verify") verify();
          else if (request === UPDATE_VERIFY_LINE) verifyUpdate();
          else throw new StageError("run-wasm", `unknown platform request ${JSON.stringify(request)}`);
          return;
        }
        printed += String.fromCharCode(c);
      },
    },
  };
  const module = await WebAssembly.compile(wasm as BufferSource);
  const instance = await WebAssembly.instantiate(module, imports);
  memory = instance.exports.$ as WebAssembly.Memory;
  try {
    (instance.exports.m as () => void)();
  } catch (err) {
    if (err instanceof StageError) throw err;
    const tail = printed.trim().split("\n").slice(-3).join("\n");
    throw new StageError("run-wasm", `the guest trapped (${(err as Error).message}); last lines:\n${tail}`);
  }
  return { printed, serial: new TextDecoder().decode(new Uint8Array(serial)), polls };
}
