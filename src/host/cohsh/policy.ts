/**
 * The client policy cohsh runs with: the one compiled from the default manifest, or a file coh-rtc
 * generated for another manifest (`--policy configs/generated/cohsh_policy.toml`). A file whose
 * `policy_sha256` does not match its values was edited by hand or truncated: cohsh refuses it rather
 * than run with a pool or retry schedule nobody compiled.
 */
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import { type ClientPolicy, clientPolicyHash } from "../../codegen/emit/client_policy.ts";
import { CLIENT_POLICY } from "../generated/cohsh_policy.ts";

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyError";
  }
}

const n = z.number().int().min(1);
const PolicyFile = z.strictObject({
  manifest_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  policy_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  pool: z.strictObject({ control_sessions: n, telemetry_sessions: n }),
  retry: z.strictObject({ max_attempts: n, backoff_ms: n, ceiling_ms: n, timeout_ms: n }),
  heartbeat: z.strictObject({ interval_ms: n }),
});

export function defaultPolicy(): ClientPolicy {
  return structuredClone(CLIENT_POLICY);
}

/** Parses and checks a generated policy file's text; `name` is used in errors. */
export function parsePolicy(text: string, name: string): ClientPolicy {
  const regen = "regenerate it with 'cohesix rtc' (or drop --policy to use the built-in defaults)";
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (e) {
    throw new PolicyError(`${name} is not TOML (${(e as Error).message.split("\n")[0]}); ${regen}`);
  }
  const r = PolicyFile.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PolicyError(`${name}: ${issue.path.join(".") || "file"}: ${issue.message}; ${regen}`);
  }
  const policy: ClientPolicy = { pool: r.data.pool, retry: r.data.retry, heartbeat: r.data.heartbeat };
  const actual = clientPolicyHash(policy);
  if (actual !== r.data.policy_sha256) {
    throw new PolicyError(
      `${name}: policy_sha256 ${r.data.policy_sha256.slice(0, 12)}… does not match its values (${actual.slice(0, 12)}…); ${regen}`,
    );
  }
  return policy;
}

export async function loadPolicy(path: string | undefined): Promise<ClientPolicy> {
  if (path === undefined) return defaultPolicy();
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new PolicyError(`cannot read the client policy ${path} (${(e as Error).message}); generate one with 'cohesix rtc'`);
  }
  return parsePolicy(text, path);
}
