"""``python -m cohesix`` (also ``cohesix-py``): read, list and script a hive from the shell.

Exit codes: 0 ok, 1 refused by the hive or unreachable (the error line names errno and reason),
2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from .cohsh import ScriptError, run_script
from .console import DEFAULT_AUTH_TOKEN, ConsoleClient
from .errors import CohesixError
from .hive import connect

EXAMPLES = """examples:
  python -m cohesix cat /proc/boot
  python -m cohesix ls /proc --port 5640
  python -m cohesix stat /log/queen.log --json
  python -m cohesix script demo/demo.coh --console-port 31337     # same transcript as cohsh
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cohesix", description=__doc__, epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5640, help="Secure9P port (default 5640)")
    p.add_argument("--console-port", type=int, default=31337, help="console port for 'script' (default 31337)")
    p.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    p.add_argument("--role", default="queen")
    p.add_argument("--ticket")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("cat", "ls", "stat"):
        sp = sub.add_parser(name)
        sp.add_argument("path")
        sp.add_argument("--json", action="store_true", help="machine-readable output")
    sub.add_parser("script", help="run a .coh script over the console").add_argument("file")
    args = p.parse_args(argv)
    try:
        if args.cmd == "script":
            with open(args.file, encoding="utf-8") as f:
                text = f.read()
            with ConsoleClient.connect(args.host, args.console_port, args.auth_token) as console:
                result = run_script(console, text, args.file, print)
            if not result.ok:
                print(f"cohsh: {result.failure}", file=sys.stderr)
            return 0 if result.ok else 1
        with connect(args.host, args.port, role=args.role, ticket=args.ticket) as hive:
            if args.cmd == "cat":
                sys.stdout.buffer.write(hive.read(args.path))
            elif args.cmd == "ls":
                names = hive.ls(args.path)
                print(json.dumps(names) if args.json else "\n".join(names))
            else:
                st = hive.stat(args.path)
                print(json.dumps(asdict(st)) if args.json else " ".join(f"{k}={v}" for k, v in asdict(st).items()))
        return 0
    except ScriptError as e:
        print(f"cohsh: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if isinstance(e, CohesixError):
            print(f"cohesix: {e}", file=sys.stderr)
        else:
            print(f"cohesix: {e.strerror or e}", file=sys.stderr)
        return 1
