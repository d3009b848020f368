"""A structural check of Data Flow Script: balanced brackets, streams defined once, every input defined.

Data Factory is the only real parser and it is not reachable from here, so this catches what a
generator bug would most likely break (an unclosed call, a renamed stream, a dangling input) before
anything is synthesized. It reads string literals ('...' with backslash escapes, and backtick
regexes) as opaque, so their content never confuses the bracket count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OUTPUT = re.compile(r"~>\s*([A-Za-z][A-Za-z0-9]*)(?:@\(([^)]*)\))?\s*$")
_STREAM = r"[A-Za-z][A-Za-z0-9]*(?:@[A-Za-z][A-Za-z0-9]*)?"
_HEAD = re.compile(rf"^\s*(?:((?:{_STREAM}\s*,\s*)*{_STREAM})\s+)?([a-zA-Z]+)\s*\(")


class ScriptError(ValueError):
    """The script is not well formed; the message quotes the offending statement."""


@dataclass(frozen=True)
class Statement:
    inputs: tuple[str, ...]
    transform: str
    output: str
    branches: tuple[str, ...]
    text: str


def _statements(script: str) -> list[str]:
    """Split on top-level '~> Name[@(...)]' endings, skipping string literals."""
    out, buf, depth, i = [], [], 0, 0
    n = len(script)
    while i < n:
        ch = script[i]
        if ch in "'`":
            j = i + 1
            while j < n and script[j] != ch:
                j += 2 if ch == "'" and script[j] == "\\" else 1
            if j >= n:
                raise ScriptError(f"unterminated string literal starting at offset {i}")
            buf.append(script[i : j + 1])
            i = j + 1
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                raise ScriptError(f"unbalanced {ch!r} at offset {i}")
        buf.append(ch)
        if depth == 0 and ch == "\n":
            text = "".join(buf).strip()
            if text and _OUTPUT.search(text):
                out.append(text)
                buf = []
        i += 1
    if depth != 0:
        raise ScriptError("unbalanced brackets at the end of the script")
    tail = "".join(buf).strip()
    if tail:
        if not _OUTPUT.search(tail):
            raise ScriptError(f"statement without '~> name': {tail[:80]!r}")
        out.append(tail)
    return out


def parse(script: str) -> list[Statement]:
    stmts = []
    for text in _statements(script):
        head = _HEAD.match(text)
        tail = _OUTPUT.search(text)
        if not head or not tail:
            raise ScriptError(f"cannot read statement {text[:80]!r}")
        inputs = tuple(x.strip() for x in (head.group(1) or "").split(",") if x.strip())
        branches = tuple(x.strip() for x in (tail.group(2) or "").split(",") if x.strip())
        stmts.append(Statement(inputs, head.group(2), tail.group(1), branches, text))
    return stmts


def check(script: str, *, sources: tuple[str, ...], sinks: tuple[str, ...]) -> list[Statement]:
    """Raise :class:`ScriptError` unless the script is a well-formed graph from ``sources`` to ``sinks``."""
    stmts = parse(script)
    defined: set[str] = set()
    for st in stmts:
        names = [st.output] + [f"{st.output}@{b}" for b in st.branches]
        for name in names:
            if name in defined:
                raise ScriptError(f"stream {name!r} is defined twice")
            defined.add(name)
    used: set[str] = set()
    for st in stmts:
        for inp in st.inputs:
            if inp not in defined:
                raise ScriptError(f"{st.output}: input {inp!r} is not defined")
            used.add(inp)
        if st.transform == "source" and st.inputs:
            raise ScriptError(f"source {st.output!r} cannot have inputs")
        if st.transform != "source" and not st.inputs:
            raise ScriptError(f"{st.output}: transformation {st.transform!r} has no input")
    got_sources = tuple(st.output for st in stmts if st.transform == "source")
    got_sinks = tuple(st.output for st in stmts if st.transform == "sink")
    if got_sources != sources:
        raise ScriptError(f"sources {got_sources} differ from the declared {sources}")
    if got_sinks != sinks:
        raise ScriptError(f"sinks {got_sinks} differ from the declared {sinks}")
    for st in stmts:  # every non-sink stream (and split branch) flows somewhere
        if st.transform == "sink":
            continue
        outs = [f"{st.output}@{b}" for b in st.branches] if st.branches else [st.output]
        for o in outs:
            if o not in used:
                raise ScriptError(f"stream {o!r} is never used")
    return stmts
