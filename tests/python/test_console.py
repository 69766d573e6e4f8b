"""The console client: frames, AUTH, ACK/ERR parsing, cohsh's shell forms, and transcript parity
with `cohesix cohsh` for the shipped scripts."""

from __future__ import annotations

import subprocess

import pytest
from conftest import COHESIX, REPO, DevHive, start_dev, stop_dev

import cohesix
from cohesix.cohsh import LocalError, ScriptError, parse_script, run_script, spawn_json, to_wire
from cohesix.console import MAX_LINE, ConsoleClient, FrameDecoder, encode_frame, parse_ack
from cohesix.errors import EAGAIN, EMSGSIZE, ENOENT, EPERM, EROFS, ConsoleError, ProtocolError


def test_parse_ack_splits_status_verb_and_fields() -> None:
    a = parse_ack("ERR CAT reason=policy detail=invalid-path path=/nope error=ENOENT")
    assert a is not None and (a.ok, a.verb) == (False, "CAT")
    assert a.fields == {"reason": "policy", "detail": "invalid-path", "path": "/nope", "error": "ENOENT"}
    b = parse_ack("OK CAT path=/proc/boot data=roles=queen,observer|gpus=GPU-0 x")
    assert b is not None and b.fields["data"] == "roles=queen,observer|gpus=GPU-0 x"
    c = parse_ack("ERR PARSE reason=policy detail=missing required argument: path")
    assert c is not None and c.fields["detail"] == "missing required argument: path"
    assert parse_ack("OK AUTH") is not None
    for not_ack in ("PONG", "END", "ok CAT", "OK cat x", "Cohesix boot: root-task online"):
        assert parse_ack(not_ack) is None


def test_frames_round_trip_and_bad_lengths_are_protocol_errors() -> None:
    d = FrameDecoder()
    wire = encode_frame("OK PING reply=pong") + encode_frame("END")
    assert d.push(wire[:5]) == []
    assert d.push(wire[5:]) == ["OK PING reply=pong", "END"]
    assert encode_frame("")[:4] == (4).to_bytes(4, "little")
    for bad in (3, 8193, 4 + MAX_LINE + 1):
        with pytest.raises(ProtocolError):
            FrameDecoder().push(bad.to_bytes(4, "little"))
    with pytest.raises(ConsoleError) as e:
        encode_frame("x" * (MAX_LINE + 1))
    assert e.value.errno == EMSGSIZE


def test_to_wire_matches_cohsh_shell_forms() -> None:
    assert to_wire("echo hello there > /log/queen.log") == "ECHO /log/queen.log hello there"
    assert to_wire('echo "quoted" > /log/queen.log') == "ECHO /log/queen.log quoted"
    assert to_wire("attach queen") == "ATTACH queen"
    assert to_wire("cat /proc/boot") == "CAT /proc/boot"
    assert to_wire("frobnicate x") == "frobnicate x"
    assert to_wire("   ") is None
    assert spawn_json(["heartbeat", "ticks=5", "ttl_s=30", "ops=7"]) == '{"spawn":"heartbeat","ticks":5,"budget":{"ttl_s":30,"ops":7}}'
    assert (
        spawn_json(["gpu", "gpu_id=GPU-0", "mem_mb=64", "streams=2", "ttl_s=10", "priority=1"])
        == '{"spawn":"gpu","lease":{"gpu_id":"GPU-0","mem_mb":64,"streams":2,"ttl_s":10,"priority":1}}'
    )
    for bad in ("echo > /x", "echo hi >", "attach", "attach a b c", "spawn heartbeat", "spawn heartbeat ticks=x", "cat \x01"):
        with pytest.raises(LocalError):
            to_wire(bad)


def test_script_parser_refuses_malformed_scripts() -> None:
    assert [s.command for s in parse_script("# c\nattach queen\nEXPECT OK\nWAIT 5\n", "s")] == ["attach queen", ""]
    for bad in ("EXPECT OK\n", "ping\nEXPECT MAYBE\n", "WAIT 2001\n", "ping\nEXPECT OK x\n", "x\n" * 257):
        with pytest.raises(ScriptError):
            parse_script(bad, "s")


def test_auth_attach_and_errors_over_a_live_console(hive: DevHive) -> None:
    with ConsoleClient.connect("127.0.0.1", hive.console) as c:
        r = c.command("ATTACH queen")
        assert r.ack is not None and r.ack.fields == {"role": "queen"}
        cat = c.command("CAT /proc/boot")
        assert cat.payload[0] == "Cohesix boot: root-task online" and cat.lines[-1] == "END"
        with pytest.raises(ConsoleError) as e:
            c.command("CAT /nope")
        assert (e.value.errno, e.value.reason, e.value.detail, e.value.path) == (ENOENT, "policy", "invalid-path", "/nope")
        with pytest.raises(ConsoleError) as e:
            c.command("ECHO /proc/boot x")
        assert (e.value.errno, e.value.detail) == (EROFS, "denied")
        ping = c.command("PING")
        assert ping.lines == ["PONG", "OK PING reply=pong"]


def test_a_wrong_token_is_refused_with_the_hives_reason(hive: DevHive) -> None:
    with pytest.raises(ConsoleError) as e:
        ConsoleClient.connect("127.0.0.1", hive.console, auth_token="wrong-token")
    assert (e.value.errno, e.value.verb) == (EPERM, "AUTH")
    assert e.value.line in ("ERR AUTH reason=invalid-length", "ERR AUTH reason=invalid-token")


def test_a_malformed_frame_gets_err_frame_and_the_session_stays(hive: DevHive) -> None:
    with ConsoleClient.connect("127.0.0.1", hive.console) as c:
        c.send_raw((9000).to_bytes(4, "little") + b"x" * 8996)
        r = c.read_reply()
        assert r.ack_line == "ERR FRAME reason=invalid-length"
        assert c.command("PING").ack_line == "OK PING reply=pong"


def test_a_throttled_attach_maps_to_eagain(hive: DevHive) -> None:
    with ConsoleClient.connect("127.0.0.1", hive.console) as c:
        assert c.request("ATTACH nosuchrole").ack_line == "ERR ATTACH reason=policy detail=invalid-role"
        with pytest.raises(ConsoleError) as e:
            c.command("ATTACH queen")
        assert (e.value.errno, e.value.reason, e.value.detail) == (EAGAIN, "quota", "throttled")


@pytest.mark.parametrize("script", ["demo.coh", "selftest_quick.coh", "selftest_negative.coh"])
def test_transcript_is_byte_identical_to_cohsh(script: str) -> None:
    """The same script against two fresh hives: cohsh's stdout and the Python runner's lines."""
    path = REPO / "demo" / script
    a, b = start_dev(), start_dev()
    try:
        ref = subprocess.run(
            [str(COHESIX), "cohsh", "--port", str(a.console), "--script", str(path)],
            capture_output=True, text=True, timeout=120,
        )
        assert ref.returncode == 0, ref.stderr
        lines: list[str] = []
        with ConsoleClient.connect("127.0.0.1", b.console) as c:
            result = run_script(c, path.read_text(), str(path), lines.append)
        assert result.ok, result.failure
        assert "".join(l + "\n" for l in lines) == ref.stdout
        assert len(lines) > 10
    finally:
        stop_dev(a)
        stop_dev(b)


def test_a_failing_script_stops_at_the_first_unexpected_err(hive: DevHive) -> None:
    lines: list[str] = []
    with ConsoleClient.connect("127.0.0.1", hive.console) as c:
        result = run_script(c, "attach queen\ncat /nope\nping\n", "t.coh", lines.append)
    assert not result.ok
    assert result.failure == "FAIL t.coh:2: 'cat /nope': unexpected ERR (reply: ERR CAT reason=policy detail=invalid-path path=/nope error=ENOENT)"
    assert "coh> ping" not in lines


def test_tail_follow_streams_appended_lines_until_cancelled(hive: DevHive) -> None:
    with cohesix.connect("127.0.0.1", hive.ninep) as h:
        worker = h.spawn("heartbeat", ticks=1000, ttl_s=120)
        try:
            with ConsoleClient.connect("127.0.0.1", hive.console, timeout=30) as c:
                c.command("ATTACH queen")
                path = h.telemetry_path(worker)
                c.send(f"TAIL -f {path}")
                assert c.recv() == f"OK TAIL path={path}"
                assert [c.recv(), c.recv()] == ["heartbeat 1", "heartbeat 2"]
                c.cancel_follow()
                rest = []
                while (line := c.recv()) != "END":
                    assert line is not None
                    rest.append(line)
                assert all(l.startswith("heartbeat ") for l in rest)
                assert c.command("PING").ack_line == "OK PING reply=pong"
        finally:
            h.kill(worker)
