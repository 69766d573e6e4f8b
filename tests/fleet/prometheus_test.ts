/**
 * `cohesix fleet --prometheus` against Debian's engines: `prometheus` scrapes the fleet and the values
 * come back through its HTTP query API with the hive label; `promtool check metrics` accepts the
 * exposition (names, types, HELP, `_total` only on counters).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { Fleet } from "../../src/host/fleet/fleet.ts";
import { startPrometheus, TestHive, until } from "./engines.ts";

async function query(
  api: string,
  promql: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = await res.json();
  if (body.status !== "success") throw new Error(`prometheus query ${promql}: ${JSON.stringify(body)}`);
  return body.data.result;
}

async function promtool(exposition: string): Promise<{ code: number; out: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(exposition));
  await w.close();
  const r = await child.output();
  return { code: r.code, out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr) };
}

Deno.test({
  name:
    "Fleet metrics: prometheus scrapes them and the query API returns per-hive values; promtool accepts them",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cohesix-fleet-prom-" });
    const a = new TestHive();
    const b = new TestHive();
    let fleet: Fleet | null = null;
    let prom: Awaited<ReturnType<typeof startPrometheus>> | null = null;
    try {
      await a.spawn(3);
      await b.spawn(1);
      await a.tick(4);
      await b.tick(4);
      fleet = await Fleet.start({
        hives: [
          { name: "alpha", host: "127.0.0.1", port: a.port },
          { name: "beta", host: "127.0.0.1", port: b.port },
        ],
        prometheus: { host: "127.0.0.1", port: 0 },
        pollMs: 50,
      });
      assert(
        fleet.metricsUrl !== null && /^http:\/\/127\.0\.0\.1:\d+\/metrics$/.test(fleet.metricsUrl),
        String(fleet.metricsUrl),
      );
      await until(() => fleet!.followers.every((f) => f.snapshot.linesPublished > 0), "both hives followed");

      const exposition = await (await fetch(fleet.metricsUrl)).text();
      assert(exposition.includes('cohesix_hive_workers{hive="alpha"} 3'), exposition);
      assert(exposition.includes("# TYPE cohesix_fleet_telemetry_lines_total counter"), exposition);
      const checked = await promtool(exposition);
      assertEquals(checked, { code: 0, out: "" }, "promtool check metrics");
      // promtool is not a rubber stamp: a gauge named like a counter is refused.
      const bad = await promtool("# HELP x_total x\n# TYPE x_total gauge\nx_total 1\n");
      assert(bad.code !== 0 && bad.out.includes("x_total"), bad.out);

      const target = new URL(fleet.metricsUrl).host;
      prom = await startPrometheus(dir, target);
      const api = prom.api;
      await until(
        async () => (await query(api, 'up{job="cohesix-fleet"}'))[0]?.value[1] === "1",
        "prometheus to scrape the fleet",
      );
      await until(
        async () => (await query(api, "cohesix_hive_workers")).length === 2,
        "both hives' worker gauges",
      );
      const workers = await query(api, "cohesix_hive_workers");
      const byHive = Object.fromEntries(workers.map((r) => [r.metric.hive, r.value[1]]));
      assertEquals(byHive, { alpha: "3", beta: "1" });
      // A change on a hive reaches the query API: two more workers on beta.
      await b.spawn(2);
      await until(
        async () => (await query(api, 'cohesix_hive_workers{hive="beta"}'))[0]?.value[1] === "3",
        "beta's new workers",
      );
      const lines = await query(api, 'cohesix_fleet_telemetry_lines_total{hive="alpha"}');
      assertEquals(lines[0].value[1], "12", "3 workers x 4 heartbeats");
      const up = await query(api, "cohesix_hive_up");
      assertEquals(up.map((r) => r.value[1]), ["1", "1"]);
    } finally {
      await prom?.engine.stop();
      await fleet?.stop();
      await a.stop();
      await b.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
