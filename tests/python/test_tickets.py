"""Workers attach with tickets (minted by `cohesix ticket mint` with the dev manifest's key): the
worker sees its own slice, every other path is refused with errno and reason, and a bad or expired
ticket never attaches."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from conftest import COHESIX, DevHive

import cohesix
from cohesix.errors import ENOENT, EPERM, NineError


def cli(*args: str) -> str:
    out = subprocess.run([str(COHESIX), *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture(scope="module")
def worker_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev manifest's worker-heartbeat key: seed sha256("cohesix-dev-ticket-key:worker-heartbeat")."""
    key = tmp_path_factory.mktemp("keys") / "worker-heartbeat.json"
    seed = hashlib.sha256(b"cohesix-dev-ticket-key:worker-heartbeat").hexdigest()
    cli("ticket", "keygen", "--out", str(key), "--seed", seed)
    return key


def mint(key: Path, subject: str, *extra: str) -> str:
    return cli("ticket", "mint", "--key", str(key), "--role", "worker-heartbeat", "--subject", subject, *extra)


def test_a_worker_with_a_ticket_sees_its_slice_and_nothing_else(hive: DevHive, worker_key: Path) -> None:
    with cohesix.connect("127.0.0.1", hive.ninep, role="queen") as queen:
        worker = queen.spawn("heartbeat", ticks=1000, ttl_s=120)
        try:
            ticket = mint(worker_key, worker)
            with cohesix.connect("127.0.0.1", hive.ninep, role="worker-heartbeat", ticket=ticket) as w:
                assert w.read_text("/proc/boot").startswith("Cohesix boot:")
                own = queen.telemetry_path(worker)
                assert w.append(own, "custom 1\n") == 9
                assert "custom 1" in list(w.tail(own))
                # Paths outside its rules do not exist for a worker; the queen's files refuse it.
                with pytest.raises(NineError) as e:
                    w.read("/proc/workers")
                assert (e.value.errno, e.value.detail, e.value.path) == (ENOENT, "invalid-path", "/proc/workers")
                for path in ("/queen/ctl", "/log/queen.log"):
                    with pytest.raises(NineError) as e:
                        w.append(path, "{}\n")
                    assert (e.value.errno, e.value.reason, e.value.detail, e.value.path) == (EPERM, "policy", "denied", path)
            log = queen.read_text("/log/queen.log")
            assert "deny op=" in log and f"subject={worker}" in log
        finally:
            queen.kill(worker)


def test_a_ticket_for_another_worker_or_an_expired_one_does_not_attach(hive: DevHive, worker_key: Path) -> None:
    with cohesix.connect("127.0.0.1", hive.ninep, role="queen") as queen:
        worker = queen.spawn("heartbeat", ticks=1000, ttl_s=120)
        try:
            for ticket in (
                mint(worker_key, "worker-999999"),
                mint(worker_key, worker, "--issued-at", "1000", "--ttl-s", "1"),
                mint(worker_key, worker)[:-4] + "AAAA",
            ):
                with pytest.raises(NineError) as e:
                    cohesix.connect("127.0.0.1", hive.ninep, role="worker-heartbeat", ticket=ticket)
                assert (e.value.errno, e.value.op) == (EPERM, "attach")
            reasons = [l.split("reason=")[1] for l in queen.read_text("/log/queen.log").splitlines() if l.startswith("attach outcome=deny role=worker-heartbeat")]
            assert reasons[-3:] == ["bad-subject", "expired", "bad-signature"]
        finally:
            queen.kill(worker)
