/**
 * The WebSocket bridge: one `UiSession` per page. The browser cannot speak 9P or the console's
 * framed TCP, so the bridge does it on the page's behalf, always as the role and ticket the user
 * logged in with:
 *   - the view: a `HiveWatcher` (9P, attached with that role and ticket) refreshed on a timer;
 *   - the terminal: cohsh's own `Shell` over the TCP console (the same code path as
 *     `cohesix cohsh`), attached first with that role and ticket, then running the lines typed
 *     in xterm.js; every reply line goes back as it arrives.
 */
import { ConsoleClient } from "../cohsh/client.ts";
import { type CohshSession, RECONNECT_FIRST_MS, RECONNECT_MAX_MS, Shell } from "../cohsh/shell.ts";
import { TransportError } from "../cohsh/transport.ts";
import { complete } from "../cohsh/interactive.ts";
import { ROLE_NAMES } from "../../guest/console/grammar.ts";
import { HiveWatcher, LoginError } from "./watcher.ts";
import type { ClientMessage, ServerMessage } from "./state.ts";

export interface Endpoint {
  hostname: string;
  port: number;
}

export interface BridgeTarget {
  ninep: Endpoint;
  console: Endpoint;
  /** The console's AUTH token. */
  authToken: string;
  /** View refresh period (ms). */
  refreshMs: number;
  timeoutMs: number;
}

/** Terminal lines a page may queue while one runs (the page sends one at a time; this bounds a flood). */
const MAX_QUEUED_LINES = 64;

/** A page's session: login, the view's refresh loop and the terminal's console. */
export class UiSession {
  private watcher: HiveWatcher | null = null;
  private shell: CohshSession | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Terminal lines waiting to run; `echo` when the page did not echo it itself (the login's attach). */
  private lines: { text: string; echo: boolean }[] = [];
  private running = false;
  private closed = false;
  private loggingIn = false;
  /** The login the view re-attaches with when its session drops. */
  private credentials: { role: string; ticket: string } | null = null;

  constructor(private socket: WebSocket, private target: BridgeTarget, private log: (line: string) => void) {
    socket.onmessage = (ev) => this.onMessage(ev.data);
    socket.onclose = () => this.close();
    socket.onerror = () => this.close();
  }

  private send(msg: ServerMessage): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(msg));
  }

  private onMessage(data: unknown): void {
    let msg: ClientMessage;
    try {
      msg = JSON.parse(String(data));
    } catch {
      this.send({ t: "error", error: "the bridge takes JSON messages" });
      return;
    }
    switch (msg?.t) {
      case "login":
        this.login(String(msg.role ?? ""), String(msg.ticket ?? "")).catch((e) => this.fail(e));
        return;
      case "line":
        if (this.lines.length >= MAX_QUEUED_LINES) {
          this.send({ t: "error", error: `more than ${MAX_QUEUED_LINES} lines waiting; line dropped` });
          return;
        }
        this.lines.push({ text: String(msg.text ?? ""), echo: false });
        this.pump().catch((e) => this.fail(e));
        return;
      case "cancel":
        this.shell?.cancel().catch(() => {});
        return;
      case "complete":
        this.completeLine(String(msg.line ?? "")).catch((e) => this.fail(e));
        return;
      case "logout":
        this.stop();
        return;
      default:
        this.send({
          t: "error",
          error: `unknown message type ${JSON.stringify((msg as { t?: unknown })?.t)}`,
        });
    }
  }

  private fail(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.log(`session error: ${message}`);
    this.send({ t: "error", error: message });
  }

  /** Attaches the view and the terminal with the user's role and ticket. */
  private async login(role: string, ticket: string): Promise<void> {
    if (this.loggingIn) return;
    if (!ROLE_NAMES.includes(role)) {
      this.send({ t: "login", ok: false, error: `unknown role '${role}'; one of ${ROLE_NAMES.join(", ")}` });
      return;
    }
    this.loggingIn = true;
    this.stop();
    try {
      this.watcher = await HiveWatcher.attach(
        this.target.ninep.hostname,
        this.target.ninep.port,
        role,
        ticket.trim(),
      );
    } catch (e) {
      if (e instanceof LoginError) {
        this.send({ t: "login", ok: false, error: e.message });
        return;
      }
      throw e;
    } finally {
      this.loggingIn = false;
    }
    this.credentials = { role, ticket: ticket.trim() };
    const attach = `attach ${role}${ticket.trim() === "" ? "" : ` ${ticket.trim()}`}`;
    this.log(`login role=${role} ticket=${ticket.trim() === "" ? "none" : "yes"}`);
    this.send({ t: "login", ok: true, role, boot: this.watcher.boot });
    this.refreshLoop();
    // The terminal attaches the same way `cohesix cohsh --role R --ticket T` does: the attach is the
    // first line of its transcript.
    this.lines.unshift({ text: attach, echo: true });
    await this.pump();
  }

  /** Tab: cohsh's own completer (verbs, roles, hive paths listed over the view's 9P session). */
  private async completeLine(line: string): Promise<void> {
    const w = this.watcher;
    const [options, token] = await complete(
      line,
      (dir) => w === null ? Promise.resolve(null) : w.list(dir, true),
    );
    this.send({ t: "completions", line, token, options });
  }

  private refreshLoop(): void {
    const w = this.watcher;
    if (w === null || this.closed) return;
    w.refresh().then((state) => {
      if (this.watcher !== w) return;
      this.send({ t: "state", state });
      this.timer = setTimeout(() => this.refreshLoop(), this.target.refreshMs);
    }, (e) => {
      if (this.watcher !== w) return;
      w.close();
      this.fail(new Error(`the view lost the hive (${(e as Error).message}); re-attaching`));
      this.reattach(RECONNECT_FIRST_MS);
    });
  }

  /** The view's session dropped (hive restarted, network): attach again with the login's role and ticket. */
  private reattach(delayMs: number): void {
    const creds = this.credentials;
    if (creds === null || this.closed) return;
    this.timer = setTimeout(() => {
      HiveWatcher.attach(this.target.ninep.hostname, this.target.ninep.port, creds.role, creds.ticket).then(
        (w) => {
          if (this.closed || this.credentials !== creds) return w.close();
          this.watcher = w;
          this.send({ t: "notice", text: "the view re-attached to the hive" });
          this.refreshLoop();
        },
        () => this.reattach(Math.min(delayMs * 2, RECONNECT_MAX_MS)),
      );
    }, delayMs);
  }

  private async openShell(): Promise<CohshSession> {
    const { hostname, port } = this.target.console;
    const open = () => ConsoleClient.connectTcp(hostname, port, this.target.authToken, this.target.timeoutMs);
    return new Shell(await open(), open, (l) => this.send({ t: "out", line: l }));
  }

  /** Runs queued terminal lines one at a time, streaming reply lines to the page. */
  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.lines.length > 0 && !this.closed) {
        const { text: line, echo } = this.lines.shift()!;
        if (echo) this.send({ t: "out", line: `coh> ${line}` });
        try {
          if (this.shell === null || this.shell.quitSeen) {
            this.shell?.close();
            this.shell = await this.openShell();
          }
          const reply = await this.shell.execute(line, (l) => this.send({ t: "out", line: l }));
          if (reply?.closed && !this.shell.quitSeen) {
            this.send({
              t: "out",
              line: "cohsh: the hive closed the connection; the next command reconnects",
            });
          }
        } catch (e) {
          if (!(e instanceof TransportError)) throw e;
          this.send({ t: "out", line: `cohsh: ${e.message}` });
        }
        this.send({ t: "done" });
      }
    } finally {
      this.running = false;
    }
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.credentials = null;
    this.watcher?.close();
    this.watcher = null;
    this.shell?.close();
    this.shell = null;
    this.lines = [];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stop();
  }
}
