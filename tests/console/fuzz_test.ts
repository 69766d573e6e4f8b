/** Random bytes at the console never throw, never wedge the hive, and never leak a session. */
import fc from "fast-check";
import { assert, assertEquals } from "../support/assert.ts";
import { frame, newHive, ConsolePair } from "./pair.ts";

const VERBS = ["attach queen", "cat /proc/boot", "ls /", "tail -f /log/queen.log", "echo /log/queen.log x", "ping", "quit", "", "log"];

Deno.test("Hive console survives random input on tcp and serial and keeps serving others", () => {
  const hive = newHive();
  const witness = new ConsolePair(hive);
  witness.auth();
  witness.request("attach queen");
  const bytesOrLines = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc.array(fc.constantFrom(...VERBS), { maxLength: 12 }).map((ls) => {
      const parts = ls.map((l) => frame(l));
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) (out.set(p, o), o += p.length);
      return out;
    }),
  );
  fc.assert(
    fc.property(fc.constantFrom<"tcp" | "serial">("tcp", "serial"), fc.boolean(), bytesOrLines, (kind, auth, bytes) => {
      const c = new ConsolePair(hive, kind, 97);
      if (kind === "tcp" && auth) c.auth();
      c.feed(bytes);
      hive.advance(0);
      c.drain();
      c.close();
      assertEquals(witness.request("ping"), ["PONG", "OK PING reply=pong"]);
    }),
    { numRuns: 300, seed: 20261126 },
  );
  // Namespace sessions were released too (the table holds 64; the runs attached far more often).
  const fresh = new ConsolePair(hive);
  fresh.auth();
  assertEquals(fresh.request("attach queen"), ["OK ATTACH role=queen"]);
  fresh.close();
  // Every console slot is free again.
  const open: ConsolePair[] = [];
  for (let i = 0; i < 7; i++) open.push(new ConsolePair(hive));
  assert(hive.openConsole("tcp") < 0, "exactly the free slots remain");
});
