/**
 * Stage 1 of `cohesix image`: where the root task comes from. `--rootserver` takes any static
 * AArch64 ELF. Without it, `defaultRootserver` is the single hook for the native guest build
 * (`cohesix guest build`); until that builder is wired here it refuses with what to do instead.
 */
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
  /** The guest root filesystem (newc) that a native guest build embeds. */
  rootfs: Uint8Array;
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
 * The native guest root task. This is the one place to call the guest builder from
 * src/host/guest_build once it exports one: build into `req.work`, link the object from
 * `writeRootfsObject(req.rootfs, req.work)` (images/embed.ts) so the rootfs travels inside the
 * root task, and return the ELF path.
 */
export function defaultRootserver(_req: RootserverRequest): Promise<string> {
  return Promise.reject(
    new RootserverError(
      "Cannot pick a root task: the native guest build is not available to `cohesix image` yet; pass " +
        "--rootserver ELF (for example the seL4 example: ../shared/sel4/examples/hello-roottask/build.sh out/rt, " +
        "then --rootserver out/rt/hello-roottask.elf)",
    ),
  );
}
