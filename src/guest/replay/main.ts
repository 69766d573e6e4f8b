/**
 * The replay entry: `replayMain(corpusHex)` runs one embedded corpus against the guest it names
 * and prints the transcript between "=== replay begin" and "=== replay end". The host bundles
 * it with the corpus as a literal (`src/host/guest_build/bundle.ts`); the same bundle runs under
 * Deno, under Porffor's engine, and natively (Linux user mode and seL4).
 *
 * The replays' hive is booted from the generated manifest tables with no ticket verifier (the corpus
 * runs under Deno and porf too, where no platform checks seals). The serial console's hive
 * (`newHive`) verifies tickets through the platform (PlatformTicketVerifier: libsodium natively).
 */
import { BOOT_CONFIG, MANIFEST_FINGERPRINT, NAMESPACE_EXTENSION } from "../generated/bootstrap.ts";
import { Hive } from "../hive.ts";
import { LibProbe } from "./lib_probe.ts";
import { TARGET } from "./ops.ts";
import { Replayer } from "./replayer.ts";
import { PlatformTicketVerifier } from "../tickets/platform_verifier.ts";

/** The boot banner: the manifest fingerprint ties the transcript to the tables it ran on. */
export function printBanner(): void {
  console.log("cohesix: guest up, manifest", MANIFEST_FINGERPRINT);
}

/**
 * One guest of each kind for the whole run, created on first use: a hive's tables cost megabytes
 * of never-freed Wasm memory, so corpora replayed one after another share it (its state carries
 * over, deterministically, from one corpus to the next).
 */
class Guests {
  hive: Hive | null = null;
  probe: LibProbe | null = null;
}
const guests = new Guests();

/**
 * A hive of its own, booted from the generated manifest tables, that checks ticket seals through the
 * platform (the serial console of the boot entry, and after replays).
 */
export function newHive(): Hive {
  return new Hive(BOOT_CONFIG, {
    verifier: new PlatformTicketVerifier(BOOT_CONFIG.ticketKeys),
    extension: NAMESPACE_EXTENSION,
  });
}

/** The run's hive (created on first use), shared by the replays. */
export function sharedHive(): Hive {
  if (guests.hive === null) guests.hive = new Hive(BOOT_CONFIG, { verifier: null, extension: NAMESPACE_EXTENSION });
  return guests.hive;
}

export function replayMain(corpusHex: string): number {
  console.log("=== replay begin");
  const r = new Replayer(corpusHex);
  const kind = r.readTarget();
  let rc = 1;
  if (kind === TARGET.PROBE) {
    if (guests.probe === null) guests.probe = new LibProbe();
    rc = r.run(guests.probe);
  } else if (kind === TARGET.HIVE) {
    rc = r.run(sharedHive());
  } else console.log("@unknown-target");
  console.log("=== replay end");
  return rc;
}
