"""NineClient (Secure9P / 9P2000.L) against `cohesix dev`: negotiation, pipelining, the red lines,
and errors that carry errno + reason."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from conftest import DevHive

from cohesix import wire
from cohesix.errors import EINVAL, EMSGSIZE, ENOENT, EPERM, EPROTO, EROFS, NineError, ProtocolError, TransportError
from cohesix.ninep import NineClient


def attached(hive: DevHive, **kw: int) -> tuple[NineClient, int]:
    c = NineClient.dial("127.0.0.1", hive.ninep, **kw)
    root = c.new_fid()
    c.attach(root, "queen", "")
    return c, root


def test_version_caps_msize_at_8192_even_when_more_is_asked(hive: DevHive) -> None:
    with NineClient.dial("127.0.0.1", hive.ninep, msize=65536) as c:
        assert c.msize == 8192
    with NineClient.dial("127.0.0.1", hive.ninep, msize=4096) as c:
        assert c.msize == 4096


def test_pipelined_reads_are_matched_by_tag_and_bounded_by_the_window(hive: DevHive) -> None:
    c, root = attached(hive, max_inflight=4)
    with c:
        fid = c.new_fid()
        c.walk(root, fid, ["proc", "boot"])
        c.open(fid, wire.O_RDONLY)
        whole = c.read(fid, 0, 8192)
        # 40 reads of distinct 7-byte windows, all in flight through a 4-tag window.
        futures = [c.read_async(fid, i, 7) for i in range(40)]
        got = c.gather(futures)
        assert got == [whole[i : i + 7] for i in range(40)]
        assert c.peak_inflight <= 4
        assert c.inflight == 0


def test_walk_open_read_clunk_pipelined_in_one_round_trip(hive: DevHive) -> None:
    c, root = attached(hive)
    with c:
        fid = c.new_fid()
        walk = c.walk_async(root, fid, ["proc", "boot"])
        opened = c.open_async(fid, wire.O_RDONLY)
        read = c.read_async(fid, 0, 4096)
        clunk = c.clunk_async(fid)
        assert len(c.gather([walk, opened, read, clunk])) == 4
        assert read.result().startswith(b"Cohesix boot: root-task online\n")


@pytest.mark.parametrize(
    "names",
    [[".."], ["proc", "."], [""], ["a/b"], ["proc"] * 9],
    ids=["dotdot", "dot", "empty", "slash", "depth-9"],
)
def test_red_line_walks_are_refused_locally_with_einval_and_the_session_survives(hive: DevHive, names: list[str]) -> None:
    c, root = attached(hive)
    with c:
        with pytest.raises(NineError) as e:
            c.walk(root, c.new_fid(), names)
        assert (e.value.errno, e.value.reason, e.value.detail) == (EINVAL, "policy", "invalid-payload")
        assert c.inflight == 0
        fid = c.new_fid()
        assert len(c.walk(root, fid, ["proc", "boot"])) == 2


def test_a_clunked_fid_is_never_used_again(hive: DevHive) -> None:
    c, root = attached(hive)
    with c:
        fid = c.new_fid()
        c.walk(root, fid, ["proc"])
        c.clunk(fid)
        with pytest.raises(NineError) as e:
            c.walk(root, fid, ["proc"])
        assert e.value.errno == EINVAL and "never reuses" in str(e.value)
        assert c.new_fid() > fid


def test_the_hive_refuses_a_reused_fid_too(hive: DevHive) -> None:
    """Bypassing the client's guard: the server's own red line answers EINVAL."""
    c, root = attached(hive)
    with c:
        fid = c.new_fid()
        c.walk(root, fid, ["proc"])
        c.clunk(fid)
        raw = c._submit("walk", wire.Twalk, wire.Rwalk, wire.t_walk(root, fid, ["proc"]), lambda r: r.u16())
        with pytest.raises(NineError) as e:
            c.wait(raw)
        assert e.value.errno == EINVAL


def test_a_write_over_msize_is_refused_before_sending(hive: DevHive) -> None:
    c, root = attached(hive)
    with c:
        fid = c.new_fid()
        c.walk(root, fid, ["log", "queen.log"])
        c.open(fid, wire.O_WRONLY | wire.O_APPEND)
        with pytest.raises(NineError) as e:
            c.write(fid, 0, b"x" * 8192)
        assert (e.value.errno, e.value.reason, e.value.detail) == (EMSGSIZE, "quota", "buffer-full")
        assert c.inflight == 0


def test_rlerror_becomes_an_exception_with_errno_reason_and_detail(hive: DevHive) -> None:
    c, root = attached(hive)
    with c:
        with pytest.raises(NineError) as e:
            c.walk(root, c.new_fid(), ["nope"])
        assert (e.value.errno, e.value.reason, e.value.detail, e.value.op) == (ENOENT, "policy", "invalid-path", "walk")
        fid = c.new_fid()
        c.walk(root, fid, ["proc", "boot"])
        with pytest.raises(NineError) as e:
            c.open(fid, wire.O_WRONLY)
        assert (e.value.errno, e.value.reason, e.value.detail) == (EROFS, "policy", "denied")


def test_attach_without_a_ticket_is_refused_for_a_worker_role(hive: DevHive) -> None:
    with NineClient.dial("127.0.0.1", hive.ninep) as c:
        with pytest.raises(NineError) as e:
            c.attach(c.new_fid(), "worker-heartbeat", "")
        assert e.value.errno == EPERM


class HoldingServer:
    """A 9P peer that answers Tversion, then holds every request until `batch` are outstanding and
    answers them in reverse order: a client that waits for each reply before sending the next
    request never gets an answer, and one that matched replies by order would mix them up."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.tags_seen: list[int] = []
        self.error = ""
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.port = int(self.srv.getsockname()[1])
        threading.Thread(target=self.run, daemon=True).start()

    def frames(self, conn: socket.socket) -> Iterator[tuple[int, int, bytes]]:
        buf = b""
        while True:
            while len(buf) < 4 or len(buf) < int.from_bytes(buf[:4], "little"):
                more = conn.recv(65536)
                if not more:
                    return
                buf += more
            n = int.from_bytes(buf[:4], "little")
            yield buf[4], int.from_bytes(buf[5:7], "little"), buf[7:n]
            buf = buf[n:]

    def run(self) -> None:
        conn, _ = self.srv.accept()
        held: list[tuple[int, bytes]] = []
        for mtype, tag, body in self.frames(conn):
            if mtype == wire.Tversion:
                conn.sendall(wire.frame(wire.Rversion, tag, body))
                continue
            if tag in [h[0] for h in held]:
                self.error = f"tag {tag} reused while in flight"
            self.tags_seen.append(tag)
            # Tread: fid[4] offset[8] count[4]; answer with the offset as text, so replies are checkable.
            offset = int.from_bytes(body[4:12], "little")
            held.append((tag, str(offset).encode()))
            if len(held) == self.batch:
                for t, data in reversed(held):
                    conn.sendall(wire.frame(wire.Rread, t, len(data).to_bytes(4, "little") + data))
                held.clear()
        conn.close()
        self.srv.close()


def test_requests_are_pipelined_and_replies_matched_by_tag_out_of_order() -> None:
    peer = HoldingServer(batch=4)
    with NineClient.dial("127.0.0.1", peer.port, max_inflight=4, timeout=10) as c:
        futures = [c.read_async(1, offset, 100) for offset in range(12)]
        assert c.gather(futures) == [str(o).encode() for o in range(12)]
    assert peer.error == ""
    assert len(peer.tags_seen) == 12 and set(peer.tags_seen) <= {0, 1, 2, 3}


def serve_once(reply: bytes) -> int:
    """A one-shot TCP peer: answers the first request with `reply`, then holds the line."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def run() -> None:
        conn, _ = srv.accept()
        conn.recv(4096)
        conn.sendall(reply)
        conn.recv(4096)  # until the client closes
        conn.close()
        srv.close()

    threading.Thread(target=run, daemon=True).start()
    return int(srv.getsockname()[1])


def test_a_reply_frame_over_msize_is_a_protocol_error() -> None:
    port = serve_once((70000).to_bytes(4, "little") + b"\x65\xff\xff")
    with pytest.raises(ProtocolError) as e:
        NineClient.dial("127.0.0.1", port, timeout=10)
    assert e.value.errno == EPROTO and "size 70000" in str(e.value)


def test_a_wrong_reply_type_is_a_protocol_error() -> None:
    port = serve_once(wire.frame(wire.Rattach, wire.NOTAG, b"\0" * 13))
    with pytest.raises(ProtocolError) as e:
        NineClient.dial("127.0.0.1", port, timeout=10)
    assert "Rattach as the reply to version" in str(e.value)


def test_dialing_a_closed_port_says_what_to_do() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransportError) as e:
        NineClient.dial("127.0.0.1", port)
    assert "cohesix dev" in str(e.value)
