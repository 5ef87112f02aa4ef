"""The plan as a workbook: a sheet per level (totals, items, counties, schools, ranking, prices,
and the rows refused), every name Chinese first (:mod:`edubalance.reports.plan_words`).

Headers are Chinese first, then English. Written with xlsxwriter, as the report's workbook is;
the file is renamed into place once complete.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import xlsxwriter

from ..fields import label, unit_zh
from ..problems import record_identity
from ..reports.view import THRESHOLD_STATUS_ZH, inputs_text
from ..reports.plan_words import PlanWords

PER_ZH = {"once": "一次性 once", "year": "每年 per year"}


def _sheet(wb: Any, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    ws = wb.add_worksheet(title)
    ws.write_row(0, 0, header, wb.add_format({"bold": True}))
    for r, row in enumerate(rows, 1):
        ws.write_row(r, 0, row)
    ws.freeze_panes(1, 0)
    for c, name in enumerate(header):
        ws.set_column(c, c, max(10, min(40, len(str(name)) + 2)))


def write_workbook(plan: dict[str, Any], path: str | Path, catalogues: Mapping[str, Any]) -> None:
    """``catalogues``: each rule set's rule catalogue, for the rules' titles (the plan holds ids)."""
    w = PlanWords(plan, catalogues)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "nan_inf_to_errors": True})
    t = plan["totals"]
    totals = [("合计 total", "", t["once_yuan"], t["annual_yuan"], t["first_year_yuan"])]
    totals += [("县 county", k, v.get("once_yuan", 0), v.get("annual_yuan", 0), v.get("yuan", 0))
               for k, v in t["by_county"].items()]
    totals += [("学段 stage", w.stage(k), v.get("once_yuan", 0), v.get("annual_yuan", 0), v.get("yuan", 0))
               for k, v in t["by_stage"].items()]
    _sheet(wb, "汇总 Totals", ["层级 level", "名称 key", "一次性 once (元)", "每年 per year (元)", "首年 first year (元)"],
           totals)
    _sheet(wb, "项目 Items", ["项目 item", "代码 key", "数量 quantity", "单位 unit", "费用 cost (元)"],
           [(w.item(k), k, v.get("quantity", 0), w.item_unit(k), v.get("yuan", 0)) for k, v in t["by_item"].items()])
    county_rows = []
    for c in plan["counties"]:
        for stage, sp in c["stages"].items():
            for i in sp["indicators"]:
                county_rows.append((c["county_code"], c.get("county_name"), c["year"], w.stage(stage),
                                    w.programme(sp["programme"]), label(i["field"]), i["field"], i["cv_before"],
                                    i["cv_after"], i["threshold"], i["added"], "是 yes" if sp["verified"] else "否 no"))
    _sheet(wb, "县 Counties", ["县代码 county", "县名 name", "学年 year", "学段 stage", "项目 programme",
                               "指标 indicator", "字段 field", "差异系数前 CV before", "差异系数后 CV after",
                               "限值 limit", "新增 added", "复核 verified"], county_rows)
    school_rows: list[tuple[Any, ...]] = []
    for s in plan["schools"]:
        who = (s["school_id"], s.get("school_name"), w.stage(s["stage"]), s["county_code"])
        after = (w.status(s["status_before"]), w.status(s["status_after"]))
        ruleset = s.get("ruleset")
        for a in s["additions"]:
            school_rows.append((*who, label(a["field"]), a["field"], a["amount"], unit_zh(a.get("unit") or ""),
                                "；".join(w.rule(ruleset, r) for r in a["for"]) or "县域差异系数 county CVs",
                                a.get("for_county", 0), *after))
        for k in s["cost"].get("unpriced") or ():
            school_rows.append((*who, "未定价 not priced", k, None, None, w.unpriced(k), 0, *after))
        for r in s["structural"]:
            school_rows.append((*who, "增量无法解决 not fixable by additions", None, None, None,
                                w.shortfall(ruleset, r), 0, *after))
        fill = inputs_text(s.get("needs_fields") or ()) or None
        for r in s["needs_data"]:
            school_rows.append((*who, "缺数据 needs data", fill, None, None, w.rule(ruleset, r), 0, *after))
    _sheet(wb, "学校 Schools", ["学校标识码 school_id", "学校名称 name", "学段 stage", "县代码 county",
                                "项目 what", "字段 field", "新增 amount", "单位 unit", "规则 for rules",
                                "其中县域差异系数 of which for county CVs", "整改前 before", "整改后 after"],
               school_rows)
    _sheet(wb, "排名 Ranking", ["名次 rank", "学校标识码 school_id", "学校名称 name", "学段 stage", "县代码 county",
                                "首年 first year (元)", "一次性 once (元)", "每年 per year (元)"],
           [(r["rank"], r["school_id"], r["school_name"], w.stage(r["stage"]), r["county_code"], r["first_year_yuan"],
             r["once_yuan"], r["annual_yuan"]) for r in plan["ranking"]])
    price_rows = []
    for key, table in plan["costs"].items():
        for item, spec in table["items"].items():
            price_rows.append((key, item, spec["title"]["zh"], spec["title"]["en"], spec["yuan"], spec.get("unit"),
                               PER_ZH.get(spec["per"], spec["per"]),
                               THRESHOLD_STATUS_ZH.get(spec["threshold_status"], "") + " " + spec["threshold_status"],
                               spec["source"].get("document")))
    _sheet(wb, "单价 Prices", ["规则集 ruleset", "项目 item", "名称", "name", "单价 yuan", "单位 unit", "计费 per",
                               "状态 status", "来源 source"], price_rows)
    if plan.get("rejected"):
        _sheet(wb, "被拒记录 Rejected", ["文件 file", "行 row", "学校标识码 school_id", "学校名称 name", "问题 code",
                                        "字段 field", "填写的值 value", "应为 expected", "说明 message"],
               [(rec.get("file"), rec.get("row"), *record_identity(rec), p.get("code"), p.get("label") or p.get("field"),
                 _text(p.get("observed")), p.get("expected"), p.get("message"))
                for rec in plan["rejected"] for p in rec.get("problems", ())])
    wb.close()              # the caller writes to a temporary name (edubalance.output.write_to)


def _text(v: Any) -> Any:
    return v if v is None or isinstance(v, (str, int, float)) else str(v)
