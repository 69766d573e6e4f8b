/** `cohesix ticket` end to end: keygen → mint → inspect → verify, and its refusals. */
import { assertEquals, assertMatch, assertRejects, assertStringIncludes } from "../support/assert.ts";
import { ticketCommand } from "../../src/host/ticket/command.ts";
import { UsageError } from "../../src/host/cli/command.ts";

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await ticketCommand.run(argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const SEED = "07".repeat(32);
const T0 = 1_764_000_000_000;

Deno.test("ticketCommand mints a ticket that inspect decodes and verify accepts until it expires", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const key = `${dir}/k.json`;
    const kg = await capture(["keygen", "--out", key, "--seed", SEED]);
    assertEquals(kg.code, 0);
    assertMatch(kg.out, /^kid=[0-9a-f]{8} publicKey=[0-9a-f]{64}\n/);
    const mintArgs = [
      "mint",
      "--key",
      key,
      "--role",
      "worker-heartbeat",
      "--subject",
      "worker-1",
      "--ttl-s",
      "60",
      "--issued-at",
      String(T0),
      "--nonce",
      "0102030405060708",
      "--quota-ops",
      "50",
      "--scope",
      "/worker:rw",
    ];
    const mint = await capture(mintArgs);
    assertEquals(mint.code, 0);
    const ticket = mint.out.trim();
    // Same key, claims and nonce: the same ticket (Ed25519 is deterministic).
    assertEquals(
      (await capture(mintArgs)).out.trim(),
      ticket,
    );
    const ins = await capture(["inspect", ticket, "--json"]);
    const doc = JSON.parse(ins.out);
    assertEquals(doc.version, 1);
    assertEquals(doc.claims.expiresAtMs, T0 + 60_000);
    assertEquals(doc.claims.scopes, [{ path: "/worker", mode: "rw" }]);
    assertEquals(doc.claims.quota.ops, 50);
    const ok = await capture(["verify", ticket, "--key", key, "--at", String(T0 + 1000)]);
    assertEquals(ok, { code: 0, out: `ok role=worker-heartbeat subject=worker-1 kid=${doc.kid}`, err: "" });
    const late = await capture(["verify", ticket, "--key", key, "--at", String(T0 + 60_000)]);
    assertEquals(late.code, 1);
    assertStringIncludes(late.out, "refused: expired:");
    const role = await capture(["verify", ticket, "--key", key, "--at", String(T0), "--role", "queen"]);
    assertStringIncludes(role.out, "refused: role-mismatch:");
    const other = await capture(["verify", ticket, "--public-key", "ab".repeat(32), "--at", String(T0)]);
    assertStringIncludes(other.out, "refused: unknown-key:");
    const bad = await capture(["inspect", "cht1.AAAA.BBBB"]);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.err, "malformed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ticketCommand refuses bad input with a usage error and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const key = `${dir}/k.json`;
    await capture(["keygen", "--out", key, "--seed", SEED]);
    const before = await Deno.readTextFile(key);
    await assertRejects(() => capture(["keygen", "--out", key]), /already exists/);
    assertEquals(await Deno.readTextFile(key), before);
    await assertRejects(
      () => capture(["mint", "--key", key, "--role", "worker-heartbeat"]),
      /needs --subject/,
    );
    await assertRejects(() => capture(["mint", "--key", key, "--role", "king"]), /--role must be one of/);
    await assertRejects(
      () => capture(["mint", "--key", key, "--role", "queen", "--scope", "proc:r"]),
      /--scope must be/,
    );
    await assertRejects(
      () => capture(["mint", "--key", key, "--role", "queen", "--ttl-s", "5s"]),
      /non-negative integer/,
    );
    await assertRejects(() => capture(["verify", "x"]), /exactly one of --key/);
    await assertRejects(() => capture(["frobnicate"]), /unknown verb/);
    const e = await assertRejects(() => capture(["mint", "--bogus"]));
    assertEquals(e instanceof UsageError, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
