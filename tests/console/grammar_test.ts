import { assertEquals } from "../support/assert.ts";
import { ByteWriter } from "../../src/guest/lib/bytes.ts";
import {
  Command,
  errnoDetail,
  attachBackoffMs,
  ticketShapeOk,
  errnoReason,
  MAX_LINE,
  parseAck,
  ParseError,
  parseCommand,
  Verb,
  writeParseError,
  writeRefusal,
} from "../../src/guest/console/grammar.ts";
import { EBUSY, ECANCELED, EMSGSIZE, ENOENT, EPERM, EROFS } from "../../src/secure9p/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function parse(line: string): { v: number; a1: string; a2: string; err: string } {
  const b = enc.encode(line);
  const c = new Command();
  const v = parseCommand(b, 0, b.length, c);
  return { v, a1: dec.decode(b.subarray(c.a1Off, c.a1Off + c.a1Len)), a2: dec.decode(b.subarray(c.a2Off, c.a2Off + c.a2Len)), err: c.errArg };
}

Deno.test("parseCommand splits verbs and arguments by their shape", () => {
  assertEquals(parse("cat /proc/boot"), { v: Verb.Cat, a1: "/proc/boot", a2: "", err: "" });
  assertEquals(parse("  TAIL\t/log/queen.log  "), { v: Verb.Tail, a1: "/log/queen.log", a2: "", err: "" });
  assertEquals(parse("echo /log/queen.log  hello  world "), { v: Verb.Echo, a1: "/log/queen.log", a2: "hello  world", err: "" });
  assertEquals(parse("attach worker-gpu tkt.abc"), { v: Verb.Attach, a1: "worker-gpu", a2: "tkt.abc", err: "" });
  assertEquals(parse("Attach queen"), { v: Verb.Attach, a1: "queen", a2: "", err: "" });
  assertEquals(parse("spawn {\"spawn\":\"heartbeat\",\"ticks\":1}").a1, "{\"spawn\":\"heartbeat\",\"ticks\":1}");
  assertEquals(parse("bind /a /b"), { v: Verb.Bind, a1: "/a", a2: "/b", err: "" });
  assertEquals(parse("ping").v, Verb.Ping);
});

Deno.test("parseCommand refuses bad lines with a parse error code", () => {
  assertEquals(parse("").v, -ParseError.Empty);
  assertEquals(parse("   ").v, -ParseError.Empty);
  assertEquals(parse("frob /x").v, -ParseError.Unknown);
  assertEquals(parse("cat"), { v: -ParseError.Missing, a1: "", a2: "", err: "path" });
  assertEquals(parse("echo /log/queen.log").err, "payload");
  assertEquals(parse("echo /log/queen.log").v, -ParseError.Missing);
  assertEquals(parse("attach").err, "role");
  assertEquals(parse("cat /" + "p".repeat(96)).v, -ParseError.TooLong);
  assertEquals(parse("echo /x " + "e".repeat(129)).v, -ParseError.TooLong);
  assertEquals(parse("ping now").v, -ParseError.Unexpected);
  assertEquals(parse("bind /a").v, -ParseError.Missing);
  assertEquals(parse("x".repeat(MAX_LINE + 1)).v, -ParseError.LineTooLong);
});

Deno.test("writeParseError renders the reference messages", () => {
  const w = new ByteWriter(256);
  writeParseError(w, ParseError.Missing, "path");
  assertEquals(dec.decode(w.buf.subarray(0, w.len)), "ERR PARSE reason=policy detail=missing required argument: path");
  w.reset();
  writeParseError(w, ParseError.LineTooLong, "");
  assertEquals(dec.decode(w.buf.subarray(0, w.len)), "ERR PARSE reason=policy detail=console line exceeded maximum length");
});

Deno.test("errnoReason and errnoDetail map namespace refusals to console reasons", () => {
  assertEquals([errnoReason(ENOENT), errnoDetail(ENOENT)], ["policy", "invalid-path"]);
  assertEquals([errnoReason(EPERM), errnoDetail(EPERM)], ["policy", "denied"]);
  assertEquals([errnoReason(EROFS), errnoDetail(EROFS)], ["policy", "denied"]);
  assertEquals([errnoReason(EBUSY), errnoDetail(EBUSY)], ["busy", "busy"]);
  assertEquals([errnoReason(EMSGSIZE), errnoDetail(EMSGSIZE)], ["quota", "buffer-full"]);
});

Deno.test("parseAck reads OK and ERR lines and ignores payload lines", () => {
  assertEquals(parseAck("OK CAT path=/proc/boot data=a b|c"), { ok: true, verb: "CAT", detail: "path=/proc/boot data=a b|c" });
  assertEquals(parseAck("ERR ECHO reason=policy"), { ok: false, verb: "ECHO", detail: "reason=policy" });
  assertEquals(parseAck("OK HELP"), { ok: true, verb: "HELP", detail: "" });
  assertEquals(parseAck("END"), null);
  assertEquals(parseAck("OK not-a-verb"), null);
  assertEquals(parseAck("Cohesix boot: root-task online"), null);
});

Deno.test("attachBackoffMs doubles from 250 ms and stops growing after eight doublings", () => {
  assertEquals([0, 1, 2, 3, 7, 8, 9, 20].map(attachBackoffMs), [250, 500, 1000, 2000, 32000, 64000, 64000, 64000]);
});

Deno.test("ticketShapeOk accepts cht1 tickets and refuses other text", () => {
  const ok = (s: string) => ticketShapeOk(enc.encode(s), 0, enc.encode(s).length);
  assertEquals(ok("cht1.pwFwd29y_a-2.NHUPmDZ6"), true);
  assertEquals(ok("cht1.abc"), false);
  assertEquals(ok("cht1..abc"), false);
  assertEquals(ok("cht1.abc.def.ghi"), false);
  assertEquals(ok("cht2.abc.def"), false);
  assertEquals(ok("cht1.ab c.def"), false);
  assertEquals(ok("cht1.abc.de="), false);
});

Deno.test("a refusal because the root is cut (ECANCELED) reads reason=cut detail=root-unreachable on the console", () => {
  const w = new ByteWriter(256);
  const path = new TextEncoder().encode("/gpu/GPU-0/job");
  writeRefusal(w, Verb.Echo, ECANCELED, path, 0, path.length);
  assertEquals(
    new TextDecoder().decode(w.buf.subarray(0, w.len)),
    "ERR ECHO reason=cut detail=root-unreachable path=/gpu/GPU-0/job error=ECANCELED",
  );
});
