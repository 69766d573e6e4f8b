"""Errors of the Cohesix client: every refusal carries an errno and the hive's reason.

The errno values are Linux's, as carried by 9P2000.L ``Rlerror`` (the hive's one error table,
``src/secure9p/errors.ts``). ``reason`` and ``detail`` follow the console's mapping
(``docs/console-grammar.md``): a 9P refusal and the console's ``ERR`` line for the same
operation give the same ``(errno, reason, detail)``.
"""

from __future__ import annotations

import errno as _errno

EPERM = _errno.EPERM
ENOENT = _errno.ENOENT
EIO = _errno.EIO
EBADF = _errno.EBADF
EAGAIN = _errno.EAGAIN
EACCES = _errno.EACCES
EBUSY = _errno.EBUSY
EEXIST = _errno.EEXIST
ENOTDIR = _errno.ENOTDIR
EISDIR = _errno.EISDIR
EINVAL = _errno.EINVAL
EFBIG = _errno.EFBIG
ENOSPC = _errno.ENOSPC
EROFS = _errno.EROFS
ENOSYS = _errno.ENOSYS
EPROTO = _errno.EPROTO
EMSGSIZE = _errno.EMSGSIZE
EOPNOTSUPP = _errno.EOPNOTSUPP
ETIMEDOUT = _errno.ETIMEDOUT
ECONNREFUSED = _errno.ECONNREFUSED
ECONNRESET = _errno.ECONNRESET

# errno -> (reason, detail), the console's table.
_REASONS: dict[int, tuple[str, str]] = {
    ENOENT: ("policy", "invalid-path"),
    ENOTDIR: ("policy", "invalid-path"),
    EISDIR: ("policy", "invalid-path"),
    EPERM: ("policy", "denied"),
    EACCES: ("policy", "denied"),
    EROFS: ("policy", "denied"),
    EBUSY: ("busy", "busy"),
    EAGAIN: ("busy", "busy"),
    EMSGSIZE: ("quota", "buffer-full"),
    EFBIG: ("quota", "buffer-full"),
    ENOSPC: ("quota", "buffer-full"),
    EOPNOTSUPP: ("policy", "unsupported"),
    ENOSYS: ("policy", "unsupported"),
    EBADF: ("policy", "closed"),
}

# The console's detail tag -> errno, for ERR lines that carry no error= token.
_DETAIL_ERRNO: dict[str, int] = {
    "invalid-path": ENOENT,
    "denied": EPERM,
    "unauthenticated": EPERM,
    "invalid-role": EPERM,
    "busy": EBUSY,
    "buffer-full": EMSGSIZE,
    "unsupported": EOPNOTSUPP,
    "closed": EBADF,
    "throttled": EAGAIN,
    "rate-limited": EAGAIN,
    "already-attached": EBUSY,
    "expired": EPERM,
    "host-only": EOPNOTSUPP,
}


def errno_name(code: int) -> str:
    """``EPERM`` for 1, and so on; ``E<number>`` for a value this platform does not name."""
    return _errno.errorcode.get(code, f"E{code}")


def errno_of_name(name: str) -> int:
    """The errno for a name such as ``ENOENT`` (``EIO`` when unknown)."""
    return getattr(_errno, name, EIO) if name.startswith("E") else EIO


def reason_of(code: int) -> tuple[str, str]:
    """The console's ``(reason, detail)`` for an errno; anything unlisted is ``policy``/``invalid-payload``."""
    return _REASONS.get(code, ("policy", "invalid-payload"))


class CohesixError(OSError):
    """A refusal or failure. ``errno`` is a Linux errno; ``reason``/``detail`` are the hive's words.

    ``op`` names the operation (``walk``, ``write``, ``ATTACH``, ...), ``path`` the hive path when
    one was involved. ``hive_reason`` is the hive's own reason when it logged one (the ``reason=``
    of its ``queen-ctl outcome=reject`` or ``lifecycle denied`` line), ``hive_line`` that line.
    """

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        detail: str | None = None,
        op: str = "",
        path: str | None = None,
        hive_reason: str | None = None,
    ) -> None:
        super().__init__(code, message)
        default_reason, default_detail = reason_of(code)
        self.reason: str = reason if reason is not None else default_reason
        self.detail: str = detail if detail is not None else default_detail
        self.op = op
        self.path = path
        self.hive_reason = hive_reason
        self.hive_line: str | None = None

    @property
    def errno_name(self) -> str:
        return errno_name(self.errno or EIO)

    def __str__(self) -> str:
        where = f" path={self.path}" if self.path else ""
        extra = f" hive_reason={self.hive_reason}" if self.hive_reason else ""
        return (
            f"{self.strerror}: {self.errno_name} reason={self.reason} detail={self.detail}{where}{extra}"
        )


class NineError(CohesixError):
    """The 9P server answered ``Rlerror`` (or the client refused a red-line request before sending)."""


class ConsoleError(CohesixError):
    """The console answered ``ERR <VERB> ...``; ``line`` is that line, ``verb`` its verb."""

    def __init__(self, line: str, code: int, verb: str, fields: dict[str, str]) -> None:
        super().__init__(
            code,
            f"{verb} refused by the hive",
            reason=fields.get("reason", "policy"),
            detail=fields.get("detail", ""),
            op=verb,
            path=fields.get("path"),
        )
        self.line = line
        self.verb = verb
        self.fields = fields

    def __str__(self) -> str:
        return self.line


class ProtocolError(CohesixError):
    """The peer sent bytes that break the protocol (bad frame size, undecodable reply)."""

    def __init__(self, message: str) -> None:
        super().__init__(EPROTO, message, reason="protocol", detail="malformed")

    def __str__(self) -> str:
        return str(self.strerror)


class TransportError(CohesixError):
    """The connection failed: refused, closed, timed out. The message says what to do next."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message, reason="transport", detail=errno_name(code).lower())

    def __str__(self) -> str:
        return str(self.strerror)


def console_errno(fields: dict[str, str]) -> int:
    """The errno of a console ``ERR`` line: its ``error=`` token, else its detail tag, else EINVAL."""
    name = fields.get("error")
    if name:
        return errno_of_name(name)
    return _DETAIL_ERRNO.get(fields.get("detail", ""), EINVAL)
