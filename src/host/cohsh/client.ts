/**
 * The console client: sends one wire command and collects its complete reply, using the shared
 * grammar to know where a reply ends (an `OK`/`ERR` line; for streaming verbs, the `END` after
 * an `OK`).
 */
import { type AckLine, isStreamingLabel, parseAck } from "../../guest/console/grammar.ts";
import { type LineTransport, TcpTransport, TransportError } from "./transport.ts";

export interface Reply {
  /** Every line of the reply in order: informational lines, the ack, payload lines, `END`. */
  lines: string[];
  /** The acknowledgement, or null when the hive closed the connection first. */
  ack: AckLine | null;
  /** The acknowledgement line as received ("" when there was none). */
  ackLine: string;
  /** The hive closed the connection during or right after this reply. */
  closed: boolean;
}

export const DEFAULT_TIMEOUT_MS = 5000;
/** "Wait as long as it takes" for followed streams (the largest setTimeout delay). */
const NO_TIMEOUT_MS = 2147483647;

export class ConsoleClient {
  constructor(readonly transport: LineTransport, public timeoutMs = DEFAULT_TIMEOUT_MS) {}

  /** Connects to a TCP console and authenticates with the AUTH token. */
  static async connectTcp(hostname: string, port: number, authToken: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ConsoleClient> {
    const t = await TcpTransport.connect(hostname, port);
    const c = new ConsoleClient(t, timeoutMs);
    try {
      await c.authenticate(authToken);
    } catch (err) {
      t.close();
      throw err;
    }
    return c;
  }

  /** Sends `AUTH <token>`; resolves on a bare `OK AUTH`, throws TransportError otherwise. */
  async authenticate(token: string): Promise<void> {
    await this.transport.send(`AUTH ${token}`);
    for (;;) {
      const line = await this.transport.recv(this.timeoutMs);
      if (line === null) {
        throw new TransportError(`The hive closed ${this.transport.name} during AUTH; check --auth-token`);
      }
      if (line === "OK AUTH") return;
      if (line.startsWith("OK AUTH ")) continue; // unsolicited notice, not the answer
      if (line.startsWith("ERR AUTH reason=busy")) {
        throw new TransportError(`The hive's console is full (${line.slice(9)}); close another cohsh session or try again later`);
      }
      if (line.startsWith("ERR AUTH")) {
        throw new TransportError(
          `The hive refused the console token (${line.slice(9) || "no reason"}); pass the right --auth-token or set COHSH_AUTH_TOKEN`,
        );
      }
    }
  }

  /**
   * Sends one wire line and reads its complete reply. `onLine` sees each line as it arrives;
   * `follow` (tail -f) waits for stream lines without a timeout, until `END`.
   */
  async request(wire: string, onLine?: (line: string) => void, follow = false): Promise<Reply> {
    await this.transport.send(wire);
    return await this.readReply(onLine, follow);
  }

  async readReply(onLine?: (line: string) => void, follow = false): Promise<Reply> {
    const lines: string[] = [];
    const take = (l: string) => {
      lines.push(l);
      onLine?.(l);
    };
    for (;;) {
      const line = await this.transport.recv(this.timeoutMs);
      if (line === null) return { lines, ack: null, ackLine: "", closed: true };
      take(line);
      const ack = parseAck(line);
      if (ack === null) continue;
      if (ack.ok && isStreamingLabel(ack.verb)) {
        for (;;) {
          const l = await this.transport.recv(follow ? NO_TIMEOUT_MS : this.timeoutMs);
          if (l === null) return { lines, ack, ackLine: line, closed: true };
          take(l);
          if (l === "END") break;
        }
      }
      return { lines, ack, ackLine: line, closed: false };
    }
  }

  /** Stops a running `tail -f`: an empty line ends the follow (the hive answers `END`). */
  cancelFollow(): Promise<void> {
    return this.transport.send("");
  }

  close(): void {
    this.transport.close();
  }
}
