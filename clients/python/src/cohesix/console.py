"""The hive's TCP console: length-prefixed frames, the AUTH handshake, ACK/ERR lines and streams.

A frame is ``u32 little-endian total length`` (the 4 header bytes included) then the UTF-8 line,
at most 256 bytes, no newline. The first frame is ``AUTH <token>``; the hive answers a bare
``OK AUTH``. Each command gets one ``OK <VERB> [detail]`` or ``ERR <VERB> [detail]`` line; ``CAT``,
``TAIL``, ``LS`` and ``LOG`` stream payload lines after their ``OK`` and end with ``END``.
Grammar: ``docs/console-grammar.md``.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import (
    ECONNREFUSED,
    ECONNRESET,
    EMSGSIZE,
    EPERM,
    ETIMEDOUT,
    ConsoleError,
    ProtocolError,
    TransportError,
    console_errno,
)

MAX_LINE = 256
MAX_FRAME = 8192
DEFAULT_PORT = 31337
DEFAULT_AUTH_TOKEN = "changeme"
DEFAULT_TIMEOUT = 5.0
STREAMING = frozenset({"CAT", "TAIL", "LS", "LOG"})

_ACK = re.compile(r"^(OK|ERR) ([A-Z]+)(?: (.*))?$", re.S)
_KEY = re.compile(r"(?:^| )([a-z_]+)=")


@dataclass(frozen=True)
class Ack:
    """One ``OK``/``ERR`` line: status, verb, the detail text and its ``key=value`` fields."""

    ok: bool
    verb: str
    detail: str
    fields: dict[str, str] = field(default_factory=dict)


def parse_fields(detail: str) -> dict[str, str]:
    """``reason=policy detail=denied path=/x`` -> dict; a value runs to the next `` key=`` (so the
    last value, such as ``data=`` or a PARSE ``detail=``, may hold spaces)."""
    keys = list(_KEY.finditer(detail))
    out: dict[str, str] = {}
    for i, m in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(detail)
        out[m.group(1)] = detail[m.end() : end]
    return out


def parse_ack(line: str) -> Ack | None:
    """The ack in a line, or None for payload/information lines."""
    m = _ACK.match(line)
    if m is None:
        return None
    detail = (m.group(3) or "").strip()
    return Ack(m.group(1) == "OK", m.group(2), detail, parse_fields(detail))


def encode_frame(line: str) -> bytes:
    body = line.encode("utf-8")
    if len(body) > MAX_LINE:
        raise ConsoleError(
            f"ERR PARSE reason=policy detail=console line exceeded maximum length ({len(body)} > {MAX_LINE} bytes)",
            EMSGSIZE,
            "PARSE",
            {"reason": "policy", "detail": "console line exceeded maximum length"},
        )
    return (len(body) + 4).to_bytes(4, "little") + body


class FrameDecoder:
    """Cuts console frames out of received bytes; a bad length is a ProtocolError."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def push(self, data: bytes) -> list[str]:
        self._buf += data
        out: list[str] = []
        while len(self._buf) >= 4:
            total = int.from_bytes(self._buf[:4], "little")
            if total < 4 or total > MAX_FRAME or total - 4 > MAX_LINE:
                raise ProtocolError(f"The hive sent a malformed console frame (length {total}); reconnect")
            if len(self._buf) < total:
                break
            try:
                out.append(bytes(self._buf[4:total]).decode("utf-8"))
            except UnicodeDecodeError:
                raise ProtocolError("The hive sent a console frame that is not UTF-8; reconnect") from None
            del self._buf[:total]
        return out


@dataclass
class Reply:
    """Every line of one reply in order (information lines, the ack, payload lines, ``END``)."""

    lines: list[str]
    ack: Ack | None
    ack_line: str
    closed: bool

    @property
    def payload(self) -> list[str]:
        """The stream's payload lines (between the ack and ``END``)."""
        if self.ack is None or not self.ack.ok or self.ack.verb not in STREAMING:
            return []
        i = self.lines.index(self.ack_line)
        end = len(self.lines) - 1 if self.lines and self.lines[-1] == "END" else len(self.lines)
        return self.lines[i + 1 : end]

    def raise_for_error(self) -> Reply:
        """Returns self, or raises ConsoleError for an ``ERR`` (TransportError when no ack came)."""
        if self.ack is None:
            raise TransportError(ECONNRESET, "the hive closed the console without answering")
        if not self.ack.ok:
            raise ConsoleError(self.ack_line, console_errno(self.ack.fields), self.ack.verb, self.ack.fields)
        return self


class ConsoleClient:
    """A TCP console session. ``request`` sends one line and returns its complete reply."""

    def __init__(self, sock: socket.socket, name: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._sock = sock
        self.name = name
        self.timeout = timeout
        self._decoder = FrameDecoder()
        self._lines: list[str] = []
        self._eof = False

    @classmethod
    def connect(
        cls,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> ConsoleClient:
        """Connects and authenticates; a refused token raises ConsoleError (errno EPERM)."""
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except ConnectionRefusedError:
            raise TransportError(
                ECONNREFUSED,
                f"Cannot reach the hive console at {host}:{port} (connection refused); start one with 'cohesix dev' or check the port",
            ) from None
        except OSError as e:
            raise TransportError(e.errno or ECONNRESET, f"Cannot reach the hive console at {host}:{port}: {e}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = cls(sock, f"tcp {host}:{port}", timeout)
        try:
            client.authenticate(auth_token)
        except BaseException:
            client.close()
            raise
        return client

    def __enter__(self) -> ConsoleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def authenticate(self, token: str) -> None:
        self.send(f"AUTH {token}")
        while True:
            line = self.recv()
            if line is None:
                raise TransportError(ECONNRESET, f"The hive closed {self.name} during AUTH; check the auth token")
            if line == "OK AUTH":
                return
            if line.startswith("OK AUTH "):
                continue  # an unsolicited notice, not the answer
            ack = parse_ack(line)
            if ack is not None and ack.verb == "AUTH" and not ack.ok:
                raise ConsoleError(line, EPERM, "AUTH", ack.fields)

    def send(self, line: str) -> None:
        try:
            self._sock.sendall(encode_frame(line))
        except OSError as e:
            raise TransportError(ECONNRESET, f"Cannot send to the hive on {self.name}: {e}; reconnect") from None

    def send_raw(self, data: bytes) -> None:
        """Sends bytes as they are (tests of malformed input)."""
        self._sock.sendall(data)

    def recv(self, timeout: float | None = None) -> str | None:
        """The next line, or None when the hive closed the connection."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self._lines:
            if self._eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                waited = self.timeout if timeout is None else timeout
                raise TransportError(ETIMEDOUT, f"No reply from the hive on {self.name} within {waited} s; is it running?")
            self._sock.settimeout(left)
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                data = b""
            if not data:
                self._eof = True
                continue
            self._lines.extend(self._decoder.push(data))
        return self._lines.pop(0)

    def request(self, line: str, on_line: Callable[[str], None] | None = None, follow: bool = False) -> Reply:
        """Sends one wire line and reads its reply; ``follow`` waits for stream lines without a timeout."""
        self.send(line)
        return self.read_reply(on_line, follow)

    def read_reply(self, on_line: Callable[[str], None] | None = None, follow: bool = False) -> Reply:
        lines: list[str] = []

        def take(text: str) -> None:
            lines.append(text)
            if on_line is not None:
                on_line(text)

        while True:
            line = self.recv()
            if line is None:
                return Reply(lines, None, "", True)
            take(line)
            ack = parse_ack(line)
            if ack is None:
                continue
            if ack.ok and ack.verb in STREAMING:
                while True:
                    more = self.recv(365 * 86400.0 if follow else None)
                    if more is None:
                        return Reply(lines, ack, line, True)
                    take(more)
                    if more == "END":
                        break
            return Reply(lines, ack, line, False)

    def command(self, line: str) -> Reply:
        """``request`` that raises ConsoleError on an ``ERR`` reply."""
        return self.request(line).raise_for_error()

    def cancel_follow(self) -> None:
        """Ends a running ``tail -f``: an empty line makes the hive answer ``END``."""
        self.send("")

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass
