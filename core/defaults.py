"""The core's own stage implementations, registered as the plug-in ``edubalance.defaults``.

They are marked ``trylast`` so that any installed plug-in can take a stage over (a new file
format, another back end, another report format) without the core knowing about it.
"""
from __future__ import annotations

from .hookspecs import hookimpl


@hookimpl(trylast=True)
def edubalance_load_file(path, default_province):
    from .loading import load_file
    return load_file(path, default_province=default_province)


@hookimpl(trylast=True)
def edubalance_derive_measures(table, ruleset):
    from .derive import derive_measures
    from .funding import compute_funding
    derive_measures(table, ruleset.measures)
    compute_funding(table, ruleset.parameters.get("funding") or {}, ruleset.year)


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
def edubalance_render_report(report, fmt, path):
    from .output import write_core_format
    return write_core_format(report, fmt, path)


@hookimpl
def edubalance_report_formats():
    return {"table": {"suffixes": [".txt"], "title": {"zh": "文字报告", "en": "text report"}},
            "json": {"suffixes": [".json"], "title": {"zh": "JSON 报告", "en": "JSON report"}}}


@hookimpl
def edubalance_engines():
    from .engines.durable import DurableEngine
    from .engines.vector import VectorEngine
    return {"vector": VectorEngine, "durable": DurableEngine}
