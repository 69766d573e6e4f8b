/**
 * The machine's mount table as the mount commands need it: is DIR a FUSE mount, is it alive or
 * stale (its server died: the kernel answers ENOTCONN), and unmounting through `fusermount3`
 * (Debian `fuse3`; works for root and, for their own mounts, for other users).
 */
import { resolve } from "node:path";

export const FUSERMOUNT = "fusermount3";

export interface MountEntry {
  mountpoint: string;
  fstype: string;
  source: string;
}

/** `\040`-style escapes of /proc/self/mountinfo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    out.push({ mountpoint: unescape(left[4]), fstype: right[0], source: unescape(right[1] ?? "") });
  }
  return out;
}

/** The FUSE mount at `dir` (absolute, not resolved through the mount itself), if any. */
export function fuseMountAt(dir: string): MountEntry | null {
  const abs = resolve(dir);
  const all = parseMountinfo(Deno.readTextFileSync("/proc/self/mountinfo"));
  const hits = all.filter((m) =>
    m.mountpoint === abs && (m.fstype === "fuse" || m.fstype.startsWith("fuse."))
  );
  return hits.at(-1) ?? null;
}

/** "alive", "stale" (the serving process is gone: ENOTCONN) or "absent" for DIR. */
export function mountState(dir: string): "alive" | "stale" | "absent" {
  if (!fuseMountAt(dir)) return "absent";
  try {
    Deno.statSync(dir);
    return "alive";
  } catch (e) {
    if (isNotConnected(e)) return "stale";
    return "alive";
  }
}

export function isNotConnected(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === "ENOTCONN" || /os error 107\b|not connected/i.test(err?.message ?? "");
}

/** Unmounts DIR; `lazy` detaches it even while files are open. Resolves to fusermount3's message on failure. */
export async function fusermountUnmount(
  dir: string,
  lazy: boolean,
): Promise<{ ok: boolean; message: string }> {
  const args = lazy ? ["-u", "-z", dir] : ["-u", dir];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(FUSERMOUNT, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    return {
      ok: false,
      message: `Cannot run ${FUSERMOUNT} (${(e as Error).message}); install Debian's fuse3`,
    };
  }
  const message = new TextDecoder().decode(out.stderr).trim();
  return { ok: out.success, message };
}
