#!/usr/bin/env python3
"""Python client benchmark: reads of one hive file with 1 request in flight against 4 and 16.

    ./cohesix dev --ninep-port 0 --console-port 0 --json &     # note the 9P port
    PYTHONPATH=clients/python/src python3 bench/python/pipeline_bench.py --port PORT [--reads 4000] [--reps 3]

Prints reads/s for each depth (median of --reps runs that alternate between depths, so load on a
shared machine hits all alike) and the ratio against depth 1. Not a test: numbers, no verdict.
"""

from __future__ import annotations

import argparse
import statistics
import time

from cohesix import wire
from cohesix.ninep import NineClient


def run(port: int, depth: int, reads: int) -> float:
    with NineClient.dial("127.0.0.1", port, max_inflight=16) as c:
        root = c.new_fid()
        c.attach(root, "queen", "")
        fid = c.new_fid()
        c.walk(root, fid, ["proc", "boot"])
        c.open(fid, wire.O_RDONLY)
        t0 = time.perf_counter()
        done = 0
        while done < reads:
            batch = min(depth, reads - done)
            c.gather([c.read_async(fid, 0, 256) for _ in range(batch)])
            done += batch
        return reads / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True, help="the hive's 9P port")
    p.add_argument("--reads", type=int, default=4000)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    depths = (1, 4, 16)
    rates: dict[int, list[float]] = {d: [] for d in depths}
    for _ in range(args.reps):
        for d in depths:
            rates[d].append(run(args.port, d, args.reads))
    base = statistics.median(rates[1])
    for d in depths:
        m = statistics.median(rates[d])
        print(f"depth {d:2d}: {m:9.0f} reads/s (spread {min(rates[d]):.0f}..{max(rates[d]):.0f})  x{m / base:.2f} vs depth 1")


if __name__ == "__main__":
    main()
