import { assertEquals } from "../support/assert.ts";
import { encodeFrameHeader, Frame, FrameDecoder, LineEditor } from "../../src/guest/console/framing.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function frames(lines: string[]): Uint8Array {
  const parts = lines.map((l) => {
    const b = enc.encode(l);
    const f = new Uint8Array(b.length + 4);
    encodeFrameHeader(f, 0, b.length);
    f.set(b, 4);
    return f;
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function decodeAll(d: FrameDecoder | LineEditor, bytes: Uint8Array): string[] {
  const events: string[] = [];
  for (const b of bytes) {
    const ev = d.push(b);
    if (ev === Frame.Line) events.push(dec.decode(d.line.subarray(0, d.lineLen)));
    else if (ev !== Frame.More) events.push(`#${ev}`);
    if (ev !== Frame.More && d instanceof LineEditor) d.reset();
  }
  return events;
}

Deno.test("FrameDecoder reassembles consecutive frames including empty ones", () => {
  const d = new FrameDecoder();
  assertEquals(decodeAll(d, frames(["AUTH changeme", "", "cat /proc/boot", "é ok"])), ["AUTH changeme", "", "cat /proc/boot", "é ok"]);
});

Deno.test("FrameDecoder skips frames over the line limit and stays in sync", () => {
  const d = new FrameDecoder();
  assertEquals(decodeAll(d, frames(["a".repeat(257), "ping", "b".repeat(256)])), [`#${Frame.Invalid}`, "ping", "b".repeat(256)]);
  const bad = new Uint8Array([2, 0, 0, 0]);
  assertEquals(decodeAll(d, bad), [`#${Frame.Invalid}`]);
  assertEquals(decodeAll(d, frames(["ping"])), ["ping"]);
});

Deno.test("FrameDecoder flags control characters and invalid UTF-8", () => {
  const d = new FrameDecoder();
  assertEquals(decodeAll(d, frames(["cat\u0001"])), [`#${Frame.Control}`]);
  const raw = new Uint8Array([6, 0, 0, 0, 0x61, 0xff]);
  assertEquals(decodeAll(d, raw), [`#${Frame.BadUtf8}`]);
  assertEquals(decodeAll(d, frames(["tab\tok"])), ["tab\tok"]);
});

Deno.test("LineEditor applies backspace, ignores CR and reports long and control lines", () => {
  const e = new LineEditor();
  assertEquals(decodeAll(e, enc.encode("cat /proc/bootx\x7f\r\n")), ["cat /proc/boot"]);
  assertEquals(decodeAll(e, enc.encode("caté\x08s\n")), ["cats"]);
  assertEquals(decodeAll(e, enc.encode("x".repeat(300) + "\nping\n")), [`#${Frame.TooLong}`, "ping"]);
  assertEquals(decodeAll(e, enc.encode("a\x1bb\nping\n")), [`#${Frame.Control}`, "ping"]);
});

Deno.test("LineEditor replaces invalid UTF-8 with question marks", () => {
  const e = new LineEditor();
  assertEquals(decodeAll(e, new Uint8Array([0x61, 0xff, 0x62, 0xc3, 0x63, 10])), ["a?b?c"]);
});
