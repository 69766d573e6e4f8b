import { assertEquals, assertThrows } from "../support/assert.ts";
import { compileCorpus, toHex } from "../../src/host/guest_build/corpus.ts";
import { extractTranscript, renderTranscript } from "../../src/host/guest_build/transcript.ts";

Deno.test("compileCorpus encodes ops with little-endian u32 fields and an END byte", () => {
  const ops = compileCorpus('target probe\nopen c1 console tcp\nin c1 "a\\n"\ntick 258\nclose c1\n', "t");
  assertEquals(toHex(ops), "0101" + "02000003000000746370" + "030002000000610a" + "0402010000" + "0500" + "00");
});

Deno.test("compileCorpus decodes hex data and binds slots in order of first open", () => {
  const ops = compileCorpus("target hive\nopen a ninep\nopen b ninep\nin b hex 13 00 0000\n", "t");
  assertEquals(toHex(ops), "0100" + "02000100000000" + "02010100000000" + "030104000000" + "13000000" + "00");
});

Deno.test("compileCorpus names file and line for bad input", () => {
  assertThrows(() => compileCorpus("open c1 ninep\n", "x.replay"), /x\.replay:1: the corpus must start with 'target/);
  assertThrows(() => compileCorpus("target probe\nin c9 \"x\"\n", "x.replay"), /x\.replay:2: slot 'c9' was never opened/);
  assertThrows(() => compileCorpus("target probe\nopen c ninep\nin c hex 123\n", "f"), /f:3: hex data must be an even number/);
  assertThrows(() => compileCorpus("target probe\nopen c ninep\nin c \"a\\q\"\n", "f"), /f:3: unknown escape/);
  assertThrows(() => compileCorpus("target probe\nfly away\n", "f"), /f:2: unknown verb 'fly'/);
  assertThrows(() => compileCorpus("target probe\ntick -1\n", "f"), /f:2: tick must be an integer/);
  assertThrows(() => compileCorpus("", "f"), /f: empty corpus/);
});

Deno.test("extractTranscript returns null without an end line and renderTranscript escapes bytes", () => {
  assertEquals(extractTranscript("noise\n=== replay begin\n41\n"), null);
  const t = extractTranscript("boot\n=== replay begin\n<0\n41\n0a\n00\n=== replay end\ntrailer\n")!;
  assertEquals(t, "=== replay begin\n<0\n41\n0a\n00\n=== replay end\n");
  assertEquals(renderTranscript(t), "=== replay begin\n<0\n  | A\n  | \\x00\n=== replay end\n");
});

Deno.test("compileCorpus builds TCP console frames and 9P T-messages by name", () => {
  const ops = compileCorpus('target hive\nopen c console tcp\nin c frame "ab"\nin c 9p Tclunk tag=1 fid=2\n', "t");
  assertEquals(toHex(ops).slice(24), "03000600000006000000" + "6162" + "03000b0000000b000000" + "780100" + "02000000" + "00");
  const walk = compileCorpus("target hive\nopen n ninep\nin n 9p Twalk tag=3 fid=1 newfid=2 names=a,bc\n", "t");
  // size 24 = 7 header + fid 4 + newfid 4 + nwname 2 + (2+1) + (2+2)
  assertEquals(toHex(walk).slice(-50), "180000006e030001000000020000000200" + "010061" + "02006263" + "00");
  const forged = compileCorpus("target hive\nopen n ninep\nin n 9p Tclunk tag=1 fid=2 size=99\n", "t");
  assertEquals(toHex(forged).slice(-24), "63000000780100" + "02000000" + "00");
});

Deno.test("compileCorpus refuses unknown 9P messages and fields with file:line", () => {
  const pre = "target hive\nopen n ninep\n";
  assertThrows(() => compileCorpus(pre + "in n 9p Tfoo tag=1\n", "f"), /f:3: unknown 9P message 'Tfoo'/);
  assertThrows(() => compileCorpus(pre + "in n 9p Tclunk tag=1\n", "f"), /f:3: Tclunk needs fid=/);
  assertThrows(() => compileCorpus(pre + "in n 9p Tclunk tag=1 fid=2 colour=red\n", "f"), /f:3: Tclunk has no field 'colour'/);
  assertThrows(() => compileCorpus(pre + "in n 9p Tclunk tag=70000 fid=2\n", "f"), /f:3: tag must be an integer 0\.\.65535/);
});
