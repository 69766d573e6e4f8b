/**
 * 1,000 workers in one hive (Milestone 14's shard_scale): the default manifest raised to
 * profile.max_workers = 1000 compiles only once profile.memory_bytes covers the budget; booted from it,
 * the hive spawns 1,000 heartbeat workers through /queen/ctl, each reachable at
 * /shard/<sha256 label>/worker/<id>/telemetry and through its /worker alias, spread over the labels.
 */
import { assert, assertEquals, assertThrows } from "../support/assert.ts";
import { compileManifestText } from "../../src/codegen/load.ts";
import { bootConfigValue } from "../../src/codegen/emit/bootstrap.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { shardLabel } from "../../src/guest/ninedoor/shard.ts";
import { NsClient } from "./ns_client.ts";

const MANIFEST = await Deno.readTextFile(new URL("../../configs/root_task.toml", import.meta.url));

function withWorkers(text: string, workers: number, memory: number): string {
  const out = text.replace(/^max_workers = \d+$/m, `max_workers = ${workers}`)
    .replace(/^memory_bytes = \d+/m, `memory_bytes = ${memory}`);
  assert(out.includes(`max_workers = ${workers}`) && out.includes(`memory_bytes = ${memory}`));
  return out;
}

Deno.test("1,000 sharded workers: the manifest budget asks for memory, then one hive spawns and ticks them all", () => {
  assertThrows(() => compileManifestText(withWorkers(MANIFEST, 1000, 33554432), "big.toml"), /budgets need \d+ bytes but profile.memory_bytes is 33554432/);
  const m = compileManifestText(withWorkers(MANIFEST, 1000, 134217728), "big.toml");
  const boot = bootConfigValue(m);
  assertEquals([boot.limits.maxWorkers, boot.sharding], [1000, { enabled: true, shardBits: 8, legacyWorkerAlias: true }]);
  const nd = new NineDoor(boot);
  nd.advance(0);
  const queen = new NsClient(nd, nd.attach("queen", ""));
  const batch = '{"spawn":"heartbeat","ticks":1000}\n'.repeat(boot.limits.maxCtlCommands);
  for (let i = 0; i < 1000 / boot.limits.maxCtlCommands; i++) assertEquals(queen.write("/queen/ctl", batch), batch.length);
  assertEquals(nd.workers.liveCount, 1000);
  nd.advance(2000);
  const perLabel = new Map<string, number>();
  for (let i = 1; i <= 1000; i++) {
    const id = `worker-${i}`;
    const label = shardLabel(id, 8);
    perLabel.set(label, (perLabel.get(label) ?? 0) + 1);
    assertEquals(queen.read(`/shard/${label}/worker/${id}/telemetry`), "heartbeat 1\nheartbeat 2\n", id);
    if (i % 97 === 0) assertEquals(queen.read(`/worker/${id}/telemetry`), "heartbeat 1\nheartbeat 2\n", id);
  }
  // sha256 spreads 1,000 ids over most of the 256 labels; no label holds more than a few dozen.
  assert(perLabel.size > 240, `labels used: ${perLabel.size}`);
  assert(Math.max(...perLabel.values()) < 16, `largest label: ${Math.max(...perLabel.values())}`);
  let listed = 0;
  for (const label of perLabel.keys()) listed += (queen.list(`/shard/${label}/worker`) as string[]).length;
  assertEquals(listed, 1000);
  assertEquals((queen.list("/worker") as string[]).length, 1000);
});
