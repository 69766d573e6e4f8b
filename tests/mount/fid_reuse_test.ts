/**
 * The manifest knob Linux's v9fs client needs (`secure9p.allow_fid_reuse`): v9fs hands clunked fid
 * numbers out again, which Secure9P refuses by default. Proven with our client doing what v9fs does.
 */
import { NineClient, NineError } from "../../src/secure9p/host/client.ts";
import { assertEquals } from "../support/assert.ts";
import { dirname } from "node:path";
import { manifestWith, startHive, stop } from "./support.ts";

const ROOT_MANIFEST = new URL("../../configs/root_task.toml", import.meta.url).pathname;

/** Walks fid 7 to /proc, clunks it, and walks fid 7 again, as v9fs does. Returns the second walk's errno (0: ok). */
async function reuseFid(port: number): Promise<number> {
  const c = await NineClient.dial("127.0.0.1", port);
  try {
    await c.attach(1, "queen", "");
    await c.walk(1, 7, ["proc"]);
    await c.clunk(7);
    try {
      await c.walk(1, 7, ["log"]);
      return 0;
    } catch (e) {
      if (e instanceof NineError) return e.errno;
      throw e;
    }
  } finally {
    c.close();
  }
}

Deno.test("secure9p.allow_fid_reuse lets a v9fs-style client reuse a clunked fid; the default refuses it with EINVAL", async () => {
  const manifest = await manifestWith(/^(max_fids_per_session = \d+)$/m, "$1\nallow_fid_reuse = true");
  for (const [file, want] of [[ROOT_MANIFEST, 22], [manifest, 0]] as const) {
    const h = await startHive(0, ["--manifest", file]);
    try {
      assertEquals(await reuseFid(h.port), want, `${file}`);
    } finally {
      await stop(h);
    }
  }
  await Deno.remove(dirname(manifest), { recursive: true });
});
