"""The one error the Python API raises for input it cannot judge: :class:`InvalidInput`.

A calling system gets the problems as data (``.problems``: each with ``code``, ``field``,
``label``, ``value``, ``expected``, ``message`` and ``row``), the same problems a report lists
for a rejected record, and a ``str()`` a person can read, Chinese first. It is a ``ValueError``,
so callers that caught ``ValueError`` before still do.
"""
from __future__ import annotations

from typing import Any, Sequence

from .problems import Problem, severity

#: How many problems ``str()`` spells out before it counts the rest.
SHOWN = 10


class InvalidInput(ValueError):
    """Input refused: a record rejected by validation, something that is not a record, or an
    argument no evaluation can use (an unknown province, engine or year)."""

    def __init__(self, problems: Sequence[Problem], what: tuple[str, str] = ("输入无效", "invalid input")) -> None:
        self.problems: list[Problem] = list(problems)
        self.what = what
        super().__init__(self._text())

    def _text(self) -> str:
        n = len(self.problems)
        lines = [f"{self.what[0]}（{n} 个问题）/ {self.what[1]} ({n} problem{'s' if n != 1 else ''}):"]
        for p in self.problems[:SHOWN]:
            lines.append(f"  {where(p)}{p.code} {p.message}")
        if n > SHOWN:
            lines.append(f"  … 另有 {n - SHOWN} 个 and {n - SHOWN} more")
        return "\n".join(lines)

    def to_list(self) -> list[dict[str, Any]]:
        """The problems as JSON-ready dicts (as in a report's ``rejected[].problems``)."""
        return [p.to_dict() for p in self.problems]


def where(p: Problem) -> str:
    """Where a problem is: the record given to the API, or a file's row; nothing for an argument."""
    if not p.row:
        return ""
    if p.file.startswith("<"):
        return f"第 {p.row} 条记录 record {p.row}: "
    return f"{p.file} 第 {p.row} 行 row {p.row}: "


def argument_problem(code: str, field: str | None, value: Any, expected: Any, message: str) -> Problem:
    """A problem with an argument given to the API rather than with a row of a file."""
    from . import fields

    return Problem(code, severity(code), "", 0, None, field, fields.label(field) if field else "", value, expected,
                   message)
