/** `cohesix guest check`: runs the static Porffor check and prints file:line findings. */
import { relative, resolve } from "node:path";
import { REPO_ROOT } from "../guest_build/tools.ts";
import { checkFiles, GUEST_ROOTS, guestFiles } from "./files.ts";
import { formatFinding, RULES } from "./rules.ts";
import { UsageError } from "../cli/command.ts";

export const CHECK_HELP = `cohesix guest check [PATH...]

Checks guest TypeScript for what Porffor 0.61.13 compiles wrongly or what breaks the sans-IO
guest rules (DEVELOPERS.md): closures over enclosing locals, bit operations, .replace(), BigInt,
super.method(), this.<typed array field>[i] = v, non-erasable TypeScript, async/timers/Date,
try/catch. PATHs default to ${GUEST_ROOTS.join(" and ")} (src/secure9p/host is host code).
Waive one finding with a comment on the line or the line before:
  // porf-check-ignore RULE: reason
Exit status: 0 clean, 1 findings, 2 usage error.

Rules:
${Object.entries(RULES).map(([k, v]) => `  ${k.padEnd(18)} ${v}`).join("\n")}

Examples:
  cohesix guest check
  cohesix guest check src/guest/console
`;

export function runCheck(paths: string[]): number {
  const roots = paths.length > 0 ? paths.map((p) => relative(REPO_ROOT, resolve(p))) : GUEST_ROOTS;
  for (const r of roots) {
    if (r.startsWith("..")) throw new UsageError(`guest check: ${r} is outside the repository`);
    try {
      Deno.statSync(resolve(REPO_ROOT, r));
    } catch {
      throw new UsageError(`guest check: no such file or directory '${r}'`);
    }
  }
  const files = roots.flatMap((r) => r.endsWith(".ts") ? [resolve(REPO_ROOT, r)] : guestFiles([r]));
  const findings = checkFiles(files);
  for (const f of findings) console.log(formatFinding(f));
  console.log(`porf-check: ${files.length} files, ${findings.length} finding${findings.length === 1 ? "" : "s"}`);
  return findings.length === 0 ? 0 : 1;
}
