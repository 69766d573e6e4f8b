/** The `cohesix` command surface: help, version, per-subcommand help, exit codes on bad input. */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../support/assert.ts";
import { COHESIX_VERSION } from "../../src/guest/version.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function cohesix(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(`${ROOT}cohesix`, { args, stdout: "piped", stderr: "piped", stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The subcommand names listed by `cohesix --help`. */
function listedCommands(help: string): string[] {
  const block = help.split("Commands:\n")[1]?.split("\n\n")[0] ?? "";
  return block.split("\n").map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
}

Deno.test("cohesix --version prints the product version", async () => {
  const r = await cohesix("--version");
  assertEquals(r.code, 0);
  assertEquals(r.stdout.trim(), `cohesix ${COHESIX_VERSION}`);
});

Deno.test("cohesix --help lists subcommands and examples", async () => {
  const r = await cohesix("--help");
  assertEquals(r.code, 0);
  assertStringIncludes(r.stdout, "Usage: cohesix <command>");
  assertStringIncludes(r.stdout, "Examples:");
});

Deno.test("cohesix unknown subcommand exits 2 with a one-line error and hint", async () => {
  const r = await cohesix("frobnicate");
  assertEquals(r.code, 2);
  assertEquals(r.stderr.trim().split("\n").length, 1);
  assertMatch(r.stderr, /unknown command 'frobnicate'.*cohesix --help/);
});

Deno.test("cohesix unknown top-level flag exits 2", async () => {
  const r = await cohesix("--frob");
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /unknown flag '--frob'/);
});

Deno.test("cohesix <cmd> --help works and <cmd> --bogus-flag exits 2 for every listed subcommand", async () => {
  const help = (await cohesix("--help")).stdout;
  const names = listedCommands(help);
  for (const core of ["demo", "dev", "cohsh"]) assert(names.includes(core), `--help lists '${core}'`);
  for (const name of names) {
    const h = await cohesix(name, "--help");
    assertEquals(h.code, 0, `${name} --help exit code`);
    assert(h.stdout.includes(name), `${name} --help mentions its name`);
    const bad = await cohesix(name, "--bogus-flag-xyz");
    assertEquals(bad.code, 2, `${name} --bogus-flag-xyz exit code; stderr: ${bad.stderr}`);
    assertMatch(bad.stderr, /bogus-flag-xyz/);
  }
});

Deno.test("deno task compile builds the binary or explains that the runtime download is unreachable", async () => {
  const out = await new Deno.Command(`${ROOT}node_modules/.bin/deno`, {
    args: ["task", "-q", "compile"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.success) {
    const v = await new Deno.Command(`${ROOT}out/cohesix`, { args: ["--version"], stdout: "piped" }).output();
    assertEquals(new TextDecoder().decode(v.stdout).trim(), `cohesix ${COHESIX_VERSION}`);
  } else {
    assertStringIncludes(stderr, "Cannot build the binary: deno compile needs to download the denort runtime");
  }
});
