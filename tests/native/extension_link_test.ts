/**
 * The native guest links the [ecosystem] providers (policy, audit, replay) only when its manifest
 * enables one: the default manifest's boot bundle carries none of their code (it has to fit the
 * 4 MiB image), a manifest that enables them gets them, and the hosted hive serves them either way.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { bootConfigFromManifest, bootConfigValue, compileManifestText } from "../../src/codegen/mod.ts";
import { bootEntrySource, bundleEntry, manifestEntrySource } from "../../src/host/guest_build/bundle.ts";
import { NAMESPACE_EXTENSION } from "../../src/guest/generated/bootstrap.ts";
import { Hive } from "../../src/guest/hive.ts";
import { EcosystemProviders } from "../../src/guest/ninedoor/ecosystem.ts";

// Field names of PolicyGate, AuditJournal, PolicyFiles and AuditFiles (the bundler may rename classes).
const ECOSYSTEM_CLASSES = ["pgRuleHits", "ajJournalSeq", "plActionsDir", "rsTargetLen"];
const FULL = new URL("../../configs/full.toml", import.meta.url).pathname;
// Field names of UpdateFiles / UpdateStore and of the native update check (libsodium behind a mailbox).
const UPDATE_CLASSES = ["ufChunksNode", "ustSlotHash"];
const NATIVE_UPDATE_CHECK = "pusMailbox";

Deno.test("the default manifest's native boot bundle links no [ecosystem] provider code", async () => {
  assertEquals(NAMESPACE_EXTENSION, null, "configs/root_task.toml leaves [ecosystem] off");
  const js = await bundleEntry(bootEntrySource());
  for (const c of [...ECOSYSTEM_CLASSES, ...UPDATE_CLASSES, NATIVE_UPDATE_CHECK]) {
    assert(!js.includes(c), `${c} is linked into the default guest`);
  }
});

Deno.test("a manifest that enables policy and audit links the [ecosystem] providers into its native entry", async () => {
  const boot = await bootConfigFromManifest(FULL);
  assert(boot.ecosystem.policy.enable && boot.ecosystem.audit.enable);
  const js = await bundleEntry(manifestEntrySource(boot));
  for (const c of ECOSYSTEM_CLASSES) assert(js.includes(c), `${c} is missing from the full manifest's guest`);
});

Deno.test("a manifest that enables [cas] links /updates with the platform's update check (not the refuse-all one)", async () => {
  const boot = await bootConfigFromManifest(FULL);
  assert(boot.cas.enable);
  const js = await bundleEntry(manifestEntrySource(boot));
  for (const c of [...UPDATE_CLASSES, NATIVE_UPDATE_CHECK]) assert(js.includes(c), `${c} is missing from the full manifest's guest`);
  assert(js.includes("new PlatformUpdateSignatureCheck(BOOT.updateKeys, BOOT.cas.maxChunks)"));
  const noCas = { ...boot, cas: { ...boot.cas, enable: false } };
  assert(!(await bundleEntry(manifestEntrySource(noCas))).includes(NATIVE_UPDATE_CHECK), "no update check without [cas]");
});

Deno.test("a manifest with [cas] and nothing else of the extension links /updates alone (CasProviders), no [ecosystem] code", async () => {
  const text = Deno.readTextFileSync(new URL("../../configs/root_task.toml", import.meta.url)).replace(
    "[cas]\nenable = false\n",
    `[cas]\nenable = true\nupdate_keys = [{ issuer = "u", public_key = "${"6d6cd7d0f908b9a031c480aec196542419cd07668ea7b40b4390a061908a490e"}" }]\n`,
  );
  const boot = bootConfigValue(compileManifestText(text, "cas-only.toml"));
  assert(boot.cas.enable && !boot.ecosystem.policy.enable);
  const src = manifestEntrySource(boot);
  assert(src.includes("new CasProviders(new PlatformUpdateSignatureCheck(BOOT.updateKeys, BOOT.cas.maxChunks))"), src);
  const js = await bundleEntry(src);
  for (const c of [...UPDATE_CLASSES, NATIVE_UPDATE_CHECK]) assert(js.includes(c), `${c} is missing from the [cas] guest`);
  for (const c of ECOSYSTEM_CLASSES) assert(!js.includes(c), `${c} is linked into a [cas]-only guest`);
});

Deno.test("a hive without the extension serves no /policy or /audit even when the manifest enables them; with it, it does", async () => {
  const boot = await bootConfigFromManifest(FULL);
  const bare = new Hive(boot, { extension: null }).nineDoor!;
  const linked = new Hive(boot, { extension: new EcosystemProviders() }).nineDoor!;
  assertEquals([bare.policyGate, bare.auditLog], [null, null]);
  assert(linked.policyGate !== null && linked.policyGate.pgOn);
  assert(linked.auditLog !== null && linked.auditLog.ajOn);
  for (const d of ["policy", "actions", "audit", "replay"]) {
    assert(linked.tree.childNamed(0, d) >= 0, `/${d} is served with the extension`);
    assertEquals(bare.tree.childNamed(0, d), -1, `/${d} is served without the extension`);
  }
});
