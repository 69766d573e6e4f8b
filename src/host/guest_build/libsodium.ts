/**
 * Stage "libsodium": the Ed25519 verifier of the native guest comes from Debian's libsodium source
 * package (../shared/third-party), never from code in this repository. The orig tarball and the
 * Debian patch tarball are checked against the sha256 below, only the portable C that
 * `crypto_sign_ed25519_verify_detached` and `crypto_hash_sha256` need is extracted, Debian's patch
 * series is applied (1.0.18-1+deb12u1 carries the CVE-2025-69277 point-validation fix), and the
 * build compiles the files freestanding like the rest of the platform layer.
 */
import { join, resolve } from "node:path";
import { REPO_ROOT, runTool, StageError } from "./tools.ts";

export const THIRD_PARTY = resolve(REPO_ROOT, "..", "shared", "third-party");
export const LIBSODIUM = {
  version: "1.0.18-1+deb12u1",
  orig: {
    file: "libsodium_1.0.18.orig.tar.gz",
    sha256: "d59323c6b712a1519a5daf710b68f5e7fde57040845ffec53850911f10a5d4f4",
  },
  debian: {
    file: "libsodium_1.0.18-1+deb12u1.debian.tar.xz",
    sha256: "f410474e46346b06b162defa05b1be26906aeed6cf309e3d4ebe30b4d1350733",
  },
} as const;

const TOP = "libsodium-1.0.18";
const SRC = "src/libsodium";
/** The C files the verifier links (their unused functions are dropped by --gc-sections). */
export const LIBSODIUM_SOURCES = [
  "crypto_sign/ed25519/ref10/open.c", // crypto_sign_ed25519_verify_detached
  "crypto_sign/ed25519/ref10/sign.c", // the SHA-512 prefix helper open.c uses
  "crypto_core/ed25519/ref10/ed25519_ref10.c", // field and group arithmetic
  "crypto_hash/sha512/cp/hash_sha512_cp.c",
  "crypto_hash/sha256/cp/hash_sha256_cp.c", // the claims digest
  "crypto_verify/sodium/verify.c",
  "sodium/utils.c", // sodium_memcmp, sodium_memzero
];
/** What else the sources include, plus the file Debian's patch also touches (a test, not built). */
const EXTRA_MEMBERS = [
  `${SRC}/include`,
  `${SRC}/crypto_core/ed25519/ref10/fe_51`,
  `${SRC}/crypto_sign/ed25519/ref10/sign_ed25519_ref10.h`,
  "test/default/core_ed25519.c",
];
/** libsodium's configure results for this target: little-endian, 128-bit multiply (the 51-bit field code). */
export const LIBSODIUM_DEFINES = ["-DCONFIGURED=1", "-DNATIVE_LITTLE_ENDIAN=1", "-DHAVE_TI_MODE=1"];

export interface LibsodiumTree {
  /** Absolute paths of the C files to compile. */
  sources: string[];
  /** -I flags. */
  includes: string[];
}

async function sha256File(path: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Checks, extracts and patches the sources into `dir` (replaced); throws StageError("libsodium"). */
export async function prepareLibsodium(dir: string, thirdParty = THIRD_PARTY): Promise<LibsodiumTree> {
  for (const t of [LIBSODIUM.orig, LIBSODIUM.debian]) {
    const path = join(thirdParty, t.file);
    const got = await sha256File(path).catch(() => "");
    if (got === "") {
      throw new StageError(
        "libsodium",
        `${path} is missing (the Debian source package, see ${thirdParty}/README.md)`,
      );
    }
    if (got !== t.sha256) {
      throw new StageError("libsodium", `${path} has sha256 ${got}, expected ${t.sha256}`);
    }
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const members = [...LIBSODIUM_SOURCES.map((f) => `${SRC}/${f}`), ...EXTRA_MEMBERS].map((m) =>
    `${TOP}/${m}`
  );
  await runTool("libsodium", "tar", ["-xzf", join(thirdParty, LIBSODIUM.orig.file), "-C", dir, ...members]);
  await runTool("libsodium", "tar", [
    "-xJf",
    join(thirdParty, LIBSODIUM.debian.file),
    "-C",
    dir,
    "debian/patches",
  ]);
  const tree = join(dir, TOP);
  const series = (await Deno.readTextFile(join(dir, "debian", "patches", "series"))).split("\n")
    .map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  for (const p of series) {
    await runTool("libsodium", "patch", [
      "-p1",
      "--quiet",
      "-d",
      tree,
      "-i",
      join(dir, "debian", "patches", p),
    ]);
  }
  const src = join(tree, SRC);
  return {
    sources: LIBSODIUM_SOURCES.map((f) => join(src, f)),
    includes: [`-I${join(src, "include", "sodium")}`, `-I${join(src, "crypto_sign", "ed25519", "ref10")}`],
  };
}
