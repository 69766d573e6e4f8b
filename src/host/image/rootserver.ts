/**
 * Stage 1 of `cohesix image`: where the root task comes from. `--rootserver` takes any static
 * AArch64 ELF. Without it, `defaultRootserver` (the single hook) runs the native guest build
 * (`buildGuest` from src/host/guest_build, the same pipeline as `cohesix guest build`).
 */
import { join } from "node:path";
import { checkAarch64Exec } from "../../../images/elf.ts";

export class RootserverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RootserverError";
  }
}

export interface RootserverRequest {
  /** --rootserver, when given. */
  explicit?: string;
  /** Scratch directory the default builder may write into (deleted after the build). */
  work: string;
  /** The guest root filesystem (newc); images/embed.ts makes it an object a root-task link can take. */
  rootfs: Uint8Array;
  /** The seL4 export the guest compiles against (libsel4 headers). */
  sel4Dir: string;
  /** Use the guest build cache (out/guest-cache or $COHESIX_GUEST_CACHE); false builds afresh in `work`. */
  cache: boolean;
  /** Progress lines for long-running builders. */
  progress?: (line: string) => void;
}

export interface Rootserver {
  path: string;
  bytes: Uint8Array;
  /** Where it came from, for the progress line and the attestation. */
  origin: string;
}

/** Resolves and checks the root task ELF; throws RootserverError or ElfError with a next step. */
export async function resolveRootserver(req: RootserverRequest): Promise<Rootserver> {
  const path = req.explicit ?? (await defaultRootserver(req));
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.IsADirectory) {
      throw new RootserverError(`Cannot read root task ${path}: no such file (check --rootserver)`);
    }
    throw err;
  }
  checkAarch64Exec(bytes, path);
  return { path, bytes, origin: req.explicit ? "--rootserver" : "native guest build" };
}

/**
 * The native guest root task: the boot entry (banner with the manifest fingerprint, then the
 * hive's serial console on the PL011), taken from the guest build cache (src/host/guest_build/cache.ts:
 * out/guest-cache or $COHESIX_GUEST_CACHE, keyed by a hash of every input, so a hit is the same bytes
 * a fresh build gives), or with `cache: false` built afresh in `req.work`.
 * It does not link `req.rootfs` yet: the guest build takes no extra objects.
 */
export async function defaultRootserver(req: RootserverRequest): Promise<string> {
  // The guest toolchain loads only on this path, so `--rootserver` builds never pay for it.
  const { buildGuest } = await import("../guest_build/build.ts");
  const { cachedBuildGuest, guestCacheDir } = await import("../guest_build/cache.ts");
  const { bootEntrySource } = await import("../guest_build/bundle.ts");
  const { StageError } = await import("../guest_build/tools.ts");
  const cache = req.cache ? guestCacheDir() : undefined;
  req.progress?.(
    cache
      ? `      rootserver: no --rootserver, the native guest from the build cache ${cache} (built on a miss)`
      : "      rootserver: no --rootserver, building the native guest afresh (--no-cache; about a minute)",
  );
  const onProgress = (e: { stage: string; state: string; ms?: number; detail?: string }) => {
    if (e.state === "done") {
      req.progress?.(`      guest ${e.stage} ${e.ms} ms${e.detail ? ` (${e.detail})` : ""}`);
    }
  };
  try {
    if (cache) {
      const cached = await cachedBuildGuest({
        entrySource: bootEntrySource(),
        sel4Sdk: req.sel4Dir,
        root: cache,
        onProgress,
      });
      req.progress?.(`      rootserver: build cache ${cached.hit ? "hit" : "miss, built"} ${cached.dir}`);
      return cached.elf;
    }
    const result = await buildGuest({
      outDir: join(req.work, "guest"),
      entrySource: bootEntrySource(),
      platforms: ["sel4"],
      sel4Sdk: req.sel4Dir,
      onProgress,
    });
    if (!result.elf) {
      throw new RootserverError("Cannot build the native guest: the guest build produced no seL4 root task");
    }
    return result.elf;
  } catch (err) {
    if (err instanceof StageError) {
      throw new RootserverError(
        `Cannot build the native guest (${err.message}); fix the guest build ('cohesix guest build') or pass --rootserver ELF`,
      );
    }
    throw err;
  }
}
