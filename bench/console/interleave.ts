/** Interleaved pipelined console sessions: the ordering check shared by the benchmark and its test. */
import { ConsoleClient } from "../../src/host/cohsh/client.ts";
import { TcpTransport } from "../../src/host/cohsh/transport.ts";

/**
 * `sessions` tcp consoles each pipeline `perSession` numbered requests (`cat /bench/s<k>/op<i>`,
 * whose ERR reply names the path, mixed with `ping`), `window` in flight; returns how many
 * replies came back out of their session's send order.
 */
export async function interleaved(port: number, sessions: number, perSession: number, window: number) {
  const t0 = performance.now();
  let reordered = 0;
  await Promise.all(Array.from({ length: sessions }, async (_, k) => {
    const t = await TcpTransport.connect("127.0.0.1", port);
    const c = new ConsoleClient(t, 10000);
    await c.authenticate("changeme");
    await c.request("ATTACH queen");
    const expect: string[] = [];
    let sent = 0;
    let got = 0;
    while (got < perSession) {
      while (sent < perSession && sent - got < window) {
        if (sent % 5 === 4) {
          await t.send("PING");
          expect.push("OK PING reply=pong");
        } else {
          await t.send(`CAT /bench/s${k}/op${sent}`);
          expect.push(`ERR CAT reason=policy detail=invalid-path path=/bench/s${k}/op${sent} error=ENOENT`);
        }
        sent++;
      }
      const r = await c.readReply();
      if (r.ackLine !== expect[got]) reordered++;
      got++;
    }
    c.close();
  }));
  return { ops: sessions * perSession, ms: performance.now() - t0, reordered };
}
