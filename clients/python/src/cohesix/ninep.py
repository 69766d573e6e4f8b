"""A pipelining Secure9P (9P2000.L) client with the red lines enforced on the client side.

Every request gets a tag from a bounded window (``max_inflight``, at most the hive's 16 tags per
session by default) and is sent at once; a reader thread matches replies to requests by tag, in
any order. The ``*_async`` methods return a :class:`concurrent.futures.Future`, so several
requests can be in flight; the plain methods wait for their reply.

Red lines (Secure9P), refused locally with ``EINVAL``/``EMSGSIZE`` before anything is sent:
msize is at most 8192; a walk has at most 8 names, none empty, ``.``, ``..`` or holding ``/``;
a fid number is never reused after clunk (new fids only count up); a frame never exceeds msize.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any, TypeVar

from . import wire
from .errors import (
    ECONNREFUSED,
    ECONNRESET,
    EINVAL,
    EMSGSIZE,
    ENOENT,
    EOPNOTSUPP,
    ETIMEDOUT,
    NineError,
    ProtocolError,
    TransportError,
    errno_name,
)
from .wire import Attr, DirEntry, Qid, Reader

T = TypeVar("T")

MAX_MSIZE = 8192
MAX_WALK = 8
DEFAULT_INFLIGHT = 16
DEFAULT_TIMEOUT = 30.0


def check_walk_names(names: list[str]) -> None:
    """Raises NineError(EINVAL) for a walk Secure9P refuses: > 8 names, empty, ``.``/``..``, ``/`` or NUL."""
    if len(names) > MAX_WALK:
        raise NineError(EINVAL, f"a walk takes at most {MAX_WALK} names, got {len(names)}", op="walk")
    for n in names:
        if n in ("", ".", "..") or "/" in n or "\0" in n:
            raise NineError(EINVAL, f"walk name {n!r} is not allowed (empty, '.', '..', '/' or NUL)", op="walk")


def split_path(path: str) -> list[str]:
    """``/a/b`` -> ``["a", "b"]``; the path must be absolute and free of ``.``/``..``/empty parts."""
    if not path.startswith("/"):
        raise NineError(EINVAL, f"hive paths are absolute, got {path!r}", op="walk", path=path)
    names = [n for n in path.split("/")[1:]]
    if names and names[-1] == "":
        names.pop()
    try:
        check_walk_names(names)
    except NineError as e:
        e.path = path
        raise
    return names


class _Pending:
    __slots__ = ("op", "expect", "parse", "future")

    def __init__(self, op: str, expect: int, parse: Callable[[Reader], Any], future: Future[Any]) -> None:
        self.op = op
        self.expect = expect
        self.parse = parse
        self.future = future


class NineClient:
    """One 9P2000.L session over a stream socket. Thread-safe; use as a context manager."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        msize: int = MAX_MSIZE,
        max_inflight: int = DEFAULT_INFLIGHT,
        timeout: float = DEFAULT_TIMEOUT,
        name: str = "9p",
    ) -> None:
        if max_inflight < 1 or max_inflight > 0xFFFF:
            raise ValueError("max_inflight must be 1..65535")
        self.name = name
        self.timeout = timeout
        self.max_inflight = max_inflight
        self.msize = min(msize, MAX_MSIZE)
        self._sock = sock
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._window = threading.BoundedSemaphore(max_inflight)
        self._pending: dict[int, _Pending] = {}
        self._free_tags = list(range(max_inflight - 1, -1, -1))
        self._next_fid = 1
        self._clunked: set[int] = set()
        self._failure: Exception | None = None
        self.peak_inflight = 0
        self._reader = threading.Thread(target=self._read_loop, name=f"cohesix-9p-{name}", daemon=True)
        self._reader.start()
        try:
            self._negotiate(self.msize)
        except BaseException:
            self.close()
            raise

    @classmethod
    def dial(
        cls,
        host: str,
        port: int,
        *,
        msize: int = MAX_MSIZE,
        max_inflight: int = DEFAULT_INFLIGHT,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> NineClient:
        """Connects to a 9P server over TCP and negotiates 9P2000.L."""
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except ConnectionRefusedError:
            raise TransportError(
                ECONNREFUSED,
                f"Cannot reach 9P at {host}:{port} (connection refused); start a hive with 'cohesix dev' or check the port",
            ) from None
        except TimeoutError:
            raise TransportError(ETIMEDOUT, f"Cannot reach 9P at {host}:{port} within {timeout} s") from None
        except OSError as e:
            raise TransportError(e.errno or ECONNRESET, f"Cannot reach 9P at {host}:{port}: {e.strerror}") from None
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, msize=msize, max_inflight=max_inflight, timeout=timeout, name=f"{host}:{port}")

    def __enter__(self) -> NineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- fids -----------------------------------------------------------------------------------

    def new_fid(self) -> int:
        """A fid number never handed out before on this session (Secure9P retires clunked fids)."""
        with self._lock:
            fid = self._next_fid
            self._next_fid += 1
            return fid

    def _live(self, fid: int, op: str) -> None:
        if fid in self._clunked:
            raise NineError(EINVAL, f"fid {fid} was clunked; Secure9P never reuses a fid", op=op)

    @property
    def io_chunk(self) -> int:
        """Bytes per Tread/Twrite every server accepts (msize - 24)."""
        return self.msize - wire.IOHDRSZ

    # ---- requests -------------------------------------------------------------------------------

    def _negotiate(self, want: int) -> None:
        def parse(r: Reader) -> tuple[int, str]:
            return r.u32(), r.str()

        got_msize, version = self._submit("version", wire.Tversion, wire.Rversion, wire.t_version(want), parse, wire.NOTAG).result(self.timeout)
        if version != wire.VERSION:
            raise NineError(EOPNOTSUPP, f"the server speaks {version!r}, not {wire.VERSION}", op="version")
        if got_msize < 64:
            raise ProtocolError(f"Cannot use msize {got_msize} from the server (below 64 bytes)")
        self.msize = min(got_msize, want)

    def attach_async(self, fid: int, uname: str, aname: str = "", n_uname: int = 0xFFFFFFFF) -> Future[Qid]:
        return self._submit("attach", wire.Tattach, wire.Rattach, wire.t_attach(fid, uname, aname, n_uname), lambda r: r.qid())

    def attach(self, fid: int, uname: str, aname: str = "", n_uname: int = 0xFFFFFFFF) -> Qid:
        return self._wait(self.attach_async(fid, uname, aname, n_uname))

    def walk_async(self, fid: int, newfid: int, names: list[str]) -> Future[list[Qid]]:
        check_walk_names(names)
        self._live(fid, "walk")
        self._live(newfid, "walk")

        def parse(r: Reader) -> list[Qid]:
            n = r.u16()
            qids = [r.qid() for _ in range(n)]
            if n < len(names):  # a partial walk made no newfid: the name at n does not exist
                raise NineError(ENOENT, f"walk stopped at {names[n]!r}", op="walk")
            return qids

        return self._submit("walk", wire.Twalk, wire.Rwalk, wire.t_walk(fid, newfid, names), parse)

    def walk(self, fid: int, newfid: int, names: list[str]) -> list[Qid]:
        return self._wait(self.walk_async(fid, newfid, names))

    def open_async(self, fid: int, flags: int) -> Future[tuple[Qid, int]]:
        self._live(fid, "lopen")
        return self._submit("lopen", wire.Tlopen, wire.Rlopen, wire.t_lopen(fid, flags), lambda r: (r.qid(), r.u32()))

    def open(self, fid: int, flags: int) -> tuple[Qid, int]:
        return self._wait(self.open_async(fid, flags))

    def retire(self, fid: int) -> None:
        """Marks a fid number as used up without a Tclunk (a walk that failed never made it)."""
        with self._lock:
            self._clunked.add(fid)

    def settle(self, futures: Iterable[Future[Any]]) -> None:
        """Waits for requests whose outcome no longer matters (after an earlier pipelined step failed)."""
        for f in futures:
            try:
                f.exception(self.timeout)
            except TimeoutError:
                pass

    def create(self, fid: int, name: str, flags: int, mode: int, gid: int = 0) -> tuple[Qid, int]:
        check_walk_names([name])
        self._live(fid, "lcreate")
        body = wire.t_lcreate(fid, name, flags, mode, gid)
        return self._wait(self._submit("lcreate", wire.Tlcreate, wire.Rlcreate, body, lambda r: (r.qid(), r.u32())))

    def mkdir(self, dfid: int, name: str, mode: int = 0o755, gid: int = 0) -> Qid:
        check_walk_names([name])
        return self._wait(self._submit("mkdir", wire.Tmkdir, wire.Rmkdir, wire.t_mkdir(dfid, name, mode, gid), lambda r: r.qid()))

    def read_async(self, fid: int, offset: int, count: int) -> Future[bytes]:
        self._live(fid, "read")
        return self._submit("read", wire.Tread, wire.Rread, wire.t_read(fid, offset, min(count, self.io_chunk)), lambda r: r.data())

    def read(self, fid: int, offset: int, count: int) -> bytes:
        return self._wait(self.read_async(fid, offset, count))

    def write_async(self, fid: int, offset: int, data: bytes) -> Future[int]:
        self._live(fid, "write")
        if len(data) > self.io_chunk:
            raise NineError(EMSGSIZE, f"a {len(data)}-byte write exceeds msize {self.msize}; split it (io_chunk={self.io_chunk})", op="write")
        return self._submit("write", wire.Twrite, wire.Rwrite, wire.t_write(fid, offset, data), lambda r: r.u32())

    def write(self, fid: int, offset: int, data: bytes) -> int:
        return self._wait(self.write_async(fid, offset, data))

    def clunk_async(self, fid: int) -> Future[None]:
        self._live(fid, "clunk")
        with self._lock:
            self._clunked.add(fid)
        return self._submit("clunk", wire.Tclunk, wire.Rclunk, wire.t_fid(fid), lambda r: None)

    def clunk(self, fid: int) -> None:
        self._wait(self.clunk_async(fid))

    def remove(self, fid: int) -> None:
        self._live(fid, "remove")
        with self._lock:
            self._clunked.add(fid)  # Tremove clunks the fid even when it fails
        self._wait(self._submit("remove", wire.Tremove, wire.Rremove, wire.t_fid(fid), lambda r: None))

    def unlinkat(self, dfid: int, name: str, flags: int = 0) -> None:
        check_walk_names([name])
        self._wait(self._submit("unlinkat", wire.Tunlinkat, wire.Runlinkat, wire.t_unlinkat(dfid, name, flags), lambda r: None))

    def fsync(self, fid: int) -> None:
        self._wait(self._submit("fsync", wire.Tfsync, wire.Rfsync, wire.t_fsync(fid), lambda r: None))

    def getattr_async(self, fid: int, mask: int = 0x7FF) -> Future[Attr]:
        self._live(fid, "getattr")
        return self._submit("getattr", wire.Tgetattr, wire.Rgetattr, wire.t_getattr(fid, mask), wire.r_getattr)

    def getattr(self, fid: int, mask: int = 0x7FF) -> Attr:
        return self._wait(self.getattr_async(fid, mask))

    def readdir(self, fid: int, offset: int = 0, count: int | None = None) -> list[DirEntry]:
        self._live(fid, "readdir")
        n = self.io_chunk if count is None else min(count, self.io_chunk)
        return self._wait(self._submit("readdir", wire.Treaddir, wire.Rreaddir, wire.t_readdir(fid, offset, n), wire.r_readdir))

    def readdir_all(self, fid: int) -> list[DirEntry]:
        """Every entry of an opened directory, following the server's cookies to the end."""
        out: list[DirEntry] = []
        offset = 0
        while True:
            batch = self.readdir(fid, offset)
            if not batch:
                return out
            out.extend(batch)
            offset = batch[-1].offset

    def flush(self, oldtag: int) -> None:
        self._wait(self._submit("flush", wire.Tflush, wire.Rflush, wire.t_flush(oldtag), lambda r: None))

    def read_all(self, fid: int, depth: int = 4) -> bytes:
        """Reads an opened fid from offset 0 to EOF with up to ``depth`` reads in flight."""
        chunk = self.io_chunk
        parts: list[bytes] = []
        offset = 0
        while True:
            futures = [self.read_async(fid, offset + i * chunk, chunk) for i in range(depth)]
            results = [self._wait(f) for f in futures]
            for data in results:
                parts.append(data)
                offset += len(data)
                if len(data) < chunk:
                    return b"".join(parts)

    def write_all(self, fid: int, offset: int, data: bytes, depth: int = 4) -> int:
        """Writes ``data`` at ``offset`` in msize-sized pieces, ``depth`` in flight; returns bytes written."""
        chunk = self.io_chunk
        pieces = [(offset + i, data[i : i + chunk]) for i in range(0, len(data), chunk)] or [(offset, b"")]
        written = 0
        for start in range(0, len(pieces), depth):
            futures = [self.write_async(fid, off, piece) for off, piece in pieces[start : start + depth]]
            for (off, piece), f in zip(pieces[start : start + depth], futures):
                n = self._wait(f)
                written += n
                if n != len(piece):
                    raise NineError(EMSGSIZE, f"short write at offset {off}: {n} of {len(piece)} bytes", op="write")
        return written

    def gather(self, futures: Iterable[Future[Any]]) -> list[Any]:
        """Waits for several in-flight requests; raises the first failure (after all have finished)."""
        fs = list(futures)
        results: list[Any] = []
        first: BaseException | None = None
        for f in fs:
            try:
                results.append(self._wait(f))
            except BaseException as e:  # noqa: BLE001 - re-raised below
                first = first or e
        if first is not None:
            raise first
        return results

    def close(self) -> None:
        self._fail(TransportError(ECONNRESET, f"Cannot complete the request: the client for {self.name} was closed"))
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        if threading.current_thread() is not self._reader:
            self._reader.join(timeout=5)

    @property
    def inflight(self) -> int:
        with self._lock:
            return len(self._pending)

    # ---- internals ------------------------------------------------------------------------------

    def wait(self, future: Future[T]) -> T:
        """The result of one in-flight request (raises its error)."""
        return self._wait(future)

    def _wait(self, future: Future[T]) -> T:
        try:
            return future.result(self.timeout)
        except TimeoutError:
            raise TransportError(ETIMEDOUT, f"No 9P reply from {self.name} within {self.timeout} s; is the hive alive?") from None

    def _submit(
        self,
        op: str,
        mtype: int,
        expect: int,
        body: bytes,
        parse: Callable[[Reader], T],
        fixed_tag: int | None = None,
    ) -> Future[T]:
        size = wire.HEADER + len(body)
        if size > self.msize and mtype != wire.Tversion:
            raise NineError(EMSGSIZE, f"a {size}-byte {op} frame exceeds msize {self.msize}", op=op)
        if self._failure is not None:
            raise self._failure
        if not self._window.acquire(timeout=self.timeout):
            raise TransportError(ETIMEDOUT, f"the tag window stayed full for {self.timeout} s on {self.name}")
        future: Future[T] = Future()
        with self._lock:
            if self._failure is not None:
                self._window.release()
                raise self._failure
            tag = fixed_tag if fixed_tag is not None else self._free_tags.pop()
            self._pending[tag] = _Pending(op, expect, parse, future)
            self.peak_inflight = max(self.peak_inflight, len(self._pending))
        try:
            with self._send_lock:
                self._sock.sendall(wire.frame(mtype, tag, body))
        except OSError as e:
            self._fail(TransportError(ECONNRESET, f"Cannot send to {self.name}: {e}; reconnect"))
        return future

    def _release(self, tag: int) -> _Pending | None:
        with self._lock:
            p = self._pending.pop(tag, None)
            if p is None:
                return None
            if tag != wire.NOTAG:
                self._free_tags.append(tag)
        self._window.release()
        return p

    def _read_exact(self, n: int) -> bytes | None:
        chunks: list[bytes] = []
        need = n
        while need > 0:
            try:
                got = self._sock.recv(need)
            except OSError:
                return None
            if not got:
                return None
            chunks.append(got)
            need -= len(got)
        return b"".join(chunks)

    def _read_loop(self) -> None:
        try:
            while True:
                head = self._read_exact(4)
                if head is None:
                    break
                size = int.from_bytes(head, "little")
                if size < wire.HEADER or size > max(self.msize, MAX_MSIZE):
                    raise ProtocolError(f"Cannot frame a reply from {self.name}: size {size} is outside 7..{self.msize}")
                rest = self._read_exact(size - 4)
                if rest is None:
                    break
                self._dispatch(rest[0], int.from_bytes(rest[1:3], "little"), rest[3:])
            self._fail(TransportError(ECONNRESET, f"Cannot complete the request: {self.name} closed the connection"))
        except ProtocolError as e:
            self._fail(e)
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _dispatch(self, mtype: int, tag: int, body: bytes) -> None:
        p = self._release(tag)
        if p is None:
            return  # the reply to a flushed request
        try:
            if mtype == wire.Rlerror:
                code = Reader(body, "Rlerror").u32()
                p.future.set_exception(NineError(code, f"{p.op} refused", op=p.op))
            elif mtype != p.expect:
                p.future.set_exception(ProtocolError(f"Cannot use {wire.message_name(mtype)} as the reply to {p.op}"))
            else:
                p.future.set_result(p.parse(Reader(body, wire.message_name(mtype))))
        except (NineError, ProtocolError) as e:
            p.future.set_exception(e)
        except Exception as e:  # noqa: BLE001 - a reply this client cannot parse must not stop the reader
            p.future.set_exception(ProtocolError(f"Cannot decode the reply to {p.op}: {e}"))

    def _fail(self, err: Exception) -> None:
        with self._lock:
            if self._failure is None:
                self._failure = err
            pending = list(self._pending.items())
            self._pending.clear()
        for _tag, p in pending:
            self._window.release()
            if not p.future.done():
                p.future.set_exception(self._failure)


__all__ = ["NineClient", "MAX_MSIZE", "MAX_WALK", "check_walk_names", "split_path"]
