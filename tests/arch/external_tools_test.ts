/**
 * scripts/install-deps.sh installs exactly what the code and the tests use. The spawn sites are grepped
 * for program names (the first literal of `new Deno.Command(…)`, `run(…)`, `runTool(…)`, and the tool
 * constants such as `TOOLS`, `QEMU_SYSTEM`, `DIOD`); every program must be the project's own, part of a
 * Debian base system, or come from a package in the script's list. Every package in the list must be
 * claimed by a spawned program or by a file path the code reads (firmware, headers, libraries).
 * A new tool fails this test until its package is in install-deps.sh and in the tables below.
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../support/assert.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SCANNED = ["src", "tests", "bench", "images", "scripts"];
const SELF = fileURLToPath(import.meta.url);

/** Programs of every Debian system (Essential: yes, or priority required) and of the machine's Node. */
const BASE_SYSTEM = new Set([
  "sh",
  "bash",
  "cp",
  "chmod",
  "touch",
  "tail",
  "sha256sum",
  "stty",
  "tar",
  "taskset",
  "kill",
  "mount",
  "umount",
  "node",
  "npm",
  "npx",
]);

/** Program → the Debian package that ships it. */
export const TOOL_PACKAGE: Record<string, string> = {
  "qemu-system-aarch64": "qemu-system-arm",
  "qemu-aarch64": "qemu-user",
  diod: "diod",
  diodls: "diod",
  diodcat: "diod",
  "aarch64-linux-gnu-gcc": "gcc-aarch64-linux-gnu",
  "aarch64-linux-gnu-ld": "binutils-aarch64-linux-gnu",
  "aarch64-linux-gnu-strip": "binutils-aarch64-linux-gnu",
  "aarch64-linux-gnu-objcopy": "binutils-aarch64-linux-gnu",
  python3: "python3",
  cpio: "cpio",
  bsdtar: "libarchive-tools",
  mdir: "mtools",
  mcopy: "mtools",
  mmd: "mtools",
  mren: "mtools",
  mdel: "mtools",
  "mkfs.vfat": "dosfstools",
  "fsck.vfat": "dosfstools",
  tmux: "tmux",
  pgrep: "procps",
  fusermount3: "fuse3",
  bindfs: "bindfs",
  chromium: "chromium",
  prometheus: "prometheus",
  promtool: "prometheus",
  "nats-server": "nats-server",
  "python3-pytest": "python3-pytest",
  patch: "patch",
};

/** Packages used through a file rather than a program: package → a path the code names. */
export const FILE_PACKAGE: Record<string, string> = {
  "qemu-efi-aarch64": "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd",
  // images/tools.ts python3(): Debian's python3, which carries the modules below.
  python3: "/usr/bin/python3",
  "picolibc-aarch64-linux-gnu": "/usr/lib/picolibc/aarch64-linux-gnu",
  "libsimde-dev": "/usr/include/simde",
  // seL4's shoehorn.py (run by the image link through python3) imports these three.
  "python3-yaml": "shoehorn.py",
  "python3-pyelftools": "shoehorn.py",
  "python3-libarchive-c": "shoehorn.py",
  "libfuse3-3": "libfuse3.so.3",
  // ../shared/sel4/build-sdk.sh (run by src/host/sel4/kernel_export.ts) spawns or imports these.
  cmake: "build-sdk.sh",
  "ninja-build": "build-sdk.sh",
  "device-tree-compiler": "build-sdk.sh",
  "libxml2-utils": "build-sdk.sh",
  "python3-jinja2": "build-sdk.sh",
  "python3-ply": "build-sdk.sh",
  "python3-lxml": "build-sdk.sh",
  "python3-typing-extensions": "build-sdk.sh",
  "python3-jsonschema": "build-sdk.sh",
  "xz-utils": "build-sdk.sh",
  patch: "build-sdk.sh",
  // The Python client's tests (tests/python, run by scripts/pytest.sh with Debian's python3).
  "python3-pytest": "import pytest",
  "python3-venv": "venv.create(",
  "python3-mypy": '"-m", "mypy"',
  "python3-wheel-whl": "/usr/share/python-wheels",
};

async function sources(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory && e.name !== "node_modules" && e.name !== "generated") await walk(path);
      else if (e.isFile && /\.(ts|mjs|js|py)$/.test(e.name) && path !== SELF) {
        files.set(path.slice(ROOT.length), await Deno.readTextFile(path));
      }
    }
  };
  for (const d of SCANNED) await walk(join(ROOT, d)).catch(() => {});
  return files;
}

/** The packages listed in install-deps.sh's PKGS="…" (it may span lines). */
async function scriptPackages(): Promise<string[]> {
  const text = await Deno.readTextFile(join(ROOT, "scripts", "install-deps.sh"));
  const m = /^PKGS="([^"]*)"/m.exec(text);
  assert(m, 'install-deps.sh has a PKGS="…" list');
  return m[1].split(/\s+/).filter((p) => p !== "");
}

interface Spawned {
  program: string;
  /** Found as the program argument of a spawn call (not only in a table of constants). */
  atCall: boolean;
}

/** Program names at spawn sites and in tool constants. */
function spawnedPrograms(text: string): Spawned[] {
  const found: Spawned[] = [];
  const cross = (s: string) =>
    s.replace(/\$\{(?:crossPrefix\(\)|CROSS|[^}]*CROSS_COMPILE[^}]*)\}/g, "aarch64-linux-gnu-");
  const literal = String.raw`(?:"([^"]+)"|\x60([^\x60]+)\x60)`;
  const patterns = [
    // new Deno.Command(PROG, {…}), run(PROG, […]), runTool(PROG, […])
    new RegExp(
      String.raw`(?:new Deno\.Command|\brun(?:Tool)?)\(\s*` + literal + String.raw`\s*(?:,\s*[\[{]|\))`,
      "g",
    ),
    // runTool(STAGE, PROG, […])
    new RegExp(
      String.raw`\brunTool\(\s*(?:"[^"]*"|\x60[^\x60]*\x60)\s*,\s*` + literal + String.raw`\s*,`,
      "g",
    ),
    // Tool tables and constants: TOOLS = { cc: \`${…}gcc\`, qemuUser: "qemu-aarch64" }, QEMU_SYSTEM = "…".
    new RegExp(
      String.raw`^\s*(?:export const [A-Z_]+ =|[a-zA-Z]+:)\s*` + literal + String.raw`,?;?\s*(?://.*)?$`,
      "gm",
    ),
  ];
  for (const [i, re] of patterns.entries()) {
    for (const m of text.matchAll(re)) {
      const raw = cross(m[1] ?? m[2]);
      if (raw.includes("${") || raw.includes(" ")) continue; // computed: the project's own binaries, paths
      found.push({ program: raw, atCall: i < 2 });
    }
  }
  return found;
}

function isProgramName(s: string): boolean {
  return /^(\/usr\/(s?bin)\/)?[a-z][a-z0-9.+-]*$/.test(s);
}

Deno.test("every external program the code spawns comes from the base system or a package install-deps.sh installs", async () => {
  const pkgs = new Set(await scriptPackages());
  const problems: string[] = [];
  for (const [file, text] of await sources()) {
    for (const { program: raw, atCall } of spawnedPrograms(text)) {
      if (!isProgramName(raw)) continue;
      const prog = basename(raw);
      if (BASE_SYSTEM.has(prog)) continue;
      const pkg = TOOL_PACKAGE[prog];
      if (pkg === undefined) {
        // Table constants also name roles, kinds and files; only a spawn call's program must be known.
        if (atCall) {
          problems.push(
            `${file}: spawns '${prog}', which no table names (add its package to install-deps.sh and TOOL_PACKAGE)`,
          );
        }
        continue;
      }
      if (!pkgs.has(pkg)) {
        problems.push(`${file}: spawns '${prog}' from ${pkg}, which install-deps.sh does not install`);
      }
    }
  }
  assertEquals(problems, []);
});

Deno.test("every package install-deps.sh installs is used by a spawned program or a file the code reads", async () => {
  const files = await sources();
  const all = [...files.values()].join("\n");
  const spawned = new Set(
    [...files.values()].flatMap((t) => spawnedPrograms(t).map((p) => basename(p.program))),
  );
  const unused: string[] = [];
  for (const pkg of await scriptPackages()) {
    const byTool = Object.entries(TOOL_PACKAGE).some(([tool, p]) => p === pkg && spawned.has(tool));
    const byFile = FILE_PACKAGE[pkg] !== undefined && all.includes(FILE_PACKAGE[pkg]);
    if (!byTool && !byFile) unused.push(pkg);
  }
  assertEquals(
    unused,
    [],
    "packages nothing uses: drop them from install-deps.sh, or name their use in the tables",
  );
});

Deno.test("install-deps.sh installs without recommended packages, so the suite relies on nothing optional", async () => {
  const text = await Deno.readTextFile(join(ROOT, "scripts", "install-deps.sh"));
  assert(
    /apt-get install[^\n]*--no-install-recommends/.test(text),
    "apt-get install --no-install-recommends",
  );
  assert(
    !(await scriptPackages()).includes("ipxe-qemu"),
    "no optional QEMU ROMs: the launcher adds no device that needs one",
  );
});
