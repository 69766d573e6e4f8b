/** `cohesix ticket`: make signing keys, mint, inspect and verify capability tickets. */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { parseFlags, type Subcommand, UsageError } from "../cli/command.ts";
import { checkClaims, TicketClaims, TicketStatus, ticketStatusName } from "../../guest/tickets/ticket.ts";
import { defaultRoles } from "../../guest/boot.ts";
import {
  type Claims,
  decodeClaims,
  keyId,
  keyPair,
  mintTicket,
  openTicket,
  TicketError,
  verifySeal,
} from "./codec.ts";

const HELP = `cohesix ticket: Ed25519-signed capability tickets for NineDoor sessions

Usage:
  cohesix ticket keygen --out FILE [--seed HEX]
  cohesix ticket mint --key FILE --role ROLE [--subject ID] [--ttl-s N] [budget/quota/scope flags]
  cohesix ticket inspect TICKET [--json]
  cohesix ticket verify TICKET (--key FILE | --public-key HEX) [--role ROLE] [--at MS] [--json]

A ticket is 'cht1.<claims>.<seal>' (base64url): CBOR claims (role, subject, issued-at, expiry,
nonce, budget, quota, scopes) sealed with the hive's Ed25519 key. The hive trusts the key's
public half (BootConfig.ticketKeys: kid + publicKey, printed by keygen).
verify exits 0 when the ticket is accepted and 1 with the refusal (expired, bad-signature,
tampered-claims, unknown-key, role-mismatch, malformed, not-yet-valid) when it is not.

Flags (mint):
  --key FILE         key file written by 'keygen' (holds the secret key)
  --role ROLE        queen, observer, worker-heartbeat or worker-gpu
  --subject ID       worker id the ticket acts for (required for worker roles)
  --ttl-s N          seconds until expiry (default 300; 0: never expires)
  --issued-at MS     issue time in Unix ms (default: now)
  --nonce HEX        16 hex digits (default: random)
  --ticks N --ops N --budget-ttl-s N         budget claims (0: unset)
  --quota-ops N --quota-bytes N --quota-fids N  session quotas (0: the role's ceiling)
  --scope PATH:MODE  restrict to PATH and below, MODE r|w|rw (repeatable, at most 8)

Examples:
  cohesix ticket keygen --out hive-key.json
  cohesix ticket mint --key hive-key.json --role worker-heartbeat --subject worker-1 --ttl-s 600
  cohesix ticket mint --key hive-key.json --role observer --scope /proc:r --quota-ops 1000
  cohesix ticket inspect cht1.o2F…
  cohesix ticket verify cht1.o2F… --key hive-key.json --role worker-heartbeat`;

const ROLES = defaultRoles().map((r) => r.name);
const WORKER_ROLES = defaultRoles().filter((r) => r.workerSubject).map((r) => r.name);

function usage(message: string): never {
  throw new UsageError(`ticket: ${message}`, "run 'cohesix ticket --help' for usage");
}

function uintFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,15}$/.test(value)) usage(`--${name} must be a non-negative integer, got '${value}'`);
  return Number(value);
}

interface KeyFile {
  version: number;
  kid: string;
  publicKey: string;
  secretKey: string;
}

async function readKeyFile(path: string): Promise<KeyFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    usage(`Cannot read key file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let k: KeyFile;
  try {
    k = JSON.parse(text);
  } catch {
    usage(`Cannot read key file ${path}: not JSON`);
  }
  if (k.version !== 1 || !/^[0-9a-f]{64}$/.test(k.publicKey ?? "") || !/^[0-9a-f]{8}$/.test(k.kid ?? "")) {
    usage(`Cannot read key file ${path}: expected {"version":1,"kid","publicKey","secretKey"}`);
  }
  return k;
}

async function keygen(argv: string[]): Promise<number> {
  const { values } = parseFlags("ticket keygen", argv, { out: { type: "string" }, seed: { type: "string" } });
  if (!values.out) usage("keygen needs --out FILE");
  if (values.seed !== undefined && !/^[0-9a-f]{64}$/.test(values.seed)) {
    usage("--seed must be 64 lowercase hex digits");
  }
  const pair = keyPair(values.seed ? hexToBytes(values.seed) : undefined);
  const body = JSON.stringify({ version: 1, ...pair }, null, 2) + "\n";
  try {
    // createNew: never overwrite an existing key (a lost key orphans every ticket it signed).
    await Deno.writeTextFile(values.out, body, { createNew: true, mode: 0o600 });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) usage(`Cannot write ${values.out}: it already exists`);
    throw err;
  }
  console.log(`kid=${pair.kid} publicKey=${pair.publicKey}`);
  console.log(`BootConfig.ticketKeys entry: {"kid":"${pair.kid}","publicKey":"${pair.publicKey}"}`);
  return 0;
}

async function mint(argv: string[]): Promise<number> {
  const { values } = parseFlags("ticket mint", argv, {
    key: { type: "string" },
    role: { type: "string" },
    subject: { type: "string", default: "" },
    "ttl-s": { type: "string" },
    "issued-at": { type: "string" },
    nonce: { type: "string" },
    ticks: { type: "string" },
    ops: { type: "string" },
    "budget-ttl-s": { type: "string" },
    "quota-ops": { type: "string" },
    "quota-bytes": { type: "string" },
    "quota-fids": { type: "string" },
    scope: { type: "string", multiple: true, default: [] },
  });
  if (!values.key) usage("mint needs --key FILE");
  if (!values.role || !ROLES.includes(values.role)) usage(`--role must be one of ${ROLES.join(", ")}`);
  if (WORKER_ROLES.includes(values.role) && values.subject === "") {
    usage(`a ${values.role} ticket needs --subject <worker id>`);
  }
  if (values.nonce !== undefined && !/^[0-9a-f]{16}$/.test(values.nonce)) {
    usage("--nonce must be 16 lowercase hex digits");
  }
  const scopes = (values.scope as string[]).map((s) => {
    const m = /^(\/[^:]*):(r|w|rw)$/.exec(s);
    if (!m) usage(`--scope must be /PATH:r|w|rw, got '${s}'`);
    return { path: m[1], mode: m[2] };
  });
  if (scopes.length > 8) usage("at most 8 --scope flags");
  const issuedAtMs = uintFlag("issued-at", values["issued-at"], Date.now());
  const ttlS = uintFlag("ttl-s", values["ttl-s"], 300);
  const key = await readKeyFile(values.key);
  const claims: Claims = {
    role: values.role,
    subject: values.subject,
    issuedAtMs,
    expiresAtMs: ttlS === 0 ? 0 : issuedAtMs + ttlS * 1000,
    nonce: values.nonce ?? bytesToHex(crypto.getRandomValues(new Uint8Array(8))),
    budget: {
      ticks: uintFlag("ticks", values.ticks, 0),
      ops: uintFlag("ops", values.ops, 0),
      ttlS: uintFlag("budget-ttl-s", values["budget-ttl-s"], 0),
    },
    quota: {
      ops: uintFlag("quota-ops", values["quota-ops"], 0),
      bytes: uintFlag("quota-bytes", values["quota-bytes"], 0),
      fids: uintFlag("quota-fids", values["quota-fids"], 0),
    },
    scopes,
  };
  console.log(mintTicket(claims, key.secretKey));
  return 0;
}

function inspect(argv: string[]): number {
  const { values, positionals } = parseFlags("ticket inspect", argv, {
    json: { type: "boolean", default: false },
  }, true);
  if (positionals.length !== 1) usage("inspect takes exactly one TICKET");
  try {
    const t = openTicket(positionals[0]);
    const claims = decodeClaims(t.body);
    if (values.json) {
      console.log(JSON.stringify({ version: 1, kid: t.kid, verified: false, claims }, null, 2));
    } else {console.log(
        `kid=${t.kid} (signature not checked; use 'cohesix ticket verify')\n${JSON.stringify(claims)}`,
      );}
    return 0;
  } catch (err) {
    if (err instanceof TicketError) {
      console.error(`cohesix ticket: ${ticketStatusName(err.status)}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

async function verify(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags("ticket verify", argv, {
    key: { type: "string" },
    "public-key": { type: "string" },
    role: { type: "string" },
    at: { type: "string" },
    json: { type: "boolean", default: false },
  }, true);
  if (positionals.length !== 1) usage("verify takes exactly one TICKET");
  if ((values.key === undefined) === (values["public-key"] === undefined)) {
    usage("verify needs exactly one of --key FILE or --public-key HEX");
  }
  let publicKey = values["public-key"] ?? "";
  if (values.key) publicKey = (await readKeyFile(values.key)).publicKey;
  if (!/^[0-9a-f]{64}$/.test(publicKey)) usage("--public-key must be 64 lowercase hex digits");
  const at = uintFlag("at", values.at, Date.now());
  const kid = keyId(hexToBytes(publicKey));
  let status: number = TicketStatus.Ok;
  let detail = "";
  let claims: Claims | undefined;
  try {
    claims = verifySeal(positionals[0], [{ kid, publicKey }]);
    const roleWanted = values.role ?? claims.role;
    const g = new TicketClaims();
    g.role = claims.role;
    g.issuedAtMs = claims.issuedAtMs;
    g.expiresAtMs = claims.expiresAtMs;
    status = checkClaims(g, roleWanted, at);
    if (status !== TicketStatus.Ok) {
      detail = `claims say role=${claims.role} expires=${claims.expiresAtMs}, checked at ${at}`;
    }
  } catch (err) {
    if (!(err instanceof TicketError)) throw err;
    status = err.status;
    detail = err.message;
  }
  const name = ticketStatusName(status);
  if (values.json) {
    console.log(
      JSON.stringify({ version: 1, status: name, ok: status === TicketStatus.Ok, detail, claims }, null, 2),
    );
  } else if (status === TicketStatus.Ok) {
    console.log(`ok role=${claims!.role} subject=${claims!.subject || "-"} kid=${kid}`);
  } else console.log(`refused: ${name}: ${detail}`);
  return status === TicketStatus.Ok ? 0 : 1;
}

export const ticketCommand: Subcommand = {
  name: "ticket",
  summary: "make keys, mint, inspect and verify Ed25519 capability tickets",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const [verb, ...rest] = argv;
    switch (verb) {
      case "keygen":
        return await keygen(rest);
      case "mint":
        return await mint(rest);
      case "inspect":
        return inspect(rest);
      case "verify":
        return await verify(rest);
    }
    usage(verb === undefined ? "missing verb (keygen, mint, inspect, verify)" : `unknown verb '${verb}'`);
  },
};
