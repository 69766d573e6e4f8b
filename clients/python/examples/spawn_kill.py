#!/usr/bin/env python3
"""Spawn a worker, show it in /proc/workers, kill it, and show what the queen's log says.

    python examples/spawn_kill.py --port 5640

Prints `spawned <id>`, the worker's /proc/workers line, `killed <id>`, then the hive's log lines
about that worker (spawn and revoke). Killing it twice shows the hive's refusal: errno, reason
and the hive's own reason from its log.
"""

import argparse
import sys

import cohesix


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5640, help="the hive's Secure9P port")
    args = p.parse_args()
    with cohesix.connect(args.host, args.port, role="queen") as hive:
        worker = hive.spawn("heartbeat", ticks=1000, ttl_s=60)
        print(f"spawned {worker}")
        row = [l for l in hive.read_text("/proc/workers").splitlines() if l.startswith(f"{worker} ")]
        print(row[0] if row else f"{worker} missing from /proc/workers")
        hive.kill(worker)
        print(f"killed {worker}")
        for line in hive.read_text("/log/queen.log").splitlines():
            if f"worker={worker} " in line:
                print(line)
        try:
            hive.kill(worker)
        except cohesix.CohesixError as e:
            print(f"kill again: {e.errno_name} reason={e.reason} hive_reason={e.hive_reason}")
        return 0 if worker not in hive.workers() else 1


if __name__ == "__main__":
    sys.exit(main())
