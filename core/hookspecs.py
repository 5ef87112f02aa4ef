"""Every hook edubalance calls, one per lifecycle stage, in the order they run.

    load → validate → derive → school rules → county rules → merge → report

A province plug-in usually needs only :func:`edubalance_rule_packs` (its YAML pack, which also
declares the province's own input fields, ``fields:``) and
:func:`edubalance_demo_data`; the other hooks let a plug-in add a file format, a check, a
measure, a rule back end or a report format. The core's own behaviour is registered as the
plug-in ``edubalance.defaults`` through these same hooks. Plug-ins are found through the
entry-point group ``edubalance.plugins.v1``; set ``EDUBALANCE_DISABLE_PLUGIN_AUTOLOAD=1`` to
load none and name them with ``-p`` instead.

Results never depend on the order plug-ins load in: hooks that collect (packs, problems,
measures) are merged by id, and ``firstresult`` hooks are for "who handles this". Every hook
may return None: nothing to add, or (``firstresult``) not this plug-in's to handle.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pluggy

from .progress import Progress

if TYPE_CHECKING:
    from .engines import Engine
    from .loading import LoadedFile
    from .model import Rule, RuleResults, RuleSet
    from .report import Report
    from .rulepack import PackSource
    from .table import Table
    from .validation import Problem

PROJECT = "edubalance"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def edubalance_rule_packs() -> list[PackSource] | None:
    """Return a list of :class:`edubalance.rulepack.PackSource`: the YAML files of this plug-in's pack.

    Called once when an :class:`~edubalance.Evaluator` is built. A province pack usually
    ``extends: national``; its id is the province id records carry in ``province``.
    """


@hookspec
def edubalance_demo_data() -> dict[str, list[str | Path]] | None:
    """Return ``{province: [paths]}``: sample files that ``edubalance demo PROVINCE`` evaluates."""


@hookspec(firstresult=True)
def edubalance_load_file(path: str, default_province: str | None) -> LoadedFile | None:
    """Stage *load*: read one input file into a :class:`edubalance.loading.LoadedFile`.

    Its ``frame`` and ``county`` are polars frames of text cells under the field names, with
    ``_file`` and ``_row``; its ``notices``, ``skipped`` and ``sheets`` say what was done to the
    file as a whole (ignored columns, converted units, rows that are not records). Return None
    to let another plug-in (in the end the core's reader, which decides the format once and
    hands the file to its reader: CSV, XLSX/XLS, JSON, NDJSON, YAML) handle it. Raise
    :class:`edubalance.loading.InputError` for a file that cannot be read.
    """


@hookspec
def edubalance_validate_records(records: list[dict[str, Any]], context: dict[str, Any]) -> list[Problem] | None:
    """Stage *validate*: return extra :class:`edubalance.validation.Problem` s for accepted records.

    ``records`` are the records that passed the schema and the core's cross-field checks;
    ``context`` is a dict with ``known_provinces``. A problem with severity ``error`` moves its
    record to the rejected list; ``warning`` keeps it.
    """


@hookspec
def edubalance_derive_measures(table: Table, ruleset: RuleSet) -> None:
    """Stage *derive*: add measure columns to the :class:`edubalance.table.Table` in place.

    Runs for each (province, year) group before any rule; ``ruleset`` is the compiled
    :class:`edubalance.model.RuleSet` in force. The core adds data-dictionary §3 measures,
    the packs' expression measures and the public-funds entitlement here.
    """


@hookspec(firstresult=True)
def edubalance_evaluate_school_rules(rules: list[Rule], table: Table, engine: Engine,
                                     progress: Progress | None) -> RuleResults | None:
    """Stage *school rules*: return :class:`edubalance.model.RuleResults` for ``rules`` over ``table``.

    ``engine`` is the back-end object chosen (made by an :func:`edubalance_engines` factory,
    an :class:`edubalance.engines.Engine`); ``progress`` is a callable
    taking a count of records done, or None.
    """


@hookspec(firstresult=True)
def edubalance_evaluate_county_rules(rules: list[Rule], table: Table, engine: Engine) -> RuleResults | None:
    """Stage *county rules*: return :class:`edubalance.model.RuleResults` for county rows.

    ``table`` holds one row per county, year and stage (``primary``, ``junior``) plus one
    ``county`` row, built by :mod:`edubalance.county` (CVs, gates, the county record);
    ``engine`` is the same back-end object the school rules ran on.
    """


@hookspec
def edubalance_merge_scores(report: Report) -> None:
    """Stage *merge*: adjust the :class:`edubalance.report.Report` after scores are merged.

    Called once per evaluation with the finished report; return nothing. For additions such
    as a province's own summary lines in ``report.notes``, not for changing verdicts. The
    county entries are ``report.counties``: county verdict dicts may be shared between
    counties: read them; copy one before changing it.
    """


@hookspec(firstresult=True)
def edubalance_render_report(report: Report, fmt: str, path: Path | None, progress: Progress | None
                             ) -> bool | None:
    """Stage *report*: write ``report`` in format ``fmt``; return True when done, None if ``fmt`` is not yours.

    ``path`` is a :class:`pathlib.Path` to create (a file, or a folder for a multi-table format);
    the caller gives a temporary name in the target folder and renames it into place only on
    success, so a failed write never leaves half a report. ``path`` None means standard output
    (``sys.stdout.buffer``); a format that cannot go to a terminal raises ``ValueError``.
    ``progress``, if not None, is a callable told how many school entries are written so far
    (a progress bar); an implementation may leave the argument out.
    """


@hookspec
def edubalance_report_formats() -> dict[str, dict[str, Any]] | None:
    """Return ``{name: {"suffixes": [".xlsx", ...], "title": {"zh": ..., "en": ...}}}``.

    The report formats this plug-in writes through :func:`edubalance_render_report`; ``-o``
    picks a format by the output's suffix, ``--format`` by name, and ``--help`` lists them.
    ``"folder": True`` marks a format written as a folder of files (``parquet``): its ``path``
    is a folder to create, and ``-o`` may replace only an earlier folder of that format.
    """


@hookspec
def edubalance_engines() -> dict[str, Callable[[], Engine]] | None:
    """Return ``{name: factory}`` for the rule back ends this plug-in provides.

    A factory takes no arguments and returns an :class:`edubalance.engines.Engine`: ``name`` and
    ``evaluate(rules, table, progress)`` giving :class:`edubalance.model.RuleResults`. The core
    provides ``vector`` and ``durable``.
    """
