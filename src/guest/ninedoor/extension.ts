/**
 * A NineDoor extension: providers that are linked only when a build asks for them. The native guest
 * is compiled from one manifest and must fit the 4 MiB image, so services its manifest leaves off
 * (the `[ecosystem]` policy, audit and replay files) are not linked there: NineDoor names their
 * classes by type only and the generated bootstrap imports the extension when the manifest enables it.
 * The hosted runtime links every extension and lets the manifest switch each one on or off.
 */
import type { BootConfig } from "../boot.ts";
import type { NineDoor } from "./ninedoor.ts";
import type { ByteWriter } from "../lib/bytes.ts";

export interface NamespaceExtension {
  /** Node-table slots its providers may use under `boot` (added to the table's size). */
  extNodeCount(boot: BootConfig): number;
  /** Creates its state and registers its providers; NineDoor calls it once, after its own providers. */
  extInstall(nd: NineDoor): void;
}

/**
 * The two writes of the core GPU files that the GPU bridge extension serves (`[gpu.bridge]`):
 * `LEASE ...` / `CANCEL ...` on `/gpu/<id>/ctl` and a `gpu-breadcrumb/v1` line on `/gpu/<id>/status`.
 * Each returns 0 / the bytes taken, or -errno. Null in NineDoor when the extension is off.
 */
export interface GpuHooks {
  ghLease(g: number, src: Uint8Array, off: number, len: number): number;
  ghBreadcrumb(g: number, src: Uint8Array, off: number, count: number): number;
  /** Renders the bridge's info for configured GPU `g` into `w`; false when the bridge has none. */
  ghInfo(g: number, w: ByteWriter): boolean;
}

/**
 * Tmkdir and rmdir (Tremove, Tunlinkat) in the one directory whose provider makes directories
 * (`/updates`: `mkdir <epoch>` opens an update, removing it drops the update). NineDoor checks the
 * session, the role (a write on the directory) and that the directory is `mhDir` (for a remove: the
 * removed directory's parent) before it calls in. Null in NineDoor when nothing takes them (EROFS).
 */
export interface MkdirHook {
  /** Node slot of the directory that takes mkdir. */
  mhDir: number;
  /** Makes directory buf[off..off+len) for session slot `s`: its node slot, or -errno. */
  mhMkdir(s: number, buf: Uint8Array, off: number, len: number): number;
  /** Removes directory node `slot` (a child of `mhDir`) for session slot `s`: 0 or -errno. */
  mhRemove(s: number, slot: number): number;
}
