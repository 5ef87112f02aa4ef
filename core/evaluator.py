"""The evaluation lifecycle: load → validate → derive → school rules → county rules → merge → report.

:class:`Evaluator` is the one object an embedding program needs. It owns its plug-in manager,
its packs and its rule back ends (no global state, nothing started at import), and every call
returns a :class:`~edubalance.report.Report` in which ``read = evaluated + rejected``.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager, nullcontext
from pathlib import Path
from time import perf_counter
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import polars as pl

from . import expr
from .catalogue import catalogue
from .composite import evaluate_composites, ruleset_composite_inputs
from .county_rejected import mark_rejected_schools
from .checks import checker_for
from .engines import AUTO_DURABLE_MAX
from .entries import VERDICT_MODES, SchoolBlock
from .errors import InvalidInput, argument_problem
from .loading import InputError, Loaded, RawRow, concat, empty_frame, frame_rows, given_unit_notices
from .model import NOT_APPLICABLE, RuleResults, RuleSet, same_rules
from .named_province import PROVINCE_CONFLICTS, apply_given_province
from .plugins import plugin_manager
from .progress import Progress
from .regions import province_key, province_label, provinces_text
from .report import Report
from .rulepack import PackRegistry, compile_ruleset, load_pack, pack_sources
from .schemas import year_range
from .scoring import ScoreLayout, basic_standard_status, meets_basic_standard, score, status_of
from .serialise import gc_paused
from .table import TEXT_FIELDS, Table
from .validation import Checked, ValidationResult, given_rows, validate


class Evaluator:
    """Judge school (and county) records against the packs of the installed plug-ins.

    >>> ev = Evaluator(province="guizhou")            # doctest: +SKIP
    >>> report = ev.evaluate_files(["schools.csv"])   # doctest: +SKIP
    >>> report.exit_code, report.summary()            # doctest: +SKIP

    ``province`` fills records that carry none; ``province_conflicts`` says what a record that
    names another province does: ``keep`` its own (the default), ``refuse`` the input
    (InputError), or ``force`` ``province`` on every record (with a note); ``year`` judges every record by the standards
    in force in that year instead of its own ``year``; ``engine`` is ``vector``, ``durable`` or
    ``auto`` (durable-rules up to a few hundred records, columnar above); ``overrides`` are
    rule files that patch a pack (a corrected threshold, a local value). ``verdicts`` is ``all``
    (every rule's verdict for every school) or ``findings`` (only failed and missing-data
    verdicts are listed; counts, scores, funding and status stay complete): a national file
    is several GB with every verdict. ``timings``, if given, is a dict that each call fills
    with the seconds every stage took (``validate``, ``table``, ``derive``, ``school_rules``,
    ``scores``, ``county``, ``report``; ``load`` for files), summed over calls. ``on_stage``,
    if set, is called with each stage's name as it begins (the CLI's progress line).
    ``plugins`` (modules, objects with hooks, or importable module names, as ``-p``) are
    registered beside the installed ones; ``autoload=False`` loads no installed plug-in (by
    default none is loaded when ``EDUBALANCE_DISABLE_PLUGIN_AUTOLOAD`` is set), e.g. to test
    one plug-in alone. A pack or plug-in that cannot be used raises :class:`RulePackError` or
    :class:`PluginError`.
    """

    def __init__(self, province: str | None = None, year: int | None = None, engine: str = "auto",
                 overrides: Sequence[str | Path] = (), plugins: Sequence[object | str] = (),
                 autoload: bool | None = None, verdicts: str = "all",
                 timings: dict[str, float] | None = None, province_conflicts: str = "keep"):
        check_options(year, verdicts)
        if province is not None:
            province = province_key(province)       # 贵州, Guizhou → guizhou, as a 省份 cell is read
        self.province = province
        if province_conflicts not in PROVINCE_CONFLICTS:
            raise bad_argument("province_conflicts", province_conflicts, PROVINCE_CONFLICTS,
                               ("省份冲突处理方式", "province_conflicts"))
        self.province_conflicts = province_conflicts
        self.year = year
        self.verdicts = verdicts
        self.timings = timings
        self.on_stage: Callable[[str], None] | None = None
        self.pm = plugin_manager(plugins, autoload)
        self.registry = PackRegistry()
        for found in self.pm.hook.edubalance_rule_packs():
            for source in pack_sources(found):
                self.registry.add(load_pack(source))
        for path in overrides:
            self.registry.apply_override(path)
        self.engines: dict[str, Callable] = {}
        for found in self.pm.hook.edubalance_engines():
            self.engines.update(found or {})
        if engine != "auto" and engine not in self.engines:
            raise bad_argument("engine", engine, ["auto", *sorted(self.engines)], ("规则引擎", "engine"))
        self._check_province(province)
        self.engine = engine
        self._engine_objects: dict[str, Any] = {}
        self._rulesets: dict[tuple[str, int], RuleSet] = {}

    @property
    def _numeric(self) -> list[str]:
        """The fields a table holds as numbers: the schema's and those packs declare (a record of
        any province may carry a field another's pack declares; only that province's rules read it)."""
        return [n for n, spec in checker_for("school").props.items() if n not in TEXT_FIELDS
                and spec.get("type") != "string"]

    @property
    def _text(self) -> list[str]:
        """The text fields packs declare (the table holds the schema's own anyway)."""
        return [n for n, spec in checker_for("school").props.items() if n not in TEXT_FIELDS
                and spec.get("type") == "string"]

    def _stage(self, name: str):
        """Time a stage into ``self.timings`` (a no-op context when no timings are asked for),
        and tell ``self.on_stage`` (e.g. a progress bar) that it began."""
        if self.on_stage is not None:
            self.on_stage(name)
        if self.timings is None:
            return nullcontext()
        return _timed(self.timings, name)

    def _check_province(self, province: str | None) -> None:
        if province is not None and province not in self.registry.packs:
            # The provinces listed are those whose packs judge records: a base (national) is not one.
            supported = self.registry.provinces
            known, names = ", ".join(supported) or "none", provinces_text(supported)
            raise InvalidInput([argument_problem(
                "E205", "province", province, f"{names} / {known}",
                f"省份 {province_label(province)} 没有对应的插件，支持的省份：{names}"
                f" / unknown province '{province}' (known: {known})")], ("参数无效", "invalid argument"))

    def with_options(self, province: str | None, year: int | None, verdicts: str = "all") -> "Evaluator":
        """This evaluator with other record defaults: the same plug-ins, packs, compiled rule sets
        and back ends, so nothing is read or compiled again (a service's worker keeps one)."""
        check_options(year, verdicts)
        if province is not None:
            province = province_key(province)       # 贵州, Guizhou → guizhou, as a 省份 cell is read
        self._check_province(province)
        other = copy.copy(self)
        other.province, other.year, other.verdicts = province, year, verdicts
        return other

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
            # durable-rules up to a few hundred records, while the process has room for its rulesets
            room = getattr(self.engines.get("durable"), "has_room", lambda: True)()
            name = "durable" if n <= AUTO_DURABLE_MAX and room else "vector"
        if name not in self._engine_objects:
            self._engine_objects[name] = self.engines[name]()
        return self._engine_objects[name]

    # -- load and validate ---------------------------------------------------------------------
    @gc_paused()
    def load(self, paths: Iterable[str | Path]) -> Loaded:
        """Read files into two frames of text cells, school rows and county rows (the columns
        are field names, ``_file`` and ``_row``; ``schools, counties = ev.load(paths)``), with
        the files' notices and the rows that are not records. Raises InputError for a bad file."""
        schools: list[pl.DataFrame] = []
        counties: list[pl.DataFrame] = []
        out = Loaded(empty_frame(), empty_frame())
        with self._stage("load"):
            for path in paths:
                loaded = self.pm.hook.edubalance_load_file(path=str(path), default_province=self.province)
                if loaded is None:
                    raise InputError(str(path), "没有能读取此文件的读取器 / no reader for this file")
                schools.append(loaded.frame)
                counties.append(loaded.county)
                out.notices += getattr(loaded, "notices", [])
                out.skipped += getattr(loaded, "skipped", [])
                out.sheets += [f"{path}: {s}" for s in getattr(loaded, "sheets", [])]
        out.schools, out.counties = concat(schools), concat(counties)
        return out

    def validate_rows(self, rows: pl.DataFrame | Sequence[RawRow]) -> ValidationResult:
        """Accept or reject school rows (a loaded frame, or RawRows), plug-ins' checks included."""
        result = validate(rows, default_province=self.province, known_provinces=list(self.registry.packs))
        hook = self.pm.hook.edubalance_validate_records
        if not hook.get_hookimpls():
            return result              # the accepted records are made into dicts only when asked
        result.frame                   # made before plug-ins see the records' dicts
        extra = [p for found in hook(records=result.accepted, context={"known_provinces": list(self.registry.packs)})
                 for p in found or []]
        if extra:
            result = result.with_problems(extra)
        return result

    @gc_paused()
    def check(self, schools: Loaded | pl.DataFrame | Sequence[RawRow], counties: pl.DataFrame | Sequence[RawRow] = ()
              ) -> Checked:
        """What is accepted and what is rejected, and why: the one decision that ``validate``
        and ``evaluate`` (and every API call) share. Given what :meth:`load` read, its rows
        that are not records are counted as read and skipped."""
        skipped, notices = [], []
        if isinstance(schools, Loaded):
            loaded = schools
            schools, counties, skipped, notices = loaded.schools, loaded.counties, loaded.skipped, loaded.notices
        else:                  # records' keys in another unit (…（万元）) are told as a file's columns are (W402)
            notices = given_unit_notices([r for rows in (schools, counties) if not isinstance(rows, pl.DataFrame)
                                          for r in rows])
        school_rows, counties, notes = apply_given_province(schools, counties, self.province, self.province_conflicts)
        county = validate(counties, default_province=self.province, known_provinces=list(self.registry.packs),
                          kind="county")
        return Checked(self.validate_rows(school_rows), county, len(school_rows) + len(skipped), len(counties),
                       notes=notes, skipped=list(skipped), notices=list(notices))

    # -- evaluate ----------------------------------------------------------------------------
    @gc_paused()
    def evaluate_files(self, paths: Iterable[str | Path], progress: Progress | None = None,
                       schools_only: bool = False) -> Report:
        """Judge the records in ``paths``; ``schools_only`` skips the county judgement."""
        paths = list(paths)
        return self.evaluate_checked(self.check_timed(self.load(paths)), [str(p) for p in paths], progress,
                                     counties=not schools_only)

    @gc_paused()
    def evaluate_records(self, records: Iterable[Mapping[str, Any]] | pl.DataFrame,
                         counties: Iterable[Mapping[str, Any]] | pl.DataFrame = (),
                         progress: Progress | None = None, schools_only: bool = False) -> Report:
        """Judge records given as dicts (or the rows of a polars DataFrame), e.g. from a government
        system. Keys are English field names or Chinese labels, as a file's headers are;
        ``schools_only`` skips the county judgement. A record that fails validation is listed in
        the report's ``rejected``; an item that is not a record, or a record naming a field twice,
        raises :class:`~edubalance.errors.InvalidInput`."""
        rows = given_rows(records, "<records>")
        county_rows = given_rows(counties, "<counties>")
        return self.evaluate_checked(self.check_timed(rows, county_rows), [], progress, counties=not schools_only)

    @gc_paused()
    def evaluate_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """One school record (English or Chinese keys) → its report entry. A rejected record
        raises :class:`~edubalance.errors.InvalidInput` with its problems (``.problems``).

        A school's entry does not depend on its county's verdicts, so a lone record skips the
        county stage (a county of one school says nothing anyway).
        """
        checked = self.check_timed(given_rows([record], "<records>"), [])
        if checked.schools.rejected:
            raise InvalidInput(checked.schools.rejected[0].problems, ("记录未通过校验", "record rejected"))
        report = self.evaluate_checked(checked, [], None, counties=False)
        return report.school(0)

    def check_timed(self, schools: Any, counties: Any = ()) -> Checked:
        """:meth:`check`, timed as the ``validate`` stage."""
        with self._stage("validate"):
            return self.check(schools, counties)

    @gc_paused()
    def evaluate_checked(self, checked: Checked, files: list[str], progress: Progress | None = None,
                         counties: bool = True) -> Report:
        """The lifecycle after validation: judge the accepted records of ``checked`` (and, unless
        ``counties`` is false, their counties and every county record)."""
        with self._stage("validate"):
            result = checked.schools
            county_records = {(c["county_code"], int(c["year"])): c for c in checked.counties.accepted}
            report = Report(files=files, read=checked.read, rejected=[r.to_dict() for r in result.rejected],
                            warnings=result.warning_dicts(),
                            county_rejected=[r.to_dict() for r in checked.counties.rejected],
                            county_read=checked.county_read,
                            verdicts=self.verdicts, skipped=[r.to_dict() for r in checked.skipped],
                            notices=[p.to_dict() for p in checked.notices])
            report.notes.extend(checked.notes)
            groups = self._groups(result)
            by_group = self._county_groups(checked.counties.accepted) if counties else {}
        engine_names = set()
        for (province, year), members in groups:
            ruleset = self.ruleset(province, year)
            engine = self.engine_for(len(members))
            engine_names.add(engine.name)
            block, county_entries = self._evaluate_group(ruleset, members, county_records, engine,
                                                         progress, counties, by_group.pop((province, year), ()))
            report.add_group(ruleset, block, county_entries)
        for (province, year), keys in sorted(by_group.items()):       # county records without schools
            ruleset = self.ruleset(province, year)
            engine = self.engine_for(len(keys))
            engine_names.add(engine.name)
            with self._stage("county"):
                entries = self._evaluate_counties(ruleset, Table(0), RuleResults.empty([], 0),
                                                  np.zeros(0, dtype=object), county_records, engine, keys)
            report.add_group(ruleset, None, entries)
        if counties:
            mark_rejected_schools(report.counties, report.rejected, lambda: _counties_of_files(report))
        else:
            report.notes.append("按要求只评估学校，未作县域评估 / schools only, as asked: no county was judged")
        report.engine = ",".join(sorted(engine_names)) or self.engine
        with self._stage("report"):
            report.finish()
            self.pm.hook.edubalance_merge_scores(report=report)
        return report

    def _groups(self, result: ValidationResult) -> list[tuple[tuple[str, int], pl.DataFrame | list[dict]]]:
        """The accepted records of each (province, year) group, in input order, groups sorted:
        a frame each, or the one accepted record's dict (a record through the API)."""
        if result.count == 0:
            return []
        if result.count == 1:
            first = result.accepted[0]
            return [((first["province"], self.year or int(first["year"])), result.accepted)]
        frame = result.frame
        if self.year:
            parts = frame.partition_by("province", maintain_order=True, as_dict=True)
            groups = [((key[0], self.year), part) for key, part in parts.items()]
        else:
            parts = frame.partition_by(["province", "year"], maintain_order=True, as_dict=True)
            groups = [((key[0], int(key[1])), part) for key, part in parts.items()]
        return sorted(groups, key=lambda g: g[0])

    def _county_groups(self, accepted: Iterable[Mapping[str, Any]]) -> dict[tuple[str, int], list[tuple[str, int]]]:
        """The (county_code, year) of every accepted county record, by the (province, year) of
        the rules that judge it — so that a county record is judged even with no school of its own."""
        out: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for c in accepted:
            if c.get("province") in self.registry.packs:
                year = int(c["year"])
                out.setdefault((c["province"], self.year or year), []).append((c["county_code"], year))
        return out

    def _evaluate_group(self, ruleset: RuleSet, members: pl.DataFrame | list[dict], county_records: Mapping,
                        engine: Any, progress: Progress | None, counties: bool = True,
                        extra_counties: Sequence[tuple[str, int]] = ()
                        ) -> tuple[SchoolBlock, list[dict]]:
        """``members``: the group's accepted records (a typed frame, or their dicts)."""
        with self._stage("table"):
            if isinstance(members, pl.DataFrame):
                table = Table.from_frame(members, self._numeric, self._text)
                files, rows = members["_file"].to_list(), members["_row"].to_list()
            else:
                table = Table.from_records(members, self._numeric, self._text)
                files, rows = [m["_file"] for m in members], [m["_row"] for m in members]
        results = self.school_results(ruleset, table, engine, progress)
        with self._stage("scores"):
            layout = ruleset.kept_for(results.rules, ScoreLayout.of, ScoreLayout)
            overall, by_dim = score(results.status, results.rules, layout)
            status = status_of(results.status, results.rules, layout)
            basic = basic_standard_status(results.status, results.rules, layout)
            table.set_measure("meets_basic_standard", meets_basic_standard(basic))
            schools = SchoolBlock(table, results, overall, by_dim, status, ruleset, files, rows)
        if not counties:
            return schools, []
        with self._stage("county"):
            county_entries = self._evaluate_counties(ruleset, table, results, basic, county_records, engine,
                                                     extra_counties)
        return schools, county_entries

    def school_results(self, ruleset: RuleSet, table: Table, engine: Any, progress: Progress | None = None,
                       timed: bool = True) -> RuleResults:
        """The school stage over a table: derived measures, the school rules, then the rules over
        their verdicts (the 6-of-7 rule). The planner's search calls it untimed, many times, on
        tables of variants that carry their whole school's pupils."""
        stage = self._stage if timed else _untimed
        with stage("derive"):
            self.pm.hook.edubalance_derive_measures(table=table, ruleset=ruleset)
        with stage("school_rules"):
            base = self.pm.hook.edubalance_evaluate_school_rules(
                rules=ruleset.rules, table=table, engine=engine, progress=progress)
            inputs = ruleset.once(ruleset_composite_inputs) if same_rules(base.rules, ruleset.rules) else None
            return base.extend(evaluate_composites(ruleset.composites, base, table, inputs))

    def _evaluate_counties(self, ruleset: RuleSet, table: Table, results: RuleResults, basic: np.ndarray,
                           county_records: Mapping, engine: Any,
                           extra_counties: Sequence[tuple[str, int]] = ()) -> list[dict]:
        """``basic``: each school's status on its basic-standard rules (the 2012 gate);
        ``extra_counties``: county records to judge beside the counties of the schools."""
        from .county import build_county_table, county_reports

        if not ruleset.county_rules and not (ruleset.parameters.get("county")):
            return []
        # The 2017 per-school rule is whichever composite reports ``resource_indicators_met``.
        rows = [k for k, r in enumerate(results.rules) if r.measure == "resource_indicators_met"]
        resource = (results.status[rows[0]] if rows
                    else np.full(table.n, NOT_APPLICABLE, dtype=np.int8))
        frame = build_county_table(table, ruleset.parameters.get("county") or {}, basic, resource,
                                   county_records, expr.parse_condition, measures=ruleset.measures,
                                   extra_counties=extra_counties)
        county_results = self.pm.hook.edubalance_evaluate_county_rules(
            rules=ruleset.county_rules, table=frame.table, engine=engine)
        return county_reports(frame, county_results, score, frame.measure_inputs)

    # -- plan ----------------------------------------------------------------------------------
    @gc_paused()
    def plan(self, paths: Iterable[str | Path] = (), records: Iterable[Mapping[str, Any]] = (),
             counties: Iterable[Mapping[str, Any]] = (), target: str = "quality",
             costs: str | Path | Mapping[str, Any] | None = None, near: float = 0.05,
             loaded: Loaded | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """The remediation plan (see :mod:`edubalance.plan`) for the records in ``paths`` and/or
        given as dicts: the least additions per school and per county, their cost, checked by
        judging the adjusted records again with this evaluator. Rejected rows are listed.
        ``costs``: local prices, a cost file or its content (``{item: yuan}``).
        ``loaded``: ``paths`` as already read (:meth:`load`), not read again; ``progress`` is
        told what the plan is working on (a line of text)."""
        from .plan import Planner

        files = [str(p) for p in paths]
        given = (given_rows(records, "<records>"), given_rows(counties, "<counties>"))
        read = loaded if loaded is not None else (self.load(files) if files else None)
        if read is not None and any(given):            # files and records given as dicts: judged as one input
            schools, county_rows = read
            checked = self.check(frame_rows(schools) + given[0], frame_rows(county_rows) + given[1])
        else:
            checked = self.check(read) if read is not None else self.check(*given)
        local = costs if costs is None or isinstance(costs, Mapping) else str(costs)
        return Planner(self, target=target, costs=local, near=near, progress=progress).plan(
            checked, files=files)


def _counties_of_files(report: Report) -> dict[str, set[str]]:
    """The county codes of the accepted schools of each input file (to place a rejected row
    whose own county code is unusable)."""
    out: dict[str, set[str]] = {}
    for block in report.blocks:
        for file, code in set(zip(block.files.tolist(), block.identity["county_code"].tolist())):
            out.setdefault(file, set()).add(code)
    return out


def check_options(year: Any, verdicts: str) -> None:
    """Refuse an unknown verdicts mode or a year no record could have (see :func:`check_year`)."""
    if verdicts not in VERDICT_MODES:
        raise bad_argument("verdicts", verdicts, VERDICT_MODES, ("结论列表方式", "verdicts mode"))
    check_year(year)


def check_year(year: Any) -> None:
    """Refuse a standards year no record could have (0, a negative year, 20230): it would judge by
    nothing, or silently by each record's own year."""
    if year is None:
        return
    lo, hi = year_range()          # the record schema's bounds, read when a year is checked
    if isinstance(year, bool) or not isinstance(year, int) or not lo <= year <= hi:
        raise InvalidInput([argument_problem("E192", "year", year, f"{lo}–{hi}",
                                             f"学年应为 {lo}–{hi} 之间的整数 the year must be a whole number from "
                                             f"{lo} to {hi}, got {year!r}")], ("参数无效", "invalid argument"))


def bad_argument(name: str, value: Any, choices: Sequence[str], what: tuple[str, str],
                 code: str = "E192") -> InvalidInput:
    """An argument of :class:`Evaluator` that names nothing known, with what it may be."""
    known = ", ".join(choices) or "none"
    return InvalidInput([argument_problem(code, name, value, known,
                                          f"未知的{what[0]} {value!r}（可选：{known}）/ unknown {what[1]} {value!r} "
                                          f"(choose from {known})")],
                        ("参数无效", "invalid argument"))


def _untimed(name: str) -> nullcontext:
    return nullcontext()


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + perf_counter() - start
