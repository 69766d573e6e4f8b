"""Shared fixtures for the Python client tests: a `cohesix dev` hive on free ports, a diod server.

The tests import the package from clients/python/src (test_package.py installs it into a venv).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COHESIX = REPO / "cohesix"
sys.path.insert(0, str(REPO / "clients" / "python" / "src"))


@dataclass
class DevHive:
    ninep: int
    console: int
    proc: subprocess.Popen[str]


def start_dev(*extra: str) -> DevHive:
    """Starts `cohesix dev` on free ports and waits for its JSON line (the event, not a sleep)."""
    proc = subprocess.Popen(
        [str(COHESIX), "dev", "--console-port", "0", "--ninep-port", "0", "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    if not first:
        err = proc.stderr.read() if proc.stderr else ""
        proc.wait()
        raise RuntimeError(f"cohesix dev exited before printing its ports: {err}")
    doc = json.loads(first)
    return DevHive(doc["ninep"]["port"], doc["console"]["port"], proc)


def stop_dev(hive: DevHive) -> None:
    hive.proc.send_signal(signal.SIGTERM)
    try:
        hive.proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        hive.proc.kill()
        hive.proc.communicate()


@pytest.fixture(scope="module")
def hive() -> Iterator[DevHive]:
    """One hive per test module (tests in a module share its state: use fresh worker ids)."""
    h = start_dev()
    try:
        yield h
    finally:
        stop_dev(h)


@pytest.fixture
def fresh_hive() -> Iterator[DevHive]:
    """A hive of its own, for tests that compare whole transcripts or logs."""
    h = start_dev()
    try:
        yield h
    finally:
        stop_dev(h)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


DIOD = "/usr/sbin/diod"


@dataclass
class Diod:
    port: int
    root: Path


@pytest.fixture
def diod() -> Iterator[Diod]:
    """Debian's diod exporting a temp dir on a free port (diod cannot report a port 0 bind)."""
    if not Path(DIOD).exists():
        pytest.fail("diod is not installed: run scripts/install-deps.sh")
    root = Path(tempfile.mkdtemp(prefix="cohesix-py-diod-"))
    port = free_port()
    proc = subprocess.Popen(
        [DIOD, "-f", "-n", "-e", str(root), "-l", f"127.0.0.1:{port}", "-L", "stderr"],
        cwd=root,  # anything diod leaves behind stays in the temp dir
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"diod did not start on port {port}") from None
                time.sleep(0.05)
        yield Diod(port, root)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
