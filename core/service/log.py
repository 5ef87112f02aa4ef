"""One JSON line per request on the ``edubalance.service.access`` logger (standard error by
default): who asked, what was judged under which rule sets and pack revisions, the counts, the
status and how long it took — never a school's data, name or identifier."""
from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import Any

import orjson

access = logging.getLogger("edubalance.service.access")


def setup(stream: Any = None) -> None:
    """Send the access lines, bare, to ``stream`` (standard error by default)."""
    if access.handlers:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


def line(**fields: Any) -> None:
    """Log one request: ``fields`` are ids, counts and durations only (see the module docstring)."""
    record = {"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "event": "request"}
    record.update((k, v) for k, v in fields.items() if v is not None)
    access.info(orjson.dumps(record).decode())
