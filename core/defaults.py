"""The core's own stage implementations, registered as the plug-in ``edubalance.defaults``.

They are marked ``trylast`` so that any installed plug-in can take a stage over (a new file
format, another back end, another report format) without the core knowing about it.
"""
from __future__ import annotations

from .hookspecs import hookimpl


@hookimpl(trylast=True)
def edubalance_derive_measures(table, ruleset):
    from .derive import derive_measures
    from .funding import FundingPlan, compute_funding
    derive_measures(table, ruleset.measure_runs)
    compute_funding(table, ruleset.once(FundingPlan.of))


@hookimpl(trylast=True)
def edubalance_evaluate_school_rules(rules, table, engine, progress):
    return engine.evaluate(rules, table, progress)


@hookimpl(trylast=True)
def edubalance_evaluate_county_rules(rules, table, engine):
    return engine.evaluate(rules, table)


@hookimpl(trylast=True)
def edubalance_merge_scores(report):
    from .scoring import mark_unjudged_counties
    mark_unjudged_counties(report.counties)


@hookimpl(trylast=True)
def edubalance_render_report(report, fmt, path, progress):
    from .output import write_core_format
    return write_core_format(report, fmt, path, progress)


@hookimpl
def edubalance_report_formats():
    from .output import CORE_FORMATS
    return CORE_FORMATS


@hookimpl
def edubalance_engines():
    from .engines.durable import DurableEngine
    from .engines.vector import VectorEngine
    return {"vector": VectorEngine, "durable": DurableEngine}
