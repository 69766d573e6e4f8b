"""The plain 9P part of the client against a 9P server nobody here wrote: Debian's diod."""

from __future__ import annotations

import hashlib

import pytest
from conftest import Diod

from cohesix import wire
from cohesix.errors import ENOENT, NineError
from cohesix.ninep import NineClient


def test_walk_create_pipelined_write_read_list_stat_remove_on_diod(diod: Diod) -> None:
    with NineClient.dial("127.0.0.1", diod.port, msize=8192) as c:
        assert c.msize == 8192
        root = c.new_fid()
        assert c.attach(root, "root", str(diod.root), 0).is_dir
        f = c.new_fid()
        assert c.walk(root, f, []) == []
        c.create(f, "blob", wire.O_RDWR, 0o644)
        data = bytes((i * 2654435761) % 251 for i in range(1 << 20))
        assert c.write_all(f, 0, data, depth=8) == len(data)
        c.fsync(f)
        c.clunk(f)
        assert hashlib.sha256((diod.root / "blob").read_bytes()).digest() == hashlib.sha256(data).digest()

        r = c.new_fid()
        c.walk(root, r, ["blob"])
        c.open(r, wire.O_RDONLY)
        back = c.read_all(r, depth=4)
        assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()
        attr = c.getattr(r)
        assert (attr.size, attr.mode & 0o170000) == (1 << 20, 0o100000)
        c.clunk(r)

        d = c.new_fid()
        c.walk(root, d, [])
        c.mkdir(d, "sub")
        c.open(d, wire.O_RDONLY)
        assert sorted(e.name for e in c.readdir_all(d) if e.name not in (".", "..")) == ["blob", "sub"]
        c.clunk(d)

        x = c.new_fid()
        c.walk(root, x, ["blob"])
        c.remove(x)
        with pytest.raises(NineError) as e:
            c.walk(root, c.new_fid(), ["blob"])
        assert e.value.errno == ENOENT
        s = c.new_fid()
        c.walk(root, s, ["sub"])
        c.remove(s)
        assert list(diod.root.iterdir()) == []
