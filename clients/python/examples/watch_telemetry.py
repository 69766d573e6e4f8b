#!/usr/bin/env python3
"""Spawn a heartbeat worker and print its telemetry as it arrives (Ctrl-C stops).

    python examples/watch_telemetry.py --port 5640 --lines 3

Prints one line per telemetry record, `<worker> <record>`; exits 0 after --lines records, or when
the hive retires the worker (its tick budget ran out). The worker is killed on the way out if it
is still alive.
"""

import argparse
import sys

import cohesix


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5640, help="the hive's Secure9P port")
    p.add_argument("--lines", type=int, default=3, help="stop after this many records")
    p.add_argument("--ticks", type=int, default=60, help="the worker's tick budget")
    p.add_argument("--timeout", type=float, default=30.0, help="give up after this many seconds")
    args = p.parse_args()
    try:
        with cohesix.connect(args.host, args.port, role="queen") as hive:
            worker = hive.spawn("heartbeat", ticks=args.ticks)
            seen = 0
            try:
                for record in hive.tail(hive.telemetry_path(worker), follow=True, timeout=args.timeout):
                    print(f"{worker} {record}", flush=True)
                    seen += 1
                    if seen >= args.lines:
                        break
            finally:
                if worker in hive.workers():
                    hive.kill(worker)
            if seen < args.lines:
                print(f"watch_telemetry: only {seen} of {args.lines} records arrived", file=sys.stderr)
                return 1
            return 0
    except cohesix.CohesixError as e:
        print(f"watch_telemetry: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
