"""The evaluation lifecycle: load → validate → derive → school rules → county rules → merge → report.

:class:`Evaluator` is the one object an embedding program needs. It owns its plug-in manager,
its packs and its rule back ends (no global state, nothing started at import), and every call
returns a :class:`~edubalance.report.Report` in which ``read = evaluated + rejected``.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from . import expr
from .composite import evaluate_composites
from .engines import AUTO_DURABLE_MAX
from .funding import funding_parameters
from .loading import InputError, RawRow
from .model import RuleResults, RuleSet
from .plugins import plugin_manager
from .report import Report, school_entries
from .rulepack import PackRegistry, compile_ruleset, load_pack
from .schemas import school_schema
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
    rule files that patch a pack (a corrected threshold, a local value).
    """

    def __init__(self, province: str | None = None, year: int | None = None, engine: str = "auto",
                 overrides: Sequence[str | Path] = (), plugins: Sequence[object | str] = (),
                 autoload: bool | None = None):
        self.province = province
        self.year = year
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
        self._numeric = [n for n in school_schema()["properties"] if n not in TEXT_FIELDS]

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

    def engine_for(self, n: int) -> Any:
        name = self.engine
        if name == "auto":
            name = "durable" if n <= AUTO_DURABLE_MAX else "vector"
        if name not in self._engine_objects:
            self._engine_objects[name] = self.engines[name]()
        return self._engine_objects[name]

    # -- load and validate ---------------------------------------------------------------------
    def load(self, paths: Iterable[str | Path]) -> tuple[list[RawRow], list[RawRow]]:
        """Read files into raw rows (schools, counties). Raises InputError for a bad file."""
        rows: list[RawRow] = []
        county_rows: list[RawRow] = []
        for path in paths:
            loaded = self.pm.hook.edubalance_load_file(path=str(path), default_province=self.province)
            if loaded is None:
                raise InputError(str(path), "no reader for this file")
            rows.extend(loaded.rows)
            county_rows.extend(loaded.county_rows)
        return rows, county_rows

    def validate_rows(self, rows: list[RawRow]):
        result = validate(rows, default_province=self.province, known_provinces=list(self.registry.packs))
        extra = [p for found in self.pm.hook.edubalance_validate_records(
            records=result.accepted, context={"known_provinces": list(self.registry.packs)}) for p in found or []]
        if extra:
            result = result.with_problems(extra)
        return result

    # -- evaluate ----------------------------------------------------------------------------
    def evaluate_files(self, paths: Iterable[str | Path], progress: Progress | None = None) -> Report:
        paths = list(paths)
        rows, county_rows = self.load(paths)
        return self._evaluate(rows, county_rows, [str(p) for p in paths], progress)

    def evaluate_records(self, records: Iterable[Mapping[str, Any]], counties: Iterable[Mapping[str, Any]] = (),
                         progress: Progress | None = None) -> Report:
        """Judge records given as dicts (English field names), e.g. from a government system."""
        rows = [RawRow("<records>", i + 1, dict(r)) for i, r in enumerate(records)]
        county_rows = [RawRow("<counties>", i + 1, dict(c)) for i, c in enumerate(counties)]
        return self._evaluate(rows, county_rows, [], progress)

    def evaluate_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """One school record → its report entry (raises ValueError if the record is rejected)."""
        report = self.evaluate_records([record])
        if report.rejected:
            problems = "; ".join(p["message"] for p in report.rejected[0]["problems"])
            raise ValueError(f"record rejected: {problems}")
        return report.schools[0]

    def _evaluate(self, rows: list[RawRow], county_rows: list[RawRow], files: list[str],
                  progress: Progress | None) -> Report:
        checked = self.validate_rows(rows)
        counties_ok, counties_rejected = validate_counties(county_rows, default_province=self.province,
                                                           known_provinces=list(self.registry.packs))
        county_records = {(c["county_code"], int(c["year"])): c for c in counties_ok}
        report = Report(files=files, read=len(rows), rejected=[r.to_dict() for r in checked.rejected],
                        warnings=[p.to_dict() for p in checked.problems if p.severity == "warning"],
                        county_rejected=[r.to_dict() for r in counties_rejected])
        groups: dict[tuple[str, int], list[dict]] = defaultdict(list)
        for rec in checked.accepted:
            groups[(rec["province"], self.year or int(rec["year"]))].append(rec)
        engine_names = set()
        for (province, year), records in sorted(groups.items()):
            ruleset = self.ruleset(province, year)
            engine = self.engine_for(len(records))
            engine_names.add(engine.name)
            schools, counties = self._evaluate_group(ruleset, records, county_records, engine, progress)
            report.add_group(ruleset, schools, counties)
        report.engine = ",".join(sorted(engine_names)) or self.engine
        report.finish()
        self.pm.hook.edubalance_merge_scores(report=report)
        return report

    def _evaluate_group(self, ruleset: RuleSet, records: list[dict], county_records: Mapping,
                        engine: Any, progress: Progress | None) -> tuple[list[dict], list[dict]]:
        table = Table.from_records(records, self._numeric)
        self.pm.hook.edubalance_derive_measures(table=table, ruleset=ruleset)
        base = self.pm.hook.edubalance_evaluate_school_rules(
            rules=ruleset.rules, table=table, engine=engine, progress=progress)
        results = base.extend(evaluate_composites(ruleset.composites, base, table))
        overall, by_dim = score(results.status, results.rules)
        status = status_of(results.status, results.rules)
        params = _funding_summary(ruleset)
        schools = school_entries(table, records, results, overall, by_dim, status, params)
        counties = self._evaluate_counties(ruleset, table, results, status, county_records, engine)
        return schools, counties

    def _evaluate_counties(self, ruleset: RuleSet, table: Table, results: RuleResults, status: np.ndarray,
                           county_records: Mapping, engine: Any) -> list[dict]:
        from .county import build_county_table, county_reports

        if not ruleset.county_rules and not (ruleset.parameters.get("county")):
            return []
        try:
            resource = results.status[results.index("national.resource_indicators")]
        except KeyError:
            resource = np.full(table.n, 2, dtype=np.int8)
        frame = build_county_table(table, ruleset.parameters.get("county") or {}, status, resource,
                                   county_records, expr.parse_condition, measures=ruleset.measures)
        county_results = self.pm.hook.edubalance_evaluate_county_rules(
            rules=ruleset.county_rules, table=frame.table, engine=engine)
        return county_reports(frame, county_results, score, frame.measure_inputs)


def _funding_summary(ruleset: RuleSet) -> dict[str, Any]:
    """The funding parameters in force, with status and source, for the report's funding block."""
    out = {}
    for name, entry in funding_parameters(ruleset.parameters.get("funding") or {}, ruleset.year).items():
        if entry:
            out[name] = {k: v for k, v in entry.items() if k not in ("from", "to")}
    return out
