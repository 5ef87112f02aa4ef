"""The plan as a workbook: a sheet per level (totals, counties, schools, ranking, prices).

Headers are Chinese first, then English. Written with xlsxwriter, as the report's workbook is;
the file is renamed into place once complete.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import xlsxwriter


def _sheet(wb: Any, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    ws = wb.add_worksheet(title)
    ws.write_row(0, 0, header, wb.add_format({"bold": True}))
    for r, row in enumerate(rows, 1):
        ws.write_row(r, 0, row)
    ws.freeze_panes(1, 0)
    for c, name in enumerate(header):
        ws.set_column(c, c, max(10, min(40, len(str(name)) + 2)))


def write_workbook(plan: dict[str, Any], path: str | Path) -> None:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "nan_inf_to_errors": True})
    t = plan["totals"]
    totals = [("合计 total", "", t["once_yuan"], t["annual_yuan"], t["first_year_yuan"])]
    totals += [("县 county", k, v.get("once_yuan", 0), v.get("annual_yuan", 0), v.get("yuan", 0))
               for k, v in t["by_county"].items()]
    totals += [("学段 stage", k, v.get("once_yuan", 0), v.get("annual_yuan", 0), v.get("yuan", 0))
               for k, v in t["by_stage"].items()]
    _sheet(wb, "汇总 Totals", ["层级 level", "名称 key", "一次性 once (元)", "每年 per year (元)", "首年 first year (元)"],
           totals)
    _sheet(wb, "项目 Items", ["项目 item", "数量 quantity", "费用 cost (元)"],
           [(k, v.get("quantity", 0), v.get("yuan", 0)) for k, v in t["by_item"].items()])
    county_rows = []
    for c in plan["counties"]:
        for stage, sp in c["stages"].items():
            for i in sp["indicators"]:
                county_rows.append((c["county_code"], c.get("county_name"), c["year"], stage, sp["programme"],
                                    i["indicator"], i["field"], i["cv_before"], i["cv_after"], i["threshold"],
                                    i["added"], "是 yes" if sp["verified"] else "否 no"))
    _sheet(wb, "县 Counties", ["县代码 county", "县名 name", "学年 year", "学段 stage", "项目 programme",
                               "指标 indicator", "字段 field", "差异系数前 CV before", "差异系数后 CV after",
                               "限值 limit", "新增 added", "复核 verified"], county_rows)
    school_rows = []
    for s in plan["schools"]:
        for a in s["additions"]:
            school_rows.append((s["school_id"], s.get("school_name"), s["stage"], s["county_code"],
                                a["label"], a["field"], a["amount"], a.get("unit"), ", ".join(a["for"]),
                                a.get("for_county", 0), s["status_before"], s["status_after"]))
        for r in s["structural"]:
            school_rows.append((s["school_id"], s.get("school_name"), s["stage"], s["county_code"],
                                "增量无法解决 not fixable by additions", r["rule_id"], None, None, r["rule_id"], 0,
                                s["status_before"], s["status_after"]))
    _sheet(wb, "学校 Schools", ["学校标识码 school_id", "学校名称 name", "学段 stage", "县代码 county",
                                "项目 what", "字段 field", "新增 amount", "单位 unit", "规则 for rules",
                                "其中县域差异系数 of which for county CVs", "整改前 before", "整改后 after"],
               school_rows)
    _sheet(wb, "排名 Ranking", ["名次 rank", "学校标识码 school_id", "学校名称 name", "学段 stage", "县代码 county",
                                "首年 first year (元)", "一次性 once (元)", "每年 per year (元)"],
           [(r["rank"], r["school_id"], r["school_name"], r["stage"], r["county_code"], r["first_year_yuan"],
             r["once_yuan"], r["annual_yuan"]) for r in plan["ranking"]])
    price_rows = []
    for key, table in plan["costs"].items():
        for item, spec in table["items"].items():
            price_rows.append((key, item, spec["title"]["zh"], spec["title"]["en"], spec["yuan"], spec.get("unit"),
                               spec["per"], spec["threshold_status"], spec["source"].get("document")))
    _sheet(wb, "单价 Prices", ["规则集 ruleset", "项目 item", "名称", "name", "单价 yuan", "单位 unit", "per",
                               "状态 status", "来源 source"], price_rows)
    wb.close()              # the caller writes to a temporary name (edubalance.output.write_to)
