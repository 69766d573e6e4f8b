/**
 * View snapshots (`.cohui.json`): the frames of the live view and the terminal lines, with a
 * sha256 over their canonical JSON so a truncated or edited file is refused before anything is
 * shown. Shared by the page (save, open) and the server (`cohesix ui --replay FILE`); only
 * WebCrypto, which both have. The same frames always give the same bytes.
 */
import type { BootView, HiveState, TermEvent } from "./state.ts";

export const SNAPSHOT_FORMAT = "cohesix-ui-snapshot";
export const SNAPSHOT_VERSION = 1;
/** Larger files are refused unread (900 frames of 64 workers are well below this). */
export const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;

export interface Snapshot {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  /** The hive the frames came from (host:port of its 9P service). */
  hive: string;
  boot: BootView;
  frames: HiveState[];
  terminal: TermEvent[];
  /** sha256 (hex) of the canonical body: this object without `sha256`, keys in this order. */
  sha256: string;
}

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SnapshotError";
  }
}

function body(s: Omit<Snapshot, "sha256">): string {
  return JSON.stringify({
    format: s.format,
    version: s.version,
    hive: s.hive,
    boot: s.boot,
    frames: s.frames,
    terminal: s.terminal,
  });
}

async function hexSha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Builds a snapshot and its file text (one JSON document and a newline). */
export async function encodeSnapshot(
  hive: string,
  boot: BootView,
  frames: HiveState[],
  terminal: TermEvent[],
): Promise<{ snapshot: Snapshot; text: string }> {
  const unsealed = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    hive,
    boot,
    frames,
    terminal,
  } as const;
  const snapshot: Snapshot = { ...unsealed, sha256: await hexSha256(body(unsealed)) };
  return { snapshot, text: JSON.stringify(snapshot) + "\n" };
}

/** Parses and checks a snapshot file; throws SnapshotError saying what is wrong. */
export async function decodeSnapshot(text: string): Promise<Snapshot> {
  if (text.length > MAX_SNAPSHOT_BYTES) {
    throw new SnapshotError(`the file is ${text.length} bytes; a snapshot is at most ${MAX_SNAPSHOT_BYTES}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SnapshotError(`not JSON (${(e as Error).message}); the file is truncated or not a snapshot`);
  }
  if (doc === null || typeof doc !== "object") throw new SnapshotError("not a snapshot object");
  const s = doc as Partial<Snapshot>;
  if (s.format !== SNAPSHOT_FORMAT) {
    throw new SnapshotError(`format is ${JSON.stringify(s.format)}, expected "${SNAPSHOT_FORMAT}"`);
  }
  if (s.version !== SNAPSHOT_VERSION) {
    throw new SnapshotError(
      `version ${s.version} is not supported (this build reads version ${SNAPSHOT_VERSION})`,
    );
  }
  if (typeof s.hive !== "string" || typeof s.boot !== "object" || s.boot === null) {
    throw new SnapshotError("hive or boot is missing");
  }
  if (!Array.isArray(s.frames) || s.frames.length === 0) {
    throw new SnapshotError("a snapshot needs at least one frame");
  }
  if (!Array.isArray(s.terminal)) throw new SnapshotError("terminal is missing");
  for (const [i, f] of s.frames.entries()) {
    if (f === null || typeof f !== "object" || !Array.isArray(f.workers) || typeof f.atMs !== "number") {
      throw new SnapshotError(`frame ${i} is malformed`);
    }
  }
  if (typeof s.sha256 !== "string") throw new SnapshotError("sha256 is missing");
  const want = await hexSha256(body(s as Snapshot));
  if (want !== s.sha256) {
    throw new SnapshotError(
      `sha256 mismatch: the file says ${s.sha256.slice(0, 16)}…, its content hashes to ${
        want.slice(0, 16)
      }… (edited or damaged)`,
    );
  }
  return s as Snapshot;
}
