/**
 * `buildGuest`: the guest-native pipeline, one stage per tool, every stage timed and reported:
 *   bundle   esbuild: the guest entry and src/guest into one flat ES2022 script
 *   wasm     porf wasm -O1 --unreachable-exceptions --no-wasm-exceptions (a throw prints, then traps)
 *   opt      wasm-opt -Os (npm binaryen 132): Porffor's own -O2/-O3 do not shrink the module; binaryen
 *            takes it from 1.92 MB to 1.10 MB, which is what keeps the rootserver inside the 4 MiB image
 *   c        wasm2c (npm wabt 1.0.39) → guest_0..3.c, guest.h
 *   probe    finds Porffor's allocator bump pointer in the translation (for arena reports)
 *   libsodium  Debian's libsodium source package: sha256 checked, the Ed25519 verifier's files extracted, patched
 *   compile  aarch64 gcc, freestanding, picolibc + SIMDe headers: the module, src/guest/native, libsodium
 *   link     (a) linux: a static Linux user-mode ELF for qemu-aarch64 (tests)
 *            (b) sel4:  the static seL4 rootserver ELF (entry _sel4_start, libsel4 headers from the SDK),
 *                       with the network: our virtio-net driver and lwIP (lwip.ts), see src/guest/native/net
 * Outputs are deterministic: fixed flags, no timestamps, no build ids, paths mapped away.
 */
import { basename, join, resolve } from "node:path";
import { bundleEntry } from "./bundle.ts";
import { LWIP_SOURCES, unpackLwip } from "./lwip.ts";
import { REPO_ROOT, runTool, StageError, TOOLS } from "./tools.ts";
import { LIBSODIUM, LIBSODIUM_DEFINES, prepareLibsodium } from "./libsodium.ts";

export const NATIVE_DIR = join(REPO_ROOT, "src", "guest", "native");
export const DEFAULT_SEL4_SDK = resolve(REPO_ROOT, "..", "shared", "sel4", "prebuilt");
export const PICOLIBC = "/usr/lib/picolibc/aarch64-linux-gnu";
export const SIMDE = "/usr/include/simde";
export const DEFAULT_ARENA_BYTES = 32 * 1024 * 1024;

/** wasm2c output files; fixed so the build is the same on every machine. */
const C_PARTS = 4;
/**
 * Optimisation of the translated module: -Os. The boot rootserver is 2.88 MB (with no unwind
 * tables and stripped; 4.35 MB at -O1, over the 4 MiB image budget) and it compiles faster. An earlier -Os build printed
 * four NUL bytes in a queen-log line natively; that was Porffor's page-0 string bin spilling into
 * page 1 (layout-dependent, fixed by scripts/patch-porffor.mjs), not the C compiler. The four-way
 * parity suite (tests/parity, tests/native) is byte-identical at -Os.
 */
export const MODULE_OPT = "-Os";

/**
 * binaryen flags: the features Porffor's module uses (multi-value returns, SIMD, bulk memory,
 * saturating float->int, sign extension, mutable globals) and -Os. -Oz saves 0.3% more at 1.6x the
 * time; -O1 only reaches 1.69 MB.
 */
export const WASM_OPT_FLAGS = [
  "--enable-multivalue",
  "--enable-simd",
  "--enable-bulk-memory",
  "--enable-nontrapping-float-to-int",
  "--enable-sign-ext",
  "--enable-mutable-globals",
  "-Os",
];

export type GuestPlatform = "linux" | "sel4";

/** The seL4 platform layer (src/guest/native/*.c, linked into the rootserver only). */
const SEL4_PLATFORM = ["plat_sel4", "sel4_events", "sel4_timer", "sel4_worker"];

async function sha256Hex(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Runs jobs with at most `limit` at once; results keep the jobs' order. */
async function runLimited<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, jobs.length)) }, worker));
  return results;
}

export interface GuestBuildOptions {
  /** Output directory (created). */
  outDir: string;
  /** The guest entry as TypeScript source resolved from the repository root (see bundle.ts). */
  entrySource: string;
  /** Which ELFs to link (default both). */
  platforms?: GuestPlatform[];
  /** Bytes reserved for the Wasm linear memory, the same on every platform (default 32 MiB; a
   * multiple of 2 MiB: seL4 maps it as 2 MiB frames retyped from untyped memory). */
  arenaBytes?: number;
  /** seL4 SDK export with libsel4/include (default ../shared/sel4/prebuilt). */
  sel4Sdk?: string;
  /** Progress callback: one call when a stage starts and one when it ends. */
  onProgress?: (event: StageEvent) => void;
}

export interface StageEvent {
  stage: string;
  /** "progress" events come between start and done of a long stage (compile: one per object). */
  state: "start" | "progress" | "done";
  ms?: number;
  detail?: string;
}

export interface GuestBuildResult {
  /** The seL4 rootserver ELF (when "sel4" was built). */
  elf?: string;
  /** The Linux user-mode test ELF (when "linux" was built). */
  linuxElf?: string;
  js: string;
  wasm: string;
  /** Size in bytes of each output. */
  sizes: Record<string, number>;
  /** Wall time per stage in milliseconds. */
  stageMs: Record<string, number>;
  /** Instance field of Porffor's allocator pointer (e.g. w2c_g0). */
  arenaPtrField: string;
}

/** The allocator's bump pointer: the global that `memory.grow`'s function stores the new pointer in. */
export function findArenaPointer(moduleC: string): string {
  const grow = moduleC.indexOf("wasm_rt_grow_memory(&instance->");
  if (grow < 0) {
    throw new StageError("probe", "no memory.grow in the translated module (is it a Porffor module?)");
  }
  const fnEnd = moduleC.indexOf("\n}\n", grow);
  const body = moduleC.slice(grow, fnEnd < 0 ? undefined : fnEnd);
  const m = /instance->(w2c_g\d+) = var_i0;/.exec(body);
  if (!m) throw new StageError("probe", "cannot find the allocator pointer stored after memory.grow");
  return m[1];
}

function sdkInclude(sdk: string): string {
  const inc = join(sdk, "libsel4", "include");
  try {
    Deno.statSync(join(inc, "sel4", "sel4.h"));
  } catch {
    throw new StageError("link-sel4", `no libsel4 headers at ${inc} (pass the seL4 SDK export)`);
  }
  return inc;
}

export async function buildGuest(opts: GuestBuildOptions): Promise<GuestBuildResult> {
  const out = resolve(opts.outDir);
  await Deno.mkdir(out, { recursive: true });
  const platforms = opts.platforms ?? ["linux", "sel4"];
  const arena = opts.arenaBytes ?? DEFAULT_ARENA_BYTES;
  if (!Number.isInteger(arena) || arena < 2 << 20 || arena % (2 << 20) !== 0) {
    throw new StageError("options", `arena must be a positive multiple of 2 MiB, got ${arena}`);
  }
  const stageMs: Record<string, number> = {};
  const sizes: Record<string, number> = {};
  const stage = async <T>(name: string, fn: () => Promise<T>, detail?: (v: T) => string): Promise<T> => {
    opts.onProgress?.({ stage: name, state: "start" });
    const t0 = performance.now();
    const v = await fn();
    stageMs[name] = Math.round(performance.now() - t0);
    opts.onProgress?.({ stage: name, state: "done", ms: stageMs[name], detail: detail?.(v) });
    return v;
  };
  const size = (p: string) => (sizes[p.slice(out.length + 1)] = Deno.statSync(p).size);

  const js = join(out, "guest.js");
  await stage("bundle", async () => {
    await Deno.writeTextFile(js, await bundleEntry(opts.entrySource));
    return size(js);
  }, (n) => `${n} bytes`);

  // Porffor's module is guest.porf.wasm; guest.wasm is binaryen's output, the module the ELFs are made of.
  const porfWasm = join(out, "guest.porf.wasm");
  const wasm = join(out, "guest.wasm");
  await stage("wasm", async () => {
    await runTool("wasm", TOOLS.porf, [
      "wasm",
      "-O1",
      "--unreachable-exceptions",
      "--no-wasm-exceptions",
      js,
      porfWasm,
    ], {
      cwd: out,
      env: { NO_COLOR: "1" },
    });
    return size(porfWasm);
  }, (n) => `${n} bytes`);

  // Porffor emits a lot of dead and duplicated code; binaryen's size passes remove it (semantics kept:
  // no trap-assuming flags such as -tnh, so a Wasm trap still traps at the same point).
  await stage("opt", async () => {
    await runTool("opt", TOOLS.wasmOpt, [...WASM_OPT_FLAGS, "guest.porf.wasm", "-o", "guest.wasm"], { cwd: out });
    return size(wasm);
  }, (n) => `${n} bytes`);

  // The translation is split into a fixed number of files (the output must not depend on the
  // machine) so the compile stage can use every core.
  const moduleCs = Array.from({ length: C_PARTS }, (_, i) => join(out, `guest_${i}.c`));
  await stage("c", async () => {
    await runTool("c", TOOLS.wasm2c, [
      "guest.wasm",
      "-o",
      "guest.c",
      "-n",
      "guest",
      `--num-outputs=${C_PARTS}`,
    ], { cwd: out });
    let total = 0;
    for (const f of moduleCs) total += size(f);
    return total;
  }, (n) => `${n} bytes of C in ${C_PARTS} files`);

  const arenaPtrField = await stage("probe", async () => {
    for (const f of moduleCs) {
      const text = await Deno.readTextFile(f);
      if (text.includes("wasm_rt_grow_memory(&instance->")) return findArenaPointer(text);
    }
    throw new StageError("probe", "no memory.grow in the translated module (is it a Porffor module?)");
  }, (f) => f);

  // SIMDe is included as <simde/...>; a directory holding only that link keeps glibc's headers out.
  const inc = join(out, "include");
  await Deno.mkdir(inc, { recursive: true });
  await Deno.remove(join(inc, "simde")).catch(() => {});
  await Deno.symlink(SIMDE, join(inc, "simde"));
  const gccInclude = new TextDecoder().decode(
    (await runTool("compile", TOOLS.cc, ["-print-file-name=include"])).stdout,
  )
    .trim();
  const cflags = [
    "-march=armv8-a",
    "-O2", // the platform layer; the translated module overrides with MODULE_OPT
    "-ffreestanding",
    "-nostdinc",
    "-isystem",
    join(PICOLIBC, "include"),
    "-isystem",
    gccInclude,
    "-isystem",
    inc,
    "-isystem",
    join(NATIVE_DIR, "include"),
    `-I${join(NATIVE_DIR, "wasm-rt")}`,
    `-I${NATIVE_DIR}`,
    `-I${out}`,
    "-fno-pic",
    "-fno-pie",
    "-fno-stack-protector",
    "-ffunction-sections",
    "-fdata-sections",
    // No C++ exceptions or unwinding anywhere (a trap ends the guest): .eh_frame is ~65 KB of dead weight.
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    `-ffile-prefix-map=${out}=guest`,
    `-ffile-prefix-map=${REPO_ROOT}=cohesix`,
    "-DWASM_RT_USE_MMAP=0",
    "-DWASM_RT_MEMCHECK_BOUNDS_CHECK=1",
    `-DCOH_ARENA_BYTES=${arena}ull`,
    '-DCOH_MODULE_H="guest.h"',
    `-DCOH_ARENA_PTR_FIELD=${arenaPtrField}`,
  ];
  // Headers every object includes: part of each object's reuse key.
  let headerText = "";
  for (
    const h of [
      join(NATIVE_DIR, "platform.h"),
      join(NATIVE_DIR, "sel4_plat.h"),
      join(NATIVE_DIR, "include", "pthread.h"),
      join(NATIVE_DIR, "wasm-rt", "wasm-rt.h"),
      join(NATIVE_DIR, "net", "net_bridge.h"),
      join(NATIVE_DIR, "net", "net_plat.h"),
      join(NATIVE_DIR, "net", "virtio_net.h"),
      join(NATIVE_DIR, "net", "lwip-port", "lwipopts.h"),
      join(NATIVE_DIR, "net", "lwip-port", "arch", "cc.h"),
      join(out, "guest.h"),
      join(out, "guest-impl.h"),
    ]
  ) {
    headerText += await Deno.readTextFile(h).catch(() => "");
  }
  const compileOne = async (src: string, obj: string, extra: string[] = []) => {
    // Incremental: an object is reused when its source text and flags hash to the stamp beside it.
    const args = [...cflags, ...extra, "-c", src, "-o", obj];
    const stamp = `${obj}.stamp`;
    const key = await sha256Hex(`${args.join("\0")}\0${headerText}\0${await Deno.readTextFile(src)}`);
    const old = await Deno.readTextFile(stamp).catch(() => "");
    const have = await Deno.stat(obj).then(() => true, () => false);
    if (old === key && have) return obj;
    await Deno.remove(stamp).catch(() => {});
    await runTool("compile", TOOLS.cc, args, { cwd: out });
    await Deno.writeTextFile(stamp, key);
    return obj;
  };
  const strict = ["-Wall", "-Wextra", "-Werror"];
  const sodium = await stage(
    "libsodium",
    () => prepareLibsodium(join(out, "libsodium")),
    (t) => `${t.sources.length} files of ${LIBSODIUM.orig.file}, sha256 checked, Debian patches applied`,
  );
  const common = await stage("compile", async () => {
    const jobs: (() => Promise<string>)[] = [
      ...moduleCs.map((c, i) => () => compileOne(c, join(out, `guest_${i}.o`), [MODULE_OPT])),
      () => compileOne(join(NATIVE_DIR, "runtime.c"), join(out, "runtime.o"), strict),
      () => compileOne(join(NATIVE_DIR, "guest_main.c"), join(out, "guest_main.o"), strict),
      () => compileOne(join(NATIVE_DIR, "libc_glue.c"), join(out, "libc_glue.o"), strict),
      () =>
        compileOne(join(NATIVE_DIR, "ticket_seal.c"), join(out, "ticket_seal.o"), [
          ...strict,
          ...sodium.includes,
        ]),
      () =>
        compileOne(join(NATIVE_DIR, "update_seal.c"), join(out, "update_seal.o"), [
          ...strict,
          ...sodium.includes,
        ]),
      // Third-party C: its own warnings are not ours to fix (-w); -O2 like the platform layer.
      ...sodium.sources.map((c) => () =>
        compileOne(c, join(out, `sodium_${basename(c, ".c")}.o`), [
          ...LIBSODIUM_DEFINES,
          ...sodium.includes,
          "-w",
        ])
      ),
    ];
    let finished = 0;
    const counted = jobs.map((job) => async () => {
      const obj = await job();
      finished++;
      opts.onProgress?.({
        stage: "compile",
        state: "progress",
        detail: `${obj.slice(out.length + 1)} (${finished}/${jobs.length})`,
      });
      return obj;
    });
    return await runLimited(counted, navigator.hardwareConcurrency || 2);
  }, (o) => `${o.length} objects`);

  const libs = [join(PICOLIBC, "lib", "libc.a"), "-lgcc"];
  const ldflags = ["-nostdlib", "-static", "-no-pie", "-Wl,--gc-sections", "-Wl,--build-id=none"];
  const result: GuestBuildResult = { js, wasm, sizes, stageMs, arenaPtrField };

  if (platforms.includes("linux")) {
    const elf = join(out, "guest-linux.elf");
    await stage("link-linux", async () => {
      const plat = await compileOne(join(NATIVE_DIR, "plat_linux.c"), join(out, "plat_linux.o"), [
        "-Wall",
        "-Wextra",
        "-Werror",
      ]);
      await runTool("link-linux", TOOLS.cc, [...ldflags, "-o", elf, ...common, plat, ...libs], { cwd: out });
      return size(elf);
    }, (n) => `${n} bytes`);
    result.linuxElf = elf;
  }
  if (platforms.includes("sel4")) {
    const elf = join(out, "rootserver.elf");
    const sel4Inc = sdkInclude(opts.sel4Sdk ?? DEFAULT_SEL4_SDK);
    const netDir = join(NATIVE_DIR, "net");
    const net = await stage("net", async () => {
      // lwIP (checked and unpacked from the Debian source package) and our driver and bridge, at -Os:
      // they travel in the size-budgeted image.
      const lwip = await unpackLwip(out);
      const inc = [`-I${join(netDir, "lwip-port")}`, `-I${netDir}`, `-I${join(lwip, "src", "include")}`];
      const f = ["-Os", "-mgeneral-regs-only", `-I${sel4Inc}`, ...inc];
      const jobs: (() => Promise<string>)[] = [
        ...LWIP_SOURCES.map((src) => () =>
          compileOne(join(lwip, src), join(out, `lwip_${src.split("/").pop()!.replace(/\.c$/, ".o")}`), f)
        ),
        ...["virtio_net.c", "net_bridge.c", "sel4_net.c"].map((src) => () =>
          compileOne(join(netDir, src), join(out, `net_${src.replace(/\.c$/, ".o")}`), [...strict, ...f])
        ),
      ];
      return await runLimited(jobs, navigator.hardwareConcurrency || 2);
    }, (o) => `${o.length} objects (lwIP ${LWIP_SOURCES.length})`);
    await stage("link-sel4", async () => {
      const f = ["-Wall", "-Wextra", "-Werror", "-mgeneral-regs-only", `-I${sel4Inc}`];
      const plat: string[] = [];
      for (const name of SEL4_PLATFORM) {
        plat.push(await compileOne(join(NATIVE_DIR, `${name}.c`), join(out, `${name}.o`), f));
      }
      const start = await compileOne(join(NATIVE_DIR, "start_sel4.S"), join(out, "start_sel4.o"));
      // Worker 1's program (copied into the worker's own VSpace at boot).
      plat.push(await compileOne(join(NATIVE_DIR, "sel4_worker_code.S"), join(out, "sel4_worker_code.o")));
      // The rootserver travels in the size-budgeted image: no symbol table (guest-linux.elf keeps its symbols).
      await runTool("link-sel4", TOOLS.cc, [
        ...ldflags,
        "-s",
        "-Wl,-e,_sel4_start",
        "-o",
        elf,
        start,
        ...common,
        ...plat,
        ...net,
        ...libs,
      ], {
        cwd: out,
      });
      return size(elf);
    }, (n) => `${n} bytes`);
    result.elf = elf;
  }
  return result;
}
