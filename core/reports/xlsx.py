"""The Excel report (xlsxwriter): 汇总, 问题清单, 学校, 县域, 经费, 未通过校验, 规则.

Chinese headers in row 1 and English in row 2, frozen, with filters; numbers are written as
numbers (unrounded, formatted for display); pass / fail / missing cells are coloured by
conditional formats on the verdict text, so the colours follow a cell a user edits or sorts.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple, Sequence

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from ..county_rejected import REJECTED_SCHOOLS_HEADING
from ..fields import SHARE_UNITS, enum_label, unit_zh
from ..render import county_missing_causes
from .view import (DIMENSION_ZH, NOT_LISTED, PROGRAMME_ZH, SEVERITY_ZH, STAGE_ZH, STATUS_EN, THRESHOLD_STATUS_ZH,
                   ReportView, inputs_text, missing_inputs, status_text)

#: xlsxwriter's row-at-a-time mode; measured on 20,000 records it saved no memory (the report's
#: entries dominate) and took longer (strings inline instead of shared), so it is off.
CONSTANT_MEMORY = False
SHEETS = ("汇总", "问题清单", "学校", "县域", "经费", "未通过校验", "规则")
#: Colours of the conditional formats: (verdict text starts with, fill, font).
STATUS_COLOURS = (("达标", "#C6EFCE", "#006100"), ("未达标", "#FFC7CE", "#9C0006"),
                  ("缺数据", "#FFEB9C", "#9C5700"), ("数据不全", "#FFEB9C", "#9C5700"),
                  ("不适用", "#EDEDED", "#595959"))


class Column:
    """One column of a sheet: Chinese and English header, width, number format, a header comment."""

    def __init__(self, zh: str, en: str, width: float = 12, fmt: str | None = None, comment: str = ""):
        self.zh, self.en, self.width, self.fmt, self.comment = zh, en, width, fmt, comment


#: Units counted in whole numbers (a county's schools, rooms, items met, a yes or a no).
_WHOLE_UNITS = frozenset({"schools", "rooms", "halls", "floor", "indicators met", "yes/no", "yes (1) / no (0)"})


def unit_format(unit: str | None) -> str:
    """How a rule's value and threshold are shown, by its unit: a share as a percentage (0.87 is
    87%, as offices write rates), whole counts without decimals, a CV to three places, other
    measures to two at most (58.0 pupils a class, 1,713.64 yuan)."""
    if unit in SHARE_UNITS:
        return "0.0##%"
    if unit in _WHOLE_UNITS:
        return "#,##0"
    return "0.000" if unit == "CV" else "#,##0.0#"


class Formatted(NamedTuple):
    """A cell whose number format is its own, not its column's (a county sheet's rows are of
    rules in different units)."""

    value: Any
    num_format: str


class _Book:
    def __init__(self, path: Path):
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "nan_inf_to_errors": True,
                                                  "constant_memory": CONSTANT_MEMORY})
        self.wb.set_properties({"title": "义务教育均衡发展评估报告 edubalance report", "author": "edubalance"})
        self.head_zh = self.wb.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF",
                                           "text_wrap": True, "valign": "top", "border": 1})
        self.head_en = self.wb.add_format({"italic": True, "bg_color": "#DDEBF7", "text_wrap": True,
                                           "valign": "top", "border": 1, "font_size": 9})
        self.title = self.wb.add_format({"bold": True, "font_size": 14})
        self.bold = self.wb.add_format({"bold": True})
        self.wrap = self.wb.add_format({"text_wrap": True, "valign": "top"})
        self.formats: dict[str, Any] = {}
        self.status_formats = [(text, self.wb.add_format({"bg_color": bg, "font_color": fg}))
                               for text, bg, fg in STATUS_COLOURS]

    def fmt(self, num_format: str | None) -> Any:
        if num_format is None:
            return None
        if num_format not in self.formats:
            self.formats[num_format] = self.wb.add_format({"num_format": num_format})
        return self.formats[num_format]

    def write(self, ws: Any, r: int, c: int, value: Any, fmt: Any = None) -> None:
        """Numbers as numbers, booleans as 是/否, None as an empty cell."""
        if isinstance(value, Formatted):
            value, fmt = value.value, self.fmt(value.num_format)
        if value is None:
            return
        if isinstance(value, bool):
            ws.write_string(r, c, "是" if value else "否")
        elif isinstance(value, (int, float)):
            ws.write_number(r, c, value, fmt)
        else:
            ws.write_string(r, c, str(value))

    def table(self, ws: Any, columns: Sequence[Column], rows: Sequence[Sequence[Any]], freeze_cols: int = 0,
              status_cols: Sequence[int] = (), first_row: int = 0) -> int:
        """Two header rows, the rows, a filter and frozen headers; returns the next free row."""
        for c, col in enumerate(columns):
            ws.write_string(first_row, c, col.zh, self.head_zh)
            ws.write_string(first_row + 1, c, col.en, self.head_en)
            ws.set_column(c, c, col.width)
            if col.comment:
                ws.write_comment(first_row, c, col.comment, {"x_scale": 2, "y_scale": 1.5})
        cell_formats = [self.fmt(col.fmt) for col in columns]
        r = first_row + 2
        for row in rows:
            for c, value in enumerate(row):
                self.write(ws, r, c, value, cell_formats[c])
            r += 1
        last = max(r - 1, first_row + 1)
        if first_row == 0:
            ws.freeze_panes(2, freeze_cols)
        ws.autofilter(first_row + 1, 0, last, len(columns) - 1)
        if rows:
            for c in status_cols:
                self.colour_status(ws, first_row + 2, c, r - 1, c)
        return r

    def colour_status(self, ws: Any, r0: int, c0: int, r1: int, c1: int, by_col: int | None = None) -> None:
        """Conditional formats on verdict texts; ``by_col`` colours a value column by the
        verdict column beside it."""
        for text, fmt in self.status_formats:
            if by_col is None:
                ws.conditional_format(r0, c0, r1, c1, {"type": "text", "criteria": "begins with",
                                                       "value": text, "format": fmt})
            else:
                ref = xl_rowcol_to_cell(r0, by_col, col_abs=True)
                ws.conditional_format(r0, c0, r1, c1, {"type": "formula", "format": fmt,
                                                       "criteria": f'=LEFT({ref},{len(text)})="{text}"'})


def write_xlsx(report: Any, path: Path) -> None:
    view = ReportView(report)
    book = _Book(path)
    try:
        _summary(book, view)
        _fix_first(book, view)
        _schools(book, view)
        _counties(book, view)
        _funding(book, view)
        _rejected(book, view)
        _rules(book, view)
    finally:
        book.wb.close()


# -- sheets -------------------------------------------------------------------------------------

def _summary(book: _Book, view: ReportView) -> None:
    ws = book.wb.add_worksheet("汇总")
    data, s = view.data, view.summary
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 5, 16)
    ws.write_string(0, 0, "义务教育均衡发展评估报告", book.title)
    ws.write_string(1, 0, "edubalance report — balanced development of compulsory education")
    years = sorted({cat["year"] for cat in view.rulesets.values()})
    rec = s["records"]
    lines: list[tuple[str, str, Any]] = [
        ("规则包及版本", "packs and revisions", ", ".join(f"{p['id']} {p['revision']}" for p in data["packs"]) or "—"),
        ("评估标准年份", "standards year", ", ".join(str(y) for y in years) or "—"),
        ("规则引擎", "engine", data.get("engine") or "—"),
        ("输入文件", "input files", "; ".join(data.get("files") or []) or "—"),
        ("读取记录数", "records read", rec["read"]),
        ("已评估记录数", "records evaluated", rec["evaluated"]),
        ("被拒记录数", "records rejected", rec["rejected"]),
        ("跳过的非记录行数（合计、签名、单位行、空行）", "rows skipped (totals, signatures, units, blank)", rec.get("skipped", 0)),
        ("被拒县级记录数", "county rows rejected", len(data.get("rejected_counties") or [])),
        ("警告数（记录已评估）", "warnings (records kept)", len(data.get("warnings") or [])),
        ("逐校判定", "verdicts per school", "全部 all" if view.all_verdicts else "仅问题 findings only"),
    ]
    lines += [(f"学校：{status_text(k).split()[0]}", f"schools: {STATUS_EN.get(k, k)}", n) for k, n in s["schools"].items()]
    lines += [(f"县：{status_text(k).split()[0]}", f"counties: {STATUS_EN.get(k, k)}", n) for k, n in s["counties"].items()]
    r = 3
    ws.write_string(r, 0, "项目", book.head_zh)
    ws.write_string(r, 1, "item", book.head_en)
    ws.write_string(r, 2, "值 value", book.head_zh)
    for zh, en, value in lines:
        r += 1
        ws.write_string(r, 0, zh)
        ws.write_string(r, 1, en)
        book.write(ws, r, 2, value)
    r += 2
    ws.write_string(r, 0, "县域评估 counties", book.bold)
    r += 1
    heads = [("县级行政区划代码", "county code"), ("县（市、区）", "county"), ("学年", "year"), ("状态", "status"),
             ("得分", "score"), ("基本均衡（2012）", "basic balance"), ("优质均衡（2017）", "high-quality balance"),
             ("说明", "note")]
    for c, (zh, en) in enumerate(heads):
        ws.write_string(r, c, zh, book.head_zh)
        ws.write_string(r + 1, c, en, book.head_en)
    r += 2
    r0 = r
    for cty in view.counties:
        for c, v in enumerate((cty["county_code"], cty.get("county_name"), cty["year"], status_text(cty["status"]),
                               cty["score"]["overall"], status_text((cty.get("basic_balance") or {}).get("status")),
                               status_text((cty.get("quality_balance") or {}).get("status")),
                               _county_note(cty))):
            book.write(ws, r, c, v, book.fmt("0.0") if c == 4 else None)
        r += 1
    for rej in view.rejected_county_rows():
        for c, v in enumerate((rej["county_code"], rej["county_name"], rej["year"], "未通过校验 rejected",
                               None, None, None, f"{rej['file']}:{rej['row']} {rej['reasons']}")):
            book.write(ws, r, c, v)
        r += 1
    if r > r0:
        book.colour_status(ws, r0, 3, r - 1, 3)
        book.colour_status(ws, r0, 5, r - 1, 6)
    r += 1
    ws.write_string(r, 0, "暂定阈值（未在正式文件中确认）", book.bold)
    ws.write_string(r, 1, "provisional thresholds used (not confirmed in an official text)")
    for rid, desc in view.provisional_rules():
        r += 1
        ws.write_string(r, 0, rid)
        ws.write_string(r, 1, f"{desc['title']['zh']} / {desc['title']['en']}")


def _county_note(cty: dict) -> str | None:
    """Why a county has no verdict: rejected school rows, or no school record at all."""
    notes = [cty.get("status_reason")] + [f"{r['file']}:{r['row']} {r.get('school_name') or ''}（{r.get('school_id')}）"
                                          f"{r['reason']}" for r in cty.get("rejected_schools") or []]
    if cty.get("needs_schools"):
        notes.append(cty["needs_schools"]["message"])
    return "\n".join(n for n in notes if n) or None


def _fix_first(book: _Book, view: ReportView) -> None:
    ws = book.wb.add_worksheet("问题清单")
    cols = [Column("序号", "rank", 6), Column("规则", "rule", 40), Column("规则（英文）", "rule (English)", 36),
            Column("规则编号", "rule id", 30), Column("严重程度", "severity", 10),
            Column("阻碍学校达标数", "schools kept from passing", 12, comment="该规则为必达或一票否决项：这些学校不改正就不能达标"),
            Column("涉及学校数", "schools affected", 10), Column("未达标", "failed", 8), Column("缺数据", "missing data", 8),
            Column("合计差距", "total gap", 12, comment="未达标学校与阈值之差的合计，单位同规则"),
            Column("单位", "unit", 14), Column("阈值", "threshold", 22), Column("阈值状态", "threshold status", 10),
            Column("涉及学校", "schools", 60)]
    rows = []
    for k, item in enumerate(view.fix_first(), 1):
        d = item.desc
        names = "、".join(f"{x['entry'].get('school_name') or x['entry']['school_id']}"
                         f"（{STAGE_ZH.get(x['entry']['stage'], x['entry']['stage'])}）"
                         for x in item.shown)
        if item.affected > len(item.shown):
            names += f" …等共 {item.affected} 所 ({item.affected} in all: filter the 学校 sheet)"
        thresholds = item.threshold(view)
        rows.append([k, d["title"]["zh"], d["title"]["en"], item.rule_id,
                     f"{SEVERITY_ZH.get(d['severity'], d['severity'])} {d['severity']}", item.blocked, item.affected,
                     item.failed, item.missing, Formatted(item.total_gap if item.has_gap else None, unit_format(d["unit"])),
                     f"{unit_zh(d['unit'])} {d['unit']}".strip(), thresholds,
                     f"{THRESHOLD_STATUS_ZH.get(d['threshold_status'])} {d['threshold_status']}", names])
    book.table(ws, cols, rows, freeze_cols=2)


def _schools(book: _Book, view: ReportView) -> None:
    ws = book.wb.add_worksheet("学校")
    cols = [Column("学校标识码", "school id", 13), Column("学校名称", "school name", 26), Column("学段", "stage", 6),
            Column("县级行政区划代码", "county code", 9), Column("县（市、区）", "county", 10),
            Column("办学类型", "school type", 10), Column("城乡类型", "location", 8), Column("规则集", "rule set", 13),
            Column("状态", "status", 13), Column("得分", "score", 7, "0.0"),
            Column("公用经费缺口（元）", "funding shortfall (yuan)", 12, "#,##0"),
            Column("需补填的数据", "fields to fill in", 24,
                   comment="缺数据的规则需要填写的字段：中文名（字段名）/ the fields the rules with missing data need")]
    fixed = len(cols)
    for rc in view.rule_columns:
        d = rc.desc
        note = f"{rc.rule_id}\n{d['source'].get('document', '')} {d['source'].get('clause', '')}".strip()
        cols.append(Column(f"{d['title']['zh']}（{unit_zh(d['unit'])}）", f"{d['title']['en']} ({d['unit']})", 14,
                           unit_format(d["unit"]), note))
        cols.append(Column("判定", "verdict", 11))
    rows = []
    for s in view.schools:
        f = s.get("funding") or {}
        row = [s["school_id"], s.get("school_name"), STAGE_ZH.get(s["stage"], s["stage"]), s["county_code"],
               s.get("county_name"), enum_label("school_type", s["school_type"]) if s.get("school_type") else None,
               enum_label("location", s["location"]) if s.get("location") else None, s["ruleset"],
               status_text(s["status"]), s["score"]["overall"], f.get("shortfall_yuan"), _to_fill(view, s)]
        by_rule = {v["rule_id"]: v for v in s["verdicts"]}
        measures = s.get("measures") or {}
        for rc in view.rule_columns:
            v = by_rule.get(rc.rule_id)
            if v is None:
                # --verdicts findings leaves a rule that passed (or does not apply) unlisted, not
                # the school's own value of its measure.
                listed = rc.rule_id in view.rulesets[s["ruleset"]]["rules"] and not view.all_verdicts
                row += [measures.get(rc.desc["measure"]) if listed else None, status_text(NOT_LISTED) if listed else "—"]
            else:
                row += [v["value"], status_text(v["status"])]
        rows.append(row)
    end = book.table(ws, cols, rows, freeze_cols=2, status_cols=[8])
    if rows:
        for k in range(len(view.rule_columns)):
            c = fixed + 2 * k
            book.colour_status(ws, 2, c + 1, end - 1, c + 1)
            book.colour_status(ws, 2, c, end - 1, c, by_col=c + 1)


def _to_fill(view: ReportView, s: dict) -> str | None:
    """The fields a school's missing-data verdicts need, each once: ``图书册数 (books)、…``."""
    rules = view.rulesets[s["ruleset"]]["rules"]
    names: list[str] = []
    for v in s["verdicts"]:
        if v["status"] == "missing_data":
            names.extend(f for f in missing_inputs(rules, s, rules[v["rule_id"]]) if f not in names)
    return inputs_text(names) or None


def _counties(book: _Book, view: ReportView) -> None:
    ws = book.wb.add_worksheet("县域")
    cols = [Column("县级行政区划代码", "county code", 9), Column("县（市、区）", "county", 10), Column("学年", "year", 6),
            Column("学段", "stage", 6), Column("评估", "recognition", 14), Column("指标", "indicator", 40),
            Column("指标（英文）", "indicator (English)", 36), Column("规则编号", "rule id", 30),
            Column("值", "value", 11), Column("阈值", "threshold", 9),
            Column("判定", "verdict", 12), Column("严重程度", "severity", 10), Column("单位", "unit", 12),
            Column("阈值状态", "threshold status", 10), Column("说明", "note", 50)]
    rows = []
    for cty in view.counties:
        for v in cty["verdicts"]:
            d = view.county_rule(cty, v["rule_id"])
            note = ""
            if v["status"] == "missing_data":
                causes, needs = county_missing_causes(cty, v, d)
                note = "；".join([f"{m.get('school_name') or m['school_id']}（{m['school_id']}）缺 {m.get('label')}"
                                 f"（{m.get('field')}）" for m in causes]
                                + [f"县级记录缺 {n['label']}（{n['field']}）" for n in needs])
            rows.append([cty["county_code"], cty.get("county_name"), cty["year"], STAGE_ZH.get(v["stage"], v["stage"]),
                         "、".join(PROGRAMME_ZH.get(p, p) for p in d.get("programme") or []), d["title"]["zh"],
                         d["title"]["en"], v["rule_id"], Formatted(v["value"], unit_format(d["unit"])),
                         Formatted(v["threshold"], unit_format(d["unit"])), status_text(v["status"]),
                         f"{SEVERITY_ZH.get(d['severity'], d['severity'])} {d['severity']}",
                         f"{unit_zh(d['unit'])} {d['unit']}".strip(),
                         f"{THRESHOLD_STATUS_ZH.get(d['threshold_status'])} {d['threshold_status']}", note or None])
    r = book.table(ws, cols, rows, freeze_cols=4, status_cols=[10])
    # Below the verdicts: each stage's scope, composite CV and the schools left out, and why.
    r += 1
    ws.write_string(r, 0, "学段概况与不计入学校 stages: scope and schools left out", book.bold)
    r += 1
    heads = [("县级行政区划代码", "county code"), ("学段", "stage"), ("计入学校数", "schools in scope"),
             ("计入学生数", "pupils in scope"), ("2012综合差异系数", "composite CV 2012"),
             ("不计入学校", "school left out"), ("原因", "reason")]
    for c, (zh, en) in enumerate(heads):
        ws.write_string(r, c, zh, book.head_zh)
        ws.write_string(r + 1, c, en, book.head_en)
    r += 2
    for cty in view.counties:
        for stage, st in (cty.get("stages") or {}).items():
            base = [cty["county_code"], STAGE_ZH.get(stage, stage), st.get("schools_in_scope"),
                    st.get("students_in_scope"), st.get("composite_cv_2012")]
            excluded = st.get("excluded") or [None]
            for ex in excluded:
                row = base + ([f"{ex.get('school_name') or ''}（{ex['school_id']}）", ex.get("reason")] if ex else [])
                for c, value in enumerate(row):
                    book.write(ws, r, c, value, book.fmt("0.000") if c == 4 else None)
                r += 1
    rejected = [(cty, rej) for cty in view.counties for rej in cty.get("rejected_schools") or []]
    if rejected:
        _rejected_schools(book, ws, r + 1, rejected)


def _rejected_schools(book: _Book, ws: Any, r: int, rejected: list[tuple[dict, dict]]) -> None:
    """Below the stages: the school rows of each county that were rejected, which withhold its verdict."""
    ws.write_string(r, 0, REJECTED_SCHOOLS_HEADING, book.bold)
    r += 1
    heads = [("县级行政区划代码", "county code"), ("学段", "stage"), ("学校标识码", "school id"),
             ("学校名称", "school name"), ("文件:行", "file:row"), ("问题代码", "codes"), ("原因", "reason")]
    for c, (zh, en) in enumerate(heads):
        ws.write_string(r, c, zh, book.head_zh)
        ws.write_string(r + 1, c, en, book.head_en)
    r += 2
    for cty, rej in rejected:
        row = [cty["county_code"], STAGE_ZH.get(rej.get("stage") or "", rej.get("stage")), rej.get("school_id"),
               rej.get("school_name"), f"{rej.get('file')}:{rej.get('row')}", " ".join(rej.get("codes") or []),
               rej.get("reason")]
        for c, value in enumerate(row):
            book.write(ws, r, c, value)
        r += 1


def _funding(book: _Book, view: ReportView) -> None:
    ws = book.wb.add_worksheet("经费")
    money = "#,##0.00"
    cols = [Column("学校标识码", "school id", 13), Column("学校名称", "school name", 26), Column("学段", "stage", 6),
            Column("县（市、区）", "county", 10), Column("应拨公用经费（元）", "entitlement (yuan)", 14, money),
            Column("实际拨付（元）", "received (yuan)", 14, money), Column("缺口（元）", "shortfall (yuan)", 12, money),
            Column("核定学生数", "pupils counted", 10, "#,##0"), Column("按最低标准核定", "floor applied", 10),
            Column("基本定额（元）", "base (yuan)", 14, money), Column("寄宿生补助（元）", "boarding supplement (yuan)", 14, money),
            Column("特教补助（元）", "special needs (yuan)", 12, money), Column("取暖费（元）", "heating (yuan)", 12, money)]
    rows = []
    for s in view.schools:
        f = s.get("funding")
        if not f:
            continue
        rows.append([s["school_id"], s.get("school_name"), STAGE_ZH.get(s["stage"], s["stage"]), s.get("county_name"),
                     f.get("entitlement_yuan"), f.get("received_yuan"), f.get("shortfall_yuan"),
                     f.get("counted_pupils"), f.get("floor_applied"), f.get("base_yuan"), f.get("supplement_yuan"),
                     f.get("special_needs_yuan"), f.get("heating_yuan")])
    end = book.table(ws, cols, rows, freeze_cols=2)
    if rows:
        red = book.status_formats[1][1]
        ws.conditional_format(2, 6, end - 1, 6, {"type": "cell", "criteria": ">", "value": 0, "format": red})


def _rejected(book: _Book, view: ReportView) -> None:
    ws = book.wb.add_worksheet("未通过校验")
    cols = [Column("类别", "kind", 16), Column("文件", "file", 30), Column("行号", "row", 6),
            Column("学校标识码/县代码", "school or county id", 13), Column("名称", "name", 20),
            Column("代码", "code", 7), Column("级别", "severity", 11), Column("字段", "field", 18),
            Column("字段名称", "field label", 16), Column("填入的值", "value found", 14),
            Column("应为", "expected", 30), Column("说明", "message", 60)]
    rows = [[p["kind"], p["file"], p["row"], p["id"], p["name"], p["code"], p["severity"], p["field"], p["label"],
             None if p["observed"] is None else str(p["observed"]), p["expected"], p["message"]]
            for p in view.rejected_problems()]
    book.table(ws, cols, rows, freeze_cols=3)


def _rules(book: _Book, view: ReportView) -> None:
    ws = book.wb.add_worksheet("规则")
    cols = [Column("规则集", "rule set", 13), Column("层级", "level", 10), Column("规则编号", "rule id", 34),
            Column("规则", "title", 40), Column("规则（英文）", "title (English)", 36), Column("指标", "measure", 26),
            Column("阈值", "threshold", 22), Column("单位", "unit", 12), Column("单位（英文）", "unit (English)", 16),
            Column("严重程度", "severity", 10), Column("维度", "dimension", 10), Column("权重", "weight", 6, "0.##"),
            Column("评估", "recognition", 14), Column("阈值状态", "threshold status", 10),
            Column("依据文件", "source document", 40), Column("条款", "clause", 24), Column("规则包版本", "pack revision", 18)]
    rows = []
    for row in view.catalogue_rows():
        d = row["desc"]
        rows.append([row["ruleset"], row["level"], row["rule_id"], d["title"]["zh"], d["title"]["en"], d["measure"],
                     row["threshold"], unit_zh(d["unit"]), d["unit"],
                     f"{SEVERITY_ZH.get(d['severity'], d['severity'])} {d['severity']}",
                     f"{DIMENSION_ZH.get(d['dimension'], d['dimension'])} {d['dimension']}", d["weight"],
                     "、".join(PROGRAMME_ZH.get(p, p) for p in d.get("programme") or []) or None,
                     f"{THRESHOLD_STATUS_ZH.get(d['threshold_status'])} {d['threshold_status']}",
                     d["source"].get("document"), d["source"].get("clause"),
                     f"{d['pack']['id']} {d['pack']['revision']}"])
    book.table(ws, cols, rows, freeze_cols=3)
    ws.conditional_format(2, 13, max(len(rows) + 1, 2), 13, {"type": "text", "criteria": "begins with", "value": "暂定",
                                                            "format": book.status_formats[2][1]})

