/**
 * The client policy cohsh runs with (`[client_policies]`, emitted by coh-rtc with a hash): the
 * committed file matches the compiled defaults, a hand-edited or broken file is refused with what
 * to do, and a loaded policy is what sizes the pool.
 */
import { assertEquals, assertMatch, assertThrows } from "../support/assert.ts";
import { loadPolicy, parsePolicy, PolicyError } from "../../src/host/cohsh/policy.ts";
import { CLIENT_POLICY, CLIENT_POLICY_SHA256 } from "../../src/host/generated/cohsh_policy.ts";
import { clientPolicyHash } from "../../src/codegen/emit/client_policy.ts";
import { cohshCommand } from "../../src/host/cohsh/command.ts";
import { UsageError } from "../../src/host/cli/command.ts";
import { openSession } from "../../src/host/cohsh/connect.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";

function assertPolicyError(fn: () => unknown, pattern: RegExp): void {
  const e = assertThrows(fn, pattern);
  assertEquals(e instanceof PolicyError, true, `${e.name}: ${e.message}`);
}

const REPO = new URL("../../", import.meta.url).pathname;
const FILE = `${REPO}configs/generated/cohsh_policy.toml`;

Deno.test("the generated policy file loads and equals the defaults compiled into cohsh", async () => {
  const p = await loadPolicy(FILE);
  assertEquals(p, CLIENT_POLICY);
  assertEquals(clientPolicyHash(p), CLIENT_POLICY_SHA256);
  assertEquals(CLIENT_POLICY.pool, { control_sessions: 2, telemetry_sessions: 4 });
  assertEquals(CLIENT_POLICY.retry, { max_attempts: 3, backoff_ms: 200, ceiling_ms: 2000, timeout_ms: 5000 });
});

Deno.test("a policy file edited by hand, broken or missing is refused with what to do", async () => {
  const text = await Deno.readTextFile(FILE);
  const edited = text.replace("telemetry_sessions = 4", "telemetry_sessions = 12");
  assertPolicyError(() => parsePolicy(edited, "p.toml"), /p\.toml:\ policy_sha256\ /);
  assertPolicyError(() => parsePolicy(edited, "p.toml"), /does\ not\ match\ its\ values/);
  assertPolicyError(() => parsePolicy("pool = [", "p.toml"), /p\.toml\ is\ not\ TOML/);
  assertPolicyError(() => parsePolicy(text.replace(/\[heartbeat\][^]*$/, ""), "p.toml"), /p\.toml:\ heartbeat:/);
  assertPolicyError(() => parsePolicy(text.replace("max_attempts = 3", "max_attempts = 0"), "p.toml"), /retry\.max_attempts/);
  const missing = await loadPolicy("/no/such/policy.toml").catch((e) => e);
  assertEquals(missing instanceof PolicyError, true);
  assertMatch(missing.message, /^cannot read the client policy \/no\/such\/policy\.toml/);
});

Deno.test("cohsh --policy with a tampered file exits as a usage error before connecting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/policy.toml`;
    await Deno.writeTextFile(path, (await Deno.readTextFile(FILE)).replace("backoff_ms = 200", "backoff_ms = 1"));
    const err = await cohshCommand.run(["--policy", path, "--port", "1", "--script", path]).catch((e) => e);
    assertEquals(err instanceof UsageError, true, String(err));
    assertMatch(err.message, /^cohsh: .*policy\.toml: policy_sha256 [0-9a-f]{12}… does not match its values/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a loaded policy sizes the pool: telemetry_sessions = 2 gives a two-session 9P pool", async () => {
  const dir = await Deno.makeTempDir();
  const hive = HostedHive.start({ ninepPort: 0, noConsole: true, clock: () => 0 });
  try {
    const policy = { ...CLIENT_POLICY, pool: { control_sessions: 1, telemetry_sessions: 2 } };
    const text = (await Deno.readTextFile(FILE))
      .replace("control_sessions = 2", "control_sessions = 1")
      .replace("telemetry_sessions = 4", "telemetry_sessions = 2")
      .replace(/policy_sha256 = "[0-9a-f]+"/, `policy_sha256 = "${clientPolicyHash(policy)}"`);
    await Deno.writeTextFile(`${dir}/p.toml`, text);
    const loaded = await loadPolicy(`${dir}/p.toml`);
    const s = await openSession({ transport: "9p", hostname: "127.0.0.1", port: hive.ninepPort, authToken: "", timeoutMs: 5000, policy: loaded });
    await s.execute("attach queen");
    const r = await s.execute("pool bench path=/log/queen.log ops=10 batch=2");
    assertMatch(r!.ackLine, /^OK POOL bench path=\/log\/queen\.log sessions=2 ops=10 batch=2 expected=10 observed=10 /);
    s.close();
  } finally {
    await hive.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
