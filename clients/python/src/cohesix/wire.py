"""9P2000.L messages a client sends and receives: encoders for T-messages, decoders for R-messages.

Little-endian fields; a frame is ``size[4] type[1] tag[2] body`` where size counts the whole frame.
Strings are ``len[2]`` + UTF-8. Only the messages a client needs are here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import ProtocolError

HEADER = 7
NOTAG = 0xFFFF
NOFID = 0xFFFFFFFF
VERSION = "9P2000.L"

Rlerror = 7
Tstatfs, Rstatfs = 8, 9
Tlopen, Rlopen = 12, 13
Tlcreate, Rlcreate = 14, 15
Tgetattr, Rgetattr = 24, 25
Treaddir, Rreaddir = 40, 41
Tfsync, Rfsync = 50, 51
Tmkdir, Rmkdir = 72, 73
Tunlinkat, Runlinkat = 76, 77
Tversion, Rversion = 100, 101
Tattach, Rattach = 104, 105
Rerror = 107
Tflush, Rflush = 108, 109
Twalk, Rwalk = 110, 111
Tread, Rread = 116, 117
Twrite, Rwrite = 118, 119
Tclunk, Rclunk = 120, 121
Tremove, Rremove = 122, 123

# Open flags (Linux values, as Tlopen carries them).
O_RDONLY = 0
O_WRONLY = 1
O_RDWR = 2
O_CREAT = 0o100
O_TRUNC = 0o1000
O_APPEND = 0o2000

QTDIR = 0x80
QTAPPEND = 0x40

# Linux P9_IOHDRSZ: headroom left below msize for Tread/Twrite/Treaddir counts.
IOHDRSZ = 24

_u8 = struct.Struct("<B")
_u16 = struct.Struct("<H")
_u32 = struct.Struct("<I")
_u64 = struct.Struct("<Q")
_hdr = struct.Struct("<IBH")
_qid = struct.Struct("<BIQ")


@dataclass(frozen=True)
class Qid:
    type: int
    version: int
    path: int

    @property
    def is_dir(self) -> bool:
        return bool(self.type & QTDIR)


@dataclass(frozen=True)
class Attr:
    """The fields of ``Rgetattr`` a client uses."""

    valid: int
    qid: Qid
    mode: int
    uid: int
    gid: int
    nlink: int
    size: int
    blksize: int
    blocks: int
    mtime_sec: int


@dataclass(frozen=True)
class DirEntry:
    qid: Qid
    offset: int
    type: int
    name: str


def s(text: str) -> bytes:
    """A 9P string field."""
    raw = text.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise ValueError("a 9P string holds at most 65535 bytes")
    return _u16.pack(len(raw)) + raw


def frame(mtype: int, tag: int, body: bytes) -> bytes:
    return _hdr.pack(HEADER + len(body), mtype, tag) + body


def t_version(msize: int) -> bytes:
    return _u32.pack(msize) + s(VERSION)


def t_attach(fid: int, uname: str, aname: str, n_uname: int) -> bytes:
    return _u32.pack(fid) + _u32.pack(NOFID) + s(uname) + s(aname) + _u32.pack(n_uname)


def t_walk(fid: int, newfid: int, names: list[str]) -> bytes:
    return struct.pack("<IIH", fid, newfid, len(names)) + b"".join(s(n) for n in names)


def t_lopen(fid: int, flags: int) -> bytes:
    return struct.pack("<II", fid, flags)


def t_lcreate(fid: int, name: str, flags: int, mode: int, gid: int) -> bytes:
    return _u32.pack(fid) + s(name) + struct.pack("<III", flags, mode, gid)


def t_mkdir(dfid: int, name: str, mode: int, gid: int) -> bytes:
    return _u32.pack(dfid) + s(name) + struct.pack("<II", mode, gid)


def t_unlinkat(dfid: int, name: str, flags: int) -> bytes:
    return _u32.pack(dfid) + s(name) + _u32.pack(flags)


def t_read(fid: int, offset: int, count: int) -> bytes:
    return struct.pack("<IQI", fid, offset, count)


def t_write(fid: int, offset: int, data: bytes) -> bytes:
    return struct.pack("<IQI", fid, offset, len(data)) + data


def t_fid(fid: int) -> bytes:
    """Body of Tclunk, Tremove, Tstatfs."""
    return _u32.pack(fid)


def t_fsync(fid: int) -> bytes:
    return struct.pack("<II", fid, 0)


def t_getattr(fid: int, mask: int = 0x7FF) -> bytes:
    return struct.pack("<IQ", fid, mask)


def t_readdir(fid: int, offset: int, count: int) -> bytes:
    return struct.pack("<IQI", fid, offset, count)


def t_flush(oldtag: int) -> bytes:
    return _u16.pack(oldtag)


class Reader:
    """Decodes fields from an R-message body; running past the end is a ProtocolError."""

    def __init__(self, body: bytes | memoryview, what: str) -> None:
        self.b = bytes(body)
        self.p = 0
        self.what = what

    def _take(self, n: int) -> bytes:
        if self.p + n > len(self.b):
            raise ProtocolError(f"Cannot decode {self.what}: the body ends after {len(self.b)} bytes")
        out = self.b[self.p : self.p + n]
        self.p += n
        return out

    def u8(self) -> int:
        return int(self._take(1)[0])

    def u16(self) -> int:
        return int(_u16.unpack(self._take(2))[0])

    def u32(self) -> int:
        return int(_u32.unpack(self._take(4))[0])

    def u64(self) -> int:
        return int(_u64.unpack(self._take(8))[0])

    def str(self) -> str:
        n = self.u16()
        try:
            return self._take(n).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError(f"Cannot decode {self.what}: a string is not UTF-8 ({e})") from None

    def qid(self) -> Qid:
        t, v, p = _qid.unpack(self._take(13))
        return Qid(t, v, p)

    def data(self) -> bytes:
        return self._take(self.u32())

    def rest(self) -> bytes:
        return self._take(len(self.b) - self.p)


def r_getattr(r: Reader) -> Attr:
    valid = r.u64()
    qid = r.qid()
    mode, uid, gid = r.u32(), r.u32(), r.u32()
    nlink, _rdev, size, blksize, blocks = r.u64(), r.u64(), r.u64(), r.u64(), r.u64()
    _atime, _atime_ns, mtime = r.u64(), r.u64(), r.u64()
    return Attr(valid, qid, mode, uid, gid, nlink, size, blksize, blocks, mtime)


def r_readdir(r: Reader) -> list[DirEntry]:
    data = Reader(r.data(), "Rreaddir entries")
    out: list[DirEntry] = []
    while data.p < len(data.b):
        qid = data.qid()
        offset = data.u64()
        dtype = data.u8()
        out.append(DirEntry(qid, offset, dtype, data.str()))
    return out


MESSAGE_NAMES = {
    Rlerror: "Rlerror",
    Rstatfs: "Rstatfs",
    Rlopen: "Rlopen",
    Rlcreate: "Rlcreate",
    Rgetattr: "Rgetattr",
    Rreaddir: "Rreaddir",
    Rfsync: "Rfsync",
    Rmkdir: "Rmkdir",
    Runlinkat: "Runlinkat",
    Rversion: "Rversion",
    Rattach: "Rattach",
    Rerror: "Rerror",
    Rflush: "Rflush",
    Rwalk: "Rwalk",
    Rread: "Rread",
    Rwrite: "Rwrite",
    Rclunk: "Rclunk",
    Rremove: "Rremove",
}


def message_name(mtype: int) -> str:
    return MESSAGE_NAMES.get(mtype, f"type {mtype}")
