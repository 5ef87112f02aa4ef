"""What one running service is configured with: defaults for the records, engine and limits."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..evaluator import Evaluator


def default_workers() -> int:
    """One evaluation process per core, at most four (each holds its own packs and engines)."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class Settings:
    """The configuration every worker process builds its evaluator from (it is pickled to them)."""

    province: str | None = None            #: province for records that carry none
    year: int | None = None                #: judge every record by this year's standards
    engine: str = "auto"
    overrides: tuple[str, ...] = ()
    plugins: tuple[str, ...] = ()
    workers: int = field(default_factory=default_workers)
    #: A request body larger than this is refused with 413 before or while it is read.
    max_body_bytes: int = 32 * 1024 * 1024
    #: More school and county records than this in one request: 413.
    max_records: int = 20_000
    #: Seconds one request may wait for a worker and be evaluated; past it the worker is
    #: stopped and replaced, and the request gets 503.
    timeout: float = 60.0
    #: Requests waiting for a free worker beyond the ones being evaluated; more get 503.
    max_queue: int = 64
    #: Uploaded files per multipart request.
    max_files: int = 20

    def evaluator(self) -> "Evaluator":
        """The evaluator these settings describe (packs read, plug-ins loaded)."""
        from ..evaluator import Evaluator
        return Evaluator(province=self.province, year=self.year, engine=self.engine, overrides=self.overrides,
                         plugins=self.plugins)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; a name or ``0.0.0.0`` is not loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
