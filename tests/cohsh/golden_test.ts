/**
 * Transport parity: the demo and the three self-test scripts produce the checked-in golden
 * transcript byte for byte over the tcp console, 9P and serial. The hive boots from
 * defaultBootConfig() (not the manifest) so a manifest edit does not move the goldens.
 * Regenerate after an intended change: COHESIX_UPDATE_GOLDEN=1 deno test -A tests/cohsh/golden_test.ts
 */
import { assertEquals } from "../support/assert.ts";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { runEmbedded } from "../../src/host/demo/embedded.ts";
import type { TransportKind } from "../../src/host/cohsh/connect.ts";

const ROOT = new URL("../../", import.meta.url);
const SCRIPTS = ["demo", "selftest_negative", "selftest_quick", "selftest_full"];
const TRANSPORTS: TransportKind[] = ["tcp", "9p", "serial"];
const UPDATE = Deno.env.get("COHESIX_UPDATE_GOLDEN") === "1";

async function transcript(script: string, transport: TransportKind): Promise<string> {
  const name = `demo/${script}.coh`;
  const text = await Deno.readTextFile(new URL(name, ROOT));
  const lines: string[] = [];
  const errors: string[] = [];
  const code = await runEmbedded(text, name, transport, (l) => lines.push(l), (l) => errors.push(l), defaultBootConfig());
  assertEquals([code, errors], [0, []], `${name} over ${transport}`);
  return lines.join("\n") + "\n";
}

for (const script of SCRIPTS) {
  Deno.test(`runEmbedded ${script}.coh matches its golden transcript over tcp, 9p and serial`, async () => {
    const golden = new URL(`golden/${script}.txt`, import.meta.url);
    if (UPDATE) await Deno.writeTextFile(golden, await transcript(script, "tcp"));
    const want = await Deno.readTextFile(golden);
    for (const t of TRANSPORTS) assertEquals(await transcript(script, t), want, `${script} over ${t}`);
  });
}
