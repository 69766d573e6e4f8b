/**
 * `cohesix update push`: uploads a packed update (src/host/update/pack.ts) to a hive's /updates over
 * our 9P client, and only what the hive lacks. Each round reads `/updates/<epoch>/status`, sends the
 * manifest when the hive has none, then the chunks it lists as missing, many in flight at once (each
 * chunk is walk + open + one Twrite + clunk, pipelined up to the client's tag window). The hive's
 * status decides everything, so a push killed halfway or cut off resumes where the hive stands:
 * a re-run sends at most the missing chunks. Ends when status says `ready` (or `invalid`, with
 * the hive's reason).
 */
import { NineClient, NineError, TransportError } from "../../secure9p/host/client.ts";
import { EEXIST, ENOENT } from "../../secure9p/errors.ts";
import { O_APPEND, O_RDONLY, O_WRONLY } from "../../secure9p/namespace.ts";
import type { HiveAddr } from "../cli/hive_link.ts";
import { decodeManifest } from "./manifest.ts";

const dec = new TextDecoder();

export interface PushOptions {
  role?: string;
  ticket?: string;
  /** Requests in flight on the session (the 9P tag window). */
  window?: number;
  /** Connection attempts in a row that may fail before the push gives up. */
  attempts?: number;
  /** First back-off after a dropped connection (doubles up to 8×). */
  backoffMs?: number;
  progress?: (line: string) => void;
}

export interface PushResult {
  epoch: number;
  state: string;
  reason: string;
  chunks: number;
  /** Chunks (and their payload bytes) this run wrote; the manifest's bytes when it sent it. */
  sentChunks: number;
  sentChunkBytes: number;
  sentManifestBytes: number;
  /** Chunks the hive already had when this run first asked (from an earlier run or a delta base). */
  skippedChunks: number;
  rounds: number;
  reconnects: number;
  ms: number;
}

/** A push that cannot end `ready`: the hive refused it, or it cannot be reached. */
export class PushError extends Error {
  constructor(message: string, readonly result: PushResult) {
    super(message);
    this.name = "PushError";
  }
}

export interface UpdateStatus {
  state: string;
  manifest: boolean;
  chunks: number;
  have: number;
  missing: number;
  reason: string;
  missingNames: string[];
}

/** Parses `/updates/<epoch>/status`. */
export function parseStatus(text: string): UpdateStatus {
  const [head, ...rest] = text.trimEnd().split("\n");
  const kv = new Map(head.split(" ").map((p) => p.split("=") as [string, string]));
  const num = (k: string) => Number(kv.get(k) ?? 0);
  return {
    state: kv.get("state") ?? "unknown",
    manifest: kv.get("manifest") !== "none",
    chunks: num("chunks"),
    have: num("have"),
    missing: num("missing"),
    reason: kv.get("reason") ?? "",
    missingNames: rest.filter((l) => l.startsWith("missing ")).map((l) => l.slice(8)),
  };
}

interface Update {
  epoch: number;
  manifest: Uint8Array;
  names: string[];
  dir: string;
}

async function loadUpdate(dir: string): Promise<Update> {
  const manifest = await Deno.readFile(`${dir}/manifest.cbor`);
  const m = decodeManifest(manifest);
  return { epoch: m.body.epoch, manifest, names: m.body.chunks, dir };
}

function isDrop(e: unknown): boolean {
  return e instanceof TransportError || (e instanceof Error && /closed|reset|broken pipe|refused|ECONN/i.test(e.message));
}

/** One connection's worth of the push; returns the final status, or throws on a drop. */
class PushSession {
  constructor(readonly client: NineClient, readonly root: number, readonly u: Update, readonly r: PushResult) {}

  private path(...rest: string[]): string[] {
    return ["updates", String(this.u.epoch), ...rest];
  }

  async ensureEpoch(): Promise<void> {
    const c = this.client;
    const dir = c.newFid();
    try {
      await c.walk(this.root, dir, ["updates"]);
    } catch (e) {
      if (e instanceof NineError && e.errno === ENOENT) {
        throw new PushError("the hive serves no /updates: its manifest leaves [cas] off", this.r);
      }
      throw e;
    }
    try {
      await c.mkdir(dir, String(this.u.epoch), 0o755);
    } catch (e) {
      if (!(e instanceof NineError && e.errno === EEXIST)) throw e;
    } finally {
      await c.clunk(dir).catch(() => {});
    }
  }

  async status(): Promise<UpdateStatus> {
    const c = this.client;
    const fid = c.newFid();
    await c.walk(this.root, fid, this.path("status"));
    try {
      await c.open(fid, O_RDONLY);
      return parseStatus(dec.decode(await c.readAll(fid)));
    } finally {
      await c.clunk(fid).catch(() => {});
    }
  }

  /** The manifest in writes of the session's iounit; the hive verifies it when its last byte lands. */
  async sendManifest(): Promise<void> {
    const c = this.client;
    const fid = c.newFid();
    await c.walk(this.root, fid, this.path("manifest.cbor"));
    try {
      await c.open(fid, O_WRONLY + O_APPEND);
      const m = this.u.manifest;
      for (let off = 0; off < m.length; off += c.ioChunk) {
        const piece = m.subarray(off, Math.min(m.length, off + c.ioChunk));
        // Counted as sent once on the wire, also when the hive refuses the write that completes it.
        this.r.sentManifestBytes += piece.length;
        await c.write(fid, off, piece);
      }
    } catch (e) {
      // The verdict is in status (reason=...); a refusal of the last write is not a drop.
      if (!(e instanceof NineError)) throw e;
    } finally {
      await c.clunk(fid).catch(() => {});
    }
  }

  /** The round's chunks from DIR, all read before any is sent (a missing one fails the round cleanly). */
  async readChunks(names: string[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const name of names) {
      try {
        out.push(await Deno.readFile(`${this.u.dir}/chunks/${name}`));
      } catch {
        throw new PushError(`chunk ${name} is missing from ${this.u.dir}/chunks and the hive does not have it (a delta whose base was never pushed?)`, this.r);
      }
    }
    return out;
  }

  async sendChunk(name: string, bytes: Uint8Array): Promise<void> {
    const c = this.client;
    const fid = c.newFid();
    await c.walk(this.root, fid, this.path("chunks", name));
    try {
      await c.open(fid, O_WRONLY + O_APPEND);
      await c.write(fid, 0, bytes);
      this.r.sentChunks++;
      this.r.sentChunkBytes += bytes.length;
    } catch (e) {
      if (e instanceof NineError) {
        throw new PushError(`the hive refused chunk ${name}: ${e.message} (its bytes in ${this.u.dir} do not match its sha256 name)`, this.r);
      }
      throw e;
    } finally {
      await c.clunk(fid).catch(() => {});
    }
  }
}

/** Pushes the update in `dir` to the hive at `addr` until it is `ready`; throws PushError otherwise. */
export async function pushUpdate(dir: string, addr: HiveAddr, opts: PushOptions = {}): Promise<PushResult> {
  const u = await loadUpdate(dir);
  const t0 = performance.now();
  const r: PushResult = {
    epoch: u.epoch,
    state: "unknown",
    reason: "",
    chunks: u.names.length,
    sentChunks: 0,
    sentChunkBytes: 0,
    sentManifestBytes: 0,
    skippedChunks: -1,
    rounds: 0,
    reconnects: 0,
    ms: 0,
  };
  const progress = opts.progress ?? (() => {});
  const attempts = opts.attempts ?? 5;
  let failures = 0;
  for (;;) {
    let client: NineClient | undefined;
    try {
      client = await NineClient.dial(addr.host, addr.port, { maxInflight: opts.window ?? 16 });
      const root = client.newFid();
      await client.attach(root, opts.role ?? "queen", opts.ticket ?? "");
      const s = new PushSession(client, root, u, r);
      await s.ensureEpoch();
      for (let sentLast = -1;;) {
        let st = await s.status();
        if (!st.manifest || (st.state === "invalid" && r.sentManifestBytes === 0)) {
          await s.sendManifest();
          st = await s.status();
        }
        if (r.skippedChunks < 0 && st.state !== "invalid") r.skippedChunks = st.have;
        r.state = st.state;
        r.reason = st.reason;
        if (st.state === "ready") {
          r.ms = performance.now() - t0;
          return r;
        }
        if (st.state === "invalid") throw new PushError(`the hive refused epoch ${u.epoch}: reason=${st.reason}`, r);
        if (st.missingNames.length === 0 || r.sentChunks === sentLast) {
          throw new PushError(`the hive lists no progress for epoch ${u.epoch} (missing=${st.missing})`, r);
        }
        sentLast = r.sentChunks;
        r.rounds++;
        const bytes = await s.readChunks(st.missingNames);
        await Promise.all(st.missingNames.map((n, i) => s.sendChunk(n, bytes[i])));
        failures = 0;
        progress(`update push: epoch ${u.epoch}: ${st.have + st.missingNames.length}/${st.chunks} chunks, sent ${r.sentChunks} (${r.sentChunkBytes} B)`);
      }
    } catch (e) {
      if (e instanceof PushError || e instanceof NineError) {
        r.ms = performance.now() - t0;
        throw e instanceof PushError ? e : new PushError(`the hive refused the push of epoch ${u.epoch}: ${e.message}`, r);
      }
      if (!isDrop(e) && !(e instanceof Deno.errors.ConnectionRefused)) throw e;
      failures++;
      if (failures >= attempts) {
        r.ms = performance.now() - t0;
        throw new PushError(`the hive at ${addr.host}:${addr.port} is unreachable after ${attempts} attempts (${(e as Error).message})`, r);
      }
      r.reconnects++;
      const wait = (opts.backoffMs ?? 200) * 2 ** Math.min(3, failures - 1);
      progress(`update push: connection lost (${(e as Error).message}); reconnecting in ${wait} ms`);
      await new Promise((res) => setTimeout(res, wait));
    } finally {
      client?.close();
    }
  }
}
