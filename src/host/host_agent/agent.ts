/**
 * The host sidecar's session with the hive: attaches over Secure9P as the queen with its own
 * ticket, says `hello`, publishes each provider's report through `<mount>/ctl`, then follows
 * `<mount>/actions` and carries out each control write the hive accepted (the policy gate has already
 * asked for an approval), answering `done <seq> ok|failed` and re-publishing the entry's status.
 * It says `beat` a third of the hive's `stale_ms`, so a live agent never reads stale.
 */
import { type NineClient, NineError } from "../../secure9p/host/client.ts";
import { HiveLink } from "../cli/hive_link.ts";
import { errnoName } from "../../secure9p/errors.ts";
import { O_APPEND, O_RDONLY, O_WRONLY } from "../../secure9p/namespace.ts";
import { isStaleCursor, ringWindowStart } from "./ring_cursor.ts";
import { discover, type HostEntry, type ProviderReport, runTool, sampleReport, type ToolRunner } from "./discover.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A control write the hive accepted: `seq=<n> action=<a> target=<mount>/<provider>/…/<name>`. */
export interface HostAction {
  seq: number;
  action: string;
  provider: string;
  name: string;
}

/** Carries out an action; resolves with the entry's new status, or throws with what went wrong. */
export type ActionRunner = (a: HostAction) => Promise<string>;

export function parseActions(text: string, mount: string): HostAction[] {
  const out: HostAction[] = [];
  for (const line of text.split("\n")) {
    const m = /^seq=(\d+) action=(\w+) target=(\S+)$/.exec(line);
    if (!m || !m[3].startsWith(mount + "/")) continue;
    const parts = m[3].slice(mount.length + 1).split("/");
    out.push({ seq: Number(m[1]), action: m[2], provider: parts[0], name: parts[parts.length - 1] });
  }
  return out;
}

/** The commands a real host runs for each action. */
export function actionCommand(a: HostAction): [string, string[]] | null {
  if (a.provider === "systemd" && a.action === "restart") return ["systemctl", ["restart", a.name]];
  if (a.provider === "docker" && a.action === "restart") return ["docker", ["restart", a.name]];
  if (a.provider === "k8s" && a.action === "cordon") return ["kubectl", ["cordon", a.name]];
  if (a.provider === "k8s" && a.action === "drain") return ["kubectl", ["drain", a.name, "--ignore-daemonsets", "--delete-emptydir-data"]];
  return null;
}

/** Runs the host tool for an action; the new status is the tool's first output line. */
export function realRunner(run: ToolRunner = runTool): ActionRunner {
  return async (a) => {
    const cmd = actionCommand(a);
    if (cmd === null) throw new Error(`no command carries out ${a.action} on ${a.provider}`);
    const r = await run(cmd[0], cmd[1]);
    if (r === null) throw new Error(`${cmd[0]} is not installed`);
    if (r.code !== 0) throw new Error(`${cmd[0]} ${cmd[1].join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 120)}`);
    return `${a.action} ok`;
  };
}

/** The sample host: actions always succeed and change the sample entry's status the way a real one would. */
export function sampleRunner(): ActionRunner {
  const restarts = new Map<string, number>();
  return (a) => {
    if (a.action === "restart") {
      const n = (restarts.get(a.name) ?? 0) + 1;
      restarts.set(a.name, n);
      return Promise.resolve(`${a.provider === "docker" ? "running" : "active (running)"} restarts=${n}`);
    }
    if (a.action === "cordon") return Promise.resolve("Ready,SchedulingDisabled");
    if (a.action === "drain") return Promise.resolve("Ready,SchedulingDisabled drained");
    return Promise.reject(new Error(`the sample host has no ${a.action}`));
  };
}

export interface AgentOptions {
  hostname: string;
  port: number;
  ticket: string;
  id: string;
  mount: string;
  sample: boolean;
  log: (line: string) => void;
  run?: ToolRunner;
}

export interface PublishSummary {
  providers: Record<string, { state: string; reason: string; entries: number }>;
  entries: HostEntry[];
}

export class HostAgent {
  private ctlFid = -1;
  private actionsFid = -1;
  private actionsOffset = 0;
  /** The highest action seq accounted for (at start: the hive's count; -1: unknown); a jump past it means the ring dropped actions. */
  private lastSeq = -1;
  staleMs = 15000;
  maxEntries = 32;
  private runner: ActionRunner;

  private client: NineClient;

  private constructor(private link: HiveLink, private opts: AgentOptions) {
    this.client = link.client;
    this.runner = opts.sample ? sampleRunner() : realRunner(opts.run);
  }

  static async connect(opts: AgentOptions): Promise<HostAgent> {
    let link: HiveLink;
    try {
      link = await HiveLink.open({ host: opts.hostname, port: opts.port }, "queen", opts.ticket);
    } catch (e) {
      if (e instanceof NineError) throw new Error(`the hive refused the host-agent's attach (${errnoName(e.errno)}); pass a queen ticket with --ticket`);
      throw new Error(`cannot reach the hive's 9P service at ${opts.hostname}:${opts.port} (${(e as Error).message}); start one with 'cohesix dev --manifest configs/full.toml'`);
    }
    const agent = new HostAgent(link, opts);
    try {
      agent.ctlFid = await link.openPath(`${opts.mount}/ctl`, O_WRONLY + O_APPEND);
      agent.actionsFid = await link.openPath(`${opts.mount}/actions`, O_RDONLY);
    } catch (e) {
      link.close();
      if (e instanceof NineError) {
        throw new Error(`the hive serves no ${opts.mount} (${errnoName(e.errno)}); its manifest needs [ecosystem.host] enable = true (e.g. configs/full.toml)`);
      }
      throw e;
    }
    const status = await link.read(`${opts.mount}/status`);
    agent.staleMs = Number(/stale_ms=(\d+)/.exec(status)?.[1] ?? 15000);
    agent.maxEntries = Number(/max_entries=(\d+)/.exec(status)?.[1] ?? 32);
    agent.lastSeq = Number(/ actions=(\d+)/.exec(status)?.[1] ?? -1);
    // Actions already done before this agent started are not its to carry out.
    agent.actionsOffset = (await link.client.getattr(agent.actionsFid)).size;
    await agent.command(`hello ${opts.id}`);
    return agent;
  }

  /** One /host/ctl command; a refusal names the command. */
  async command(line: string): Promise<void> {
    try {
      await this.client.write(this.ctlFid, 0, enc.encode(line + "\n"));
    } catch (e) {
      if (e instanceof NineError) throw new Error(`the hive refused '${line.slice(0, 80)}' (${errnoName(e.errno)})`);
      throw e;
    }
  }

  /** The providers this hive mounts (the directories under the mount). */
  async providers(): Promise<string[]> {
    const fid = await this.link.openPath(this.opts.mount, O_RDONLY);
    try {
      const ents = await this.client.readdirAll(fid);
      return ents.map((e) => e.name).filter((n) => n !== "." && n !== ".." && !["status", "ctl", "actions"].includes(n));
    } finally {
      await this.client.clunk(fid).catch(() => {});
    }
  }

  /** Discovers (or samples) every mounted provider and publishes it; entries past the hive's table are left out. */
  async publish(): Promise<PublishSummary> {
    const summary: PublishSummary = { providers: {}, entries: [] };
    const provs = await this.providers();
    const perProvider = Math.max(1, Math.floor(this.maxEntries / Math.max(1, provs.length)));
    for (const p of provs) {
      const report: ProviderReport = this.opts.sample ? sampleReport(p) : await discover(p, this.opts.run);
      const entries = report.entries.slice(0, perProvider);
      if (report.state === "absent") await this.command(`provider ${p} absent`);
      else {
        await this.command(`provider ${p} present`);
        for (const e of entries) await this.command(`entry ${p} ${e.name} ${e.status}`);
      }
      summary.providers[p] = { state: report.state, reason: report.reason, entries: entries.length };
      summary.entries.push(...entries);
      this.opts.log(`host-agent: ${p} ${report.state}${report.reason ? ` (${report.reason})` : ""}, ${entries.length} entries`);
    }
    return summary;
  }

  /** Reads new action lines, carries each out, answers `done` and re-publishes the entry. */
  async serveActions(): Promise<number> {
    let chunk: Uint8Array;
    try {
      chunk = await this.client.read(this.actionsFid, this.actionsOffset, this.client.ioChunk);
    } catch (e) {
      // EINVAL: the hive's bounded actions ring dropped lines this agent had not read yet (a burst
      // of control writes between two polls). Resume at the oldest line still held; the lost
      // actions are answered `failed` below, so nobody waits on an action that was never carried out.
      if (!isStaleCursor(e)) throw e;
      await this.resyncActions();
      return this.serveActions();
    }
    if (chunk.length === 0) return 0;
    const text = dec.decode(chunk);
    const whole = text.lastIndexOf("\n") + 1;
    this.actionsOffset += enc.encode(text.slice(0, whole)).length;
    let n = 0;
    for (const a of parseActions(text.slice(0, whole), this.opts.mount)) {
      if (a.seq <= this.lastSeq) continue;
      for (let lost = this.lastSeq + 1; this.lastSeq >= 0 && lost < a.seq; lost++) {
        await this.command(`done ${lost} failed`);
        this.opts.log(`host-agent: action ${lost} dropped by the hive's actions ring before this agent read it: failed`);
      }
      this.lastSeq = a.seq;
      n++;
      try {
        const status = await this.runner(a);
        await this.command(`entry ${a.provider} ${a.name} ${status}`);
        await this.command(`done ${a.seq} ok`);
        this.opts.log(`host-agent: action ${a.seq} ${a.action} ${a.provider}/${a.name}: ok (${status})`);
      } catch (e) {
        await this.command(`done ${a.seq} failed`);
        this.opts.log(`host-agent: action ${a.seq} ${a.action} ${a.provider}/${a.name}: failed (${(e as Error).message})`);
      }
    }
    return n;
  }

  /** Moves the actions cursor to the start of the ring's retained window. */
  private async resyncActions(): Promise<void> {
    const start = await ringWindowStart(this.client, this.actionsFid, this.actionsOffset);
    this.opts.log(`host-agent: fell behind, ${start - this.actionsOffset} bytes of actions dropped by the hive; resuming at ${start}`);
    this.actionsOffset = start;
  }

  beat(): Promise<void> {
    return this.command("beat");
  }

  /** Serves until `stop` resolves: actions every poll, a beat every third of stale_ms. */
  async serve(stop: Promise<unknown>, pollMs = 200): Promise<void> {
    let stopped = false;
    stop.then(() => (stopped = true));
    const beatEvery = Math.max(1, Math.floor(this.staleMs / 3));
    let lastBeat = performance.now();
    while (!stopped) {
      await this.serveActions();
      if (performance.now() - lastBeat >= beatEvery) {
        await this.beat();
        lastBeat = performance.now();
      }
      await Promise.race([stop, new Promise((r) => setTimeout(r, pollMs))]);
    }
  }

  close(): void {
    this.client.close();
  }
}
