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

from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Iterator, Sequence, cast

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from .catalogue import catalogue, ruleset_key
from .entries import Layout, SchoolBlock, check_mode, texts
from .model import RuleSet
from .serialise import dumps, gc_paused

#: How many school entries are built (and written) at a time: a few MB of JSON, whose buffers
#: the allocator reuses instead of mapping fresh memory for each (measured: a third of the
#: system time of chunks of 16,384).
CHUNK = 2048
#: Tables of entries serialised to JSON at the same time, each by a thread (measured on two
#: cores: half the wall time of one at a time), while the next table is built.
WORKERS = 2
#: Up to this many runs of one block in a chunk are built run by run, in order; more (e.g. the
#: years of each school interleaved) are built block by block and put in order after.
RUNS = 64


def _with_ruleset(entry: dict, key: str) -> dict:
    """``entry`` with ``"ruleset": key`` after its identity (``year``)."""
    out: dict = {}
    for k, v in entry.items():
        out[k] = v
        if k == "year":
            out["ruleset"] = key
    out.setdefault("ruleset", key)
    return out


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
    (fine for a county, heavy for a country), :meth:`tables` a chunk at a time.
    ``verdicts`` is ``all`` (every rule's verdict per school) or ``findings`` (only ``fail`` and
    ``missing_data`` verdicts; counts, scores, funding and status stay complete).
    ``rulesets`` is the rule catalogue (:mod:`edubalance.catalogue`): verdicts name their rule
    by id, and :meth:`rule_of` finds its description.
    County verdicts that are alike are one dict, made once (for speed), so county verdict
    dicts may be shared between counties: read them; copy one before changing it.
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
    notices: list[dict] = field(default_factory=list)      # about whole files (W401–W406)
    blocks: list[SchoolBlock] = field(default_factory=list, repr=False)
    _schools: list[dict] | None = field(default=None, repr=False)
    _order: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64), repr=False)
    _layout: Layout | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_mode(self.verdicts)

    def add_group(self, ruleset: RuleSet, schools: SchoolBlock | None, counties: list[dict]) -> None:
        """The schools (None: county records alone) and counties judged by ``ruleset``."""
        for p in ruleset.packs:
            if p not in self.packs:
                self.packs.append(p)
        key = ruleset_key(ruleset)
        if key not in self.rulesets:
            self.rulesets[key] = catalogue(ruleset)
        if schools is not None:
            self.blocks.append(schools)
        self._schools, self._layout = None, None
        self.counties.extend(c if "ruleset" in c else _with_ruleset(c, key) for c in counties)

    def rule_of(self, entry: dict, verdict: dict) -> dict:
        """The description (title, measure, source, status, pack …) of the rule behind a verdict
        of a school or county ``entry``."""
        rules = self.rulesets[entry["ruleset"]]
        return rules["rules"].get(verdict["rule_id"]) or rules["county_rules"][verdict["rule_id"]]

    def finish(self) -> None:
        """Order schools by county, school, stage and year; counties by county and year.

        Sorted as columns (Arrow's stable sort: UTF-8 text orders by code point, as Python's
        str does), so that ties keep input order and a national file does not build 200,000
        key tuples; the order is kept as a (block, position) array that each table slices.
        """
        natural = self._natural_order()
        if len(natural) > 1:
            columns = [block.sort_columns() for block in self.blocks]
            keys = pa.table({name: (texts if k < 3 else pa.array)(np.concatenate([c[k] for c in columns]))
                             for k, name in enumerate(("county", "school", "stage", "year"))})
            natural = natural[pc.sort_indices(keys, sort_keys=[(name, "ascending") for name in keys.column_names])
                              .to_numpy()]
        self._order = natural
        self._schools = None
        self.counties.sort(key=lambda c: (c["county_code"] or "", c["year"] or 0))

    # -- schools -------------------------------------------------------------------------------
    @property
    def layout(self) -> Layout:
        """The shape all school entries share (the measures and dimensions of every block)."""
        if self._layout is None:
            self._layout = Layout.of(self.blocks)
        return self._layout

    @property
    def schools(self) -> list[dict]:
        """Every school entry as a dict (built on first use; the report's order): for a county
        or a province, not for a country (:meth:`tables` writes those a chunk at a time)."""
        if self._schools is None:
            with gc_paused():
                self._schools = [e for part in self.tables() for e in part.to_pylist()]
        return self._schools

    def school(self, k: int) -> dict:
        """School entry ``k`` (report order) as a dict, without building the others."""
        if self._schools is not None:
            return self._schools[k]
        b, i = self._positions()[k].tolist()
        return self.blocks[b].entries(np.array([i]), self.verdicts, self.layout)[0]

    def tables(self, chunk: int = CHUNK, coded: pa.Array | None = None) -> Iterator[pa.RecordBatch]:
        """The school entries in the report's order as Arrow record batches of ``chunk`` schools, with
        the verdicts the report's mode lists: what every writer reads (``coded``: see
        :meth:`SchoolBlock.table`)."""
        order = self._positions()
        layout = self.layout
        for start in range(0, len(order), chunk):
            part = order[start:start + chunk]
            cuts = np.flatnonzero(np.diff(part[:, 0])) + 1
            if len(cuts) < RUNS:                       # a few runs of one block each: in order
                runs = np.split(part, cuts)
                yield _joined([self.blocks[run[0, 0]].table(run[:, 1], self.verdicts, layout, coded) for run in runs])
                continue
            blocks = np.unique(part[:, 0])             # interleaved blocks: one table each, reordered
            slots = [np.flatnonzero(part[:, 0] == b) for b in blocks]
            joined = _joined([self.blocks[b].table(part[at, 1], self.verdicts, layout, coded)
                              for b, at in zip(blocks.tolist(), slots)])
            place = np.empty(len(part), dtype=np.int64)
            place[np.concatenate(slots)] = np.arange(len(part))
            yield joined.take(pa.array(place))

    def _serialised(self, lines: bool) -> Iterator[tuple[int, list[memoryview]]]:
        """:func:`_json_text` of each of :meth:`tables`, in order. Polars serialises without the
        GIL: ``WORKERS`` tables are serialised at once by threads while the next one is built
        (at most ``WORKERS`` + 1 tables submitted, and the text of one more being written)."""
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="json")
        pending: deque[Future] = deque()
        try:
            for part in self.tables(CHUNK):
                pending.append(pool.submit(_json_text, part, lines))
                if len(pending) > WORKERS:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            pool.shutdown(cancel_futures=True)

    def positions(self) -> list[tuple[int, int]]:
        """(block, position) of every school in report order."""
        return [(b, i) for b, i in self._positions().tolist()]

    def _positions(self) -> np.ndarray:
        """:meth:`positions` as a (schools, 2) array (the blocks in turn, before :meth:`finish`)."""
        return self._order if len(self._order) == self.evaluated else self._natural_order()

    def _natural_order(self) -> np.ndarray:
        """(block, position) of every school, the blocks in turn."""
        sizes = [b.n for b in self.blocks]
        block_of = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
        starts = np.cumsum([0, *sizes])[:-1]
        return np.stack([block_of, np.arange(len(block_of), dtype=np.int64) - starts[block_of]], axis=1)

    def schools_with_findings(self, limit: int) -> tuple[int, list[dict]]:
        """(how many schools fail or are incomplete, the first ``limit`` of them as entries).

        Failed schools first, lowest score first (a missing score counts as 0), report order
        among equals. Only those ``limit`` entries are built, so a national report stays cheap.
        """
        wanted = ("fail", "incomplete")
        order = self._positions().tolist()
        keyed = []
        for b, i in order:
            block = self.blocks[b]
            status = block.status[i]
            if status in wanted:
                keyed.append(((status != "fail", block.score_key(i)), b, i))
        keyed.sort(key=lambda t: t[0])                 # stable: report order among equals
        top = keyed[:limit]
        built: dict[tuple[int, int], dict] = {}
        for b in dict.fromkeys(b for _, b, _ in top):     # one table per block, not one per school
            index = [i for _, c, i in top if c == b]
            built.update(zip(((b, i) for i in index), self.blocks[b].entries(np.array(index), self.verdicts, self.layout)))
        return len(keyed), [built[b, i] for _, b, i in top]

    def _school_status(self) -> list[str]:
        return [s for block in self.blocks for s in block.status.tolist()]

    @property
    def evaluated(self) -> int:
        """School records judged (rejected and skipped rows are not): ``read = evaluated + rejected + skipped``."""
        return sum(block.n for block in self.blocks)

    def summary(self) -> dict[str, Any]:
        """The counts a caller reads first (the JSON report's ``summary``): records read, evaluated,
        rejected and skipped, schools and counties by status, and the provisional thresholds
        the verdicts rest on — so that nothing lost or provisional goes unnoticed."""
        by_status = {"pass": 0, "fail": 0, "incomplete": 0, "not_applicable": 0}
        for status, n in Counter(self._school_status()).items():
            by_status[status] = by_status.get(status, 0) + n
        county_status = {"pass": 0, "fail": 0, "incomplete": 0}
        for c in self.counties:
            county_status[c["status"]] = county_status.get(c["status"], 0) + 1
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
        """The command line's exit code, so that a calling system decides as a script would: 0 when
        every record was judged and every school and county passes; 1 when a row was rejected
        or a school or county fails or is incomplete."""
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
        """The JSON report (``schemas/report.schema.json``) as a dict: every school entry is built,
        so for a national file read :meth:`tables` or write :meth:`write_json` instead."""
        return {**self.head(), "schools": self.schools, "counties": self.counties, "notes": self.notes}

    def to_json(self, indent: bool = True) -> str:
        """:meth:`to_dict` as JSON text (``edubalance evaluate -f json``)."""
        return dumps(self.to_dict(), indent=bool(indent)).decode("utf-8")

    def write_json(self, stream: BinaryIO, indent: bool = False,
                   progress: Callable[[int], None] | None = None) -> None:
        """Write the JSON report to a binary stream: indented (built whole: for a county or a
        province), or compact with the school entries written a table at a time."""
        if indent:
            with gc_paused():
                stream.write(dumps(self.to_dict(), indent=True))
            if progress:
                progress(self.evaluated)
            return
        head = dumps(self.head())
        stream.write(memoryview(head)[:-1])      # the head and the county entries are tens of
        stream.write(b',"schools":[')            # MB for a country: written as they are, not copied
        del head
        comma = b""
        for n, items in self._serialised(lines=False):
            stream.write(comma)
            for text in items:
                stream.write(text)
            comma = b","
            if progress:
                progress(n)
        for tail in (b'],"counties":', dumps(self.counties), b',"notes":', dumps(self.notes), b"}"):
            stream.write(tail)

    def write_ndjson(self, stream: BinaryIO, progress: Callable[[int], None] | None = None) -> None:
        """Write the report as JSON lines: first the head (:meth:`head` with ``notes``), then
        one line per school entry, then one per county entry — each exactly as in the JSON report."""
        stream.write(dumps({**self.head(), "notes": self.notes}) + b"\n")
        for n, lines in self._serialised(lines=True):
            for text in lines:
                stream.write(text)
            if progress:
                progress(n)
        for start in range(0, len(self.counties), CHUNK):
            stream.write(b"".join(dumps(c) + b"\n" for c in self.counties[start:start + CHUNK]))


def _joined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)


class _Parts:
    """A binary stream that keeps what is written to it as the objects given (Polars hands its
    whole text over in a few large writes: kept as they are, not copied into one buffer)."""

    def __init__(self) -> None:
        self.parts: list[memoryview] = []

    def write(self, data: bytes) -> int:
        if len(data):
            self.parts.append(memoryview(data))
        return len(data)

    def flush(self) -> None:
        pass


def _json_text(table: pa.RecordBatch, lines: bool) -> tuple[int, list[memoryview]]:
    """(how many entries, their JSON text in parts) of a table of school entries: one object a
    line (``lines``; Polars' writer escapes a line break inside a text, so line breaks only end
    lines), or the items of a JSON array, comma-separated (Polars' array without its brackets)."""
    out = _Parts()
    stream: Any = out                           # a write/flush sink: Polars only writes to it and flushes it
    frame = cast(pl.DataFrame, pl.from_arrow(table))
    if lines:
        frame.write_ndjson(stream)
        return table.num_rows, out.parts
    frame.write_json(stream)                    # "[{…},{…}]": the same objects, comma-separated
    parts = out.parts
    parts[0] = parts[0][1:]
    parts[-1] = parts[-1][:-1]
    return table.num_rows, parts
