"""The report: counts first, then what failed, then everything — for people and for systems.

:class:`Report` owns the counts and the exit code (as black's ``Report`` does): 0 when every
record was evaluated and every school and county passes, 1 when there are findings (a failed
or incomplete school or county, or a rejected record), 2 and up for usage or input errors
(raised before a report exists). JSON keys follow `schemas/report.schema.json`.

School entries stay columns (:class:`~edubalance.entries.SchoolBlock`) until something reads
them: counts, exit code and the text report need only a few, and the JSON and NDJSON writers
build and serialise them a chunk at a time instead of holding GBs of dicts.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Iterator, Sequence

import numpy as np

from .catalogue import catalogue, ruleset_key
from .entries import SchoolBlock, check_mode
from .model import RuleSet
from .serialise import dumps, gc_paused

#: How many school entries are built (and written) at a time: a few thousand entries' worth of
#: small objects fits the allocator's free memory, so it is reused instead of mapped afresh.
CHUNK = 2048


class _DictBlock:
    """Entries given as ready dicts (e.g. by a plug-in): the same interface as a SchoolBlock."""

    def __init__(self, entries: Sequence[dict]):
        self.list = list(entries)
        self.n = len(self.list)
        self.status = np.array([e["status"] for e in self.list], dtype=object)

    def sort_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """county_code, school_id, stage (text, "" when missing) and year (0 when missing)."""
        text = [np.array([s[k] or "" for s in self.list], dtype=object)
                for k in ("county_code", "school_id", "stage")]
        return (*text, np.array([s["year"] or 0 for s in self.list], dtype=np.int64))

    def provisional_rules_used(self) -> set[str]:
        return {r for s in self.list for r in s["provisional_rules"]}

    def score_key(self, i: int) -> float:
        overall = self.list[i]["score"]["overall"]
        return 0 if overall is None else overall

    def entries(self, index: np.ndarray, verdicts: str = "all") -> list[dict]:
        return [_listed(self.list[i], verdicts) for i in np.asarray(index).tolist()]


def _with_ruleset(entry: dict, key: str) -> dict:
    """``entry`` with ``"ruleset": key`` after its identity (``year``)."""
    out: dict = {}
    for k, v in entry.items():
        out[k] = v
        if k == "year":
            out["ruleset"] = key
    out.setdefault("ruleset", key)
    return out


def _listed(entry: dict, verdicts: str) -> dict:
    if verdicts == "all":
        return entry
    return {**entry, "verdicts": [v for v in entry["verdicts"] if v["status"] in ("fail", "missing_data")]}


def each_problem(rejected: Sequence[dict], rejected_counties: Sequence[dict], warnings: Sequence[dict]
                 ) -> Iterator[tuple[str, dict, dict]]:
    """Every problem of a report, in report order, as (kind, record, problem): ``school`` and
    ``county`` for a rejected record's problems (``record``: the rejected record), ``warning``
    for a warning (``record``: the warning itself). The Parquet and HTML/Excel reports list these."""
    for kind, records in (("school", rejected), ("county", rejected_counties)):
        for rec in records:
            for p in rec.get("problems", ()):
                yield kind, rec, p
    for p in warnings:
        yield "warning", p, p


@dataclass
class Report:
    """Counts, schools, counties and rejected rows of one evaluation.

    School entries are kept as columns and built when read: ``schools`` builds every dict
    (fine for a county, heavy for a country), :meth:`iter_schools` a chunk at a time.
    ``verdicts`` is ``all`` (every rule's verdict per school) or ``findings`` (only ``fail`` and
    ``missing_data`` verdicts; counts, scores, funding and status stay complete).
    ``rulesets`` is the rule catalogue (:mod:`edubalance.catalogue`): verdicts name their rule
    by id, and :meth:`rule_of` finds its description.
    """

    files: list[str]
    read: int
    rejected: list[dict]
    warnings: list[dict] = field(default_factory=list)
    county_rejected: list[dict] = field(default_factory=list)
    county_read: int = 0
    packs: list[dict] = field(default_factory=list)
    rulesets: dict[str, dict] = field(default_factory=dict)
    counties: list[dict] = field(default_factory=list)
    engine: str = ""
    notes: list[str] = field(default_factory=list)
    verdicts: str = "all"
    skipped: list[dict] = field(default_factory=list)      # rows that are not records
    notices: list[dict] = field(default_factory=list)      # about whole files (W401–W403)
    blocks: list[Any] = field(default_factory=list, repr=False)
    _schools: list[dict] | None = field(default=None, repr=False)
    _order: list[tuple[int, int]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        check_mode(self.verdicts)

    def add_group(self, ruleset: RuleSet, schools: SchoolBlock | Sequence[dict], counties: list[dict]) -> None:
        for p in ruleset.packs:
            if p not in self.packs:
                self.packs.append(p)
        key = ruleset_key(ruleset)
        if key not in self.rulesets:
            self.rulesets[key] = catalogue(ruleset)
        if isinstance(schools, SchoolBlock):
            block = schools
        else:
            block = _DictBlock([s if "ruleset" in s else _with_ruleset(s, key) for s in schools])
        self.blocks.append(block)
        self._schools = None
        self.counties.extend(c if "ruleset" in c else _with_ruleset(c, key) for c in counties)

    def rule_of(self, entry: dict, verdict: dict) -> dict:
        """The description (title, measure, source, status, pack …) of the rule behind a verdict
        of a school or county ``entry``."""
        rules = self.rulesets[entry["ruleset"]]
        return rules["rules"].get(verdict["rule_id"]) or rules["county_rules"][verdict["rule_id"]]

    def finish(self) -> None:
        """Order schools by county, school, stage and year; counties by county and year.

        Sorted as columns (a stable ``lexsort``), so that ties keep input order and a
        national file does not build 200,000 key tuples.
        """
        if sum(block.n for block in self.blocks) <= 1:       # one school (or none): nothing to sort
            self._order = [(b, 0) for b, block in enumerate(self.blocks) if block.n]
        else:
            columns = [block.sort_columns() for block in self.blocks]
            keys = [np.concatenate([c[k] for c in columns]) for k in range(4)]
            # Fixed-width text compares by code point, as Python's str does.
            order = np.lexsort([keys[3]] + [k.astype(str) for k in keys[2::-1]])
            block_of = np.repeat(np.arange(len(self.blocks)), [b.n for b in self.blocks])
            starts = np.cumsum([0] + [b.n for b in self.blocks])[:-1]
            pos = np.arange(len(block_of)) - starts[block_of]
            self._order = list(zip(block_of[order].tolist(), pos[order].tolist()))
        self._schools = None
        self.counties.sort(key=lambda c: (c["county_code"] or "", c["year"] or 0))

    # -- schools -------------------------------------------------------------------------------
    @property
    def schools(self) -> list[dict]:
        """Every school entry as a dict (built on first use; the report's order)."""
        if self._schools is None:
            with gc_paused():
                self._schools = [e for part in self.iter_schools() for e in part]
        return self._schools

    @schools.setter
    def schools(self, entries: list[dict]) -> None:
        self._schools = list(entries)

    def school(self, k: int) -> dict:
        """School entry ``k`` (report order) as a dict, without building the others."""
        if self._schools is not None:
            return _listed(self._schools[k], self.verdicts)
        b, i = self.positions()[k]
        return self.blocks[b].entries(np.array([i]), self.verdicts)[0]

    def iter_schools(self, chunk: int = CHUNK,
                     order: Sequence[tuple[int, int]] | None = None) -> Iterator[list[dict]]:
        """School entries in the report's order (or ``order``: (block, position) pairs),
        ``chunk`` at a time, with the verdicts the report's mode lists."""
        if order is None:
            order = self.positions()
        if self._schools is not None:
            for start in range(0, len(order), chunk):
                yield [_listed(self._schools[i], self.verdicts) for _, i in order[start:start + chunk]]
            return
        for start in range(0, len(order), chunk):
            part = order[start:start + chunk]
            out: list[Any] = [None] * len(part)
            by_block: dict[int, list[int]] = {}
            for j, (b, _) in enumerate(part):
                by_block.setdefault(b, []).append(j)
            for b, slots in by_block.items():
                index = np.array([part[j][1] for j in slots], dtype=np.int64)
                for j, entry in zip(slots, self.blocks[b].entries(index, self.verdicts)):
                    out[j] = entry
            yield out

    @property
    def columnar(self) -> bool:
        """Whether every school entry is still columns (a :class:`SchoolBlock`), so that a
        writer may read the columns instead of the entry dicts."""
        return self._schools is None and all(isinstance(b, SchoolBlock) for b in self.blocks)

    def positions(self) -> list[tuple[int, int]]:
        """(block, position) of every school in report order (block -1: entries held as dicts)."""
        if self._schools is not None:
            return [(-1, i) for i in range(len(self._schools))]
        return self._order if len(self._order) == self.evaluated else self._natural_order()

    def schools_with_findings(self, limit: int) -> tuple[int, list[dict]]:
        """(how many schools fail or are incomplete, the first ``limit`` of them as entries).

        Failed schools first, lowest score first (a missing score counts as 0), report order
        among equals. Only those ``limit`` entries are built, so a national report stays cheap.
        """
        wanted = ("fail", "incomplete")
        if self._schools is not None:
            found = [_listed(s, self.verdicts) for s in self._schools if s["status"] in wanted]
            found.sort(key=lambda x: (x["status"] != "fail", x["score"]["overall"]
                                      if x["score"]["overall"] is not None else 0))
            return len(found), found[:limit]
        order = self.positions()
        keyed = []
        for b, i in order:
            block = self.blocks[b]
            status = block.status[i]
            if status in wanted:
                keyed.append(((status != "fail", block.score_key(i)), b, i))
        keyed.sort(key=lambda t: t[0])                 # stable: report order among equals
        top = keyed[:limit]
        return len(keyed), [self.blocks[b].entries(np.array([i]), self.verdicts)[0] for _, b, i in top]

    def _natural_order(self) -> list[tuple[int, int]]:
        return [(b, i) for b, block in enumerate(self.blocks) for i in range(block.n)]

    def _school_status(self) -> list[str]:
        if self._schools is not None:
            return [s["status"] for s in self._schools]
        return [s for block in self.blocks for s in block.status.tolist()]

    @property
    def evaluated(self) -> int:
        if self._schools is not None:
            return len(self._schools)
        return sum(block.n for block in self.blocks)

    def summary(self) -> dict[str, Any]:
        by_status = {"pass": 0, "fail": 0, "incomplete": 0, "not_applicable": 0}
        for status, n in Counter(self._school_status()).items():
            by_status[status] = by_status.get(status, 0) + n
        county_status = {"pass": 0, "fail": 0, "incomplete": 0}
        for c in self.counties:
            county_status[c["status"]] = county_status.get(c["status"], 0) + 1
        if self._schools is not None:
            provisional = sorted({r for s in self._schools for r in s["provisional_rules"]})
        else:
            provisional = sorted(set().union(*(b.provisional_rules_used() for b in self.blocks)))
        return {
            "records": {"read": self.read, "evaluated": self.evaluated, "rejected": len(self.rejected),
                        "skipped": len(self.skipped)},
            "schools": by_status,
            "counties": county_status,
            "provisional_thresholds_used": provisional,
        }

    @property
    def exit_code(self) -> int:
        if self.rejected or self.county_rejected:
            return 1
        if any(s in ("fail", "incomplete") for s in self._school_status()):
            return 1
        if any(c["status"] != "pass" for c in self.counties):
            return 1
        return 0

    # -- output --------------------------------------------------------------------------------
    def head(self) -> dict[str, Any]:
        """Everything of the JSON report but its school and county entries and notes."""
        summary = self.summary()
        return {
            "summary": summary,
            "records": summary["records"],
            "engine": self.engine,
            "files": self.files,
            "packs": self.packs,
            "rulesets": self.rulesets,
            "rejected": self.rejected,
            "rejected_counties": self.county_rejected,
            "county_records": {"read": self.county_read,
                               "accepted": self.county_read - len(self.county_rejected),
                               "rejected": len(self.county_rejected)},
            "warnings": self.warnings,
            "notices": self.notices,
            "skipped": self.skipped,
        }

    def to_dict(self) -> dict[str, Any]:
        schools = self.schools
        if self._schools is not None and self.verdicts != "all":
            schools = [_listed(s, self.verdicts) for s in schools]
        return {**self.head(), "schools": schools, "counties": self.counties, "notes": self.notes}

    def to_json(self, indent: bool = True) -> str:
        return dumps(self.to_dict(), indent=bool(indent)).decode("utf-8")

    def write_json(self, stream: BinaryIO, indent: bool = False,
                   progress: Callable[[int], None] | None = None) -> None:
        """Write the JSON report to a binary stream: indented (built whole: for a county or a
        province), or compact with the school entries built and written a chunk at a time."""
        with gc_paused():
            self._write_json(stream, indent, progress)

    def _write_json(self, stream: BinaryIO, indent: bool, progress: Callable[[int], None] | None) -> None:
        if indent:
            stream.write(dumps(self.to_dict(), indent=True))
            if progress:
                progress(self.evaluated)
            return
        head = dumps(self.head())
        stream.write(memoryview(head)[:-1])      # the head and the county entries are tens of
        stream.write(b',"schools":[')            # MB for a country: written as they are, not copied
        del head
        comma = b""
        for part in self.iter_schools():
            if part:
                stream.write(comma)
                stream.write(memoryview(dumps(part))[1:-1])     # the array's items, no brackets
                comma = b","
                if progress:
                    progress(len(part))
        for text in (b'],"counties":', dumps(self.counties), b',"notes":', dumps(self.notes), b"}"):
            stream.write(text)

    def write_ndjson(self, stream: BinaryIO, progress: Callable[[int], None] | None = None) -> None:
        """Write the report as JSON lines: first the head (:meth:`head` with ``notes``), then
        one line per school entry, then one per county entry — each exactly as in the JSON report."""
        with gc_paused():
            stream.write(dumps({**self.head(), "notes": self.notes}) + b"\n")
            for part in self.iter_schools():
                if part:
                    stream.write(b"\n".join(dumps(e) for e in part) + b"\n")
                    if progress:
                        progress(len(part))
            for start in range(0, len(self.counties), CHUNK):
                stream.write(b"".join(dumps(c) + b"\n" for c in self.counties[start:start + CHUNK]))
