"""The words a plan is shown in, Chinese first: the terminal text, the workbook and the page
name rules, cost items, stages, programmes and units through here, so that they agree.

A plan holds ids (``national.class_size``, ``teacher``, ``primary``); a person reads the rule's
title from the evaluator's catalogue, the cost item's title from the cost table, and a unit as
a Chinese reader writes it (``+1 人``, not ``+1 teachers``).
"""
from __future__ import annotations

from typing import Any, Mapping

from ..fields import SHARE_UNITS, label, unit_zh
from .view import OPERATOR_ZH, PROGRAMME_ZH, STAGE_ZH, YES_NO_UNITS, number_text, status_text

TARGET_ZH = {"quality": "优质均衡", "basic": "基本均衡"}


def rule_catalogues(ev: Any, plan: Mapping[str, Any]) -> dict[str, Any]:
    """Each rule set a plan names (``"guizhou/2023"``) → ``ev``'s rule catalogue, for the titles."""
    rulesets = {s.get("ruleset") for s in plan["schools"]} | {c.get("ruleset") for c in plan["counties"]}
    return {key: ev.rule_catalogue(key) for key in sorted(k for k in rulesets if k)}


class PlanWords:
    """Names for one plan: ``catalogues`` maps each of its rule sets (``"guizhou/2023"``) to
    the evaluator's rule catalogue (:meth:`Evaluator.rule_catalogue`)."""

    def __init__(self, plan: Mapping[str, Any], catalogues: Mapping[str, Any]):
        self.catalogues = catalogues
        self.items = {k: spec for table in plan["costs"].values() for k, spec in table["items"].items()}

    def _rule(self, ruleset: str | None, rule_id: str) -> Mapping[str, Any]:
        found = self.catalogues.get(ruleset or "") or {}
        return (found.get("rules") or {}).get(rule_id) or (found.get("county_rules") or {}).get(rule_id) or {}

    def title(self, ruleset: str | None, rule_id: str) -> str:
        """The rule's Chinese title ("" when the catalogue does not hold it)."""
        return (self._rule(ruleset, rule_id).get("title") or {}).get("zh", "")

    def rule(self, ruleset: str | None, rule_id: str) -> str:
        """``生均图书册数 [guizhou.books_per_pupil]``: the title, and the id a supervisor traces."""
        title = self.title(ruleset, rule_id)
        return f"{title} [{rule_id}]" if title else rule_id

    def measured(self, ruleset: str | None, rule_id: str, value: Any) -> str:
        """A rule's value or threshold in its unit: a yes or a no, a share in percent, else the number and unit."""
        unit = self._rule(ruleset, rule_id).get("unit") or ""
        if unit in YES_NO_UNITS and value in (0, 1):
            return "是 yes" if value else "否 no"
        if unit in SHARE_UNITS and isinstance(value, (int, float)):
            return f"{number_text(value * 100)}%"
        return f"{number_text(value)} {unit_zh(unit)}".rstrip() if unit else number_text(value)

    def shortfall(self, ruleset: str | None, r: Mapping[str, Any]) -> str:
        """``最大班额 [national.class_size]: 58 人/班, 要求 required ≤ 45 人/班``."""
        op = OPERATOR_ZH.get(r["operator"], r["operator"])
        return (f"{self.rule(ruleset, r['rule_id'])}: {self.measured(ruleset, r['rule_id'], r['value'])}, "
                f"要求 required {op} {self.measured(ruleset, r['rule_id'], r['threshold'])}")

    def item(self, key: str) -> str:
        """A cost item's Chinese title (``新增专任教师``), else its key."""
        return ((self.items.get(key) or {}).get("title") or {}).get("zh") or key

    def unpriced(self, key: str) -> str:
        """The Chinese name of what a plan lists as not priced: a cost item (``学生床位``), or a
        field no cost item counts (``实验室面积``)."""
        return self.item(key) if key in self.items else label(key)

    def item_unit(self, key: str) -> str:
        """What a cost item is counted in: the part of its price's unit after 元/ (人, m², 册)."""
        price = str((self.items.get(key) or {}).get("unit") or "")
        return price.split("/", 1)[1].split("·")[0] if "/" in price else ""

    @staticmethod
    def addition(a: Mapping[str, Any]) -> str:
        """``+1 人``, ``+58 平方米``, ``+6,500 元/年``."""
        return f"+{number_text(float(a['amount']))} {unit_zh(a.get('unit') or '')}".rstrip()

    @staticmethod
    def field(name: str) -> str:
        """``图书册数 books``."""
        return f"{label(name)} {name}"

    @staticmethod
    def stage(stage: str) -> str:
        """``小学 primary``."""
        return _both(STAGE_ZH, stage)

    @staticmethod
    def programme(programme: str) -> str:
        """``优质均衡 quality_2017``."""
        return _both(PROGRAMME_ZH, programme)

    @staticmethod
    def target(target: str) -> str:
        """``优质均衡 quality``."""
        return _both(TARGET_ZH, target)

    @staticmethod
    def status(status: str | None) -> str:
        """``未达标 fail``."""
        return status_text(status)


def _both(names: Mapping[str, str], key: str) -> str:
    """The Chinese name, then the key (the English a calling system reads)."""
    return f"{names.get(key, key)} {key}"
