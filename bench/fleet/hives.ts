/**
 * Hive host for the fleet benchmark: N hosted hives (the `cohesix dev` runtime, NineDoor over 9P on
 * free ports, Unix-ms clock) in one process, each with W heartbeat workers on a `--tick-ms` tick.
 * Prints `{"ports":[…]}` once every worker is spawned, then on SIGTERM writes `--times FILE`: for
 * each heartbeat line the wall-clock ms at which the hive appended it (key `<hive>/<worker>/<offset
 * after the line>`, the fleet's Cohesix-Offset header), so the benchmark measures write → JetStream.
 *
 * The write time is taken right after the runtime's `advance()` (a microtask queued by the clock it
 * calls), from the worker rings' end offsets; it reads NineDoor's ring table, a benchmark-only peek.
 */
import { parseArgs } from "node:util";
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { HostedHive } from "../../src/host/dev/runtime.ts";
import { NineClient } from "../../src/secure9p/host/client.ts";
import { O_WRONLY } from "../../src/secure9p/namespace.ts";

const { values } = parseArgs({
  options: {
    hives: { type: "string", default: "50" },
    workers: { type: "string", default: "20" },
    "tick-ms": { type: "string", default: "1000" },
    times: { type: "string" },
  },
});
const hives = Number(values.hives);
const workers = Number(values.workers);
const tickMs = Number(values["tick-ms"]);

interface Rings {
  end: Float64Array;
}
interface Peek {
  telemetry: Rings;
  workers: { cap: number; live: Uint8Array; ids: { get(i: number): string } };
}

const times = new Map<string, number>();
const hosts: HostedHive[] = [];
for (let h = 0; h < hives; h++) {
  const boot = defaultBootConfig();
  boot.tickMs = tickMs;
  const lastEnd = new Float64Array(boot.limits.maxWorkers);
  let hosted: HostedHive | null = null;
  const clock = () => {
    const t = Date.now();
    queueMicrotask(() => {
      const nd = (hosted?.hive as unknown as { nineDoor: Peek | null } | undefined)?.nineDoor;
      if (!nd) return;
      const end = nd.telemetry.end;
      for (let i = 0; i < nd.workers.cap; i++) {
        if (nd.workers.live[i] === 0 || end[i] === lastEnd[i]) continue;
        lastEnd[i] = end[i];
        times.set(`h${h}/${nd.workers.ids.get(i)}/${end[i]}`, t);
      }
    });
    return t;
  };
  hosted = HostedHive.start({ ninepPort: 0, noConsole: true, boot, clock, tickMs: 5 });
  hosts.push(hosted);
}

const enc = new TextEncoder();
for (const hosted of hosts) {
  const c = await NineClient.dial("127.0.0.1", hosted.ninepPort);
  const root = c.newFid();
  await c.attach(root, "queen", "");
  const ctl = c.newFid();
  await c.walk(root, ctl, ["queen", "ctl"]);
  await c.open(ctl, O_WRONLY);
  for (let w = 0; w < workers; w++) {
    await c.write(ctl, 0, enc.encode('{"spawn":"heartbeat","ticks":1000000}\n'));
  }
  c.close();
}
console.log(JSON.stringify({ ports: hosts.map((h) => h.ninepPort) }));

const stop = Promise.withResolvers<void>();
Deno.addSignalListener("SIGTERM", () => stop.resolve());
await stop.promise;
await Promise.all(hosts.map((h) => h.stop()));
if (values.times) await Deno.writeTextFile(values.times, JSON.stringify(Object.fromEntries(times)));
Deno.exit(0);
