/**
 * `cohesix doctor`'s checks: one per thing a user path needs (run a hosted hive, build the guest,
 * link and boot an image, mount, script from Python). Each check names, when it fails, the one
 * command that fixes it. Paths and tool names come from the modules that use them (qemu/launcher.ts,
 * guest_build, image/defaults.ts, images), so doctor checks what those really run.
 */
import { join } from "node:path";
import { openSel4Export } from "../../../images/sel4_export.ts";
import { crossPrefix, python3 } from "../../../images/tools.ts";
import { DEFAULT_AUTH_TOKEN } from "../../guest/console/grammar.ts";
import { NineClient } from "../../secure9p/host/client.ts";
import { PICOLIBC, SIMDE } from "../guest_build/build.ts";
import { REPO_ROOT, TOOLS } from "../guest_build/tools.ts";
import { chooseSel4Export, DEFAULT_MANIFEST } from "../image/defaults.ts";
import { DEFAULT_FIRMWARE, QEMU_SYSTEM } from "../qemu/launcher.ts";
import { TcpTransport } from "../cohsh/transport.ts";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** The one command that fixes a failure ("" when ok). */
  fix: string;
}

export interface DoctorOptions {
  firmware?: string;
  sel4Build?: string;
  manifest?: string;
  host: string;
  consolePort: number;
  ninepPort: number;
  authToken: string;
  /** How long a probe of a taken port waits for a hive's answer. */
  probeMs: number;
}

export const DEFAULT_DOCTOR: DoctorOptions = {
  host: "127.0.0.1",
  consolePort: 31337,
  ninepPort: 5640,
  authToken: DEFAULT_AUTH_TOKEN,
  probeMs: 2000,
};

const APT = "sudo apt-get install -y --no-install-recommends";
const dec = new TextDecoder();

const ok = (name: string, detail: string): Check => ({ name, ok: true, detail, fix: "" });
const fail = (name: string, detail: string, fix: string): Check => ({ name, ok: false, detail, fix });

/** Runs a tool; its first output line, or null when it is missing or fails. */
async function firstLine(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
    if (!out.success) return null;
    return (dec.decode(out.stdout) || dec.decode(out.stderr)).trim().split("\n")[0] ?? "";
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function packageJson(path: string): Promise<Record<string, any> | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return null;
  }
}

async function checkDeno(): Promise<Check> {
  const pkg = await packageJson(join(REPO_ROOT, "package.json"));
  const pinned: string = pkg?.devDependencies?.deno ?? "?";
  const line = await firstLine(TOOLS.deno, ["--version"]);
  if (line === null) return fail("deno", `${TOOLS.deno} is missing`, "npm ci");
  const got = line.split(/\s+/)[1] ?? "";
  return got === pinned
    ? ok("deno", `${got} (node_modules/.bin/deno, pinned in package.json)`)
    : fail("deno", `node_modules has deno ${got}, package.json pins ${pinned}`, "npm ci");
}

async function checkNpmDeps(): Promise<Check> {
  const pkg = await packageJson(join(REPO_ROOT, "package.json"));
  if (pkg === null) {
    return fail("npm dependencies", "package.json is unreadable", "git checkout package.json");
  }
  const pins: Record<string, string> = { ...pkg.dependencies, ...pkg.devDependencies };
  const wrong: string[] = [];
  for (const [name, want] of Object.entries(pins)) {
    const got = (await packageJson(join(REPO_ROOT, "node_modules", name, "package.json")))?.version;
    if (got !== want) wrong.push(`${name} ${got ?? "missing"} (want ${want})`);
  }
  return wrong.length === 0
    ? ok("npm dependencies", `${Object.keys(pins).length} packages at their pinned versions`)
    : fail("npm dependencies", wrong.join(", "), "npm ci");
}

async function checkTool(name: string, cmd: string, args: string[], fix: string): Promise<Check> {
  const line = await firstLine(cmd, args);
  return line === null ? fail(name, `${cmd} is not installed or does not run`, fix) : ok(name, line);
}

async function checkFirmware(path: string): Promise<Check> {
  const info = await Deno.stat(path).catch(() => null);
  if (info?.isFile && info.size > 0) return ok("qemu firmware", `${path} (${info.size} bytes)`);
  return fail(
    "qemu firmware",
    `${path} is ${info ? "not a firmware file" : "missing"} (UEFI boots need it)`,
    path === DEFAULT_FIRMWARE ? `${APT} qemu-efi-aarch64` : `cohesix doctor --firmware ${DEFAULT_FIRMWARE}`,
  );
}

async function checkCrossToolchain(): Promise<Check> {
  const fix =
    `${APT} gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu picolibc-aarch64-linux-gnu libsimde-dev`;
  const gcc = await firstLine(`${crossPrefix()}gcc`, ["--version"]);
  const objcopy = await firstLine(`${crossPrefix()}objcopy`, ["--version"]);
  const missing = [
    gcc === null ? `${crossPrefix()}gcc` : "",
    objcopy === null ? `${crossPrefix()}objcopy` : "",
    (await exists(join(PICOLIBC, "lib", "libc.a"))) ? "" : `picolibc (${PICOLIBC})`,
    (await exists(SIMDE)) ? "" : `SIMDe (${SIMDE})`,
  ].filter((m) => m !== "");
  return missing.length === 0
    ? ok("cross toolchain", `${gcc}; picolibc, SIMDe`)
    : fail("cross toolchain", `missing: ${missing.join(", ")}`, fix);
}

async function checkImagePython(): Promise<Check> {
  const py = python3();
  const out = await firstLine(py, ["-c", "import yaml, elftools, libarchive; print('ok')"]);
  return out === "ok"
    ? ok("image tools python", `${py} has yaml, elftools, libarchive (seL4's shoehorn.py)`)
    : fail(
      "image tools python",
      `${py} lacks yaml, elftools or libarchive`,
      `${APT} python3-yaml python3-pyelftools python3-libarchive-c`,
    );
}

/** What ../shared/sel4/build-sdk.sh runs to build the Cohesix export (../shared/sel4/deps.txt). */
const SDK_BUILD_TOOLS: [string, string][] = [
  ["cmake", "cmake"],
  ["ninja", "ninja-build"],
  ["dtc", "device-tree-compiler"],
  ["xmllint", "libxml2-utils"],
];

/**
 * The export `cohesix image` would use (--sel4-build, $COHESIX_SEL4, the Cohesix export built from
 * ../shared/sel4 on first use, ../shared/sel4/prebuilt): present and complete, or buildable.
 */
async function checkSel4(flag: string | undefined): Promise<Check> {
  try {
    const choice = chooseSel4Export(flag);
    if (choice.build && !(await exists(join(choice.dir, "sdk.json")))) {
      const missing: string[] = [];
      for (const [tool, pkg] of SDK_BUILD_TOOLS) {
        if ((await firstLine(tool, ["--version"])) === null) missing.push(pkg);
      }
      return missing.length === 0
        ? ok(
          "seL4 export",
          `not built yet: 'cohesix image' builds it from ../shared/sel4 on first use into ${choice.dir}`,
        )
        : fail(
          "seL4 export",
          `cannot build the export from ../shared/sel4: missing ${missing.join(", ")}`,
          `${APT} ${missing.join(" ")}`,
        );
    }
    const sel4 = await openSel4Export(choice.dir);
    return ok(
      "seL4 export",
      `${sel4.dir} (from ${choice.from}): seL4 ${sel4.version}, kernel ${sel4.commit.slice(0, 12)}`,
    );
  } catch (err) {
    return fail(
      "seL4 export",
      (err as Error).message,
      "export COHESIX_SEL4=/path/to/sel4/export   # the output of build-sdk.sh",
    );
  }
}

/** The kernel side of mounting a hive: the FUSE device (fuse3's tools come with the mount command). */
async function checkFuse(): Promise<Check> {
  const dev = await Deno.stat("/dev/fuse").catch(() => null);
  if (dev === null) {
    return fail(
      "fuse",
      "/dev/fuse is missing (the kernel's FUSE module is not loaded)",
      "sudo modprobe fuse",
    );
  }
  if (!dev.isCharDevice) return fail("fuse", "/dev/fuse is not a character device", "sudo modprobe fuse");
  return ok("fuse", "/dev/fuse is a character device");
}

async function checkPython(): Promise<Check> {
  const line = await firstLine("python3", [
    "-c",
    "import sys, venv; print(sys.version.split()[0]); sys.exit(sys.version_info < (3, 11))",
  ]);
  return line === null
    ? fail(
      "python client",
      "python3 >= 3.11 with venv is missing (clients/python)",
      `${APT} python3 python3-venv`,
    )
    : ok("python client", `python3 ${line} with venv (pip install ./clients/python)`);
}

async function checkManifest(path: string): Promise<Check> {
  const { loadManifest } = await import("../../codegen/load.ts");
  try {
    const m = await loadManifest(path);
    return ok("manifest", `${path} compiles (fingerprint ${m.fingerprint.slice(0, 16)}…)`);
  } catch (err) {
    const first = (err as Error).message.split("\n")[0];
    return fail("manifest", `${path}: ${first}`, `cohesix rtc ${path} --out out/rtc-check`);
  }
}

/** What answers on a port: "free", "hive" (speaks the expected protocol) or what went wrong. */
type PortState = { state: "free" } | { state: "hive"; detail: string } | { state: "other"; detail: string };

async function portState(host: string, port: number, probe: () => Promise<string>): Promise<PortState> {
  try {
    const l = Deno.listen({ hostname: host, port });
    l.close();
    return { state: "free" };
  } catch (err) {
    if (!(err instanceof Deno.errors.AddrInUse)) return { state: "other", detail: (err as Error).message };
  }
  try {
    return { state: "hive", detail: await probe() };
  } catch (err) {
    return { state: "other", detail: (err as Error).message };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function probeConsole(host: string, port: number, token: string, ms: number): Promise<string> {
  const t = await TcpTransport.connect(host, port);
  try {
    await t.send(`AUTH ${token}`);
    const line = await t.recv(ms);
    if (line !== null && (line === "OK AUTH" || line.startsWith("ERR AUTH"))) {
      return `a hive console answers (${line})`;
    }
    throw new Error(`it answered ${JSON.stringify(line)}, not a hive console`);
  } finally {
    t.close();
  }
}

async function probeNinep(host: string, port: number, ms: number): Promise<string> {
  const c = await withTimeout(NineClient.dial(host, port), ms, "9P version");
  c.close();
  return `a 9P2000.L server answers (msize ${c.msize})`;
}

async function checkPort(o: DoctorOptions, kind: "console" | "9P"): Promise<Check> {
  const port = kind === "console" ? o.consolePort : o.ninepPort;
  const name = `port ${port} (${kind})`;
  const s = await portState(
    o.host,
    port,
    () =>
      kind === "console"
        ? probeConsole(o.host, port, o.authToken, o.probeMs)
        : probeNinep(o.host, port, o.probeMs),
  );
  if (s.state === "free") return ok(name, `free on ${o.host}`);
  if (s.state === "hive") return ok(name, s.detail);
  const flag = kind === "console" ? "--console-port" : "--ninep-port";
  return fail(
    name,
    `taken on ${o.host}, and not by a hive: ${s.detail}`,
    `ss -ltnp 'sport = :${port}'   # find and stop it, or run 'cohesix dev ${flag} 0'`,
  );
}

async function checkHiveBoot(o: DoctorOptions): Promise<Check> {
  const name = "hive /proc/boot";
  let c: NineClient;
  try {
    c = await withTimeout(NineClient.dial(o.host, o.ninepPort), o.probeMs, "9P version");
  } catch {
    return ok(name, `skipped: no hive answers on ${o.host}:${o.ninepPort} (start one with 'cohesix dev')`);
  }
  try {
    const root = c.newFid();
    await c.attach(root, "observer", "").catch(() => c.attach(root, "queen", ""));
    const fid = c.newFid();
    await c.walk(root, fid, ["proc", "boot"]);
    await c.open(fid, 0);
    const text = dec.decode(await c.readAll(fid));
    if (!text.startsWith("Cohesix boot:")) {
      return fail(
        name,
        `unexpected /proc/boot: ${text.slice(0, 60)}`,
        `cohesix dev --ninep-port ${o.ninepPort}`,
      );
    }
    const field = (k: string) => text.match(new RegExp(`(?:^|\\n)${k}=(\\S+)`))?.[1] ?? "?";
    return ok(
      name,
      `${o.host}:${o.ninepPort}: version ${field("version")}, manifest ${field("manifest").slice(0, 16)}…`,
    );
  } catch (err) {
    return fail(
      name,
      `the hive on ${o.host}:${o.ninepPort} did not serve /proc/boot: ${(err as Error).message}`,
      `cohesix cohsh --transport 9p --port ${o.ninepPort}`,
    );
  } finally {
    c.close();
  }
}

/** Every check, in a fixed order; independent checks run side by side. */
export async function runDoctor(o: DoctorOptions): Promise<Check[]> {
  const manifest = o.manifest ?? DEFAULT_MANIFEST;
  return await Promise.all([
    checkDeno(),
    checkNpmDeps(),
    checkTool("qemu-system-aarch64", QEMU_SYSTEM, ["--version"], `${APT} qemu-system-arm`),
    checkFirmware(o.firmware ?? DEFAULT_FIRMWARE),
    checkTool("qemu-aarch64 (user)", TOOLS.qemuUser, ["--version"], `${APT} qemu-user`),
    checkCrossToolchain(),
    checkImagePython(),
    checkSel4(o.sel4Build),
    checkFuse(),
    checkPython(),
    checkManifest(manifest),
    checkPort(o, "console"),
    checkPort(o, "9P"),
    checkHiveBoot(o),
  ]);
}

/** The human report: one line per check, the fix under each failure. */
export function formatDoctor(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const failed = checks.filter((c) => !c.ok).length;
  const lines = checks.flatMap((c) => [
    `${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(width)}  ${c.detail}`,
    ...(c.ok ? [] : [`      ${"".padEnd(width)}  fix: ${c.fix}`]),
  ]);
  lines.push(
    failed === 0
      ? `cohesix doctor: ${checks.length} checks, all ok`
      : `cohesix doctor: ${failed} of ${checks.length} checks failed; run each fix above`,
  );
  return lines.join("\n");
}
