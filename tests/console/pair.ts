/**
 * In-memory console pair for tests: drives a sans-IO `Hive` connection the way the hosted runtime
 * does (feed input, drain output, offer unconsumed bytes again) and decodes the reply lines with
 * the same shared framing. No sockets.
 */
import { Hive } from "../../src/guest/hive.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { encodeFrameHeader, Frame, FrameDecoder } from "../../src/guest/console/framing.ts";
import { isStreamingLabel, parseAck } from "../../src/guest/console/grammar.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export function frame(line: string | Uint8Array): Uint8Array {
  const body = typeof line === "string" ? enc.encode(line) : line;
  const f = new Uint8Array(body.length + 4);
  encodeFrameHeader(f, 0, body.length);
  f.set(body, 4);
  return f;
}

export function newHive(authToken = "changeme"): Hive {
  const hive = new Hive(defaultBootConfig(), { authToken });
  hive.advance(0);
  return hive;
}

/** One console connection of a hive. */
export class ConsolePair {
  readonly id: number;
  private decoder = new FrameDecoder();
  private pending: string[] = [];
  private serialRest = "";
  private out = new Uint8Array(4096);

  constructor(readonly hive: Hive, readonly kind: "tcp" | "serial" = "tcp", readonly drainChunk = 4096) {
    this.id = hive.openConsole(kind);
    if (this.id < 0) throw new Error(`openConsole failed: ${this.id}`);
  }

  /** Feeds bytes, draining output between partial acceptances; returns output lines. */
  feed(bytes: Uint8Array): string[] {
    let off = 0;
    let guard = 0;
    while (off < bytes.length) {
      const n = this.hive.input(this.id, bytes, off, bytes.length - off);
      if (n < 0) throw new Error(`input failed: ${n}`);
      off += n;
      this.drain();
      if (n === 0 && ++guard > 10000) throw new Error("input made no progress");
    }
    this.drain();
    return this.take();
  }

  send(line: string): string[] {
    return this.feed(this.kind === "tcp" ? frame(line) : enc.encode(line + "\n"));
  }

  /** Sends a command and returns its reply lines (through END for streams). */
  request(line: string): string[] {
    return this.send(line);
  }

  drain(): void {
    for (;;) {
      const m = this.hive.output(this.id, this.out, 0, Math.min(this.drainChunk, this.out.length));
      if (m === 0) return;
      if (this.kind === "tcp") {
        for (let i = 0; i < m; i++) {
          const ev = this.decoder.push(this.out[i]);
          if (ev === Frame.Line || ev === Frame.Control) {
            this.pending.push(dec.decode(this.decoder.line.subarray(0, this.decoder.lineLen)));
          } else if (ev !== Frame.More) throw new Error(`bad frame from hive: event ${ev}`);
        }
      } else {
        const text = this.serialRest + dec.decode(this.out.subarray(0, m));
        const parts = text.split("\n");
        this.serialRest = parts.pop()!;
        this.pending.push(...parts);
      }
    }
  }

  take(): string[] {
    const p = this.pending;
    this.pending = [];
    return p;
  }

  auth(token = "changeme"): string[] {
    return this.send(`AUTH ${token}`);
  }

  closed(): boolean {
    return this.hive.closed(this.id);
  }

  close(): void {
    this.hive.close(this.id);
  }
}

/** The ack line of a reply (first OK/ERR line). */
export function ackOf(lines: string[]): string {
  return lines.find((l) => parseAck(l) !== null) ?? "";
}

/** Payload lines of a streamed reply (between the ack and END). */
export function payloadOf(lines: string[]): string[] {
  const i = lines.findIndex((l) => parseAck(l) !== null);
  const ack = parseAck(lines[i]);
  if (!ack || !ack.ok || !isStreamingLabel(ack.verb)) return [];
  const end = lines.indexOf("END", i);
  return lines.slice(i + 1, end);
}
