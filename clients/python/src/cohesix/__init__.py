"""cohesix: a Python client for Cohesix hives (standard library only).

>>> import cohesix
>>> with cohesix.connect("127.0.0.1", 5640, role="queen") as hive:
...     print(hive.read_text("/proc/boot"))
...     worker = hive.spawn("heartbeat", ticks=10)
...     for line in hive.tail(hive.telemetry_path(worker), follow=True, timeout=3):
...         print(line)
...     hive.kill(worker)

Modules: ``ninep`` (the pipelining Secure9P client), ``console`` (the TCP console: frames, AUTH,
ACK/ERR), ``cohsh`` (cohsh's shell surface and ``.coh`` scripts), ``hive`` (this API),
``errors`` (every error carries ``errno``, ``reason`` and ``detail``).
"""

from .console import Ack, ConsoleClient, Reply, parse_ack
from .errors import CohesixError, ConsoleError, NineError, ProtocolError, TransportError
from .hive import Hive, Lifecycle, Stat, connect
from .ninep import NineClient

__version__ = "0.1.0"

__all__ = [
    "Ack",
    "CohesixError",
    "ConsoleClient",
    "ConsoleError",
    "Hive",
    "Lifecycle",
    "NineClient",
    "NineError",
    "ProtocolError",
    "Reply",
    "Stat",
    "TransportError",
    "connect",
    "parse_ack",
    "__version__",
]
