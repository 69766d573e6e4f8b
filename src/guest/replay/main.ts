/**
 * The replay entry: `replayMain(corpusHex)` runs one embedded corpus against the guest it names
 * and prints the transcript between "=== replay begin" and "=== replay end". The host bundles
 * it with the corpus as a literal (`src/host/guest_build/bundle.ts`); the same bundle runs under
 * Deno, under Porffor's engine, and natively (Linux user mode and seL4).
 */
import { LibProbe } from "./lib_probe.ts";
import { TARGET } from "./ops.ts";
import { Replayer } from "./replayer.ts";

export function replayMain(corpusHex: string): number {
  console.log("=== replay begin");
  const r = new Replayer(corpusHex);
  const kind = r.readTarget();
  let rc = 1;
  if (kind === TARGET.PROBE) rc = r.run(new LibProbe());
  else console.log("@unknown-target");
  console.log("=== replay end");
  return rc;
}
