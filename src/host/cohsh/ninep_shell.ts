/**
 * cohsh over Secure9P (`--transport 9p`): the console verbs driven as 9P2000.L operations with the
 * host client (src/secure9p/host), rendered with the shared grammar so the transcript is the one
 * the console prints: same parse errors, same `OK`/`ERR` lines, same errno → reason mapping, same
 * CAT summary, same 256-byte payload lines.
 *
 * Differences, by design: there is no AUTH token over 9P; `tail -f` polls (9P reads do not block)
 * every FOLLOW_POLL_MS until `cancel()`.
 */
import { ByteWriter } from "../../guest/lib/bytes.ts";
import {
  CatSummary,
  ATTACH_RETRY_QUOTA,
  attachBackoffMs,
  Command,
  HELP_LINES,
  lookupRole,
  MAX_LINE,
  needsAttach,
  needsQueen,
  parseAck,
  parseCommand,
  ROLE_NAMES,
  ROLE_QUEEN,
  SUMMARY_WINDOW,
  summaryStart,
  Verb,
  writeErr,
  writeKey,
  writeKv,
  writeOk,
  writeParseError,
  writeRefusal,
} from "../../guest/console/grammar.ts";
import { EBUSY, EINVAL, EISDIR, ENOENT, ENOTDIR } from "../../secure9p/errors.ts";
import { O_APPEND, O_RDONLY, O_WRONLY, QTDIR } from "../../secure9p/namespace.ts";
import { type Attr, NineClient, NineError } from "../../secure9p/host/client.ts";
import { type CohshSession, isPoolLine, localError, runPoolLine, type ShellReply, toWire } from "./shell.ts";
import type { ClientPolicy } from "../../codegen/emit/client_policy.ts";
import { NinepPoolSession } from "./pool_sessions.ts";
import { defaultPolicy } from "./policy.ts";
import { TransportError } from "./transport.ts";

/** The console's attach back-off, kept on the host clock (the guest keeps the same two numbers inline). */
export class LoginThrottle {
  failures = 0;
  blockedUntilMs = 0;

  clearFailures(): void {
    this.failures = 0;
    this.blockedUntilMs = 0;
  }

  waitMs(nowMs: number): number {
    return nowMs < this.blockedUntilMs ? this.blockedUntilMs - nowMs : 0;
  }

  /** Records a failure; true when the retry quota is used up. */
  recordFailure(nowMs: number): boolean {
    this.blockedUntilMs = nowMs + attachBackoffMs(this.failures);
    this.failures++;
    return this.failures >= ATTACH_RETRY_QUOTA;
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Cuts file bytes into console payload lines exactly as the guest streams them: one line per
 * `\n`, lines longer than 256 bytes cut into 256-byte pieces (a newline right after a cut ends no
 * extra line), a final unterminated line emitted at the end.
 */
export class LineSplitter {
  private carry: number[] = [];
  private split = false;

  push(data: Uint8Array): string[] {
    const lines: string[] = [];
    for (const b of data) {
      if (b === 10) {
        if (!(this.split && this.carry.length === 0)) lines.push(this.take());
        this.split = false;
        continue;
      }
      this.carry.push(b);
      this.split = false;
      if (this.carry.length === MAX_LINE) {
        lines.push(this.take());
        this.split = true;
      }
    }
    return lines;
  }

  /** The unterminated rest, if any. */
  end(): string[] {
    return this.carry.length > 0 ? [this.take()] : [];
  }

  private take(): string {
    const s = dec.decode(new Uint8Array(this.carry));
    this.carry = [];
    return s;
  }
}

/** All payload lines of a file's bytes. */
export function payloadLines(data: Uint8Array): string[] {
  const sp = new LineSplitter();
  return [...sp.push(data), ...sp.end()];
}

/** How often a followed file is read again over 9P (reads do not block). */
export const FOLLOW_POLL_MS = 100;

class Refusal {
  constructor(readonly errno: number) {}
}

export class NinepShell implements CohshSession {
  quitSeen = false;
  private rootFid = -1;
  private role = -1;
  private w = new ByteWriter(1024);
  private summary = new CatSummary();
  /** The console's attach back-off, applied here on the host clock so both transports answer alike. */
  private throttle = new LoginThrottle();
  private t0 = performance.now();

  /** The manifest's client policy (pool sizes, retry schedule); `--policy` replaces it. */
  policy: ClientPolicy = defaultPolicy();
  /** Where pooled sessions dial, and the ticket the shell attached with (they attach alike). */
  private endpoint: { hostname: string; port: number } | null = null;
  private ticket = "";

  constructor(readonly client: NineClient, readonly transportName: string) {}

  static async dial(hostname: string, port: number): Promise<NinepShell> {
    try {
      const shell = new NinepShell(await NineClient.dial(hostname, port), `9p ${hostname}:${port}`);
      shell.endpoint = { hostname, port };
      return shell;
    } catch (e) {
      throw new TransportError(
        `Cannot reach the hive's 9P service at ${hostname}:${port} (${(e as Error).message}); start one with 'cohesix dev' or pass --host/--port`,
      );
    }
  }

  private following = false;
  private stopFollow: (() => void) | null = null;

  cancel(): Promise<boolean> {
    if (!this.following) return Promise.resolve(false);
    this.following = false;
    this.stopFollow?.();
    return Promise.resolve(true);
  }

  async execute(input: string, onLine?: (line: string) => void): Promise<ShellReply | null> {
    if (isPoolLine(input)) return await this.pool(input, onLine);
    const action = toWire(input);
    if (action.kind === "empty") return null;
    if (action.kind === "local-error") return localError(action.message, onLine);
    let streamed = false;
    const lines = await this.run(action.wire, (l) => {
      streamed = true;
      onLine?.(l);
    }).catch((e) => {
      if (e instanceof NineError) throw new TransportError(`The 9P server failed a request (${e.message}); reconnect`);
      throw e;
    });
    if (!streamed) for (const l of lines) onLine?.(l);
    const ackLine = lines.find((l) => parseAck(l) !== null) ?? "";
    return { lines, ack: parseAck(ackLine), ackLine, closed: this.quitSeen };
  }

  close(): void {
    this.client.close();
  }

  private line(fill: (w: ByteWriter) => void): string {
    const w = this.w;
    w.reset();
    fill(w);
    return dec.decode(w.buf.subarray(0, Math.min(w.len, MAX_LINE)));
  }

  private refusal(v: number, errno: number, path: Uint8Array): string {
    return this.line((w) => writeRefusal(w, v, errno, path, 0, path.length));
  }

  private async run(wire: string, emit: (line: string) => void): Promise<string[]> {
    const bytes = enc.encode(wire);
    const cmd = new Command();
    const v = parseCommand(bytes, 0, bytes.length, cmd);
    if (v < 0) return [this.line((w) => writeParseError(w, -v, cmd.errArg))];
    if (needsAttach(v) && this.rootFid < 0) {
      return [this.line((w) => {
        writeErr(w, v);
        w.ascii(" reason=policy detail=unauthenticated");
      })];
    }
    if (needsQueen(v) && this.role !== ROLE_QUEEN) {
      return [this.line((w) => {
        writeErr(w, v);
        writeKv(w, "reason", "policy");
        writeKv(w, "detail", "denied");
        writeKv(w, "role", ROLE_NAMES[this.role]);
      })];
    }
    const a1 = bytes.subarray(cmd.a1Off, cmd.a1Off + cmd.a1Len);
    const a2 = bytes.subarray(cmd.a2Off, cmd.a2Off + cmd.a2Len);
    switch (v) {
      case Verb.Help:
        return [...HELP_LINES, "OK HELP"];
      case Verb.Ping:
        await this.client.flush(this.client.peekTag());
        return ["PONG", "OK PING reply=pong"];
      case Verb.Test:
        return ["ERR TEST reason=policy detail=host-only"];
      case Verb.Quit:
        if (this.rootFid >= 0) await this.client.clunk(this.rootFid).catch(() => {});
        this.rootFid = -1;
        this.quitSeen = true;
        this.client.close();
        return ["OK QUIT"];
      case Verb.Attach:
      case Verb.Login:
        return [await this.attach(v, a1, a2)];
      case Verb.Cat:
      case Verb.Tail:
        if (cmd.follow) return await this.follow(a1, emit);
        return await this.readFile(v, a1);
      case Verb.Log:
        return await this.readFile(v, enc.encode("/log/queen.log"));
      case Verb.Ls:
        return await this.list(a1);
      case Verb.Echo:
        return [await this.append(v, a1, concat(a2, enc.encode("\n")), (w) => {
          writeKey(w, "path");
          w.bytes(a1, 0, a1.length);
          writeKey(w, "bytes");
          w.uint(a2.length);
        })];
      default:
        return [await this.queenCtl(v, a1, a2)];
    }
  }

  private async attach(v: number, roleBytes: Uint8Array, ticket: Uint8Array): Promise<string> {
    const head = (w: ByteWriter) => writeErr(w, v);
    if (this.rootFid >= 0) return this.line((w) => (head(w), w.ascii(" reason=policy detail=already-attached")));
    const now = Math.floor(performance.now() - this.t0);
    const wait = this.throttle.waitMs(now);
    if (wait > 0) return this.line((w) => (head(w), w.ascii(" reason=quota detail=throttled delay_ms="), w.uint(wait)));
    const role = lookupRole(roleBytes, 0, roleBytes.length);
    if (role < 0) {
      this.throttle.recordFailure(now);
      return this.line((w) => (head(w), w.ascii(" reason=policy detail=invalid-role")));
    }
    const fid = this.client.newFid();
    try {
      await this.client.attach(fid, ROLE_NAMES[role], dec.decode(ticket));
    } catch (e) {
      if (!(e instanceof NineError)) throw e;
      this.throttle.recordFailure(now);
      const busy = e.errno === EBUSY;
      return this.line((w) => (head(w), w.ascii(busy ? " reason=busy detail=busy" : " reason=policy detail=denied")));
    }
    this.rootFid = fid;
    this.role = role;
    this.ticket = dec.decode(ticket);
    this.throttle.clearFailures();
    return this.line((w) => (writeOk(w, v), writeKv(w, "role", ROLE_NAMES[role])));
  }

  /** `pool bench` over `telemetry_sessions` new 9P sessions, each attached with this shell's role and ticket. */
  private async pool(input: string, onLine?: (line: string) => void): Promise<ShellReply> {
    const ep = this.endpoint;
    const attached = this.rootFid >= 0 && ep !== null;
    const open = (batch: number) => NinepPoolSession.open(ep!.hostname, ep!.port, ROLE_NAMES[this.role], this.ticket, batch);
    const size = this.policy.pool.telemetry_sessions;
    return await runPoolLine(input, attached, open, size, this.policy, (l) => console.error(l), onLine);
  }

  /** Walks a console path from the attach root one component at a time; returns a new fid. */
  private async walk(path: Uint8Array): Promise<number> {
    if (path.length === 0 || path[0] !== 47) throw new Refusal(ENOENT);
    const names = dec.decode(path).split("/").filter((n) => n !== "");
    if (names.some((n) => n === "." || n === "..")) throw new Refusal(EINVAL);
    const fid = this.client.newFid();
    await this.client.walk(this.rootFid, fid, []);
    for (const name of names) {
      try {
        await this.client.walk(fid, fid, [name]);
      } catch (e) {
        await this.client.clunk(fid).catch(() => {});
        if (e instanceof NineError) throw new Refusal(e.errno);
        throw e;
      }
    }
    return fid;
  }

  private async guard<T>(v: number, path: Uint8Array, fid: number | null, body: () => Promise<T>): Promise<T | string> {
    try {
      return await body();
    } catch (e) {
      if (e instanceof Refusal) return this.refusal(v, e.errno, path);
      if (e instanceof NineError) return this.refusal(v, e.errno, path);
      throw e;
    } finally {
      if (fid !== null && fid >= 0) await this.client.clunk(fid).catch(() => {});
    }
  }

  /** Walks to `path` and runs `body` on the new fid under `guard`; a refused walk is the verb's refusal line. */
  private async atPath<T>(v: number, path: Uint8Array, body: (fid: number) => Promise<T>): Promise<T | string> {
    let fid: number;
    try {
      fid = await this.walk(path);
    } catch (e) {
      if (e instanceof Refusal) return this.refusal(v, e.errno, path);
      throw e;
    }
    return await this.guard(v, path, fid, () => body(fid));
  }

  /** Opens a walked fid for reading; a directory is refused with EISDIR. Returns its attributes. */
  private async openForRead(fid: number): Promise<Attr> {
    await this.client.open(fid, O_RDONLY);
    const attr = await this.client.getattr(fid);
    if (attr.qid.type >= QTDIR) throw new Refusal(EISDIR);
    return attr;
  }

  private async readFile(v: number, path: Uint8Array): Promise<string[]> {
    const r = await this.atPath(v, path, async (fid) => {
      const attr = await this.openForRead(fid);
      if (v === Verb.Cat) {
        const start = summaryStart(attr.size);
        const data = await this.client.read(fid, start, SUMMARY_WINDOW);
        const ack = this.line((w) => {
          writeOk(w, v);
          writeKey(w, "path");
          w.bytes(path, 0, path.length);
          writeKey(w, "data");
          if (data.length > 0) this.summary.write(w, data, data.length, start, path.length);
        });
        return [ack, ...payloadLines(await this.client.readAll(fid)), "END"];
      }
      const ack = this.line((w) => {
        writeOk(w, v);
        if (v !== Verb.Log) {
          writeKey(w, "path");
          w.bytes(path, 0, path.length);
        }
      });
      return [ack, ...payloadLines(await this.client.readAll(fid)), "END"];
    });
    return typeof r === "string" ? [r] : r;
  }

  /** `tail -f` over 9P: read to the end, then poll for appends until `cancel()`; then `END`. */
  private async follow(path: Uint8Array, emit: (line: string) => void): Promise<string[]> {
    const v = Verb.Tail;
    let fid: number;
    try {
      fid = await this.walk(path);
    } catch (e) {
      if (e instanceof Refusal) return [this.refusal(v, e.errno, path)];
      throw e;
    }
    const r = await this.guard(v, path, fid, async () => {
      await this.openForRead(fid);
      const out: string[] = [];
      const put = (l: string) => {
        out.push(l);
        emit(l);
      };
      put(this.line((w) => (writeOk(w, v), writeKey(w, "path"), w.bytes(path, 0, path.length))));
      const splitter = new LineSplitter();
      let offset = 0;
      this.following = true;
      try {
        while (this.following) {
          const data = await this.client.read(fid, offset, this.client.ioChunk);
          if (data.length > 0) {
            offset += data.length;
            splitter.push(data).forEach(put);
            continue;
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, FOLLOW_POLL_MS);
            this.stopFollow = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      } finally {
        this.following = false;
        this.stopFollow = null;
      }
      splitter.end().forEach(put);
      put("END");
      return out;
    });
    if (typeof r === "string") {
      emit(r);
      return [r];
    }
    return r;
  }

  private async list(path: Uint8Array): Promise<string[]> {
    const v = Verb.Ls;
    const r = await this.atPath(v, path, async (fid) => {
      const attr = await this.client.getattr(fid);
      if (attr.qid.type < QTDIR) throw new Refusal(ENOTDIR);
      await this.client.open(fid, O_RDONLY);
      const names = (await this.client.readdirAll(fid)).map((e) => e.name).filter((n) => n !== "." && n !== "..");
      names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const ack = this.line((w) => {
        writeOk(w, v);
        writeKey(w, "path");
        w.bytes(path, 0, path.length);
        writeKey(w, "entries");
        w.uint(names.length);
      });
      return [ack, ...names.map((n) => dec.decode(enc.encode(n).subarray(0, MAX_LINE))), "END"];
    });
    return typeof r === "string" ? [r] : r;
  }

  /** Appends `data` to the file at `path`; on success renders `OK <VERB>` plus `detail`. */
  private async append(v: number, path: Uint8Array, data: Uint8Array, detail: (w: ByteWriter) => void): Promise<string> {
    return await this.atPath(v, path, async (fid) => {
      await this.client.open(fid, O_WRONLY + O_APPEND);
      const attr = await this.client.getattr(fid);
      await this.client.write(fid, attr.size, data);
      return this.line((w) => (writeOk(w, v), detail(w)));
    });
  }

  private async queenCtl(v: number, a1: Uint8Array, a2: Uint8Array): Promise<string> {
    if (v === Verb.Lifecycle) {
      // One command line to /queen/lifecycle/ctl, as the console writes it.
      return await this.append(v, enc.encode("/queen/lifecycle/ctl"), concat(a1, enc.encode("\n")), (w) => {
        writeKey(w, "action");
        w.bytes(a1, 0, a1.length);
      });
    }
    const ctl = enc.encode("/queen/ctl");
    const s1 = dec.decode(a1);
    const s2 = dec.decode(a2);
    if (v !== Verb.Spawn && /["\\]/.test(s1 + s2)) return this.refusal(v, EINVAL, ctl);
    let json: string;
    if (v === Verb.Spawn) json = s1;
    else if (v === Verb.Kill) json = `{"kill":"${s1}"}`;
    else if (v === Verb.Bind) json = `{"bind":{"from":"${s1}","to":"${s2}"}}`;
    else json = `{"mount":{"service":"${s1}","at":"${s2}"}}`;
    return await this.append(v, ctl, enc.encode(json + "\n"), (w) => {
      if (v === Verb.Spawn) {
        writeKey(w, "payload");
        w.bytes(a1, 0, a1.length);
      } else if (v === Verb.Kill) {
        writeKey(w, "id");
        w.bytes(a1, 0, a1.length);
      } else if (v === Verb.Bind) {
        writeKey(w, "from");
        w.bytes(a1, 0, a1.length);
        writeKey(w, "to");
        w.bytes(a2, 0, a2.length);
      } else {
        writeKey(w, "service");
        w.bytes(a1, 0, a1.length);
        writeKey(w, "at");
        w.bytes(a2, 0, a2.length);
      }
    });
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

