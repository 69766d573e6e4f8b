"""A field-bus device on a pseudo-terminal, driven by a test through stdin/stdout.

Prints the pty's slave path first (the sidecar opens it). Then each stdin line `send <text>` is written
to the device side as `<text>\\r\\n` (as a PLC would), and each line the sidecar writes to the device
is printed as `got <line>`. Ends when stdin closes.
"""
import os
import pty
import select
import tty

master, slave = pty.openpty()
tty.setraw(slave)
tty.setraw(master)
print(os.ttyname(slave), flush=True)
carry = b""
pending = b""
# Raw reads on fd 0 (not sys.stdin.readline): a buffered reader could hold a second line that
# select() no longer reports.
while True:
    ready, _, _ = select.select([0, master], [], [])
    if 0 in ready:
        data = os.read(0, 4096)
        if not data:
            break
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            text = line.decode()
            if text.startswith("send "):
                os.write(master, text[5:].encode() + b"\r\n")
    if master in ready:
        carry += os.read(master, 4096)
        while b"\n" in carry:
            got, carry = carry.split(b"\n", 1)
            print("got " + got.decode(errors="replace").rstrip("\r"), flush=True)
