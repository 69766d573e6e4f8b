#!/usr/bin/env python3
"""Export the hive's /proc tree to JSON: every file's text, keyed by path.

    python examples/export_proc.py --port 5640 --out proc.json

The document is {"version": 1, "files": {"/proc/boot": "...", ...}, "refused": {path: "ERRNO reason"}},
keys sorted, so two exports of the same hive state are byte-identical.
"""

import argparse
import json
import sys

import cohesix


def walk(hive: cohesix.Hive, path: str, files: dict[str, str], refused: dict[str, str]) -> None:
    try:
        st = hive.stat(path)
        if st.kind == "dir":
            for name in hive.ls(path):
                walk(hive, f"{path.rstrip('/')}/{name}", files, refused)
        else:
            files[path] = hive.read_text(path)
    except cohesix.CohesixError as e:
        refused[path] = f"{e.errno_name} {e.reason}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5640, help="the hive's Secure9P port")
    p.add_argument("--role", default="queen")
    p.add_argument("--root", default="/proc", help="subtree to export (default /proc)")
    p.add_argument("--out", help="write here instead of stdout")
    args = p.parse_args()
    files: dict[str, str] = {}
    refused: dict[str, str] = {}
    try:
        with cohesix.connect(args.host, args.port, role=args.role) as hive:
            walk(hive, args.root, files, refused)
    except cohesix.CohesixError as e:
        print(f"export_proc: {e}", file=sys.stderr)
        return 1
    text = json.dumps({"version": 1, "root": args.root, "files": files, "refused": refused}, indent=2, sort_keys=True) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"export_proc: {len(files)} files, {len(refused)} refused -> {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
