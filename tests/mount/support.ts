/**
 * Hives and mounts for the FUSE tests: `cohesix dev` on free ports (or on a given 9P port, to
 * restart a hive where a mount expects it), `cohesix mount` processes waited for by their JSON
 * line, and cleanup that leaves no mount behind even when a test fails.
 */
const COHESIX = new URL("../../cohesix", import.meta.url).pathname;

export const HAS_FUSE = (() => {
  try {
    return Deno.statSync("/dev/fuse") !== null;
  } catch {
    return false;
  }
})();

if (!HAS_FUSE) {
  console.error(
    "tests/mount: skipped, /dev/fuse is missing on this machine (modprobe fuse, or --device /dev/fuse)",
  );
}

export interface Proc {
  child: Deno.ChildProcess;
  /** Everything printed on stderr so far. */
  stderr(): string;
}

async function firstLine(child: Deno.ChildProcess, what: string, err: () => string): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${what} exited before printing its JSON line: ${err()}`);
    text += value;
  }
  // Keep draining so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })().catch(() => {});
  return text.slice(0, text.indexOf("\n"));
}

function spawn(args: string[]): Proc {
  const child = new Deno.Command(COHESIX, { args, stdout: "piped", stderr: "piped", env: { NO_COLOR: "1" } })
    .spawn();
  let err = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })().catch(() => {});
  return { child, stderr: () => err };
}

export interface Hive extends Proc {
  port: number;
}

/** `cohesix dev` on a free console port and the given 9P port (0: a free one), with extra flags. */
export async function startHive(ninepPort = 0, extra: string[] = []): Promise<Hive> {
  const p = spawn(["dev", "--console-port", "0", "--ninep-port", String(ninepPort), "--json", ...extra]);
  const doc = JSON.parse(await firstLine(p.child, "cohesix dev", p.stderr));
  return { ...p, port: doc.ninep.port };
}

export async function stop(p: Proc): Promise<Deno.CommandStatus> {
  try {
    p.child.kill("SIGTERM");
  } catch { /* already gone */ }
  return await p.child.status;
}

export interface Mount extends Proc {
  dir: string;
}

/** `cohesix mount` of the hive at a fresh directory; resolves once the kernel mount is in place. */
export async function startMount(port: number, extra: string[] = [], dir?: string): Promise<Mount> {
  dir ??= await Deno.makeTempDir({ prefix: "cohesix-mount-" });
  const p = spawn(["mount", "--port", String(port), "--json", ...extra, dir]);
  const m = { ...p, dir };
  try {
    await firstLine(p.child, "cohesix mount", p.stderr);
  } catch (e) {
    await cleanupMount(m);
    throw e;
  }
  return m;
}

/** Stops the mount process and makes sure the kernel mount is gone (lazy fusermount3 as a last resort). */
export async function cleanupMount(m: Mount): Promise<void> {
  await stop(m);
  if (isMounted(m.dir)) {
    await new Deno.Command("fusermount3", { args: ["-u", "-z", m.dir], stderr: "null" }).output();
  }
  await Deno.remove(m.dir).catch(() => {});
}

export function isMounted(dir: string): boolean {
  return Deno.readTextFileSync("/proc/self/mountinfo").split("\n").some((l) => l.split(" ")[4] === dir);
}

const ROOT_MANIFEST = new URL("../../configs/root_task.toml", import.meta.url).pathname;

/**
 * The reference manifest with one line changed (`pattern` must match a line of it), written to a
 * temporary file for `cohesix dev --manifest`. Returns the file; remove its directory afterwards.
 */
export async function manifestWith(pattern: RegExp, line: string): Promise<string> {
  const text = await Deno.readTextFile(ROOT_MANIFEST);
  if (!pattern.test(text)) throw new Error(`configs/root_task.toml has no line matching ${pattern}`);
  const dir = await Deno.makeTempDir({ prefix: "cohesix-manifest-" });
  await Deno.writeTextFile(`${dir}/root_task.toml`, text.replace(pattern, line));
  return `${dir}/root_task.toml`;
}

/** Runs a shell command line; returns exit code, stdout and stderr. */
export async function sh(script: string, cwd?: string): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command("sh", { args: ["-c", script], cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
}

/** `cohesix <args>`; returns exit code and stderr. */
export async function cohesix(args: string[]): Promise<{ code: number; err: string; out: string }> {
  const o = await new Deno.Command(COHESIX, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: o.code, err: dec.decode(o.stderr), out: dec.decode(o.stdout) };
}

/** A hive and a queen mount of it for the body of one test; both are stopped and unmounted afterwards. */
export async function withHiveMount(
  fn: (hive: Hive, mount: Mount) => Promise<void>,
  extra: string[] = [],
  hiveFlags: string[] = [],
): Promise<void> {
  const hive = await startHive(0, hiveFlags);
  let mount: Mount | null = null;
  try {
    mount = await startMount(hive.port, extra);
    await fn(hive, mount);
  } finally {
    if (mount) await cleanupMount(mount);
    await stop(hive);
  }
}
