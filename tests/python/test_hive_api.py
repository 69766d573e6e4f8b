"""The hive API (cohesix.connect) against `cohesix dev`: read, append, ls, stat, tail, spawn, kill,
lifecycle, and refusals that carry errno, reason and the hive's own reason."""

from __future__ import annotations

import pytest
from conftest import DevHive

import cohesix
from cohesix.errors import EINVAL, EISDIR, ENOENT, ENOTDIR, EPERM, EROFS, NineError


def queen(hive: DevHive) -> cohesix.Hive:
    return cohesix.connect("127.0.0.1", hive.ninep, role="queen")


def test_read_ls_and_stat_show_the_namespace(hive: DevHive) -> None:
    with queen(hive) as h:
        boot = h.read_text("/proc/boot")
        assert boot.startswith("Cohesix boot: root-task online\n")
        assert "secure9p msize=8192 walk_depth=8" in boot
        root = h.ls("/")
        assert {"gpu", "log", "proc", "queen", "trace"} <= set(root) and root == sorted(root)
        st = h.stat("/log/queen.log")
        assert (st.kind, st.path) == ("append", "/log/queen.log")
        assert h.stat("/proc").kind == "dir"
        assert h.stat("/proc/boot").size == len(boot.encode())


def test_append_then_read_back(hive: DevHive) -> None:
    with queen(hive) as h:
        before = h.stat("/log/queen.log").size
        assert h.append("/log/queen.log", "python was here\n") == 16
        assert h.stat("/log/queen.log").size == before + 16
        assert h.read_text("/log/queen.log").endswith("python was here\n")


def test_refusals_carry_errno_reason_and_path(hive: DevHive) -> None:
    with queen(hive) as h:
        with pytest.raises(NineError) as e:
            h.read("/does/not/exist")
        assert (e.value.errno, e.value.reason, e.value.detail, e.value.path) == (ENOENT, "policy", "invalid-path", "/does/not/exist")
        with pytest.raises(NineError) as e:
            h.read("/proc")
        assert e.value.errno == EISDIR
        with pytest.raises(NineError) as e:
            h.ls("/proc/boot")
        assert e.value.errno == ENOTDIR
        with pytest.raises(NineError) as e:
            h.read("/proc/../proc/boot")
        assert e.value.errno == EINVAL
        # The session still serves after every refusal.
        assert "boot" in h.ls("/proc")


def test_an_observer_cannot_write_the_queen_ctl(hive: DevHive) -> None:
    with cohesix.connect("127.0.0.1", hive.ninep, role="observer") as h:
        with pytest.raises(NineError) as e:
            h.append("/queen/ctl", '{"kill":"worker-1"}\n')
        assert (e.value.errno, e.value.reason, e.value.detail) == (EPERM, "policy", "denied")


def test_a_worker_role_without_a_ticket_cannot_attach(hive: DevHive) -> None:
    with pytest.raises(NineError) as e:
        cohesix.connect("127.0.0.1", hive.ninep, role="worker-heartbeat")
    assert (e.value.errno, e.value.op) == (EPERM, "attach")


def test_spawn_tail_follow_and_kill(hive: DevHive) -> None:
    with queen(hive) as h:
        worker = h.spawn("heartbeat", ticks=1000, ttl_s=120)
        assert worker in h.workers()
        lines = []
        for line in h.tail(h.telemetry_path(worker), follow=True, timeout=60):
            lines.append(line)
            if len(lines) == 2:
                break
        assert lines == ["heartbeat 1", "heartbeat 2"]
        h.kill(worker)
        assert worker not in h.workers()
        log = h.read_text("/log/queen.log")
        assert f"revoke worker={worker} reason=killed" in log


def test_tail_follow_ends_when_the_hive_retires_the_worker(hive: DevHive) -> None:
    with queen(hive) as h:
        worker = h.spawn("heartbeat", ticks=3)
        path = h.telemetry_path(worker)
        assert h.stat(path).kind == "append"
        # The worker runs its 3 ticks and exits; the follow drains every line, then ends by itself.
        assert list(h.tail(path, follow=True, timeout=60)) == ["heartbeat 1", "heartbeat 2", "heartbeat 3"]
        assert worker not in h.workers()
        assert worker in h.workers(include_exited=True)
        # The hive keeps the exited worker's telemetry, read-only.
        assert h.stat(path).kind == "file"
        with pytest.raises(NineError) as e:
            h.append(path, "late\n")
        assert e.value.errno == EROFS


def test_kill_of_an_unknown_worker_carries_the_hives_reason(hive: DevHive) -> None:
    with queen(hive) as h:
        with pytest.raises(NineError) as e:
            h.kill("worker-999999")
        assert (e.value.errno, e.value.reason, e.value.hive_reason) == (ENOENT, "policy", "unknown-worker")
        assert e.value.hive_line is not None and e.value.hive_line.startswith("queen-ctl outcome=reject")


def test_a_spawn_the_hive_rejects_leaves_no_worker(hive: DevHive) -> None:
    with queen(hive) as h:
        before = h.workers()
        with pytest.raises(NineError) as e:
            h.spawn("gpu", gpu_id="GPU-9", mem_mb=1, streams=1, ttl_s=5)
        assert e.value.hive_reason is not None
        assert h.workers() == before
        with pytest.raises(NineError) as e:
            h.spawn("heartbeat")
        assert e.value.errno == EINVAL


def test_lifecycle_refuses_an_unknown_action_locally(hive: DevHive) -> None:
    with queen(hive) as h:
        with pytest.raises(NineError) as e:
            h.lifecycle("explode")
        assert e.value.errno == EINVAL and "cordon|drain|resume|quiesce|reset" in str(e.value)


def test_lifecycle_transitions_or_a_clear_refusal_where_the_hive_has_none(fresh_hive: DevHive) -> None:
    """Reference §4 when the hive serves /queen/lifecycle/ctl; until then, ENOENT naming the path."""
    with queen(fresh_hive) as h:
        if "lifecycle" not in h.ls("/proc"):
            with pytest.raises(NineError) as e:
                h.lifecycle("cordon")
            assert (e.value.errno, e.value.path) == (ENOENT, "/queen/lifecycle/ctl")
            return
        assert h.lifecycle_state().state == "ONLINE"
        with pytest.raises(NineError) as e:
            h.lifecycle("drain")  # only from DRAINING
        assert e.value.hive_reason == "invalid-transition"
        assert e.value.hive_line is not None and e.value.hive_line.startswith("lifecycle denied action=drain state=ONLINE")
        assert h.lifecycle_state().state == "ONLINE"
        assert h.lifecycle("cordon").state == "DRAINING"
        assert h.lifecycle("drain").state == "QUIESCED"
        back = h.lifecycle("resume")
        assert back.state == "ONLINE" and back.since_ms > 0
        log = h.read_text("/log/queen.log")
        assert "lifecycle transition old=ONLINE new=DRAINING" in log
        assert "lifecycle transition old=QUIESCED new=ONLINE" in log
