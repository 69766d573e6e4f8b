/**
 * Secrets never leave in a support bundle: tickets (`cht1.<claims>.<seal>`, any truncation of one
 * that keeps the prefix), console AUTH tokens, and JSON fields that hold key material.
 */
import { TICKET_PREFIX } from "../ticket/codec.ts";

export const REDACTED = "<redacted>";

const escaped = TICKET_PREFIX.replace(".", "\\.");
const RULES: [RegExp, string][] = [
  // A ticket, whole or cut (a 256-byte console line can cut one): the prefix and every base64url/dot after it.
  [new RegExp(`${escaped}[A-Za-z0-9_\\-.]+`, "g"), `${TICKET_PREFIX}${REDACTED}`],
  // The console handshake and cohsh's --auth-token.
  [/\bAUTH [^\s"\\]+/g, `AUTH ${REDACTED}`],
  [/(--auth-token[ =])[^\s"\\]+/g, `$1${REDACTED}`],
  // Key material in JSON ("secret_key": "…", "private_key": …, "seed": …, "token": …).
  [
    /("(?:secret|secret_key|secretKey|private_key|privateKey|seed|token|auth_token)"\s*:\s*)"[^"]*"/g,
    `$1"${REDACTED}"`,
  ],
];

/** The text with every secret replaced, and how many replacements were made. */
export function redact(text: string): { text: string; count: number } {
  let count = 0;
  let out = text;
  for (const [re, replacement] of RULES) {
    count += out.match(re)?.length ?? 0;
    out = out.replace(re, replacement);
  }
  return { text: out, count };
}
