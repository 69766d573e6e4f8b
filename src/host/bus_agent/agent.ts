/**
 * `cohesix bus-agent`: the field-bus sidecar of one adapter (Milestone 18). Lines read from the
 * device (a serial line: a tty or a pseudo-terminal) go to `<adapter>/telemetry` as `<seq> <line>`;
 * commands the queen writes to `<adapter>/ctl` go to the device, one line each. While the hive is
 * unreachable the lines wait in a bounded spool and reconnects follow the client retry schedule;
 * back online, `link up` is said again and the spool is flushed through `<adapter>/replay`. The hive
 * drops any seq it already has, so nothing is stored twice even when a write's fate was unknown.
 */
import { type NineClient, NineError } from "../../secure9p/host/client.ts";
import { HiveLink } from "../cli/hive_link.ts";
import { errnoName } from "../../secure9p/errors.ts";
import { O_APPEND, O_RDONLY, O_WRONLY } from "../../secure9p/namespace.ts";
import { CLIENT_POLICY } from "../generated/cohsh_policy.ts";
import { Spool } from "./spool.ts";
import { isStaleCursor, ringWindowStart } from "../host_agent/ring_cursor.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface BusAgentOptions {
  hostname: string;
  port: number;
  ticket: string;
  /** The adapter's directory, e.g. /bus/plc-1. */
  dir: string;
  run: string;
  log: (line: string) => void;
}

/** The hive refused something retrying cannot fix (a missing adapter, a denied attach). */
export class BusAgentError extends Error {}

/** One attached session to the adapter's files. */
export class AdapterLink {
  ctlOffset = 0;
  /** Bytes of ctl commands the hive's ring dropped before this link read them. */
  ctlDropped = 0;
  private constructor(
    private c: NineClient,
    private fids: { telemetry: number; replay: number; link: number; ctl: number },
  ) {}

  static async open(o: BusAgentOptions): Promise<AdapterLink> {
    const hive = await HiveLink.open({ host: o.hostname, port: o.port }, "queen", o.ticket);
    try {
      const open = (name: string, flags: number) => hive.openPath(`${o.dir}/${name}`, flags);
      return new AdapterLink(hive.client, {
        telemetry: await open("telemetry", O_WRONLY + O_APPEND),
        replay: await open("replay", O_WRONLY + O_APPEND),
        link: await open("link", O_WRONLY + O_APPEND),
        ctl: await open("ctl", O_RDONLY),
      });
    } catch (e) {
      hive.close();
      if (e instanceof NineError) {
        throw new BusAgentError(`the hive refused ${o.dir} (${errnoName(e.errno)}); is the adapter in its manifest's [sidecars.*] adapters?`);
      }
      throw e;
    }
  }

  write(file: "telemetry" | "replay" | "link", text: string): Promise<number> {
    return this.c.write(this.fids[file], 0, enc.encode(text));
  }

  ctlSize(): Promise<number> {
    return this.c.getattr(this.fids.ctl).then((a) => a.size);
  }

  /** New whole command lines since the last read. */
  async commands(): Promise<string[]> {
    const size = await this.ctlSize();
    if (size < this.ctlOffset) this.ctlOffset = 0; // a restarted hive: its ring starts over
    if (size === this.ctlOffset) return [];
    let data: Uint8Array;
    try {
      data = await this.c.read(this.fids.ctl, this.ctlOffset, this.c.ioChunk);
    } catch (e) {
      // A burst of commands past the hive's ctl ring between two polls: resume at the oldest kept
      // line (the dropped commands never reach the device; the log says how many bytes).
      if (!isStaleCursor(e)) throw e;
      const start = await ringWindowStart(this.c, this.fids.ctl, this.ctlOffset);
      this.ctlDropped += start - this.ctlOffset;
      this.ctlOffset = start;
      return this.commands();
    }
    const text = dec.decode(data);
    const whole = text.lastIndexOf("\n") + 1;
    this.ctlOffset += enc.encode(text.slice(0, whole)).length;
    return text.slice(0, whole).split("\n").filter((l) => l !== "");
  }

  close(): void {
    this.c.close();
  }
}

/** Device bytes to printable lines of at most 200 bytes (CR dropped, control bytes as spaces). */
export class LineCutter {
  private carry = "";
  push(chunk: Uint8Array): string[] {
    const text = this.carry + dec.decode(chunk, { stream: true });
    const parts = text.split("\n");
    this.carry = parts.pop() ?? "";
    return parts.map((l) => l.replace(/\r/g, "").replace(/[^\x20-\x7e]/g, " ").trim().slice(0, 200)).filter((l) => l !== "");
  }
}

export class BusAgent {
  private seq = 0;
  private link: AdapterLink | null = null;
  readonly spool: Spool;
  private stopped = false;
  private flushing = false;

  /**
   * The device is opened twice, for reading and for writing: a read pending on a Deno file holds it,
   * so a command for the device would wait behind the next line the device sends.
   */
  constructor(
    private o: BusAgentOptions,
    bounds: { maxEntries: number; maxBytes: number },
    private device: Deno.FsFile,
    private deviceOut: Deno.FsFile,
  ) {
    this.spool = new Spool(bounds.maxEntries, bounds.maxBytes);
  }

  /** Reads the adapter's spool bounds from the hive (`<dir>/spool`). */
  static async spoolBounds(o: BusAgentOptions): Promise<{ maxEntries: number; maxBytes: number }> {
    let hive: HiveLink;
    try {
      hive = await HiveLink.open({ host: o.hostname, port: o.port }, "queen", o.ticket);
    } catch (e) {
      if (e instanceof NineError) throw new BusAgentError(`the hive refused the bus-agent's attach (${errnoName(e.errno)}); pass a queen ticket with --ticket`);
      throw new BusAgentError(`cannot reach the hive's 9P service at ${o.hostname}:${o.port} (${(e as Error).message}); start one with 'cohesix dev --manifest configs/full.toml'`);
    }
    try {
      const text = await hive.read(`${o.dir}/spool`);
      return { maxEntries: Number(/max_entries=(\d+)/.exec(text)?.[1]), maxBytes: Number(/max_bytes=(\d+)/.exec(text)?.[1]) };
    } catch (e) {
      if (e instanceof NineError) {
        throw new BusAgentError(`the hive serves no ${o.dir} (${errnoName(e.errno)}); its manifest needs a [sidecars.modbus|dnp3] adapter mounted there (e.g. configs/full.toml)`);
      }
      throw e;
    } finally {
      hive.close();
    }
  }

  /** Connects (or reconnects) and flushes the spool; false when the hive is unreachable now. */
  private async connect(): Promise<boolean> {
    try {
      const l = await AdapterLink.open(this.o);
      l.ctlOffset = await l.ctlSize();
      await l.write("link", `up run=${this.o.run}\n`);
      this.link = l;
    } catch (e) {
      if (e instanceof BusAgentError) throw e;
      return false;
    }
    this.o.log(`bus-agent: ${this.o.dir} link up (run ${this.o.run}); flushing ${this.spool.size} spooled lines`);
    return await this.flush();
  }

  private async flush(): Promise<boolean> {
    this.flushing = true;
    try {
      for (let item = this.spool.peek(); item !== undefined; item = this.spool.peek()) {
        if (!(await this.send("replay", item.seq, item.line))) return false;
        this.spool.shift();
      }
      return true;
    } finally {
      this.flushing = false;
    }
  }

  /** One `<seq> <line>` write; on a dropped connection the link is gone (the caller spools). */
  private async send(file: "telemetry" | "replay", seq: number, line: string): Promise<boolean> {
    const l = this.link;
    if (l === null) return false;
    try {
      await l.write(file, `${seq} ${line}\n`);
      return true;
    } catch (e) {
      if (e instanceof NineError) {
        this.o.log(`bus-agent: the hive refused line ${seq} (${errnoName(e.errno)}); dropped`);
        return true;
      }
      this.lost();
      return false;
    }
  }

  private lost(): void {
    if (this.link === null) return;
    this.link.close();
    this.link = null;
    this.o.log(`bus-agent: lost the hive; spooling (at most ${this.spool.maxEntries} lines, ${this.spool.maxBytes} bytes)`);
  }

  /**
   * A line from the device: live when linked and nothing is waiting, else spooled behind the lines
   * already waiting (the hive keeps one high-water seq, so lines must arrive in order).
   */
  async deviceLine(line: string): Promise<void> {
    const seq = ++this.seq;
    if (this.spool.size > 0 || this.flushing || !(await this.send("telemetry", seq, line))) {
      this.spool.push({ seq, line });
      // The first lines of an outage one by one, then every hundredth (a busy bus must not flood the log).
      const n = this.spool.size;
      if (n <= 10 || n % 100 === 0) this.o.log(`bus-agent: spooled seq=${seq} waiting=${n} dropped=${this.spool.dropped}`);
    }
  }

  /** Device reader: runs until the device ends or `stop`. */
  private async readDevice(): Promise<void> {
    const cut = new LineCutter();
    const buf = new Uint8Array(4096);
    while (!this.stopped) {
      let n: number | null;
      try {
        n = await this.device.read(buf);
      } catch {
        n = null;
      }
      if (n === null) break;
      for (const line of cut.push(buf.subarray(0, n))) await this.deviceLine(line);
    }
    this.o.log(`bus-agent: the device closed`);
  }

  /** Hive side: (re)connects on the retry schedule, delivers ctl commands to the device. */
  private async followHive(stop: Promise<unknown>, pollMs: number): Promise<void> {
    let delay = CLIENT_POLICY.retry.backoff_ms;
    const tick = (ms: number) => Promise.race([stop, new Promise((r) => setTimeout(r, ms))]);
    while (!this.stopped) {
      if (this.link === null) {
        if (await this.connect()) delay = CLIENT_POLICY.retry.backoff_ms;
        else {
          await tick(delay);
          delay = Math.min(delay * 2, CLIENT_POLICY.retry.ceiling_ms);
          continue;
        }
      }
      try {
        const dropped = this.link!.ctlDropped;
        for (const cmd of await this.link!.commands()) {
          await this.deviceOut.write(enc.encode(cmd + "\n"));
          this.o.log(`bus-agent: ${this.o.dir} ctl -> device: ${cmd}`);
        }
        if (this.link!.ctlDropped > dropped) {
          this.o.log(`bus-agent: ${this.o.dir} fell behind: ${this.link!.ctlDropped - dropped} bytes of ctl commands dropped by the hive's ring before this agent read them`);
        }
      } catch (e) {
        if (e instanceof NineError) throw e;
        this.lost();
      }
      await tick(pollMs);
    }
  }

  async serve(stop: Promise<unknown>, pollMs = 100): Promise<void> {
    stop.then(() => (this.stopped = true));
    const device = this.readDevice().finally(() => (this.stopped = true));
    await Promise.race([this.followHive(stop, pollMs), device.then(() => {})]);
    this.stopped = true;
    if (this.link !== null) {
      await this.link.write("link", "down reason=agent-stopped\n").catch(() => {});
      this.link.close();
    }
  }
}
