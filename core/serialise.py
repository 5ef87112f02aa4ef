"""The one JSON serialiser of reports (orjson), safe for whatever text reached a report.

orjson writes NaN and infinities as ``null`` and refuses a string holding a lone surrogate
(``"\\ud800"`` in a JSON input, an undecodable byte in a file name): such a string is written
with U+FFFD in its place instead of losing the report.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dumps(obj: Any, indent: bool = False) -> bytes:
    """``obj`` as UTF-8 JSON: compact, or indented by two spaces."""
    options = _OPTIONS | (orjson.OPT_INDENT_2 if indent else 0)
    try:
        return orjson.dumps(obj, option=options)
    except orjson.JSONEncodeError:
        return orjson.dumps(_clean(obj), option=options)


def clean_text(s: str) -> str:
    """``s`` with each lone surrogate replaced by U+FFFD (a valid pair becomes its character)."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def clean(obj: Any) -> Any:
    """``obj`` with every string (keys too) passed through :func:`clean_text` (``obj`` itself
    when it has no lone surrogate, which one orjson call tells)."""
    try:
        orjson.dumps(obj, option=_OPTIONS)
        return obj
    except orjson.JSONEncodeError:
        return _clean(obj)


def _clean(obj: Any) -> Any:
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, dict):
        return {_clean(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


_PAUSE_LOCK = threading.Lock()
_pauses = 0                  # calls paused now
_resume = False              # whether the collector was on when the first of them began


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector while an evaluation or a report is made (also as a decorator:
    every :class:`Evaluator` call has it, for the command line, the API and the service alike).
    What they make — frames, records, problems, a report's millions of small dicts — holds no
    cycles, and collections would only rescan it again and again (60–80 ms of a 25,000-school
    file). The collector is one switch for the whole process: pauses are counted, so that it stays
    off while any call (nested, or in another thread) is paused, and is put back as the first
    pause found it when the last ends. Cycles made meanwhile are collected after."""
    global _pauses, _resume
    with _PAUSE_LOCK:
        if not _pauses:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _PAUSE_LOCK:
            _pauses -= 1
            if not _pauses and _resume:
                gc.enable()
