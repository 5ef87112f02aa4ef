"""The evaluation lifecycle: load → validate → derive → school rules → county rules → merge → report.

:class:`Evaluator` is the one object an embedding program needs. It owns its plug-in manager,
its packs and its rule back ends (no global state, nothing started at import), and every call
returns a :class:`~edubalance.report.Report` in which ``read = evaluated + rejected``.
"""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager, nullcontext
from pathlib import Path
from time import perf_counter
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from . import expr
from .catalogue import catalogue, ruleset_key
from .composite import evaluate_composites
from .fields import SCHOOL_FIELDS
from .engines import AUTO_DURABLE_MAX
from .entries import VERDICT_MODES, SchoolBlock
from .loading import InputError, RawRow, Rows, paused_gc
from .model import NOT_APPLICABLE, RuleResults, RuleSet
from .plugins import plugin_manager
from .report import Report
from .rulepack import PackRegistry, compile_ruleset, load_pack
from .scoring import score, status_of
from .table import TEXT_FIELDS, Table
from .validation import validate, validate_counties

Progress = Callable[[int], None]


class Evaluator:
    """Judge school (and county) records against the packs of the installed plug-ins.

    >>> ev = Evaluator(province="guizhou")            # doctest: +SKIP
    >>> report = ev.evaluate_files(["schools.csv"])   # doctest: +SKIP
    >>> report.exit_code, report.summary()            # doctest: +SKIP

    ``province`` fills records that carry none; ``year`` judges every record by the standards
    in force in that year instead of its own ``year``; ``engine`` is ``vector``, ``durable`` or
    ``auto`` (durable-rules up to a few hundred records, columnar above); ``overrides`` are
    rule files that patch a pack (a corrected threshold, a local value). ``verdicts`` is ``all``
    (every rule's verdict for every school) or ``findings`` (only failed and missing-data
    verdicts are listed; counts, scores, funding and status stay complete): a national file
    is several GB with every verdict. ``timings``, if given, is a dict that each call fills
    with the seconds every stage took (``validate``, ``table``, ``derive``, ``school_rules``,
    ``scores``, ``county``, ``report``; ``load`` for files), summed over calls. ``on_stage``,
    if set, is called with each stage's name as it begins (the CLI's progress line).
    """

    def __init__(self, province: str | None = None, year: int | None = None, engine: str = "auto",
                 overrides: Sequence[str | Path] = (), plugins: Sequence[object | str] = (),
                 autoload: bool | None = None, verdicts: str = "all",
                 timings: dict[str, float] | None = None):
        if verdicts not in VERDICT_MODES:
            raise ValueError(f"unknown verdicts mode '{verdicts}' (choose from {', '.join(VERDICT_MODES)})")
        self.province = province
        self.year = year
        self.verdicts = verdicts
        self.timings = timings
        self.on_stage: Callable[[str], None] | None = None
        self.pm = plugin_manager(plugins, autoload)
        self.registry = PackRegistry()
        for sources in self.pm.hook.edubalance_rule_packs():
            for source in sources or []:
                self.registry.add(load_pack(source))
        for path in overrides:
            self.registry.apply_override(path)
        self.engines: dict[str, Callable] = {}
        for found in self.pm.hook.edubalance_engines():
            self.engines.update(found or {})
        if engine != "auto" and engine not in self.engines:
            raise ValueError(f"unknown engine '{engine}' (choose from auto, {', '.join(sorted(self.engines))})")
        if province is not None and province not in self.registry.packs:
            raise ValueError(f"unknown province '{province}' "
                             f"(known: {', '.join(sorted(self.registry.packs)) or 'none'})")
        self.engine = engine
        self._engine_objects: dict[str, Any] = {}
        self._rulesets: dict[tuple[str, int], RuleSet] = {}
        self._numeric = [n for n in SCHOOL_FIELDS if n not in TEXT_FIELDS]

    def _stage(self, name: str):
        """Time a stage into ``self.timings`` (a no-op context when no timings are asked for),
        and tell ``self.on_stage`` (e.g. a progress bar) that it began."""
        if self.on_stage is not None:
            self.on_stage(name)
        if self.timings is None:
            return nullcontext()
        return _timed(self.timings, name)

    # -- packs -----------------------------------------------------------------------------
    @property
    def provinces(self) -> list[str]:
        return self.registry.provinces

    def ruleset(self, province: str, year: int) -> RuleSet:
        """The compiled rules of ``province`` in force in ``year`` (cached)."""
        key = (province, year)
        if key not in self._rulesets:
            self._rulesets[key] = compile_ruleset(self.registry, province, year)
        return self._rulesets[key]

    def rule_catalogue(self, key: str) -> dict[str, Any]:
        """The catalogue entry ``key`` (``"guizhou/2023"``, an entry's ``ruleset``): every rule's
        description by id, as in the report's ``rulesets`` (verdicts hold only the rule id)."""
        province, _, year = key.partition("/")
        return catalogue(self.ruleset(province, int(year)))

    def engine_for(self, n: int) -> Any:
        name = self.engine
        if name == "auto":
            name = "durable" if n <= AUTO_DURABLE_MAX else "vector"
        if name not in self._engine_objects:
            self._engine_objects[name] = self.engines[name]()
        return self._engine_objects[name]

    # -- load and validate ---------------------------------------------------------------------
    def load(self, paths: Iterable[str | Path]) -> tuple[Sequence[RawRow], list[RawRow]]:
        """Read files into raw rows (schools, counties). Raises InputError for a bad file.

        The school rows are a :class:`~edubalance.loading.Rows`: a CSV file's rows stay columns
        until validation reads them (indexing or iterating gives RawRows as usual).
        """
        rows = Rows()
        county_rows: list[RawRow] = []
        with self._stage("load"):
            self._load_into(paths, rows, county_rows)
        return rows, county_rows

    def _load_into(self, paths: Iterable[str | Path], rows: list[RawRow], county_rows: list[RawRow]) -> None:
        for path in paths:
            loaded = self.pm.hook.edubalance_load_file(path=str(path), default_province=self.province)
            if loaded is None:
                raise InputError(str(path), "no reader for this file")
            rows.extend(loaded.rows)
            county_rows.extend(loaded.county_rows)

    def validate_rows(self, rows: Sequence[RawRow]):
        result = validate(rows, default_province=self.province, known_provinces=list(self.registry.packs))
        hook = self.pm.hook.edubalance_validate_records
        if not hook.get_hookimpls():
            return result              # the accepted records of a CSV file are made only when read
        records = result.accepted if isinstance(result.accepted, list) else list(result.accepted)
        extra = [p for found in hook(records=records, context={"known_provinces": list(self.registry.packs)})
                 for p in found or []]
        if extra:
            result = result.with_problems(extra)
        return result

    # -- evaluate ----------------------------------------------------------------------------
    def evaluate_files(self, paths: Iterable[str | Path], progress: Progress | None = None) -> Report:
        paths = list(paths)
        rows, county_rows = self.load(paths)
        return self._evaluate(rows, county_rows, [str(p) for p in paths], progress, consume=True)

    def evaluate_records(self, records: Iterable[Mapping[str, Any]], counties: Iterable[Mapping[str, Any]] = (),
                         progress: Progress | None = None) -> Report:
        """Judge records given as dicts (English field names), e.g. from a government system."""
        rows = [RawRow("<records>", i + 1, dict(r)) for i, r in enumerate(records)]
        county_rows = [RawRow("<counties>", i + 1, dict(c)) for i, c in enumerate(counties)]
        return self._evaluate(rows, county_rows, [], progress, consume=True)

    def evaluate_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """One school record → its report entry (raises ValueError if the record is rejected).

        A school's entry does not depend on its county's verdicts, so a lone record skips the
        county stage (a county of one school says nothing anyway).
        """
        report = self._evaluate([RawRow("<records>", 1, dict(record))], [], [], None, consume=True,
                                counties=False)
        if report.rejected:
            problems = "; ".join(p["message"] for p in report.rejected[0]["problems"])
            raise ValueError(f"record rejected: {problems}")
        return report.school(0)

    def _evaluate(self, rows: list[RawRow], county_rows: list[RawRow], files: list[str],
                  progress: Progress | None, consume: bool = False, counties: bool = True) -> Report:
        """The lifecycle after loading. ``consume`` empties ``rows`` once they are validated,
        so that a national file's raw text is freed before its columns are judged. The cyclic
        collector is paused meanwhile (cycles made here are collected after)."""
        with paused_gc():       # millions of acyclic objects: collections would only rescan them
            with self._stage("validate"):
                checked = self.validate_rows(rows)
                counties_ok, counties_rejected = validate_counties(county_rows, default_province=self.province,
                                                                   known_provinces=list(self.registry.packs))
                county_records = {(c["county_code"], int(c["year"])): c for c in counties_ok}
                report = Report(files=files, read=len(rows), rejected=[r.to_dict() for r in checked.rejected],
                                warnings=[p.to_dict() for p in checked.problems if p.severity == "warning"],
                                county_rejected=[r.to_dict() for r in counties_rejected], verdicts=self.verdicts)
                columns = checked.columns
                if columns is not None and columns.size == len(checked.accepted):
                    groups: dict[tuple[str, int], Any] = self._group_positions(columns)
                else:
                    columns, groups = None, defaultdict(list)
                    for rec in checked.accepted:
                        groups[(rec["province"], self.year or int(rec["year"]))].append(rec)
                del checked
                if consume:
                    rows.clear()
            engine_names = set()
            for (province, year), members in sorted(groups.items()):
                ruleset = self.ruleset(province, year)
                engine = self.engine_for(len(members))
                engine_names.add(engine.name)
                block, county_entries = self._evaluate_group(ruleset, members, columns, county_records, engine,
                                                             progress, counties)
                report.add_group(ruleset, block, county_entries)
            report.engine = ",".join(sorted(engine_names)) or self.engine
            with self._stage("report"):
                report.finish()
                self.pm.hook.edubalance_merge_scores(report=report)
            return report

    def _group_positions(self, columns: Any) -> dict[tuple[str, int], np.ndarray]:
        """Positions (ascending) of the accepted records of each (province, year) group."""
        provinces = columns.text["province"][:columns.size]
        years = np.frombuffer(columns.numeric["year"], dtype=float)[:columns.size]
        if self.year:
            keys = [(p, self.year) for p in provinces]
        else:
            keys = list(zip(provinces, years.astype(np.int64).tolist()))
        groups: dict[tuple[str, int], list[int]] = defaultdict(list)
        for pos, key in enumerate(keys):
            groups[key].append(pos)
        return {key: np.array(pos, dtype=np.intp) for key, pos in groups.items()}

    def _evaluate_group(self, ruleset: RuleSet, members: Any, columns: Any, county_records: Mapping,
                        engine: Any, progress: Progress | None, counties: bool = True
                        ) -> tuple[SchoolBlock, list[dict]]:
        """``members``: the group's records (dicts), or their positions in ``columns``."""
        with self._stage("table"):
            if columns is not None:
                table = Table.from_columns(columns.numeric, columns.text, members, self._numeric)
                file_col = columns.text["_file"]
                row_col = np.frombuffer(columns.numeric["_row"], dtype=float)[members]
                files = [file_col[i] for i in members.tolist()]
                rows = row_col.astype(np.int64).tolist()
            else:
                table = Table.from_records(members, self._numeric)
                files = [r.get("_file") for r in members]
                rows = [r.get("_row") for r in members]
        with self._stage("derive"):
            self.pm.hook.edubalance_derive_measures(table=table, ruleset=ruleset)
        with self._stage("school_rules"):
            base = self.pm.hook.edubalance_evaluate_school_rules(
                rules=ruleset.rules, table=table, engine=engine, progress=progress)
        with self._stage("scores"):
            results = base.extend(evaluate_composites(ruleset.composites, base, table))
            overall, by_dim = score(results.status, results.rules)
            status = status_of(results.status, results.rules)
            schools = SchoolBlock(table, results, overall, by_dim, status, ruleset_key(ruleset), files, rows)
        if not counties:
            return schools, []
        with self._stage("county"):
            county_entries = self._evaluate_counties(ruleset, table, results, status, county_records, engine)
        return schools, county_entries

    def _evaluate_counties(self, ruleset: RuleSet, table: Table, results: RuleResults, status: np.ndarray,
                           county_records: Mapping, engine: Any) -> list[dict]:
        from .county import build_county_table, county_reports

        if not ruleset.county_rules and not (ruleset.parameters.get("county")):
            return []
        # The 2017 per-school rule is whichever composite reports ``resource_indicators_met``.
        rows = [k for k, r in enumerate(results.rules) if r.measure == "resource_indicators_met"]
        resource = (results.status[rows[0]] if rows
                    else np.full(table.n, NOT_APPLICABLE, dtype=np.int8))
        frame = build_county_table(table, ruleset.parameters.get("county") or {}, status, resource,
                                   county_records, expr.parse_condition, measures=ruleset.measures)
        county_results = self.pm.hook.edubalance_evaluate_county_rules(
            rules=ruleset.county_rules, table=frame.table, engine=engine)
        return county_reports(frame, county_results, score, frame.measure_inputs)

    # -- plan ----------------------------------------------------------------------------------
    def plan(self, paths: Iterable[str | Path] = (), records: Iterable[Mapping[str, Any]] = (),
             counties: Iterable[Mapping[str, Any]] = (), target: str = "quality",
             costs: str | Path | None = None, near: float = 0.05) -> dict[str, Any]:
        """The remediation plan (see :mod:`edubalance.plan`) for the records in ``paths`` and/or
        given as dicts: the least additions per school and per county, their cost, checked by
        judging the adjusted records again with this evaluator. Rejected rows are listed."""
        from .plan import Planner

        paths = [str(p) for p in paths]
        rows, county_rows = self.load(paths) if paths else ([], [])
        rows = list(rows) + [RawRow("<records>", i + 1, dict(r)) for i, r in enumerate(records)]
        county_rows = list(county_rows) + [RawRow("<counties>", i + 1, dict(c)) for i, c in enumerate(counties)]
        checked = self.validate_rows(rows)
        counties_ok, counties_rejected = validate_counties(county_rows, default_province=self.province,
                                                           known_provinces=list(self.registry.packs))
        rejected = [r.to_dict() for r in checked.rejected] + [r.to_dict() for r in counties_rejected]
        return Planner(self, target=target, costs=None if costs is None else str(costs), near=near).plan(
            [dict(r) for r in checked.accepted], counties_ok, rejected=rejected, files=paths)


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + perf_counter() - start
