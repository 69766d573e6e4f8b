/**
 * `cohesix diff`: what differs between two images or manifests, as three ordered lists: manifest
 * keys, attested components (sha256 and size), and attestation facts (versions, fingerprint,
 * budget). No inference: a key or a hash is the same or it is not.
 */
import type { Attestation } from "../../../images/attest.ts";
import { flatten, manifestKeys, type Snapshot } from "../inspect/artifact.ts";

export interface Change {
  key: string;
  /** The value in A, or null when A does not have it. */
  a: string | null;
  b: string | null;
}

export interface DiffReport {
  a: string;
  b: string;
  same: boolean;
  manifest: Change[];
  components: Change[];
  attestation: Change[];
  /** Support bundles: the hives' /proc/boot facts (version, manifest fingerprint, limits, roles, GPUs). */
  hive: Change[];
  /** Sections one side could not be compared on (e.g. a manifest against an ESP without one). */
  notes: string[];
}

function compareMaps(a: Map<string, string>, b: Map<string, string>): Change[] {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.filter((k) => a.get(k) !== b.get(k)).map((k) => ({
    key: k,
    a: a.get(k) ?? null,
    b: b.get(k) ?? null,
  }));
}

function componentMap(att: Attestation): Map<string, string> {
  return new Map(att.components.map((c) => [c.name, `sha256 ${c.sha256} size ${c.size}`]));
}

/** Attestation facts other than the component list. */
function factMap(att: Attestation): Map<string, string> {
  const { components: _ignored, ...facts } = att;
  return flatten(facts, "");
}

export function compareSnapshots(a: Snapshot, b: Snapshot): DiffReport {
  const notes: string[] = [];
  let manifest: Change[] = [];
  let components: Change[] = [];
  let attestation: Change[] = [];
  let hive: Change[] = [];
  if (a.manifest && b.manifest) manifest = compareMaps(manifestKeys(a.manifest), manifestKeys(b.manifest));
  else if (a.manifest || b.manifest) notes.push(`manifest: only ${a.manifest ? a.path : b.path} carries one`);
  if (a.attestation && b.attestation) {
    components = compareMaps(componentMap(a.attestation), componentMap(b.attestation));
    attestation = compareMaps(factMap(a.attestation), factMap(b.attestation));
  } else if (a.attestation || b.attestation) {
    notes.push(`attestation: only ${a.attestation ? a.path : b.path} carries one`);
  }
  if (a.hive && b.hive) hive = compareMaps(a.hive, b.hive);
  else if (a.hive || b.hive) notes.push(`hive: only ${a.hive ? a.path : b.path} is a bundle of a live hive`);
  const same = manifest.length + components.length + attestation.length + hive.length === 0 &&
    notes.length === 0;
  return { a: a.path, b: b.path, same, manifest, components, attestation, hive, notes };
}

const show = (v: string | null) => v ?? "(absent)";

export function formatDiff(r: DiffReport): string {
  const lines = [`--- ${r.a}`, `+++ ${r.b}`];
  for (const c of r.manifest) lines.push(`manifest     ${c.key}: ${show(c.a)} -> ${show(c.b)}`);
  for (const c of r.components) {
    const [ha, hb] = [c.a?.split(" ")[1], c.b?.split(" ")[1]];
    const [sa, sb] = [c.a?.split(" ")[3], c.b?.split(" ")[3]];
    lines.push(
      `component    ${c.key}: ${c.a === null ? "(absent)" : `${ha!.slice(0, 16)}… ${sa} bytes`} -> ${
        c.b === null ? "(absent)" : `${hb!.slice(0, 16)}… ${sb} bytes`
      }`,
    );
  }
  for (const c of r.attestation) lines.push(`attestation  ${c.key}: ${show(c.a)} -> ${show(c.b)}`);
  for (const c of r.hive) lines.push(`hive         ${c.key}: ${show(c.a)} -> ${show(c.b)}`);
  for (const n of r.notes) lines.push(`note         ${n}`);
  lines.push(
    r.same
      ? "same: no manifest key, component, attestation or hive fact differs"
      : `differ: ${r.manifest.length} manifest keys, ${r.components.length} components, ${r.attestation.length} attestation facts${
        r.hive.length > 0 ? `, ${r.hive.length} hive facts` : ""
      }`,
  );
  return lines.join("\n");
}
