/**
 * Child process for the spool crash test: appends N complete records ("appended <seq>" after each),
 * then starts one more and, half of it on disk, prints "mid-write" and waits to be SIGKILLed.
 * Usage: spool_writer.ts DIR N
 */
import { SpoolStore } from "../../src/host/spool/store.ts";

const [dir, n] = Deno.args;
const enc = new TextEncoder();
const first = await SpoolStore.open(dir);
for (let i = 1; i <= Number(n); i++) {
  const seq = await first.store.append(enc.encode(`record ${i} `.repeat(200)));
  console.log(`appended ${seq}`);
}
const { store } = await SpoolStore.open(dir, {
  midWrite: async () => {
    console.log("mid-write");
    // Holds the half-written record until the test kills the process (stdin stays open, never written).
    await Deno.stdin.read(new Uint8Array(1));
    throw new Error("spool_writer: stdin closed before the kill");
  },
});
await store.append(enc.encode("torn ".repeat(400)));
