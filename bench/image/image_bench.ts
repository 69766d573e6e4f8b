/**
 * Benchmark: `cohesix image --uefi` against the same job done with GNU cpio + mkfs.vfat + mtools
 * (bench/image/peer.sh, same cross tools for the link), both measured here in the same run, alternating.
 * A second pair isolates the writers: our CPIO + FAT writers in-process against cpio + mkfs.vfat +
 * mmd + mcopy on the same files. Prints medians and ratios (peer / ours: above 1 means we are faster).
 *
 * Usage: deno run -A bench/image/image_bench.ts [--runs N] [--sel4-build DIR]
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { fileRecord, writeCpio } from "../../images/cpio.ts";
import { writeFat } from "../../images/fat.ts";
import { buildImage } from "../../src/host/image/build.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "7" }, "sel4-build": { type: "string" } },
});
const runs = Number(values.runs);
const repo = fileURLToPath(new URL("../../", import.meta.url));
const sel4 = values["sel4-build"] ?? fileURLToPath(new URL("../../../shared/sel4/prebuilt", import.meta.url));
const work = await Deno.makeTempDir({ prefix: "cohesix-bench-" });

async function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; stdin?: Uint8Array } = {},
): Promise<void> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    stdin: opts.stdin ? "piped" : "null",
    stdout: "null",
    stderr: "piped",
    env: { MTOOLS_SKIP_CHECK: "1" },
  }).spawn();
  if (opts.stdin) {
    const w = child.stdin.getWriter();
    await w.write(opts.stdin);
    await w.close();
  }
  const out = await child.output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

async function time(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  console.error(`bench/image: building the hello root task (${runs} runs per side)`);
  await sh("bash", [join(sel4, "../examples/hello-roottask/build.sh"), join(work, "rt"), "--sdk", sel4]);
  const rt = join(work, "rt/hello-roottask.elf");

  // 1. Whole job, end to end (process start included on both sides).
  const ours: number[] = [];
  const inproc: number[] = [];
  const peer: number[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(
      await time(() =>
        sh(join(repo, "cohesix"), [
          "image",
          "--sel4-build",
          sel4,
          "--rootserver",
          rt,
          "--uefi",
          "--out",
          join(work, "ours"),
        ])
      ),
    );
    inproc.push(
      await time(async () => {
        await buildImage({ sel4Build: sel4, rootserver: rt, uefi: true, out: join(work, "inproc") });
      }),
    );
    peer.push(
      await time(() => sh("bash", [join(repo, "bench/image/peer.sh"), sel4, rt, join(work, "peer")])),
    );
    console.error(
      `  run ${i + 1}/${runs}: cohesix image ${ours[i].toFixed(0)} ms, buildImage ${
        inproc[i].toFixed(0)
      } ms, peer ${peer[i].toFixed(0)} ms`,
    );
  }

  // 2. Writers only: same payload members and ESP files.
  const members = ["kernel.elf", "kernel.dtb", "rootserver"];
  const src = join(work, "members");
  await Deno.mkdir(src);
  await sh("aarch64-linux-gnu-strip", [join(sel4, "kernel/kernel.elf"), "-o", join(src, "kernel.elf")]);
  await Deno.copyFile(join(sel4, "kernel/kernel.dtb"), join(src, "kernel.dtb"));
  await sh("aarch64-linux-gnu-strip", [rt, "-o", join(src, "rootserver")]);
  const perms = [0o755, 0o644, 0o755]; // as seL4's recipe: kernel.elf, kernel.dtb, rootserver
  for (const [k, m] of members.entries()) await Deno.chmod(join(src, m), perms[k]);
  await sh("touch", ["-d", "1970-01-01T00:00:00Z", ...members.map((m) => join(src, m))]);
  const efi = await Deno.readFile(join(work, "ours/BOOTAA64.EFI"));
  const att = await Deno.readFile(join(work, "ours/attestation.json"));
  const oursW: number[] = [];
  const peerW: number[] = [];
  for (let i = 0; i < runs; i++) {
    oursW.push(
      await time(async () => {
        const data = await Promise.all(members.map((m) => Deno.readFile(join(src, m))));
        await Deno.writeFile(
          join(work, "w.cpio"),
          writeCpio(members.map((m, k) => fileRecord(m, data[k], perms[k])), { inodes: "zero" }),
        );
        await Deno.writeFile(
          join(work, "w.img"),
          writeFat([{ path: "EFI/BOOT/BOOTAA64.EFI", data: efi }, {
            path: "cohesix/attestation.json",
            data: att,
          }]),
        );
      }),
    );
    peerW.push(
      await time(async () => {
        const cpio = join(work, "p.cpio");
        await sh("cpio", ["--reproducible", "--quiet", "--create", "-H", "newc", `--file=${cpio}`], {
          cwd: src,
          stdin: new Uint8Array(0),
        });
        for (const m of members) {
          await sh("cpio", [
            "--append",
            "--reproducible",
            "--owner=+0:+0",
            "--quiet",
            "-o",
            "-H",
            "newc",
            `--file=${cpio}`,
          ], { cwd: src, stdin: new TextEncoder().encode(m + "\n") });
        }
        const img = join(work, "p.img");
        await Deno.remove(img).catch(() => {});
        await sh("/usr/sbin/mkfs.vfat", ["-C", "-i", "5e140000", "-n", "COHESIX", img, "4096"]);
        await sh("mmd", ["-i", img, "::/EFI", "::/EFI/BOOT", "::/cohesix"]);
        await sh("mcopy", ["-i", img, join(work, "ours/BOOTAA64.EFI"), "::/EFI/BOOT/BOOTAA64.EFI"]);
        await sh("mcopy", ["-i", img, join(work, "ours/attestation.json"), "::/cohesix/attestation.json"]);
      }),
    );
  }
  const payloadSame =
    (await Deno.readFile(join(work, "w.cpio"))).join() === (await Deno.readFile(join(work, "p.cpio"))).join();
  if (!payloadSame) {
    throw new Error("bench/image: our payload CPIO differs from GNU cpio's; the comparison would be unfair");
  }
  const min = (xs: number[]) => Math.min(...xs);
  const line = (what: string, ours: number[], peerWhat: string, peerRuns: number[]) => {
    const [m, pm] = [median(ours), median(peerRuns)];
    console.log(
      `${what.padEnd(44)} median ${m.toFixed(1).padStart(7)} ms (min ${min(ours).toFixed(1)}) | ` +
        `${peerWhat.padEnd(42)} median ${pm.toFixed(1).padStart(7)} ms (min ${min(peerRuns).toFixed(1)}) | ` +
        `peer/ours ${(pm / m).toFixed(2)} (min ${(min(peerRuns) / min(ours)).toFixed(2)})`,
    );
  };
  console.log(
    `bench/image: ${runs} runs per side, alternating; machine load ${Deno.loadavg()[0].toFixed(1)}`,
  );
  line(
    "cohesix image --uefi (CLI, incl. Deno start)",
    ours,
    "peer.sh (cpio+mkfs.vfat+mtools, same link)",
    peer,
  );
  line("buildImage({uefi}) in-process", inproc, "peer.sh (cpio+mkfs.vfat+mtools, same link)", peer);
  line("writeCpio + writeFat (in-process)", oursW, "cpio x4 + mkfs.vfat + mmd + mcopy x2", peerW);
} finally {
  await Deno.remove(work, { recursive: true });
}
