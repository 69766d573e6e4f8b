/** Shared fixtures for the image tests: the seL4 export, the hello root task, a temp dir, subprocess runs. */
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
/** The shared seL4 export, mounted at ../shared from the repository (tests and demo only). */
export const SEL4 = fileURLToPath(new URL("../../../shared/sel4/prebuilt", import.meta.url));
export const HELLO_SRC = fileURLToPath(
  new URL("../../../shared/sel4/examples/hello-roottask", import.meta.url),
);
export const HELLO_LINE = "cohesix root task up";

let hello: Promise<string> | undefined;
let helloDir: string | undefined;

globalThis.addEventListener("unload", () => {
  if (helloDir) Deno.removeSync(helloDir, { recursive: true });
});

/** Builds the seL4 hello root task once per test file with its own build.sh; returns the ELF path. */
export function helloRootTask(): Promise<string> {
  hello ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "cohesix-hello-" });
    const out = await new Deno.Command("bash", {
      args: [join(HELLO_SRC, "build.sh"), dir, "--sdk", SEL4],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      await Deno.remove(dir, { recursive: true });
      throw new Error(`hello root task build failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    helloDir = dir;
    return join(dir, "hello-roottask.elf");
  })();
  return hello;
}

export async function tempDir(t: { name: string }): Promise<string> {
  return await Deno.makeTempDir({ prefix: `cohesix-${t.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 40)}-` });
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion. */
export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; stdin?: Uint8Array } = {},
): Promise<Ran> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin) {
    const w = child.stdin.getWriter();
    await w.write(opts.stdin);
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Runs `./cohesix ARGS` from the repository (the launcher users run). */
export function cohesix(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Ran> {
  return run(join(REPO, "cohesix"), args, opts);
}

/** Runs `./cohesix image --sel4-build SEL4 --rootserver ROOTSERVER EXTRA… --out OUT`. */
export function cohesixImage(rootserver: string, out: string, extra: string[] = []): Promise<Ran> {
  return cohesix(["image", "--sel4-build", SEL4, "--rootserver", rootserver, ...extra, "--out", out]);
}

/** Names in a directory (empty when it does not exist). */
export async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names.sort();
}
