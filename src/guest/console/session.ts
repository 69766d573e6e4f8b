/**
 * One console connection of the guest (sans-IO, Porffor rules): bytes in → lines → verbs run
 * against the `Namespace` with the attached session's role → `OK`/`ERR`/`END` lines out.
 *
 * - TCP connections are framed (`FrameDecoder`) and must open with `AUTH <token>`;
 *   serial connections are newline-delimited (`LineEditor`) and need no AUTH.
 * - Every buffer is allocated in the constructor; a session object is reused for later
 *   connections (`open` / `release`). Handling a line allocates nothing, except the ticket
 *   string at attach time.
 * - Flow control: a line is executed only when the output buffer has room for its whole
 *   reply (`EXEC_ROOM`); streams (cat/tail/ls/log) emit one line per step while there is room,
 *   so a slow reader stops the session instead of growing memory. `input` returns how many
 *   bytes it consumed; the caller offers the rest again after draining `output`.
 */
import { ByteWriter, decodeUtf8, equalsAscii, startsWithAscii } from "../lib/bytes.ts";
import { EAGAIN, EBUSY, EINVAL, EISDIR, ENOENT, ENOTDIR } from "../../secure9p/errors.ts";
import { TicketStatus } from "../tickets/ticket.ts";
import { Auditor } from "./audit.ts";
import { DirEntry, type Namespace, NodeStat, O_APPEND, O_RDONLY, O_WRONLY, QTDIR } from "../../secure9p/namespace.ts";
import {
  CatSummary,
  Command,
  HELP_LINES,
  ATTACH_RETRY_QUOTA,
  attachBackoffMs,
  lookupRole,
  MAX_LINE,
  needsAttach,
  needsQueen,
  ParseError,
  parseCommand,
  ROLE_NAMES,
  ROLE_QUEEN,
  SUMMARY_WINDOW,
  summaryStart,
  Verb,
  VERB_TOKENS,
  writeErr,
  writeKey,
  writeKv,
  writeOk,
  writeParseError,
  writeRefusal,
} from "./grammar.ts";
import { encodeFrameHeader, Frame, FrameDecoder, LineEditor } from "./framing.ts";

export const ConsoleKind = { Tcp: 1, Serial: 2 } as const;

/** Console settings fixed at boot. */
export class ConsoleConfig {
  /** The TCP AUTH token. */
  authToken = "changeme";
  /** A TCP client must authenticate within this many ms of the injected clock. */
  authTimeoutMs = 5000;
}

/** Where the console reads why the namespace refused an attach (NineDoor's ticket status). */
export interface AttachStatusSource {
  lastAttachStatus: number;
  /** The lifecycle state that refused the attach (with status LifecycleDenied). */
  lastAttachState: string;
}

/**
 * Output buffer bytes. ByteWriter sizes its array at run time, and Porffor gives such an array one
 * 16 KiB page whatever its size (porf-check rule typed-array-size): stay well inside it.
 */
const OUT_CAP = 12288;
/** An authenticated TCP session idle this long (ms, injected clock) is closed. */
const IDLE_TIMEOUT_MS = 300000;
/** Room needed before a line is executed: the help text is the largest non-streamed reply. */
const EXEC_ROOM = 4096;
/** Room needed to emit one more stream line (frame header + line + newline). */
const LINE_ROOM = MAX_LINE + 8;
const CHUNK = 4096;
const TWO32 = 4294967296;

const S_FREE = 0;
const S_AUTH = 1;
const S_READY = 2;
const S_CLOSING = 3;

const STREAM_NONE = 0;
const STREAM_FILE = 1;
const STREAM_DIR = 2;

const PATH_QUEEN_CTL = "/queen/ctl";
const PATH_LIFECYCLE_CTL = "/queen/lifecycle/ctl";
const PATH_QUEEN_LOG = "/log/queen.log";

export class ConsoleSession {
  ns: Namespace;
  cfg: ConsoleConfig;
  auditor: Auditor;
  status: AttachStatusSource | null;
  kind = 0;
  /** The injected clock, as last told by the hive. */
  nowMs = 0;
  /** Attach back-off (see attachBackoffMs): failures so far and the end of the current window. */
  attachFailures = 0;
  attachBlockedUntilMs = 0;
  follow = false;
  state = S_FREE;
  openedAtMs = 0;
  /** Injected-clock time of the last complete input line (idle timeout). */
  lastLineMs = 0;
  nsSession = -1;
  rootNode = -1;
  role = -1;

  framer: FrameDecoder = new FrameDecoder();
  editor: LineEditor = new LineEditor();
  cmd: Command = new Command();
  /** A line event waiting for output room (0: none). */
  pendingEvent = 0;

  out: ByteWriter = new ByteWriter(OUT_CAP);
  outRead = 0;
  lineStart = 0;

  stream = STREAM_NONE;
  streamNode = -1;
  streamOff = 0;
  streamEof = false;
  chunk: Uint8Array = new Uint8Array(CHUNK);
  chunkLen = 0;
  chunkPos = 0;
  carry: Uint8Array = new Uint8Array(MAX_LINE);
  carryLen = 0;
  /** The last stream line was cut at MAX_LINE: a newline right after it ends no extra line. */
  carrySplit = false;
  dirCount = 0;
  dirEmitted = 0;
  dirLast = "";

  pathBuf: Uint8Array = new Uint8Array(MAX_LINE);
  pathLen = 0;
  scratch: Uint8Array = new Uint8Array(MAX_LINE * 2);
  scratchLen = 0;
  stat: NodeStat = new NodeStat();
  entry: DirEntry = new DirEntry();
  summary: CatSummary = new CatSummary();

  constructor(ns: Namespace, cfg: ConsoleConfig, auditor: Auditor, status: AttachStatusSource | null) {
    this.ns = ns;
    this.cfg = cfg;
    this.auditor = auditor;
    this.status = status;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  open(kind: number, nowMs: number): void {
    this.kind = kind;
    this.state = kind === ConsoleKind.Tcp ? S_AUTH : S_READY;
    this.openedAtMs = nowMs;
    this.lastLineMs = nowMs;
    this.nowMs = nowMs;
    this.attachFailures = 0;
    this.attachBlockedUntilMs = 0;
    this.follow = false;
    this.nsSession = -1;
    this.rootNode = -1;
    this.role = -1;
    this.framer.reset();
    this.editor.reset();
    this.pendingEvent = 0;
    this.out.reset();
    this.outRead = 0;
    this.stream = STREAM_NONE;
    this.streamNode = -1;
  }

  /** Frees everything the connection holds (namespace session, open stream). */
  release(): void {
    this.endStream();
    this.detach();
    this.state = S_FREE;
  }

  isFree(): boolean {
    return this.state === S_FREE;
  }

  /** True once the session ended itself and its output has been drained. */
  wantsClose(): boolean {
    return this.state === S_CLOSING && this.out.len - this.outRead === 0;
  }

  /** Applies the injected clock: an unauthenticated TCP client is dropped after the timeout. */
  tick(nowMs: number): void {
    this.nowMs = nowMs;
    if (this.state === S_AUTH && nowMs - this.openedAtMs >= this.cfg.authTimeoutMs) {
      if (this.room() >= LINE_ROOM) this.textLine("ERR AUTH reason=timeout");
      this.state = S_CLOSING;
    } else if (
      this.state === S_READY && this.kind === ConsoleKind.Tcp && this.stream === STREAM_NONE &&
      nowMs - this.lastLineMs >= IDLE_TIMEOUT_MS
    ) {
      // An authenticated TCP client that sent nothing for 5 minutes is let go (cohsh pings every 15 s).
      if (this.room() >= LINE_ROOM) this.textLine("ERR AUTH reason=idle-timeout");
      this.detach();
      this.state = S_CLOSING;
    }
  }

  // ---- byte I/O -----------------------------------------------------------------------------

  /** Consumes input bytes; returns how many were taken (the rest must be offered again later). */
  input(src: Uint8Array, off: number, len: number): number {
    if (this.state === S_CLOSING || this.state === S_FREE) return len;
    let i = 0;
    while (i < len) {
      if (this.pendingEvent !== 0) {
        this.pump();
        if (this.pendingEvent !== 0) return i;
        if (this.state === S_CLOSING) return len;
      }
      const b = src[off + i];
      i++;
      const ev = this.kind === ConsoleKind.Tcp ? this.framer.push(b) : this.editor.push(b);
      if (ev !== Frame.More) {
        this.lastLineMs = this.nowMs;
        this.pendingEvent = ev;
        this.pump();
        if (this.state === S_CLOSING) return len;
      }
    }
    return len;
  }

  /** Bytes waiting to be drained. */
  pendingOutput(): number {
    return this.out.len - this.outRead;
  }

  /** Drains up to `max` output bytes into dst[dstOff..]; returns the count. */
  output(dst: Uint8Array, dstOff: number, max: number): number {
    this.pump();
    const w = this.out;
    const buf = w.buf;
    const start = this.outRead;
    let n = w.len - start;
    if (n > max) n = max;
    for (let i = 0; i < n; i++) dst[dstOff + i] = buf[start + i];
    this.outRead = start + n;
    if (this.outRead === w.len) {
      w.len = 0;
      this.outRead = 0;
    }
    return n;
  }

  /** Runs streams and a waiting line as far as output room allows. */
  pump(): void {
    for (;;) {
      if (this.state === S_FREE) return;
      if (this.stream !== STREAM_NONE) {
        if (this.room() < LINE_ROOM) return;
        if (this.stream === STREAM_FILE) {
          if (!this.fileStep()) return;
        } else this.dirStep();
        continue;
      }
      if (this.pendingEvent === 0) return;
      if (this.room() < EXEC_ROOM) return;
      const ev = this.pendingEvent;
      this.pendingEvent = 0;
      this.handleEvent(ev);
    }
  }

  /** Free output bytes, compacting drained bytes away first. */
  room(): number {
    const w = this.out;
    if (this.outRead > 0) {
      const buf = w.buf;
      const start = this.outRead;
      const n = w.len - start;
      for (let i = 0; i < n; i++) buf[i] = buf[start + i];
      w.len = n;
      this.outRead = 0;
    }
    return w.buf.length - w.len;
  }

  // ---- output lines -------------------------------------------------------------------------

  beginLine(): void {
    const w = this.out;
    this.lineStart = w.len;
    if (this.kind === ConsoleKind.Tcp) {
      w.byte(0);
      w.byte(0);
      w.byte(0);
      w.byte(0);
    }
  }

  /** Closes a line: caps it at MAX_LINE bytes, then frames it (TCP) or ends it with `\n`. */
  endLine(): void {
    const w = this.out;
    const tcp = this.kind === ConsoleKind.Tcp;
    const body = this.lineStart + (tcp ? 4 : 0);
    let n = w.len - body;
    if (n > MAX_LINE) {
      n = MAX_LINE;
      w.len = body + MAX_LINE;
    }
    if (tcp) encodeFrameHeader(w.buf, this.lineStart, n);
    else w.byte(10);
  }

  textLine(s: string): void {
    this.beginLine();
    this.out.ascii(s);
    this.endLine();
  }

  // ---- line handling ------------------------------------------------------------------------

  handleEvent(ev: number): void {
    const tcp = this.kind === ConsoleKind.Tcp;
    if (this.state === S_AUTH) {
      this.handleAuth(ev);
      return;
    }
    const line = tcp ? this.framer.line : this.editor.line;
    const len = tcp ? this.framer.lineLen : this.editor.lineLen;
    if (!tcp) this.editor.reset();
    if (ev === Frame.Invalid) {
      this.textLine("ERR FRAME reason=invalid-length");
      return;
    }
    if (ev === Frame.BadUtf8) {
      this.state = S_CLOSING;
      return;
    }
    if (ev === Frame.TooLong) {
      this.parseError(ParseError.LineTooLong, "");
      return;
    }
    if (ev === Frame.Control) {
      this.parseError(ParseError.Control, "");
      return;
    }
    this.execute(line, len);
  }

  handleAuth(ev: number): void {
    if (ev !== Frame.Line) {
      this.state = S_CLOSING;
      return;
    }
    const line = this.framer.line;
    const len = this.framer.lineLen;
    const token = this.cfg.authToken;
    this.beginLine();
    const w = this.out;
    if (len !== 5 + token.length) {
      w.ascii("ERR AUTH reason=invalid-length");
      this.state = S_CLOSING;
    } else if (!startsWithAscii(line, 0, len, "AUTH ") || token.length === 0) {
      w.ascii("ERR AUTH reason=expected-token");
      this.state = S_CLOSING;
    } else if (!equalsAscii(line, 5, len - 5, token)) {
      w.ascii("ERR AUTH reason=invalid-token");
      this.state = S_CLOSING;
    } else {
      w.ascii("OK AUTH");
      this.state = S_READY;
    }
    this.endLine();
  }

  parseError(code: number, arg: string): void {
    this.beginLine();
    writeParseError(this.out, code, arg);
    this.endLine();
  }

  execute(line: Uint8Array, len: number): void {
    const cmd = this.cmd;
    const v = parseCommand(line, 0, len, cmd);
    if (v < 0) {
      this.parseError(-v, cmd.errArg);
      return;
    }
    const w = this.out;
    if (needsAttach(v) && this.nsSession < 0) {
      this.beginLine();
      writeErr(w, v);
      w.ascii(" reason=policy detail=unauthenticated");
      this.endLine();
      return;
    }
    if (needsQueen(v) && this.role !== ROLE_QUEEN) {
      this.beginLine();
      writeErr(w, v);
      writeKv(w, "reason", "policy");
      writeKv(w, "detail", "denied");
      writeKv(w, "role", ROLE_NAMES[this.role]);
      this.endLine();
      const a = this.auditor.begin();
      a.ascii("outcome=deny verb=");
      a.ascii(VERB_TOKENS[v]);
      a.ascii(" role=");
      a.ascii(ROLE_NAMES[this.role]);
      a.ascii(" reason=role");
      this.auditor.commit();
      return;
    }
    if (v === Verb.Help) this.help();
    else if (v === Verb.Attach || v === Verb.Login) this.attach(line, v);
    else if (v === Verb.Ping) {
      this.textLine("PONG");
      this.textLine("OK PING reply=pong");
    } else if (v === Verb.Quit) this.quit();
    else if (v === Verb.Test) this.textLine("ERR TEST reason=policy detail=host-only");
    else if (v === Verb.Cat || v === Verb.Tail) {
      this.setPath(line, cmd.a1Off, cmd.a1Len);
      this.follow = cmd.follow;
      this.readFile(v);
    } else if (v === Verb.Log) {
      this.follow = false;
      this.setPathText(PATH_QUEEN_LOG);
      this.readFile(v);
    } else if (v === Verb.Ls) {
      this.setPath(line, cmd.a1Off, cmd.a1Len);
      this.list();
    } else if (v === Verb.Echo) {
      this.setPath(line, cmd.a1Off, cmd.a1Len);
      this.scratchLen = 0;
      this.scratchBytes(line, cmd.a2Off, cmd.a2Len);
      this.appendScratch(v, cmd.a2Len, line);
    } else if (v === Verb.Lifecycle) {
      // One command line to /queen/lifecycle/ctl; the hive checks the action and the transition.
      this.setPathText(PATH_LIFECYCLE_CTL);
      this.scratchLen = 0;
      this.scratchBytes(line, cmd.a1Off, cmd.a1Len);
      this.appendScratch(v, 0, line);
    } else this.queenCtl(v, line);
  }

  help(): void {
    for (let i = 0; i < HELP_LINES.length; i++) this.textLine(HELP_LINES[i]);
    this.textLine("OK HELP");
  }

  quit(): void {
    this.textLine("OK QUIT");
    this.detach();
    if (this.kind === ConsoleKind.Tcp) this.state = S_CLOSING;
  }

  attach(line: Uint8Array, v: number): void {
    const cmd = this.cmd;
    const w = this.out;
    this.beginLine();
    writeErr(w, v);
    if (this.nsSession >= 0) {
      w.ascii(" reason=policy detail=already-attached");
      this.endLine();
      return;
    }
    const wait = this.nowMs < this.attachBlockedUntilMs ? this.attachBlockedUntilMs - this.nowMs : 0;
    if (wait > 0) {
      w.labelUint(" reason=quota detail=throttled delay_ms=", wait);
      this.endLine();
      const a = this.auditor.begin();
      a.labelUint("outcome=throttled verb=attach failures=", this.attachFailures);
      a.labelUint(" delay_ms=", wait);
      this.auditor.commit();
      return;
    }
    const role = lookupRole(line, cmd.a1Off, cmd.a1Len);
    if (role < 0) {
      w.ascii(" reason=policy detail=invalid-role");
      this.endLine();
      this.attachFailed();
      return;
    }
    // Attach-time allocation (bounded by the session table): the ticket string.
    const ticket = cmd.a2Len > 0 ? decodeUtf8(line, cmd.a2Off, cmd.a2Len) : "";
    let s = this.ns.attach(ROLE_NAMES[role], ticket);
    let root = -1;
    if (s >= 0) {
      root = this.ns.root(s);
      if (root < 0) {
        this.ns.detach(s);
        s = root;
      }
    }
    if (s < 0) {
      this.writeAttachRefusal(-s);
      this.endLine();
      this.attachFailed();
      return;
    }
    this.nsSession = s;
    this.rootNode = root;
    this.role = role;
    this.attachFailures = 0;
    this.attachBlockedUntilMs = 0;
    w.len = this.lineStart + (this.kind === ConsoleKind.Tcp ? 4 : 0);
    writeOk(w, v);
    writeKv(w, "role", ROLE_NAMES[role]);
    this.endLine();
  }

  /** `reason=… detail=…` of a refused attach, from the namespace's ticket verdict. */
  writeAttachRefusal(errno: number): void {
    const w = this.out;
    if (errno === EBUSY || errno === EAGAIN) {
      w.ascii(" reason=busy detail=busy");
      return;
    }
    const st = this.status === null ? -1 : this.status.lastAttachStatus;
    if (st === TicketStatus.Expired) w.ascii(" reason=quota detail=expired");
    else if (st === TicketStatus.OverLimit) w.ascii(" reason=quota detail=invalid-claims");
    else if (st === TicketStatus.Malformed) w.ascii(" reason=policy detail=invalid-claims");
    else if (st === TicketStatus.LifecycleDenied && this.status !== null) {
      w.ascii(" reason=policy detail=lifecycle-denied state=");
      w.ascii(this.status.lastAttachState);
    }
    else w.ascii(" reason=policy detail=denied");
  }

  /** Counts a failed attach: exponential back-off, and a disconnect at the retry quota. */
  attachFailed(): void {
    this.attachBlockedUntilMs = this.nowMs + attachBackoffMs(this.attachFailures);
    this.attachFailures = this.attachFailures + 1;
    if (this.attachFailures < ATTACH_RETRY_QUOTA) return;
    const a = this.auditor.begin();
    a.labelUint("outcome=disconnect verb=attach failures=", this.attachFailures);
    a.ascii(" reason=retry-quota");
    this.auditor.commit();
    if (this.kind === ConsoleKind.Tcp) this.state = S_CLOSING;
  }

  detach(): void {
    if (this.nsSession >= 0) {
      if (this.rootNode >= 0) this.ns.clunk(this.nsSession, this.rootNode);
      this.ns.detach(this.nsSession);
    }
    this.nsSession = -1;
    this.rootNode = -1;
    this.role = -1;
  }

  // ---- paths --------------------------------------------------------------------------------

  setPath(src: Uint8Array, off: number, len: number): void {
    const p = this.pathBuf;
    for (let i = 0; i < len; i++) p[i] = src[off + i];
    this.pathLen = len;
  }

  setPathText(s: string): void {
    const p = this.pathBuf;
    for (let i = 0; i < s.length; i++) p[i] = s.charCodeAt(i);
    this.pathLen = s.length;
  }

  /** Walks `pathBuf` from the session root. Returns a node reference (clunk it) or -errno. */
  resolve(): number {
    const p = this.pathBuf;
    const len = this.pathLen;
    if (len === 0 || p[0] !== 47) return -ENOENT;
    const ns = this.ns;
    const s = this.nsSession;
    const root = this.rootNode;
    let node = root;
    let i = 1;
    while (i < len) {
      let j = i;
      while (j < len && p[j] !== 47) j++;
      const n = j - i;
      if (n > 0) {
        if ((n === 1 && p[i] === 46) || (n === 2 && p[i] === 46 && p[i + 1] === 46)) {
          if (node !== root) ns.clunk(s, node);
          return -EINVAL;
        }
        const child = ns.walk(s, node, p, i, n);
        if (node !== root) ns.clunk(s, node);
        if (child < 0) return child;
        node = child;
      }
      i = j + 1;
    }
    return node;
  }

  releaseNode(node: number): void {
    if (node >= 0 && node !== this.rootNode) this.ns.clunk(this.nsSession, node);
  }

  refusal(v: number, errno: number): void {
    this.beginLine();
    writeRefusal(this.out, v, errno, this.pathBuf, 0, this.pathLen);
    this.endLine();
  }

  // ---- cat / tail / log ---------------------------------------------------------------------

  readFile(v: number): void {
    const ns = this.ns;
    const s = this.nsSession;
    const node = this.resolve();
    if (node < 0) {
      this.refusal(v, -node);
      this.follow = false;
      return;
    }
    let r = ns.open(s, node, O_RDONLY);
    if (r >= 0) r = ns.stat(s, node, this.stat);
    if (r >= 0 && this.stat.qidType >= QTDIR) r = -EISDIR;
    if (r < 0) {
      this.releaseNode(node);
      this.refusal(v, -r);
      this.follow = false;
      return;
    }
    const w = this.out;
    this.beginLine();
    writeOk(w, v);
    if (v !== Verb.Log) {
      writeKey(w, "path");
      w.bytes(this.pathBuf, 0, this.pathLen);
    }
    if (v === Verb.Cat) {
      writeKey(w, "data");
      this.writeSummary(node);
    }
    this.endLine();
    this.stream = STREAM_FILE;
    this.streamNode = node;
    this.streamOff = 0;
    this.streamEof = false;
    this.chunkLen = 0;
    this.chunkPos = 0;
    this.carryLen = 0;
    this.carrySplit = false;
  }

  /**
   * The CAT summary: the most recent non-empty lines not starting with `[`, oldest first, joined
   * with `|`, as many as fit the 128-byte detail (`path=<p> data=<summary>`); read from the last
   * SUMMARY_WINDOW bytes of the file.
   */
  writeSummary(node: number): void {
    const st = this.stat;
    const size = st.sizeLo + st.sizeHi * TWO32;
    const start = summaryStart(size);
    const buf = this.chunk;
    const n = this.ns.read(this.nsSession, node, start % TWO32, Math.floor(start / TWO32), buf, 0, SUMMARY_WINDOW);
    if (n > 0) this.summary.write(this.out, buf, n, start, this.pathLen);
  }

  /**
   * One step of a file stream: read a chunk, or emit one line, or finish with `END`. Returns
   * false when a followed file has nothing new (the stream waits for appends or a line that
   * stops it; an empty line is consumed as the stop request).
   */
  fileStep(): boolean {
    if (this.chunkPos >= this.chunkLen) {
      if (this.streamEof) {
        if (this.follow && this.pendingEvent === 0) {
          this.streamEof = false;
          return false;
        }
        const followed = this.follow;
        if (this.carryLen > 0) this.emitCarry();
        this.textLine("END");
        this.endStream();
        if (followed && this.pendingEvent === Frame.Line && this.pendingLineLen() === 0) this.pendingEvent = 0;
        return true;
      }
      const off = this.streamOff;
      const n = this.ns.read(this.nsSession, this.streamNode, off % TWO32, Math.floor(off / TWO32), this.chunk, 0, CHUNK);
      if (n <= 0) {
        this.streamEof = true;
        return true;
      }
      this.streamOff = off + n;
      this.chunkLen = n;
      this.chunkPos = 0;
      return true;
    }
    const buf = this.chunk;
    const carry = this.carry;
    while (this.chunkPos < this.chunkLen) {
      const b = buf[this.chunkPos];
      this.chunkPos = this.chunkPos + 1;
      if (b === 10) {
        if (this.carrySplit && this.carryLen === 0) {
          this.carrySplit = false;
          continue;
        }
        this.emitCarry();
        this.carrySplit = false;
        return true;
      }
      carry[this.carryLen] = b;
      this.carryLen = this.carryLen + 1;
      this.carrySplit = false;
      if (this.carryLen === MAX_LINE) {
        this.emitCarry();
        this.carrySplit = true;
        return true;
      }
    }
    return true;
  }

  /** Length of the line waiting in the decoder. */
  pendingLineLen(): number {
    return this.kind === ConsoleKind.Tcp ? this.framer.lineLen : this.editor.lineLen;
  }

  emitCarry(): void {
    this.beginLine();
    this.out.bytes(this.carry, 0, this.carryLen);
    this.endLine();
    this.carryLen = 0;
  }

  endStream(): void {
    this.follow = false;
    if (this.stream !== STREAM_NONE && this.streamNode >= 0) this.releaseNode(this.streamNode);
    this.stream = STREAM_NONE;
    this.streamNode = -1;
  }

  // ---- ls -----------------------------------------------------------------------------------

  list(): void {
    const ns = this.ns;
    const s = this.nsSession;
    const v = Verb.Ls;
    const node = this.resolve();
    if (node < 0) {
      this.refusal(v, -node);
      return;
    }
    let r = ns.stat(s, node, this.stat);
    if (r >= 0 && this.stat.qidType < QTDIR) r = -ENOTDIR;
    if (r >= 0) r = ns.open(s, node, O_RDONLY);
    let count = 0;
    while (r >= 0) {
      r = ns.readdir(s, node, count, this.entry);
      if (r <= 0) break;
      count++;
    }
    if (r < 0) {
      this.releaseNode(node);
      this.refusal(v, -r);
      return;
    }
    let names = 0;
    for (let i = 0; i < count; i++) {
      ns.readdir(s, node, i, this.entry);
      if (!isDotName(this.entry.name)) names++;
    }
    const w = this.out;
    this.beginLine();
    writeOk(w, v);
    writeKey(w, "path");
    w.bytes(this.pathBuf, 0, this.pathLen);
    writeKey(w, "entries");
    w.uint(names);
    this.endLine();
    this.stream = STREAM_DIR;
    this.streamNode = node;
    this.dirCount = count;
    this.dirEmitted = 0;
    this.dirLast = "";
  }

  /** Emits the next entry in lexicographic order (selection over readdir: no allocation). */
  dirStep(): void {
    const ns = this.ns;
    const s = this.nsSession;
    const e = this.entry;
    let best = "";
    let found = false;
    for (let i = 0; i < this.dirCount; i++) {
      if (ns.readdir(s, this.streamNode, i, e) <= 0) break;
      const name = e.name;
      if (isDotName(name)) continue;
      if (this.dirEmitted > 0 && compareNames(name, this.dirLast) <= 0) continue;
      if (!found || compareNames(name, best) < 0) {
        best = name;
        found = true;
      }
    }
    if (!found) {
      this.textLine("END");
      this.endStream();
      return;
    }
    this.beginLine();
    this.out.utf8(best);
    this.endLine();
    this.dirLast = best;
    this.dirEmitted = this.dirEmitted + 1;
  }

  // ---- writes -------------------------------------------------------------------------------

  scratchBytes(src: Uint8Array, off: number, len: number): void {
    const d = this.scratch;
    for (let i = 0; i < len && this.scratchLen < d.length; i++) {
      d[this.scratchLen] = src[off + i];
      this.scratchLen = this.scratchLen + 1;
    }
  }

  scratchText(s: string): void {
    const d = this.scratch;
    for (let i = 0; i < s.length && this.scratchLen < d.length; i++) {
      d[this.scratchLen] = s.charCodeAt(i);
      this.scratchLen = this.scratchLen + 1;
    }
  }

  /**
   * Appends scratch + `\n` to the file at `pathBuf`. On success writes the verb's OK line
   * (ECHO: `path= bytes=`; the ctl verbs their own detail) and returns true.
   */
  appendScratch(v: number, payloadLen: number, line: Uint8Array): boolean {
    const ns = this.ns;
    const s = this.nsSession;
    const node = this.resolve();
    if (node < 0) {
      this.refusal(v, -node);
      return false;
    }
    let r = ns.open(s, node, O_WRONLY + O_APPEND);
    if (r >= 0) r = ns.stat(s, node, this.stat);
    if (r >= 0) {
      this.scratchText("\n");
      const st = this.stat;
      r = ns.write(s, node, st.sizeLo, st.sizeHi, this.scratch, 0, this.scratchLen);
    }
    this.releaseNode(node);
    if (r < 0) {
      this.refusal(v, -r);
      return false;
    }
    const cmd = this.cmd;
    const w = this.out;
    this.beginLine();
    writeOk(w, v);
    if (v === Verb.Echo) {
      writeKey(w, "path");
      w.bytes(this.pathBuf, 0, this.pathLen);
      writeKey(w, "bytes");
      w.uint(payloadLen);
    } else if (v === Verb.Spawn) {
      writeKey(w, "payload");
      w.bytes(line, cmd.a1Off, cmd.a1Len);
    } else if (v === Verb.Kill) {
      writeKey(w, "id");
      w.bytes(line, cmd.a1Off, cmd.a1Len);
    } else if (v === Verb.Bind) {
      writeKey(w, "from");
      w.bytes(line, cmd.a1Off, cmd.a1Len);
      writeKey(w, "to");
      w.bytes(line, cmd.a2Off, cmd.a2Len);
    } else if (v === Verb.Lifecycle) {
      writeKey(w, "action");
      w.bytes(line, cmd.a1Off, cmd.a1Len);
    } else {
      writeKey(w, "service");
      w.bytes(line, cmd.a1Off, cmd.a1Len);
      writeKey(w, "at");
      w.bytes(line, cmd.a2Off, cmd.a2Len);
    }
    this.endLine();
    return true;
  }

  /** spawn / kill / bind / mount: one JSON line appended to /queen/ctl. */
  queenCtl(v: number, line: Uint8Array): void {
    const cmd = this.cmd;
    this.scratchLen = 0;
    if (v === Verb.Spawn) this.scratchBytes(line, cmd.a1Off, cmd.a1Len);
    else if (v === Verb.Kill) {
      this.scratchText("{\"kill\":\"");
      this.scratchBytes(line, cmd.a1Off, cmd.a1Len);
      this.scratchText("\"}");
    } else if (v === Verb.Bind) {
      this.scratchText("{\"bind\":{\"from\":\"");
      this.scratchBytes(line, cmd.a1Off, cmd.a1Len);
      this.scratchText("\",\"to\":\"");
      this.scratchBytes(line, cmd.a2Off, cmd.a2Len);
      this.scratchText("\"}}");
    } else {
      this.scratchText("{\"mount\":{\"service\":\"");
      this.scratchBytes(line, cmd.a1Off, cmd.a1Len);
      this.scratchText("\",\"at\":\"");
      this.scratchBytes(line, cmd.a2Off, cmd.a2Len);
      this.scratchText("\"}}");
    }
    if (v !== Verb.Spawn && hasQuote(line, cmd)) {
      this.setPathText(PATH_QUEEN_CTL);
      this.refusal(v, EINVAL);
      return;
    }
    this.setPathText(PATH_QUEEN_CTL);
    this.appendScratch(v, 0, line);
  }
}

/**
 * Orders names by UTF-16 code units (byte order for ASCII). Written out because Porffor's
 * relational operators on strings do not compare contents.
 */
function compareNames(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function isDotName(name: string): boolean {
  return name === "." || name === "..";
}

/** True when an argument would break out of the JSON string it is placed in. */
function hasQuote(line: Uint8Array, cmd: Command): boolean {
  for (let i = 0; i < cmd.a1Len; i++) {
    const b = line[cmd.a1Off + i];
    if (b === 34 || b === 92) return true;
  }
  for (let i = 0; i < cmd.a2Len; i++) {
    const b = line[cmd.a2Off + i];
    if (b === 34 || b === 92) return true;
  }
  return false;
}

