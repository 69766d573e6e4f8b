"""The package is typed: mypy --strict (Debian's python3-mypy) finds nothing in it or its examples."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_mypy_strict_passes_on_the_package_and_examples() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null",
         "clients/python/src", "clients/python/examples"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("Success: no issues found")
