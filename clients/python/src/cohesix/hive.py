"""The small hive API: ``cohesix.connect(...)`` returns a :class:`Hive` over Secure9P.

Each call walks from the attach root to a fresh fid and clunks it afterwards. The first steps of
a call are pipelined: walk, open and getattr go out together (one round trip), and when the walk is
refused that refusal is the one reported.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Literal

from . import wire
from .errors import EBADF, EINVAL, EISDIR, ENOENT, ENOTDIR, CohesixError, NineError
from .ninep import DEFAULT_TIMEOUT, MAX_MSIZE, NineClient, split_path

DEFAULT_PORT = 5640
QUEEN_CTL = "/queen/ctl"
QUEEN_LOG = "/log/queen.log"
LIFECYCLE_CTL = "/queen/lifecycle/ctl"
LIFECYCLE_DIR = "/proc/lifecycle"
LIFECYCLE_ACTIONS = ("cordon", "drain", "resume", "quiesce", "reset")


@dataclass(frozen=True)
class Stat:
    path: str
    kind: Literal["dir", "append", "file"]
    size: int
    mode: int
    qid_path: int
    qid_version: int


@dataclass(frozen=True)
class Lifecycle:
    """``/proc/lifecycle/{state,reason,since}`` as read after a transition."""

    state: str
    reason: str
    since_ms: int


def _kv(text: str, key: str) -> str:
    for token in text.split():
        if token.startswith(key + "="):
            return token[len(key) + 1 :]
    return ""


class Hive:
    """A session with a hive as one role. Use as a context manager, or call :meth:`close`."""

    def __init__(self, client: NineClient, role: str, root: int) -> None:
        self.client = client
        self.role = role
        self._root = root

    # ---- plumbing -------------------------------------------------------------------------------

    def _walk(self, path: str) -> tuple[int, Future[list[wire.Qid]]]:
        """A new fid for ``path`` and the walk's future (not yet waited for)."""
        names = split_path(path)
        fid = self.client.new_fid()
        return fid, self.client.walk_async(self._root, fid, names)

    def _refused(self, err: CohesixError, path: str, op: str) -> CohesixError:
        err.path = path
        err.op = err.op or op
        return err

    def _drop(self, fid: int) -> None:
        try:
            self.client.clunk(fid)
        except CohesixError:
            pass

    def _open(self, path: str, flags: int) -> tuple[int, wire.Attr]:
        """Walk + open + getattr pipelined; returns the open fid and its attributes."""
        fid, walked = self._walk(path)
        opened = self.client.open_async(fid, flags)
        attr = self.client.getattr_async(fid)
        try:
            self.client.gather([walked])
        except CohesixError as e:
            self.client.settle([opened, attr])
            self.client.retire(fid)  # never made: retire the number anyway
            raise self._refused(e, path, "walk") from None
        try:
            self.client.wait(opened)
            self.client.wait(attr)
        except CohesixError as e:
            self._drop(fid)
            raise self._refused(e, path, "open") from None
        return fid, attr.result()

    # ---- the API --------------------------------------------------------------------------------

    def read(self, path: str) -> bytes:
        """The whole file."""
        fid, attr = self._open(path, wire.O_RDONLY)
        try:
            if attr.qid.is_dir:
                raise NineError(EISDIR, f"{path} is a directory; use ls()", op="read", path=path)
            return self.client.read_all(fid)
        except CohesixError as e:
            raise self._refused(e, path, "read") from None
        finally:
            self._drop(fid)

    def read_text(self, path: str) -> str:
        return self.read(path).decode("utf-8", errors="replace")

    def append(self, path: str, data: bytes | str) -> int:
        """Appends bytes (a str is UTF-8 encoded as is; add the newline yourself). Returns bytes written."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        fid, attr = self._open(path, wire.O_WRONLY | wire.O_APPEND)
        try:
            return self.client.write_all(fid, attr.size, raw, depth=1)
        except CohesixError as e:
            raise self._refused(e, path, "write") from None
        finally:
            self._drop(fid)

    def ls(self, path: str = "/") -> list[str]:
        """Entry names of a directory in byte order (no ``.``/``..``)."""
        fid, attr = self._open(path, wire.O_RDONLY)
        try:
            if not attr.qid.is_dir:
                raise NineError(ENOTDIR, f"{path} is not a directory", op="ls", path=path)
            names = [e.name for e in self.client.readdir_all(fid) if e.name not in (".", "..")]
            return sorted(names, key=lambda n: n.encode("utf-8"))
        except CohesixError as e:
            raise self._refused(e, path, "readdir") from None
        finally:
            self._drop(fid)

    def stat(self, path: str) -> Stat:
        fid, walked = self._walk(path)
        attr_f = self.client.getattr_async(fid)
        try:
            self.client.gather([walked])
        except CohesixError as e:
            self.client.settle([attr_f])
            self.client.retire(fid)
            raise self._refused(e, path, "walk") from None
        try:
            attr = self.client.wait(attr_f)
        except CohesixError as e:
            raise self._refused(e, path, "getattr") from None
        finally:
            self._drop(fid)
        q = attr.qid
        kind: Literal["dir", "append", "file"] = "dir" if q.is_dir else "append" if q.type & wire.QTAPPEND else "file"
        return Stat(path, kind, attr.size, attr.mode, q.path, q.version)

    def tail(self, path: str, follow: bool = False, *, poll_interval: float = 0.1, timeout: float | None = None) -> Iterator[str]:
        """The file's lines; with ``follow``, then every appended line as it arrives (9P reads do not
        block, so the file is polled every ``poll_interval`` s). Following stops when ``timeout``
        seconds pass, when the caller stops iterating, or when nobody can append any more: the file
        stopped being append-only (the hive retired the worker and keeps its telemetry read-only)
        or is gone (EBADF/ENOENT). The lines written up to that point are all yielded."""
        fid, _attr = self._open(path, wire.O_RDONLY)
        writable = True
        deadline = None if timeout is None else time.monotonic() + timeout
        offset = 0
        carry = b""
        try:
            while True:
                try:
                    data = self.client.read(fid, offset, self.client.io_chunk)
                except NineError as e:
                    if follow and e.errno in (EBADF, ENOENT):
                        break  # the file is gone: the follow is over
                    raise self._refused(e, path, "read") from None
                if data:
                    offset += len(data)
                    carry += data
                    *lines, carry = carry.split(b"\n")
                    for line in lines:
                        yield line.decode("utf-8", errors="replace")
                    continue
                if not follow or not writable or (deadline is not None and time.monotonic() >= deadline):
                    break
                try:
                    # Once the file is no longer append-only, one more read drains it and the follow ends.
                    writable = bool(self.client.getattr(fid).qid.type & wire.QTAPPEND)
                except NineError as e:
                    if e.errno in (EBADF, ENOENT):
                        break
                    raise self._refused(e, path, "getattr") from None
                if writable:
                    time.sleep(poll_interval)
            if carry:
                yield carry.decode("utf-8", errors="replace")
        finally:
            self._drop(fid)

    def workers(self, include_exited: bool = False) -> list[str]:
        """Ids of the live workers, from ``/proc/workers`` (one ``<id> kind=...`` line each); with
        ``include_exited`` also those that exited and whose files the hive still retains."""
        return [
            line.split(" ", 1)[0]
            for line in self.read_text("/proc/workers").splitlines()
            if " kind=" in line and not line.startswith("workers ") and (include_exited or " state=exited " not in f"{line} ")
        ]

    def telemetry_path(self, worker_id: str) -> str:
        """Where a worker's telemetry lives: ``/worker/<id>/telemetry`` (unsharded, or the legacy
        alias), else ``/shard/<label>/worker/<id>/telemetry`` with label = first byte of
        sha256(id) in hex (namespace reference §1, 8 shard bits)."""
        legacy = f"/worker/{worker_id}/telemetry"
        try:
            self.stat(legacy)
            return legacy
        except NineError as e:
            if e.errno != ENOENT:
                raise
        label = hashlib.sha256(worker_id.encode("utf-8")).hexdigest()[:2]
        return f"/shard/{label}/worker/{worker_id}/telemetry"

    def _log_size(self) -> int:
        return self.stat(QUEEN_LOG).size

    def _log_since(self, offset: int) -> list[str]:
        fid, _ = self._open(QUEEN_LOG, wire.O_RDONLY)
        try:
            out = b""
            while True:
                data = self.client.read(fid, offset + len(out), self.client.io_chunk)
                if not data:
                    return out.decode("utf-8", errors="replace").splitlines()
                out += data
        except CohesixError:
            return []
        finally:
            self._drop(fid)

    def _control(self, path: str, line: str) -> list[str]:
        """Appends one command line to a control file; returns the queen-log lines it caused. A
        refusal raises CohesixError with the hive's own words: ``hive_reason`` is the ``reason=`` of
        the log line the hive wrote about it (``unknown-worker``, ``invalid-transition``, ...) and
        ``hive_line`` that whole line."""
        start = self._log_size() if self.role == "queen" else None
        try:
            self.append(path, line + "\n")
        except CohesixError as e:
            said = self._log_since(start) if start is not None else []
            refusals = [l for l in said if _kv(l, "reason") and ("reject" in l or "denied" in l or "deny" in l)]
            if refusals:
                e.hive_line = refusals[-1]
                e.hive_reason = _kv(refusals[-1], "reason")
            raise
        return self._log_since(start) if start is not None else []

    def spawn(
        self,
        kind: Literal["heartbeat", "gpu"] = "heartbeat",
        *,
        ticks: int | None = None,
        ttl_s: int | None = None,
        ops: int | None = None,
        gpu_id: str | None = None,
        mem_mb: int | None = None,
        streams: int | None = None,
        priority: int | None = None,
    ) -> str:
        """Spawns a worker through ``/queen/ctl`` and returns its id (from the hive's ``spawn`` log line).

        heartbeat: ``ticks`` required, ``ttl_s``/``ops`` the budget. gpu: ``gpu_id``, ``mem_mb``,
        ``streams``, ``ttl_s`` required, ``priority`` optional, ``ops`` the budget."""
        budget = {k: v for k, v in (("ttl_s", ttl_s), ("ops", ops)) if v is not None}
        cmd: dict[str, Any]
        if kind == "heartbeat":
            if ticks is None:
                raise NineError(EINVAL, "a heartbeat spawn needs ticks=", op="spawn", path=QUEEN_CTL)
            cmd = {"spawn": "heartbeat", "ticks": ticks}
            if budget:
                cmd["budget"] = budget
        elif kind == "gpu":
            if gpu_id is None or mem_mb is None or streams is None or ttl_s is None:
                raise NineError(EINVAL, "a gpu spawn needs gpu_id, mem_mb, streams and ttl_s", op="spawn", path=QUEEN_CTL)
            lease: dict[str, Any] = {"gpu_id": gpu_id, "mem_mb": mem_mb, "streams": streams, "ttl_s": ttl_s}
            if priority is not None:
                lease["priority"] = priority
            cmd = {"spawn": "gpu", "lease": lease}
            if ops is not None:
                cmd["budget"] = {"ops": ops}
        else:
            raise NineError(EINVAL, f"unknown worker kind {kind!r} (heartbeat or gpu)", op="spawn", path=QUEEN_CTL)
        said = self._control(QUEEN_CTL, json.dumps(cmd, separators=(",", ":")))
        for line in said:
            if line.startswith("spawn worker="):
                return _kv(line, "worker")
        raise NineError(ENOENT, "the hive accepted the spawn but logged no worker id", op="spawn", path=QUEEN_CTL)

    def kill(self, worker_id: str) -> None:
        """Kills a worker (its files go away; open fids get EBADF)."""
        self._control(QUEEN_CTL, json.dumps({"kill": worker_id}, separators=(",", ":")))

    def lifecycle(self, action: str) -> Lifecycle:
        """Writes ``cordon|drain|resume|quiesce|reset`` to ``/queen/lifecycle/ctl`` and returns the new
        state. A refused transition raises CohesixError with the hive's ``lifecycle denied ...`` line
        in ``hive_reason``."""
        if action not in LIFECYCLE_ACTIONS:
            raise NineError(EINVAL, f"unknown lifecycle action {action!r} ({'|'.join(LIFECYCLE_ACTIONS)})", op="lifecycle", path=LIFECYCLE_CTL)
        self._control(LIFECYCLE_CTL, action)
        return self.lifecycle_state()

    def lifecycle_state(self) -> Lifecycle:
        state = self.read_text(f"{LIFECYCLE_DIR}/state").strip()
        reason = self.read_text(f"{LIFECYCLE_DIR}/reason").strip()
        since = self.read_text(f"{LIFECYCLE_DIR}/since").strip()
        return Lifecycle(_kv(state, "state"), _kv(reason, "reason"), int(_kv(since, "since_ms") or 0))

    def close(self) -> None:
        try:
            self.client.clunk(self._root)
        except CohesixError:
            pass
        self.client.close()

    def __enter__(self) -> Hive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    role: str = "queen",
    ticket: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    msize: int = MAX_MSIZE,
    max_inflight: int = 16,
) -> Hive:
    """Dials the hive's Secure9P port and attaches as ``role`` (with ``ticket`` when the role needs one)."""
    client = NineClient.dial(host, port, msize=msize, max_inflight=max_inflight, timeout=timeout)
    root = client.new_fid()
    try:
        client.attach(root, role, ticket or "")
    except CohesixError as e:
        client.close()
        e.op = "attach"
        raise
    return Hive(client, role, root)
