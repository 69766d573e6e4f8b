/**
 * The cohsh shell surface: what an operator types → the console wire line (shared grammar
 * tokens), plus the few shell-only forms (`echo <text> > <path>`). Unknown verbs are passed
 * through unchanged so the hive answers them (one source of truth for errors).
 */
import { MAX_LINE, ticketShapeOk, Verb, VERB_TOKENS, verbOfText } from "../../guest/console/grammar.ts";
import { parseAck } from "../../guest/console/grammar.ts";
import type { ClientPolicy } from "../../codegen/emit/client_policy.ts";
import type { ConsoleClient, Reply } from "./client.ts";
import { parsePoolBench, poolBench, type SessionFactory } from "./pool.ts";
import { ConsolePoolSession } from "./pool_sessions.ts";
import { defaultPolicy } from "./policy.ts";
import { CLIENT_POLICY } from "../generated/cohsh_policy.ts";
import { TcpTransport, TransportError } from "./transport.ts";

export type ShellAction =
  | { kind: "empty" }
  | { kind: "wire"; verb: number; wire: string }
  | { kind: "local-error"; message: string };

const utf8 = new TextEncoder();

/** Translates one typed line into a wire line, or a local usage error. */
export function toWire(input: string): ShellAction {
  const line = input.trim();
  if (line === "") return { kind: "empty" };
  // Checked here so every transport refuses the same lines the same way.
  if (hasControl(line)) {
    return { kind: "local-error", message: "the line contains control characters; remove them" };
  }
  const verb = verbOfText(line);
  const m = /^(\S+)\s*(.*)$/s.exec(line)!;
  const rest = m[2];
  if (verb === 0) return checkLength({ kind: "wire", verb, wire: line });
  const label = VERB_TOKENS[verb].toUpperCase();
  if (verb === Verb.Echo) {
    const at = rest.lastIndexOf(">");
    if (at < 0) {
      return { kind: "local-error", message: "echo needs '<text> > <path>', e.g. echo hello > /log/queen.log" };
    }
    let text = rest.slice(0, at).trim();
    const path = rest.slice(at + 1).trim();
    if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
    if (path === "" || /\s/.test(path)) {
      return { kind: "local-error", message: "echo needs exactly one path after '>', e.g. echo hello > /log/queen.log" };
    }
    if (text === "") return { kind: "local-error", message: "echo needs some text before '>'" };
    return checkLength({ kind: "wire", verb, wire: `ECHO ${path} ${text}` });
  }
  if (verb === Verb.Attach || verb === Verb.Login) {
    const args = rest === "" ? [] : rest.split(/\s+/);
    if (args.length === 0) return { kind: "local-error", message: "attach requires a role, e.g. attach queen" };
    if (args.length > 2) {
      return { kind: "local-error", message: "attach takes at most two arguments: role and optional ticket" };
    }
    if (args.length === 2) {
      const t = utf8.encode(args[1]);
      if (!ticketShapeOk(t, 0, t.length)) {
        return { kind: "local-error", message: `'${args[1].slice(0, 24)}…' is not a ticket (cht1.<claims>.<seal>); mint one with 'cohesix ticket mint'` };
      }
    }
    return checkLength({ kind: "wire", verb, wire: `ATTACH ${args.join(" ")}` });
  }
  if (verb === Verb.Lifecycle) {
    // The action is checked here (a typo never reaches the hive); the transition is the hive's call.
    const m = /^(cordon|drain|resume|quiesce|reset)( reason=[A-Za-z0-9._:-]{1,64})?$/.exec(rest);
    if (!m) {
      return { kind: "local-error", message: `lifecycle: '${rest.slice(0, 40)}' is not ${LIFECYCLE_USAGE}` };
    }
    return checkLength({ kind: "wire", verb, wire: `LIFECYCLE ${rest}` });
  }
  if (verb === Verb.Spawn && rest !== "" && !rest.startsWith("{")) {
    const json = spawnJson(rest.split(/\s+/));
    if (typeof json !== "string") return { kind: "local-error", message: json.error };
    return checkLength({ kind: "wire", verb, wire: `SPAWN ${json}` });
  }
  return checkLength({ kind: "wire", verb, wire: rest === "" ? label : `${label} ${rest}` });
}

const LIFECYCLE_USAGE = "lifecycle cordon|drain|resume|quiesce|reset [reason=<token>]";

const SPAWN_USAGE = "spawn heartbeat ticks=N [ttl_s=T] [ops=O] | spawn gpu gpu_id=ID mem_mb=M streams=S ttl_s=T " +
  "[priority=P] [budget_ttl_s=T] [budget_ops=O] | spawn <json>";

/**
 * The shell form of spawn → the /queen/ctl JSON (keys in the reference order):
 * `{"spawn":"heartbeat","ticks":N[,"budget":{"ttl_s":T,"ops":O}]}` or
 * `{"spawn":"gpu","lease":{"gpu_id":…,"mem_mb":…,"streams":…,"ttl_s":…[,"priority":…]}[,"budget":{…}]}`.
 */
export function spawnJson(words: string[]): string | { error: string } {
  const [kind, ...pairs] = words;
  const kv = new Map<string, string>();
  for (const p of pairs) {
    const m = /^([a-z_]+)=(\S+)$/.exec(p);
    if (!m) return { error: `spawn: '${p}' is not key=value (${SPAWN_USAGE})` };
    if (kv.has(m[1])) return { error: `spawn: ${m[1]} given twice` };
    kv.set(m[1], m[2]);
  }
  const num = (k: string, required: boolean): number | undefined | { error: string } => {
    const v = kv.get(k);
    kv.delete(k);
    if (v === undefined) return required ? { error: `spawn ${kind}: ${k}= is required (${SPAWN_USAGE})` } : undefined;
    if (!/^\d{1,15}$/.test(v)) return { error: `spawn: ${k} must be a non-negative integer, got '${v}'` };
    return Number(v);
  };
  const budget = (ttlKey: string, opsKey: string): string | { error: string } => {
    const t = num(ttlKey, false);
    const o = num(opsKey, false);
    if (typeof t === "object") return t;
    if (typeof o === "object") return o;
    const parts = [t === undefined ? "" : `"ttl_s":${t}`, o === undefined ? "" : `"ops":${o}`].filter((x) => x !== "");
    return parts.length === 0 ? "" : `,"budget":{${parts.join(",")}}`;
  };
  let json: string;
  if (kind === "heartbeat") {
    const ticks = num("ticks", true);
    if (typeof ticks === "object") return ticks;
    const b = budget("ttl_s", "ops");
    if (typeof b === "object") return b;
    json = `{"spawn":"heartbeat","ticks":${ticks}${b}}`;
  } else if (kind === "gpu") {
    const id = kv.get("gpu_id");
    kv.delete("gpu_id");
    if (id === undefined || !/^[A-Za-z0-9_.-]{1,32}$/.test(id)) return { error: `spawn gpu: gpu_id= is required, e.g. gpu_id=GPU-0` };
    const lease: string[] = [`"gpu_id":"${id}"`];
    for (const k of ["mem_mb", "streams", "ttl_s"]) {
      const v = num(k, true);
      if (typeof v === "object") return v;
      lease.push(`"${k}":${v}`);
    }
    const pr = num("priority", false);
    if (typeof pr === "object") return pr;
    if (pr !== undefined) lease.push(`"priority":${pr}`);
    const b = budget("budget_ttl_s", "budget_ops");
    if (typeof b === "object") return b;
    json = `{"spawn":"gpu","lease":{${lease.join(",")}}${b}}`;
  } else return { error: `spawn: unknown worker kind '${kind ?? ""}' (${SPAWN_USAGE})` };
  if (kv.size > 0) return { error: `spawn ${kind}: unknown key ${[...kv.keys()].join(", ")} (${SPAWN_USAGE})` };
  return json;
}

/** Control characters other than TAB (the console refuses them). */
function hasControl(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}

function checkLength(a: ShellAction & { kind: "wire" }): ShellAction {
  const n = utf8.encode(a.wire).length;
  if (n > MAX_LINE) {
    return { kind: "local-error", message: `the console line is ${n} bytes; the limit is ${MAX_LINE}` };
  }
  return a;
}

/** A reply to one typed line: the hive's, or a local usage error (ack null, `local` set). */
export interface ShellReply extends Reply {
  local?: string;
}

/** What every cohsh transport offers: run one typed line, get its reply. */
export interface CohshSession {
  readonly transportName: string;
  quitSeen: boolean;
  /** Runs one typed line; `onLine` sees reply lines as they arrive (streams, tail -f). */
  execute(input: string, onLine?: (line: string) => void): Promise<ShellReply | null>;
  /** Stops a running `tail -f` (Ctrl-C); false when nothing is following. */
  cancel(): Promise<boolean>;
  /** Idle keep-alive (console transports): true when the hive answered. */
  heartbeat?(): Promise<boolean>;
  close(): void;
}

/** The reply to a line refused before it reached the hive (`cohsh: MESSAGE`), also given to `onLine`. */
export function localError(message: string, onLine?: (line: string) => void): ShellReply {
  const r: ShellReply = { lines: [`cohsh: ${message}`], ack: null, ackLine: "", closed: false, local: message };
  r.lines.forEach((l) => onLine?.(l));
  return r;
}

/** True for the shell-only `pool …` verbs (session pooling, handled by the host, not the hive). */
export function isPoolLine(input: string): boolean {
  return /^pool(\s|$)/.test(input.trim());
}

/** Runs `pool …` with a session factory; the reply is the single OK/ERR POOL line. */
export async function runPoolLine(
  input: string,
  attached: boolean,
  open: SessionFactory,
  size: number,
  policy: ClientPolicy,
  notice: (line: string) => void,
  onLine?: (line: string) => void,
): Promise<ShellReply> {
  const args = parsePoolBench(input.trim().slice(4));
  if (typeof args === "string") return localError(args, onLine);
  if (!attached) return localError("pool bench needs an attached session; run 'attach <role> [ticket]' first", onLine);
  const line = await poolBench(args, open, size, policy.retry, notice);
  onLine?.(line);
  return { lines: [line], ack: parseAck(line), ackLine: line, closed: false };
}

/** Reconnect policy of the default manifest's `[client_policies.retry]` (3 tries, 200 ms doubling to 2 s). */
export const RECONNECT_TRIES = CLIENT_POLICY.retry.max_attempts;
export const RECONNECT_FIRST_MS = CLIENT_POLICY.retry.backoff_ms;
export const RECONNECT_MAX_MS = CLIENT_POLICY.retry.ceiling_ms;

/**
 * Runs typed lines against a console client (tcp or serial line transport). With `reopen`, a
 * dropped connection is re-established before the next command: new connection (with AUTH),
 * then the last successful `attach` again; the command that saw the drop is reported, not
 * silently re-sent (it may have run).
 */
export class Shell implements CohshSession {
  quitSeen = false;
  private following = false;
  private dead = false;
  private attachWire: string | null = null;
  /** The manifest's client policy (pool sizes, retry schedule); `--policy` replaces it. */
  policy: ClientPolicy = defaultPolicy();

  constructor(
    public client: ConsoleClient,
    private reopen?: () => Promise<ConsoleClient>,
    private notice: (line: string) => void = (l) => console.error(l),
    private sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Reconnects and re-attaches; throws TransportError when every try failed. */
  private async revive(): Promise<void> {
    const retry = this.policy.retry;
    let delay = retry.backoff_ms;
    let last = "";
    for (let attempt = 1; attempt <= retry.max_attempts; attempt++) {
      this.notice(`cohsh: connection to the hive lost; reconnecting (try ${attempt} of ${retry.max_attempts}) in ${delay} ms`);
      await this.sleep(delay);
      try {
        const c = await this.reopen!();
        if (this.attachWire !== null) {
          const r = await c.request(this.attachWire);
          if (!r.ack?.ok) {
            c.close();
            throw new TransportError(`re-attach was refused: ${r.ackLine || "no reply"}`);
          }
        }
        this.client.close();
        this.client = c;
        this.dead = false;
        this.notice(`cohsh: reconnected to ${c.transport.name}${this.attachWire ? ` (${this.attachWire.toLowerCase()})` : ""}`);
        return;
      } catch (e) {
        if (!(e instanceof TransportError)) throw e;
        last = e.message;
      }
      delay = Math.min(delay * 2, retry.ceiling_ms);
    }
    throw new TransportError(`Cannot reconnect to the hive after ${retry.max_attempts} tries (${last})`);
  }

  /** Sends a heartbeat PING when idle; a failure marks the connection for reconnection. */
  async heartbeat(): Promise<boolean> {
    if (this.dead || this.quitSeen) return false;
    try {
      const r = await this.client.request("PING");
      if (r.closed || !r.ack?.ok) this.dead = this.reopen !== undefined;
      return r.ack?.ok === true;
    } catch (e) {
      if (!(e instanceof TransportError)) throw e;
      this.dead = this.reopen !== undefined;
      return false;
    }
  }

  get transportName(): string {
    return this.client.transport.name;
  }

  async execute(input: string, onLine?: (line: string) => void): Promise<ShellReply | null> {
    if (isPoolLine(input)) return await this.pool(input, onLine);
    const action = toWire(input);
    if (action.kind === "empty") return null;
    if (action.kind === "local-error") return localError(action.message, onLine);
    if (this.dead) await this.revive();
    const follow = action.verb === Verb.Tail && /^\S+\s+-f(\s|$)/.test(action.wire);
    this.following = follow;
    try {
      const reply = await this.client.request(action.wire, onLine, follow);
      if (action.verb === Verb.Quit && reply.ack?.ok) this.quitSeen = true;
      if ((action.verb === Verb.Attach || action.verb === Verb.Login) && reply.ack?.ok) this.attachWire = action.wire;
      if (action.verb === Verb.Quit) this.attachWire = null;
      if (reply.closed && !this.quitSeen && this.reopen !== undefined) this.dead = true;
      return reply;
    } catch (e) {
      if (e instanceof TransportError && this.reopen !== undefined) this.dead = true;
      throw e;
    } finally {
      this.following = false;
    }
  }

  /**
   * `pool bench` over the console: on TCP, `control_sessions` new console connections attached like
   * this one (the console is the control channel); on a serial line, this connection alone.
   */
  private async pool(input: string, onLine?: (line: string) => void): Promise<ShellReply> {
    if (this.dead) await this.revive();
    const wire = this.attachWire;
    const tcp = this.client.transport instanceof TcpTransport && this.reopen !== undefined;
    const open: SessionFactory = tcp
      ? () => ConsolePoolSession.open(this.reopen!, wire!)
      : () => Promise.resolve(new ConsolePoolSession(this.client, true));
    const size = tcp ? this.policy.pool.control_sessions : 1;
    return await runPoolLine(input, wire !== null, open, size, this.policy, this.notice, onLine);
  }

  async cancel(): Promise<boolean> {
    if (!this.following) return false;
    await this.client.cancelFollow();
    return true;
  }

  close(): void {
    this.client.close();
  }
}
