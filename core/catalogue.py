"""The rule catalogue of a report: what every rule is, said once instead of in every verdict.

A national report holds ~200,000 schools × ~22 verdicts. Repeating each rule's title, source,
unit and pack in every verdict made it several GB, so (as SARIF does with ``tool.driver.rules``)
the report carries one catalogue per rule set, keyed ``"<province>/<year>"`` — the year whose
standards judged the record — and each school and county entry names its rule set in
``"ruleset"``. A verdict then holds only what varies: status, value, threshold and gap::

    rule = report["rulesets"][school["ruleset"]]["rules"][verdict["rule_id"]]
"""
from __future__ import annotations

from typing import Any

from .derive import measure_inputs
from .funding import FundingPlan
from .model import Rule, RuleSet


def ruleset_key(ruleset: RuleSet) -> str:
    """``"guizhou/2023"``: how entries name the rule set that judged them."""
    return f"{ruleset.province}/{ruleset.year}"


def funding_in_force(ruleset: RuleSet) -> dict[str, Any]:
    """The funding parameters in force in the rule set's year, each with its status and source:
    the entries of the rule set's own funding plan (made once, kept with the rule set)."""
    out = {}
    for name, entries in ruleset.once(FundingPlan.of).entries.items():
        if entries:         # in the order a school tries them: the first that applies is used
            out[name] = [{k: v for k, v in e.items() if k not in ("from", "to")} for e in entries]
    return out


def catalogue(ruleset: RuleSet) -> dict[str, Any]:
    """The ``rulesets[key]`` object of the report: every rule's description, by rule id.

    Built once per rule set and kept with it (:meth:`~edubalance.model.RuleSet.once`), shared
    by the reports that use it: read it, do not change it.
    """
    return ruleset.once(_build)


def _build(ruleset: RuleSet) -> dict[str, Any]:
    return {
        "province": ruleset.province,
        "year": ruleset.year,
        "packs": [dict(p) for p in ruleset.packs],
        "rules": {r.id: {**r.describe(), "inputs": rule_inputs(ruleset, r)} for r in ruleset.school_rules},
        "county_rules": {r.id: r.describe() for r in ruleset.county_rules},
        "funding_parameters": funding_in_force(ruleset),
    }


def rule_inputs(ruleset: RuleSet, rule: Rule) -> list[str]:
    """The record fields a school rule reads (its measure's, its threshold's; a count of rules
    met: those rules'), so that a report can say which field to fill in when it lacks data."""
    found: list[str] = []
    by_id = {r.id: r for r in ruleset.rules}
    parts = [measure_inputs(ruleset, rule.measure), measure_inputs(ruleset, rule.threshold_measure or "")]
    parts += [rule_inputs(ruleset, by_id[i]) for i in rule.of or () if i in by_id]
    for names in parts:
        found.extend(f for f in names if f not in found)
    return found
