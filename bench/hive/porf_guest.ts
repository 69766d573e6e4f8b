/**
 * Guest-only hive load for the Porffor memory benchmark (porf_memory.ts compiles it to Wasm with
 * WORKERS, TICKS and LAYOUT defined by esbuild): spawn WORKERS heartbeat workers, run TICKS ticks, print a
 * checksum of telemetry bytes so the work cannot be skipped.
 */
import { defaultBootConfig } from "../../src/guest/boot.ts";
import { NineDoor } from "../../src/guest/ninedoor/ninedoor.ts";
import { ByteWriter } from "../../src/guest/lib/bytes.ts";

declare const WORKERS: number;
declare const TICKS: number;
/** 0: flat /worker/<id>; 1: /shard/<label>/worker/<id>; 2: sharded plus the /worker alias. */
declare const LAYOUT: number;

const BOOT = defaultBootConfig();
BOOT.limits.maxWorkers = WORKERS > 0 ? WORKERS : 1;
BOOT.sharding = { enabled: LAYOUT > 0, shardBits: 8, legacyWorkerAlias: LAYOUT !== 1 };
const HIVE = new NineDoor(BOOT);
HIVE.advance(0);
const QUEEN = HIVE.attach("queen", "");
const CMD = new ByteWriter(512);
CMD.ascii("queen");
const QDIR = HIVE.walk(QUEEN, HIVE.root(QUEEN), CMD.buf, 0, CMD.len);
CMD.reset();
CMD.ascii("ctl");
const CTL = HIVE.walk(QUEEN, QDIR, CMD.buf, 0, CMD.len);
CMD.reset();
CMD.ascii('{"spawn":"heartbeat","ticks":1000000,"budget":{"ttl_s":0}}\n');
for (let i = 0; i < WORKERS; i++) HIVE.write(QUEEN, CTL, 0, 0, CMD.buf, 0, CMD.len);
for (let t = 1; t <= TICKS; t++) HIVE.advance(t * 1000);
let sum = 0;
for (let w = 0; w < HIVE.workers.cap; w++) sum += HIVE.telemetry.end[w];
console.log("workers " + HIVE.workers.liveCount + " telemetry_bytes " + sum);
