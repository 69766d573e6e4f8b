"""cohsh's shell surface and ``.coh`` scripts over the console, in Python.

``to_wire`` turns a typed line into the console wire line exactly as ``cohesix cohsh`` does
(``echo <text> > <path>`` -> ``ECHO <path> <text>``, ``spawn heartbeat ticks=N`` -> the
``/queen/ctl`` JSON, other verbs upper-cased); ``run_script`` runs a ``.coh`` script and writes
the same transcript (``coh> <command>`` then every reply line). Semantics are cohsh's: ``EXPECT
OK|ERR|SUBSTR <t>|NOT <t>`` check the ack line of the command before, ``WAIT <ms>`` (<= 2000)
pauses, the first failure stops the run, an ``ERR`` fails unless ``EXPECT ERR`` follows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .console import MAX_LINE, ConsoleClient, Reply

MAX_SCRIPT_LINES = 256
MAX_WAIT_MS = 2000
VERBS = ("help", "attach", "login", "ping", "ls", "cat", "tail", "echo", "log", "spawn", "kill", "bind", "mount", "test", "quit")
SPAWN_USAGE = (
    "spawn heartbeat ticks=N [ttl_s=T] [ops=O] | spawn gpu gpu_id=ID mem_mb=M streams=S ttl_s=T "
    "[priority=P] [budget_ttl_s=T] [budget_ops=O] | spawn <json>"
)


class LocalError(Exception):
    """A typed line refused before it reaches the hive (cohsh prints ``cohsh: <message>``)."""


def _has_control(line: str) -> bool:
    return any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in line)


def _checked(wire: str) -> str:
    n = len(wire.encode("utf-8"))
    if n > MAX_LINE:
        raise LocalError(f"the console line is {n} bytes; the limit is {MAX_LINE}")
    return wire


def spawn_json(words: list[str]) -> str:
    """The shell form of spawn -> ``/queen/ctl`` JSON, keys in the reference order."""
    kind, pairs = (words[0] if words else ""), words[1:]
    kv: dict[str, str] = {}
    for p in pairs:
        m = re.fullmatch(r"([a-z_]+)=(\S+)", p)
        if m is None:
            raise LocalError(f"spawn: '{p}' is not key=value ({SPAWN_USAGE})")
        if m.group(1) in kv:
            raise LocalError(f"spawn: {m.group(1)} given twice")
        kv[m.group(1)] = m.group(2)

    def num(key: str, required: bool) -> int | None:
        v = kv.pop(key, None)
        if v is None:
            if required:
                raise LocalError(f"spawn {kind}: {key}= is required ({SPAWN_USAGE})")
            return None
        if re.fullmatch(r"\d{1,15}", v) is None:
            raise LocalError(f"spawn: {key} must be a non-negative integer, got '{v}'")
        return int(v)

    def budget(ttl_key: str, ops_key: str) -> str:
        t, o = num(ttl_key, False), num(ops_key, False)
        parts = ([f'"ttl_s":{t}'] if t is not None else []) + ([f'"ops":{o}'] if o is not None else [])
        return f',"budget":{{{",".join(parts)}}}' if parts else ""

    if kind == "heartbeat":
        ticks = num("ticks", True)
        json = f'{{"spawn":"heartbeat","ticks":{ticks}{budget("ttl_s", "ops")}}}'
    elif kind == "gpu":
        gpu = kv.pop("gpu_id", None)
        if gpu is None or re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", gpu) is None:
            raise LocalError("spawn gpu: gpu_id= is required, e.g. gpu_id=GPU-0")
        lease = [f'"gpu_id":"{gpu}"'] + [f'"{k}":{num(k, True)}' for k in ("mem_mb", "streams", "ttl_s")]
        priority = num("priority", False)
        if priority is not None:
            lease.append(f'"priority":{priority}')
        json = f'{{"spawn":"gpu","lease":{{{",".join(lease)}}}{budget("budget_ttl_s", "budget_ops")}}}'
    else:
        raise LocalError(f"spawn: unknown worker kind '{kind}' ({SPAWN_USAGE})")
    if kv:
        raise LocalError(f"spawn {kind}: unknown key {', '.join(kv)} ({SPAWN_USAGE})")
    return json


def to_wire(typed: str) -> str | None:
    """The wire line for a typed line; None for an empty line; LocalError for a local refusal."""
    line = typed.strip()
    if line == "":
        return None
    if _has_control(line):
        raise LocalError("the line contains control characters; remove them")
    m = re.match(r"(\S+)\s*(.*)$", line, re.S)
    assert m is not None
    token, rest = m.group(1).lower(), m.group(2)
    if token not in VERBS:
        return _checked(line)
    label = token.upper()
    if token == "echo":
        at = rest.rfind(">")
        if at < 0:
            raise LocalError("echo needs '<text> > <path>', e.g. echo hello > /log/queen.log")
        text, path = rest[:at].strip(), rest[at + 1 :].strip()
        if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
            text = text[1:-1]
        if path == "" or re.search(r"\s", path):
            raise LocalError("echo needs exactly one path after '>', e.g. echo hello > /log/queen.log")
        if text == "":
            raise LocalError("echo needs some text before '>'")
        return _checked(f"ECHO {path} {text}")
    if token in ("attach", "login"):
        args = rest.split() if rest else []
        if not args:
            raise LocalError("attach requires a role, e.g. attach queen")
        if len(args) > 2:
            raise LocalError("attach takes at most two arguments: role and optional ticket")
        return _checked("ATTACH " + " ".join(args))
    if token == "spawn" and rest and not rest.startswith("{"):
        return _checked(f"SPAWN {spawn_json(rest.split())}")
    return _checked(label if rest == "" else f"{label} {rest}")


@dataclass
class Expect:
    kind: str  # OK, ERR, SUBSTR, NOT
    text: str
    line: int
    source: str

    def met(self, ack_line: str) -> bool:
        if self.kind == "OK":
            return ack_line == "OK" or ack_line.startswith("OK ")
        if self.kind == "ERR":
            return ack_line == "ERR" or ack_line.startswith("ERR ")
        if self.kind == "SUBSTR":
            return self.text in ack_line
        return self.text not in ack_line


@dataclass
class Step:
    line: int
    command: str  # "" for WAIT
    wait_ms: int = 0
    expects: list[Expect] = field(default_factory=list)


class ScriptError(Exception):
    """The script itself is malformed (reported before anything runs)."""


def parse_script(text: str, name: str) -> list[Step]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) > MAX_SCRIPT_LINES:
        raise ScriptError(f"Cannot run {name}: it has {len(lines)} lines, the limit is {MAX_SCRIPT_LINES}; split it")
    steps: list[Step] = []
    for i, raw_line in enumerate(lines):
        n = i + 1
        raw = raw_line.rstrip("\r").strip()
        if raw == "" or raw.startswith("#"):
            continue
        word = raw.split(None, 1)[0]
        if word == "EXPECT":
            if not steps or steps[-1].command == "":
                raise ScriptError(f"{name}:{n}: EXPECT needs a command before it")
            m = re.fullmatch(r"EXPECT\s+(OK|ERR|SUBSTR|NOT)(?:\s+(.*))?", raw)
            if m is None:
                raise ScriptError(f"{name}:{n}: expected 'EXPECT OK', 'EXPECT ERR', 'EXPECT SUBSTR <text>' or 'EXPECT NOT <text>'")
            arg = (m.group(2) or "").strip()
            if m.group(1) in ("OK", "ERR") and arg:
                raise ScriptError(f"{name}:{n}: EXPECT {m.group(1)} takes no text")
            if m.group(1) in ("SUBSTR", "NOT") and not arg:
                raise ScriptError(f"{name}:{n}: EXPECT {m.group(1)} needs a text")
            steps[-1].expects.append(Expect(m.group(1), arg, n, raw))
        elif word == "WAIT":
            arg = raw[4:].strip()
            if not arg.isdigit():
                raise ScriptError(f"{name}:{n}: WAIT needs milliseconds, e.g. WAIT 100")
            if int(arg) > MAX_WAIT_MS:
                raise ScriptError(f"{name}:{n}: WAIT {arg} is over the {MAX_WAIT_MS} ms limit")
            steps.append(Step(n, "", int(arg)))
        else:
            steps.append(Step(n, raw))
    return steps


@dataclass
class ScriptResult:
    ok: bool
    steps: int
    failure: str | None = None


def execute(client: ConsoleClient, typed: str, on_line: Callable[[str], None] | None = None) -> Reply | None:
    """Runs one typed line; a local refusal is a reply with the single line ``cohsh: <message>`` and no ack."""
    try:
        wire = to_wire(typed)
    except LocalError as e:
        line = f"cohsh: {e}"
        if on_line is not None:
            on_line(line)
        return Reply([line], None, "", False)
    if wire is None:
        return None
    return client.request(wire, on_line)


def run_script(client: ConsoleClient, text: str, name: str, out: Callable[[str], None]) -> ScriptResult:
    """Runs a script over a console session, writing the cohsh transcript through ``out``."""
    steps = parse_script(text, name)
    done = 0
    for step in steps:
        if step.command == "":
            time.sleep(step.wait_ms / 1000)
            done += 1
            continue
        out(f"coh> {step.command}")
        reply = execute(client, step.command)
        if reply is None:
            done += 1
            continue
        for line in reply.lines:
            out(line)

        ack_line = reply.ack_line

        def fail(reason: str, line: int = step.line) -> ScriptResult:
            ack = f" (reply: {ack_line})" if ack_line else ""
            return ScriptResult(False, done, f"FAIL {name}:{line}: '{step.command}': {reason}{ack}")

        if reply.ack is None:
            local = reply.lines[0][len("cohsh: ") :] if reply.lines and reply.lines[0].startswith("cohsh: ") else ""
            return fail(local or "the hive closed the connection without a reply")
        if not reply.ack.ok and not any(e.kind == "ERR" for e in step.expects):
            return fail("unexpected ERR")
        for e in step.expects:
            if not e.met(reply.ack_line):
                return fail(f"{e.source} not met", e.line)
        done += 1
        if reply.closed and step is not steps[-1]:
            return fail("the hive closed the connection; later statements cannot run")
    return ScriptResult(True, done)
