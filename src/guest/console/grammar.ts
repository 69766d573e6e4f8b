/**
 * cohsh-core: the one console grammar of Cohesix, shared by the guest console (src/guest/console),
 * the host shell `cohsh` and anything else that renders or reads transcripts.
 *
 * - verb table (tokens, wire labels, argument shape, streaming flag, privilege);
 * - `parseCommand`: a console line held in a byte buffer → verb + argument byte ranges, or a parse
 *   error code (no allocation; Porffor-safe);
 * - the `OK <VERB>` / `ERR <VERB> k=v…` / `END` line model: writers for the guest (ByteWriter),
 *   a reader for hosts (`parseAck`);
 * - the errno → `reason=` / `detail=` mapping of namespace refusals.
 *
 * The grammar is written down in docs/console-grammar.md; keep the two in step.
 */
import { ByteWriter, equalsAsciiFold } from "../lib/bytes.ts";
import {
  EACCES,
  EAGAIN,
  ECANCELED,
  EBADF,
  EBUSY,
  EFBIG,
  EISDIR,
  EMSGSIZE,
  ENOENT,
  ENOSPC,
  ENOSYS,
  ENOTDIR,
  EOPNOTSUPP,
  EPERM,
  EROFS,
  errnoName,
} from "../../secure9p/errors.ts";

/** Limits (bytes) from the reference console. */
export const MAX_LINE = 256;
export const MAX_ROLE = 16;
export const MAX_TICKET = 224;
export const MAX_PATH = 96;
export const MAX_JSON = 192;
export const MAX_WORKER = 32;
export const MAX_ECHO = 128;
/** Largest declared TCP frame total (Secure9P MAX_MSIZE); frames above it are refused. */
export const MAX_FRAME = 8192;
/** Detail of a CAT ack (`path=… data=…`) is capped at this many bytes. */
export const MAX_CAT_DETAIL = 128;
/** The default TCP console AUTH token. */
export const DEFAULT_AUTH_TOKEN = "changeme";

/** Verb ids. 0 is "no verb". */
export const Verb = {
  None: 0,
  Help: 1,
  Attach: 2,
  Login: 3,
  Ping: 4,
  Ls: 5,
  Cat: 6,
  Tail: 7,
  Echo: 8,
  Log: 9,
  Spawn: 10,
  Kill: 11,
  Bind: 12,
  Mount: 13,
  Test: 14,
  Quit: 15,
  Lifecycle: 16,
} as const;
export const VERB_COUNT = 17;

/** Input tokens (matched case-insensitively), indexed by verb id. */
export const VERB_TOKENS = [
  "",
  "help",
  "attach",
  "login",
  "ping",
  "ls",
  "cat",
  "tail",
  "echo",
  "log",
  "spawn",
  "kill",
  "bind",
  "mount",
  "test",
  "quit",
  "lifecycle",
];

/** Wire labels of ACK lines, indexed by verb id (`login` acknowledges as ATTACH). */
export const VERB_LABELS = [
  "",
  "HELP",
  "ATTACH",
  "ATTACH",
  "PING",
  "LS",
  "CAT",
  "TAIL",
  "ECHO",
  "LOG",
  "SPAWN",
  "KILL",
  "BIND",
  "MOUNT",
  "TEST",
  "QUIT",
  "LIFECYCLE",
];

/** Argument shapes. */
export const Shape = {
  /** no arguments */
  None: 0,
  /** one required token (path or worker id); anything after it is ignored */
  Token: 1,
  /** role token, then an optional ticket (the rest of the line) */
  RoleTicket: 2,
  /** path token, then a required payload (rest of the line, left-trimmed) */
  PathPayload: 3,
  /** a required payload (the rest of the line) */
  Payload: 4,
  /** two required tokens */
  TwoTokens: 5,
} as const;

export const VERB_SHAPES = [0, 0, 2, 2, 0, 1, 1, 1, 3, 0, 4, 1, 5, 5, 0, 0, 4];

/** Argument names for parse errors, per verb: [first, second]. */
const ARG1_NAMES = ["", "", "role", "role", "", "path", "path", "path", "path", "", "payload", "worker", "source", "service", "", "", "action"];
const ARG2_NAMES = ["", "", "ticket", "ticket", "", "", "", "", "payload", "", "", "", "target", "path", "", "", ""];
/** Byte limits of the first and second argument, per verb. */
const ARG1_MAX = [0, 0, MAX_ROLE, MAX_ROLE, 0, MAX_PATH, MAX_PATH, MAX_PATH, MAX_PATH, 0, MAX_JSON, MAX_WORKER, MAX_PATH, MAX_ROLE * 2, 0, 0, MAX_PATH];
const ARG2_MAX = [0, 0, MAX_TICKET, MAX_TICKET, 0, 0, 0, 0, MAX_ECHO, 0, 0, 0, MAX_PATH, MAX_PATH, 0, 0, 0];

/** Streaming verbs: their OK line is followed by payload lines and a bare `END`. */
export function isStreaming(verb: number): boolean {
  return verb === Verb.Ls || verb === Verb.Cat || verb === Verb.Tail || verb === Verb.Log;
}

/** Verbs that need an attached session of any role. */
export function needsAttach(verb: number): boolean {
  return verb === Verb.Ls || verb === Verb.Cat || verb === Verb.Tail || verb === Verb.Echo || needsQueen(verb);
}

/** Verbs only the queen may run. */
export function needsQueen(verb: number): boolean {
  return verb === Verb.Log || verb === Verb.Spawn || verb === Verb.Kill || verb === Verb.Bind || verb === Verb.Mount ||
    verb === Verb.Lifecycle;
}

/** Parse failures (`parseCommand` returns their negation). */
export const ParseError = {
  Empty: 1,
  Unknown: 2,
  Missing: 3,
  TooLong: 4,
  Unexpected: 5,
  LineTooLong: 6,
  Control: 7,
  Utf8: 8,
} as const;

/** A parsed console line: verb id and argument byte ranges into the caller's buffer. Reused. */
export class Command {
  verb = 0;
  a1Off = 0;
  a1Len = 0;
  a2Off = 0;
  a2Len = 0;
  /** For Missing/TooLong errors: the name of the argument at fault. */
  errArg = "";
  /** `tail -f <path>`: follow the file after its current end. */
  follow = false;
}

function isSpace(b: number): boolean {
  return b === 32 || b === 9;
}

/** Looks a verb token up (case-insensitive). Returns the verb id or 0. */
export function lookupVerb(buf: Uint8Array, off: number, len: number): number {
  for (let v = 1; v < VERB_COUNT; v++) {
    if (equalsAsciiFold(buf, off, len, VERB_TOKENS[v])) return v;
  }
  return 0;
}

/**
 * Parses one console line held in buf[off..off+len) (no newline) into `out`.
 * Returns the verb id (> 0), or the negated `ParseError` code; `out.verb` is set as soon as the
 * verb is known so errors can name it.
 */
export function parseCommand(buf: Uint8Array, off: number, len: number, out: Command): number {
  out.verb = 0;
  out.a1Off = 0;
  out.a1Len = 0;
  out.a2Off = 0;
  out.a2Len = 0;
  out.errArg = "";
  out.follow = false;
  if (len > MAX_LINE) return -ParseError.LineTooLong;
  let i = off;
  let end = off + len;
  while (i < end && isSpace(buf[i])) i++;
  while (end > i && isSpace(buf[end - 1])) end--;
  if (i >= end) return -ParseError.Empty;
  let j = i;
  while (j < end && !isSpace(buf[j])) j++;
  const verb = lookupVerb(buf, i, j - i);
  if (verb === 0) return -ParseError.Unknown;
  out.verb = verb;
  while (j < end && isSpace(buf[j])) j++;
  const shape = VERB_SHAPES[verb];
  if (shape === Shape.None) {
    if (j < end) return -ParseError.Unexpected;
    return verb;
  }
  if (j >= end) {
    out.errArg = ARG1_NAMES[verb];
    return -ParseError.Missing;
  }
  if (shape === Shape.Payload) {
    out.a1Off = j;
    out.a1Len = end - j;
    if (out.a1Len > ARG1_MAX[verb]) {
      out.errArg = ARG1_NAMES[verb];
      return -ParseError.TooLong;
    }
    return verb;
  }
  let k = j;
  while (k < end && !isSpace(buf[k])) k++;
  if (verb === Verb.Tail && k - j === 2 && buf[j] === 45 && buf[j + 1] === 102) {
    // `tail -f <path>`
    out.follow = true;
    j = k;
    while (j < end && isSpace(buf[j])) j++;
    if (j >= end) {
      out.errArg = ARG1_NAMES[verb];
      return -ParseError.Missing;
    }
    k = j;
    while (k < end && !isSpace(buf[k])) k++;
  }
  out.a1Off = j;
  out.a1Len = k - j;
  if (out.a1Len > ARG1_MAX[verb]) {
    out.errArg = ARG1_NAMES[verb];
    return -ParseError.TooLong;
  }
  while (k < end && isSpace(buf[k])) k++;
  if (shape === Shape.Token) return verb;
  if (shape === Shape.TwoTokens) {
    let m = k;
    while (m < end && !isSpace(buf[m])) m++;
    out.a2Off = k;
    out.a2Len = m - k;
    if (out.a2Len === 0) {
      out.errArg = ARG2_NAMES[verb];
      return -ParseError.Missing;
    }
    if (out.a2Len > ARG2_MAX[verb]) {
      out.errArg = ARG2_NAMES[verb];
      return -ParseError.TooLong;
    }
    if (m < end) return -ParseError.Unexpected;
    return verb;
  }
  // RoleTicket and PathPayload: the rest of the line (already right-trimmed) is the second argument.
  out.a2Off = k;
  out.a2Len = end - k;
  if (shape === Shape.PathPayload && out.a2Len === 0) {
    out.errArg = ARG2_NAMES[verb];
    return -ParseError.Missing;
  }
  if (out.a2Len > ARG2_MAX[verb]) {
    out.errArg = ARG2_NAMES[verb];
    return -ParseError.TooLong;
  }
  return verb;
}

/**
 * Roles, indexed by role id; `worker` is accepted as an alias of `worker-heartbeat`. The namespace
 * decides which of them exist in a given hive (an unknown one is refused at attach).
 */
export const ROLE_NAMES = ["queen", "worker-heartbeat", "worker-gpu", "worker-bus", "worker-lora", "observer"];
export const ROLE_QUEEN = 0;

/** Looks a role token up (case-insensitive). Returns the role id or -1. */
export function lookupRole(buf: Uint8Array, off: number, len: number): number {
  for (let r = 0; r < ROLE_NAMES.length; r++) {
    if (equalsAsciiFold(buf, off, len, ROLE_NAMES[r])) return r;
  }
  if (equalsAsciiFold(buf, off, len, "worker")) return 1;
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Login throttling and ticket shape (shared by the console and cohsh).

/**
 * Failed attaches back off: the n-th failure (from 0) blocks attach for BASE * 2^min(n, MAX_SHIFT) ms;
 * after RETRY_QUOTA failures the session is cut. Module constants, not object fields: Porffor
 * 0.61.13 lost one field of a five-field config object in the full guest bundle (measured).
 */
export const ATTACH_BASE_DELAY_MS = 250;
export const ATTACH_MAX_SHIFT = 8;
export const ATTACH_RETRY_QUOTA = 5;

/** Back-off after the n-th failed attach (n from 0): BASE * 2^min(n, MAX_SHIFT) ms. */
export function attachBackoffMs(n: number): number {
  return ATTACH_BASE_DELAY_MS * Math.pow(2, n < ATTACH_MAX_SHIFT ? n : ATTACH_MAX_SHIFT);
}

/** The ticket prefix (`cht1.<claims>.<seal>`, base64url parts). */
export const TICKET_PREFIX = "cht1.";

/**
 * True when buf[off..off+len) has the shape of a ticket: the prefix, then two non-empty base64url
 * parts separated by one dot. Says nothing about the signature or the claims.
 */
export function ticketShapeOk(buf: Uint8Array, off: number, len: number): boolean {
  if (len <= TICKET_PREFIX.length + 2) return false;
  for (let i = 0; i < TICKET_PREFIX.length; i++) if (buf[off + i] !== TICKET_PREFIX.charCodeAt(i)) return false;
  let dots = 0;
  let part = 0;
  for (let i = off + TICKET_PREFIX.length; i < off + len; i++) {
    const b = buf[i];
    if (b === 46) {
      if (part === 0) return false;
      dots++;
      part = 0;
      continue;
    }
    const ok = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b === 45 || b === 95;
    if (!ok) return false;
    part++;
  }
  return dots === 1 && part > 0;
}

// ---------------------------------------------------------------------------------------------
// Line model writers (guest side; no allocation).

/** Writes `OK <LABEL>`. */
export function writeOk(w: ByteWriter, verb: number): void {
  w.ascii("OK ");
  w.ascii(VERB_LABELS[verb]);
}

/** Writes `ERR <LABEL>`. */
export function writeErr(w: ByteWriter, verb: number): void {
  w.ascii("ERR ");
  w.ascii(VERB_LABELS[verb]);
}

/** Writes ` key=` (the caller writes the value). */
export function writeKey(w: ByteWriter, key: string): void {
  w.byte(32);
  w.ascii(key);
  w.byte(61);
}

/** Writes ` key=value` for an ASCII value. */
export function writeKv(w: ByteWriter, key: string, value: string): void {
  writeKey(w, key);
  w.ascii(value);
}

/** Detail message of a parse error (`ERR PARSE reason=policy detail=<message>`). */
export function writeParseError(w: ByteWriter, code: number, argName: string): void {
  w.ascii("ERR PARSE reason=policy detail=");
  if (code === ParseError.Empty) w.ascii("empty console line");
  else if (code === ParseError.Unknown) w.ascii("unsupported console command");
  else if (code === ParseError.Missing) {
    w.ascii("missing required argument: ");
    w.ascii(argName);
  } else if (code === ParseError.TooLong) {
    w.ascii("argument ");
    w.ascii(argName);
    w.ascii(" exceeds allowed length");
  } else if (code === ParseError.Unexpected) w.ascii("unexpected argument");
  else if (code === ParseError.LineTooLong) w.ascii("console line exceeded maximum length");
  else if (code === ParseError.Control) w.ascii("console line contains control characters");
  else w.ascii("console line is not valid UTF-8");
}

/** `reason=` class of a namespace refusal (policy, busy or quota). */
export function errnoReason(errno: number): string {
  if (errno === EBUSY || errno === EAGAIN) return "busy";
  if (errno === ECANCELED) return "cut";
  if (errno === EMSGSIZE || errno === EFBIG || errno === ENOSPC) return "quota";
  return "policy";
}

/** `detail=` tag of a namespace refusal. */
export function errnoDetail(errno: number): string {
  if (errno === ENOENT || errno === ENOTDIR || errno === EISDIR) return "invalid-path";
  if (errno === EPERM || errno === EACCES || errno === EROFS) return "denied";
  if (errno === EBUSY || errno === EAGAIN) return "busy";
  if (errno === EMSGSIZE || errno === EFBIG || errno === ENOSPC) return "buffer-full";
  if (errno === EOPNOTSUPP || errno === ENOSYS) return "unsupported";
  if (errno === EBADF) return "closed";
  if (errno === ECANCELED) return "root-unreachable";
  return "invalid-payload";
}

/** Writes `ERR <LABEL> reason=<r> detail=<tag> path=<p> error=<ERRNO>` for a namespace refusal. */
export function writeRefusal(
  w: ByteWriter,
  verb: number,
  errno: number,
  path: Uint8Array,
  pathOff: number,
  pathLen: number,
): void {
  writeErr(w, verb);
  writeKv(w, "reason", errnoReason(errno));
  writeKv(w, "detail", errnoDetail(errno));
  writeKey(w, "path");
  w.bytes(path, pathOff, pathLen);
  writeKv(w, "error", errnoName(errno));
}

/** Bytes at the end of a file that the CAT summary looks at. */
export const SUMMARY_WINDOW = 512;
const SUMMARY_SLOTS = 16;

/** File offset where the CAT summary window starts for a file of `size` bytes. */
export function summaryStart(size: number): number {
  return size > SUMMARY_WINDOW ? size - SUMMARY_WINDOW : 0;
}

/**
 * The CAT summary (`data=`): the most recent non-empty lines not starting with `[`, oldest first,
 * joined with `|`, as many as keep the detail (`path=<p> data=<summary>`) within 128 bytes; a
 * single newest line that is too long is cut. Reads the window `buf[0..n)` taken at file offset
 * `start` (a partial first line is skipped when start > 0). Fixed tables, no allocation.
 */
export class CatSummary {
  offs: Int32Array;
  lens: Int32Array;

  constructor() {
    this.offs = new Int32Array(SUMMARY_SLOTS);
    this.lens = new Int32Array(SUMMARY_SLOTS);
  }

  write(w: ByteWriter, buf: Uint8Array, n: number, start: number, pathLen: number): void {
    let i = 0;
    if (start > 0) {
      while (i < n && buf[i] !== 10) i++;
      i++;
    }
    const offs = this.offs;
    const lens = this.lens;
    let count = 0;
    let head = 0;
    while (i < n) {
      let j = i;
      while (j < n && buf[j] !== 10) j++;
      if (j > i && buf[i] !== 91) {
        offs[head] = i;
        lens[head] = j - i;
        head = (head + 1) % SUMMARY_SLOTS;
        if (count < SUMMARY_SLOTS) count++;
      }
      i = j + 1;
    }
    if (count === 0) return;
    const budget = MAX_CAT_DETAIL - (5 + pathLen + 6);
    if (budget <= 0) return;
    let take = 0;
    let used = 0;
    while (take < count) {
      const k = (head - 1 - take + SUMMARY_SLOTS * 2) % SUMMARY_SLOTS;
      const add = lens[k] + (take > 0 ? 1 : 0);
      if (used + add > budget) break;
      used += add;
      take++;
    }
    if (take === 0) {
      const k = (head - 1 + SUMMARY_SLOTS) % SUMMARY_SLOTS;
      w.bytes(buf, offs[k], budget);
      return;
    }
    for (let t = take - 1; t >= 0; t--) {
      const k = (head - 1 - t + SUMMARY_SLOTS * 2) % SUMMARY_SLOTS;
      w.bytes(buf, offs[k], lens[k]);
      if (t > 0) w.byte(124);
    }
  }
}

/** The help text: one line per verb, sent before `OK HELP`. */
export const HELP_LINES = [
  "Commands:",
  "  help                       this list",
  "  attach <role> [ticket]     attach as queen|worker-heartbeat|worker-gpu|worker-bus|worker-lora",
  "  login <role> [ticket]      same as attach",
  "  ping                       liveness check (PONG)",
  "  ls <path>                  list a directory",
  "  cat <path>                 print a file",
  "  tail [-f] <path>           stream a file's lines (-f: keep following; an empty line stops)",
  "  echo <path> <text>         append one line to a file",
  "  log                        stream /log/queen.log (queen)",
  "  spawn <json>               write a spawn command to /queen/ctl (queen)",
  "  kill <worker>              stop a worker (queen)",
  "  bind <from> <to>           bind a path into the queen's view (queen)",
  "  mount <service> <path>     mount a service (queen)",
  "  lifecycle <action>         cordon|drain|resume|quiesce|reset [reason=<r>] (queen)",
  "  test                       self-tests run in cohsh (host only)",
  "  quit                       end the session",
];

// ---------------------------------------------------------------------------------------------
// Host-side readers (allocate; never called by the guest).

/** One acknowledgement line: `OK <VERB>[ detail]` or `ERR <VERB>[ detail]`. */
export interface AckLine {
  ok: boolean;
  verb: string;
  detail: string;
}

/** Parses an acknowledgement line; returns null for payload lines, `END` and anything else. */
export function parseAck(line: string): AckLine | null {
  let ok: boolean;
  let rest: string;
  if (line.startsWith("OK ")) {
    ok = true;
    rest = line.slice(3);
  } else if (line.startsWith("ERR ")) {
    ok = false;
    rest = line.slice(4);
  } else return null;
  const sp = rest.indexOf(" ");
  const verb = sp < 0 ? rest : rest.slice(0, sp);
  if (verb.length === 0) return null;
  for (let i = 0; i < verb.length; i++) {
    const c = verb.charCodeAt(i);
    if (c < 65 || c > 90) return null;
  }
  return { ok, verb, detail: sp < 0 ? "" : rest.slice(sp + 1).trim() };
}

/** True when a wire label names a streaming verb (its OK is followed by lines and `END`). */
export function isStreamingLabel(label: string): boolean {
  return label === "LS" || label === "CAT" || label === "TAIL" || label === "LOG";
}

/** Verb id of a console text line's first token (host side), or 0. */
export function verbOfText(line: string): number {
  const t = line.trim();
  const sp = t.search(/\s/);
  const token = (sp < 0 ? t : t.slice(0, sp)).toLowerCase();
  const v = VERB_TOKENS.indexOf(token);
  return v > 0 ? v : 0;
}
