"""`pip install ./clients/python` into a fresh venv with no network (Debian's setuptools and wheel
wheels only), then the shipped examples run against `cohesix dev` with that venv's Python."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest
from conftest import REPO, DevHive

WHEELS = "/usr/share/python-wheels"
EXAMPLES = REPO / "clients" / "python" / "examples"


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("venv")
    venv.create(where, with_pip=True)
    py = where / "bin" / "python"
    # A clean-machine pip: no config files, no index, only the Debian wheels for the build backend.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    out = subprocess.run(
        [str(py), "-m", "pip", "install", "--find-links", WHEELS, str(REPO / "clients" / "python")],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return py


def run(py: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # cwd outside the repo, so only the installed package can be imported.
    return subprocess.run([str(py), *args], capture_output=True, text=True, timeout=120, cwd="/")


def test_the_installed_package_is_importable_typed_and_outside_the_tree(venv_python: Path) -> None:
    out = run(venv_python, "-c", "import cohesix, pathlib; p = pathlib.Path(cohesix.__file__).parent; print(p); print((p / 'py.typed').exists()); print(cohesix.__version__)")
    assert out.returncode == 0, out.stderr
    where, typed, version = out.stdout.split()
    assert "site-packages" in where and not where.startswith(str(REPO))
    assert (typed, version) == ("True", "0.1.0")


def test_watch_telemetry_example(venv_python: Path, hive: DevHive) -> None:
    out = run(venv_python, str(EXAMPLES / "watch_telemetry.py"), "--port", str(hive.ninep), "--lines", "2")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    worker = lines[0].split()[0]
    assert lines == [f"{worker} heartbeat 1", f"{worker} heartbeat 2"]


def test_spawn_kill_example(venv_python: Path, hive: DevHive) -> None:
    out = run(venv_python, str(EXAMPLES / "spawn_kill.py"), "--port", str(hive.ninep))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    worker = lines[0].removeprefix("spawned ")
    assert lines[1].startswith(f"{worker} kind=heartbeat ")
    assert lines[2:] == [
        f"killed {worker}",
        f"spawn worker={worker} kind=heartbeat ticks=1000 ops=10000 ttl_s=60",
        f"revoke worker={worker} reason=killed tick=0 ops=0",
        "kill again: ENOENT reason=policy hive_reason=unknown-worker",
    ]


def test_export_proc_example_is_deterministic(venv_python: Path, hive: DevHive, tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    # /proc/sessions counts this session's own ops, so export a subtree that holds still.
    for out_file in (a, b):
        out = run(venv_python, str(EXAMPLES / "export_proc.py"), "--port", str(hive.ninep), "--root", "/proc/tests", "--out", str(out_file))
        assert out.returncode == 0, out.stderr
    assert a.read_bytes() == b.read_bytes()
    doc = json.loads(a.read_text())
    assert sorted(doc["files"]) == [f"/proc/tests/selftest_{m}.coh" for m in ("full", "negative", "quick")]
    assert doc["files"]["/proc/tests/selftest_quick.coh"] == (REPO / "demo" / "selftest_quick.coh").read_text()
    full = run(venv_python, str(EXAMPLES / "export_proc.py"), "--port", str(hive.ninep))
    assert full.returncode == 0 and "/proc/boot" in json.loads(full.stdout)["files"]


def test_the_module_cli_reports_errno_and_reason(venv_python: Path, hive: DevHive) -> None:
    ok = run(venv_python, "-m", "cohesix", "--port", str(hive.ninep), "cat", "/proc/boot")
    assert ok.returncode == 0 and ok.stdout.startswith("Cohesix boot: root-task online")
    bad = run(venv_python, "-m", "cohesix", "--port", str(hive.ninep), "cat", "/nope")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "cohesix: walk refused: ENOENT reason=policy detail=invalid-path path=/nope"

