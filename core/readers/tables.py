"""What the table readers (CSV, XLSX, XLS) share: a sheet of text cells into school and county
frames.

The header is the first of a sheet's first non-blank rows that names two known fields (title
rows above it are left out); a units row under it (``（所）``, ``单位：万元``, ``%``) is skipped and
its units applied to their columns; rows that are not records — totals, signatures, notes,
blank rows among the records — are skipped with their reason and one notice (W403).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import polars as pl

from ..fields import header_to_field, header_unit, is_unit_label, label, suggest_field, unit, unit_cell, unit_text
from ..loading import (InputError, PercentCells, Skipped, column_letter, header_names, quoted_header, settle_columns,
                       split_county)
from ..problems import Problem, file_notice, row_runs

#: The first non-blank rows of a sheet a header is looked for in (some forms put a title, the
#: 填报单位 and ten lines of 填表说明 above it).
HEADER_SEARCH_ROWS = 30


def header_index(first: Sequence[Sequence[Any]]) -> int | None:
    """Which of the first non-blank rows is the header: the first naming two known fields."""
    for k, cells in enumerate(first):
        if sum(1 for c in cells if c is not None and header_to_field(c) is not None) >= 2:
            return k
    return None


#: The fields a header row is shown to need when it names none (Chinese label and English name).
EXAMPLE_HEADERS = ("school_id", "school_name", "stage", "year", "students", "county_code")
SHOWN_HEADERS = 6


def headers_found(header: Sequence[Any]) -> tuple[str, str]:
    """The first cells of a header row no field names, with a "did you mean" where one is close,
    in Chinese and in English (for the message that refuses the table)."""
    cells = [str(c).strip() for c in header if c is not None and str(c).strip()]
    zh, en = [], []
    for c in cells[:SHOWN_HEADERS]:
        quoted = quoted_header(c if len(c) <= 20 else c[:20] + "…", suggest_field(c) if header_to_field(c) is None else None)
        zh.append(quoted[0])
        en.append(quoted[1])
    if len(cells) > SHOWN_HEADERS:
        zh[-1] += f" 等 {len(cells)} 列"
        en.append(f"… ({len(cells)} columns)")
    return "、".join(zh), ", ".join(en)


def no_known_header(header: Sequence[Any], row: int) -> str:
    """The message for a table whose header row names no field: what it holds, what is expected."""
    zh, en = headers_found(header)
    examples = ("、".join(f"{label(f)}/{f}" for f in EXAMPLE_HEADERS), ", ".join(EXAMPLE_HEADERS))
    return (f"没有可识别的列名：第 {row} 行是 {zh}；列名应为字段名或其中文标签，如 {examples[0]} 等（edubalance template "
            f"可生成填写模板）/ no column header recognised: row {row} holds {en}; expected field names or their "
            f"Chinese labels, such as {examples[1]} (edubalance template writes a template to fill)")


def _column_where(j: int) -> tuple[str, str]:
    return f"第 {column_letter(j)} 列", f"column {column_letter(j)}"


#: Words that open a row that is not a record: totals, signatures, dates and notes.
NON_RECORD_WORDS = ("合计", "总计", "小计", "累计", "共计", "全县", "全区", "全市", "全旗", "全州", "全省", "平均", "其中",
                    "填表人", "填报人", "制表人", "统计人", "审核人", "复核人", "审核", "单位负责人", "负责人",
                    "统计负责人", "经办人", "统计员", "主管领导", "分管领导", "制表", "单位（盖章）", "单位(盖章)",
                    "校长签字", "签字", "盖章", "填表日期", "填报日期", "制表日期", "报出日期", "填报时间", "日期",
                    "填报单位", "联系人", "联系电话", "联系方式", "电话", "数据来源", "资料来源",
                    "说明", "填表说明", "附注")
_SPACES = r"[\s\u3000]*"
#: After 全县, 全州 … a place-name ending means a place (全州县 is a county of Guangxi), not a total.
_NOT_A_PLACE = {w: "(?:$|[^县市区旗镇乡村州])" for w in ("全县", "全区", "全市", "全旗", "全州", "全省")}
#: A total named after its place or group, the word last: 城关镇小计, 青岚县合计, 中心学校小计.
_TOTAL_LAST = (r"[^\n]{0,40}?(?:" + "|".join(_SPACES.join(w) for w in ("合计", "小计", "总计", "共计")) + ")"
               + _SPACES + "[:：]?" + _SPACES + "$")
NON_RECORD = re.compile("^" + _SPACES + "(?:" + "|".join(_SPACES.join(map(re.escape, w)) + _NOT_A_PLACE.get(w, "")
                                                        for w in NON_RECORD_WORDS)
                        + "|" + _SPACES.join("注") + r"[:：\d、]" + "|" + _SPACES.join("备注") + "[:：]|" + _TOTAL_LAST + ")")
#: An item of a numbered note (填表说明 below the table): ``1. 学校标识码填写…``, ``2、``, ``（3）``, ``一、``, ``①``
#: opening text — never a code, a name or a 序号 alone. A row opening so is a note when it fills one
#: known column at most (a record's other cells are filled).
NOTE_ITEM = re.compile("^" + _SPACES + r"(?:[(（]?(?:\d{1,2}|[一二三四五六七八九十]{1,3})[)）.．、]|[①-⑳])"
                       + r"\s*[^\s\d.．、)）]")
#: The cells a row is known by, per kind of sheet.
LEAD_FIELDS = {False: ("school_id", "school_name"), True: ("county_code", "county_name")}


def non_record_rows(body: pl.DataFrame, cells: Sequence[str], lead: Sequence[str], ident: str | None,
                    known: Sequence[str]) -> pl.Series:
    """True for each row of ``body`` that is not a record: its identity or name cell, or its
    first filled cell, opens with a totals/signature/note word (and it has no identity of its
    own), or no column a field names holds anything."""
    pattern = NON_RECORD.pattern

    def opens(with_: str) -> pl.Expr:
        return pl.any_horizontal([pl.coalesce(list(cells)).str.contains(with_)]
                                 + [pl.col(c).str.contains(with_) for c in lead]).fill_null(False)
    filled = pl.sum_horizontal([pl.col(c).is_not_null() for c in known]) if known else pl.lit(0)
    words = opens(pattern) | (opens(NOTE_ITEM.pattern) & (filled <= 1))
    empty = filled == 0
    if ident is None:
        return body.select((words | empty).alias("m")).to_series()
    # Only a row without its own identity (or one that is a word or a note) can be anything but a record.
    maybe = body.select((pl.col(ident).is_null() | pl.col(ident).str.contains(pattern)
                         | pl.col(ident).str.contains(NOTE_ITEM.pattern)).fill_null(True).alias("m")).to_series()
    at = maybe.arg_true()
    if not len(at):
        return maybe
    found = body[at].select((words | empty).alias("m")).to_series()
    return maybe.scatter(at, found)


SECOND_HEADER_ROW = "表头第二行 / second header row"


#: A note in brackets, as a header has one (学校标识码（10位）): its digits are no value.
_NOTES = re.compile(r"[(（][^()（）]*[)）]")


def second_header(header: Sequence[Any], names: Sequence[str | None], row: Sequence[Any]) -> list[Any] | None:
    """The header completed by its second row, when ``row`` (the first below the header) is one:
    it names a field under a column the header names none for (a group heading such as 教师情况,
    or a cell merged from the left) and holds no number outside a note in brackets. A second-row
    cell naming a field names its column; the others keep the header's."""
    if any(c is not None and any(ch.isdigit() for ch in _NOTES.sub("", str(c))) for c in row):
        return None                     # a record (or a units row, 单位：万元 aside, which has none)
    below = [header_to_field(c) or (u.field if (u := header_unit(c)) else None) if c is not None else None
             for c in row]
    if not any(b is not None and n is None for b, n in zip(below, names)):
        return None
    return [c if b is not None else h for h, c, b in zip(header, row, below)]


UNITS_ROW = "单位行 / units row"


def units_row(cells: Sequence[str], row: Sequence[Any], names: Sequence[str | None],
              ident: str | None) -> dict[str, str] | None:
    """The unit written per column when ``row`` (the first below the header) is a units row —
    most of its filled cells are unit words (``（所）``, ``单位：万元``, ``%``) and it has no identity
    of its own; else None. In a units row every word counts, one unknown here too (then refused,
    never read in the wrong unit). Columns no field names, or whose field is text (a name, a
    code, 是/否), are left out: a unit there changes nothing (``（所）`` under 学校名称)."""
    filled = [(c, v) for c, v in zip(cells, row)       # a label (单位) or a dash (—) says nothing
              if v is not None and not is_unit_label(v) and (unit_text(v) or any(ch.isdigit() for ch in v))]
    known = sum(1 for _, v in filled if unit_cell(v) is not None)
    if not known or 2 * known <= len(filled):
        return None
    own = dict(zip(cells, row)).get(ident) if ident is not None else None
    if own is not None and any(ch.isdigit() for ch in str(own)):
        return None
    fields = dict(zip(cells, names))
    written = {c: unit_text(v) for c, v in filled if (field := fields[c]) is not None and unit(field)}
    return {c: w for c, w in written.items() if w is not None}


def skipped_rows(file_label: str, rows: pl.DataFrame, cells: Sequence[str], lead: Sequence[str]) -> list[Skipped]:
    """Each non-record row with its reason: the cell that opens with a totals/note word
    (shortened), else that no column a field names holds anything."""
    out = []
    first = pl.coalesce(list(cells)).alias("_first")
    for number, *texts in rows.select(pl.col("_row"), first, *[pl.col(c).alias(f"_{c}") for c in lead]).iter_rows():
        word = next((t.strip() for t in texts if t and (NON_RECORD.match(t) or NOTE_ITEM.match(t))), None)
        reason = (f"非记录行 not a record: {word[:20]}{'…' if len(word) > 20 else ''}" if word
                  else "没有任何已知列的数据 / no known column holds data")
        out.append(Skipped(file_label, number, reason))
    return out


#: Runs of skipped rows a W403 names before it counts the rest.
SKIPPED_RUNS_SHOWN = 12


def skipped_notice(file_label: str, skipped: Sequence[Skipped]) -> Problem:
    """W403: the rows skipped in a file, once, by row number."""
    zh, en = row_runs([s.row for s in skipped], SKIPPED_RUNS_SHOWN, SKIPPED_RUNS_SHOWN)
    return file_notice("W403", file_label,
                       f"跳过 {len(skipped)} 行非记录行（合计、签名、说明、分组标题、单位行或空行），{zh} / skipped "
                       f"{len(skipped)} row(s) that are not records (totals, signatures, notes, group headings, "
                       f"units rows, blank rows): {en}", observed=[s.row for s in skipped])


#: A worksheet's merged areas: ((first row, first column), (last row, last column)), 0-based.
Merged = Sequence[tuple[tuple[int, int], tuple[int, int]]]


def _fills(field_name: str) -> bool:
    """Whether a merged cell of this field counts in each of its rows: a name, a code, a kind, 是/否
    or the year say the same for every row they span; a number (a shared campus's area) does not."""
    return unit(field_name) in ("", "year")


def fill_merged(body: pl.DataFrame, merged: Merged, cells: Sequence[str], names: Sequence[str | None],
                header: Sequence[Any], file_label: str) -> tuple[pl.DataFrame, Problem | None]:
    """The records with each merged cell of a name, code, kind or year (one value shown over several
    rows) read as its value in every row it spans, and the W404 that says which were, and which
    merged numbers count in their first row only."""
    first_row = int(body["_row"][0]) if body.height else 0
    filled: list[tuple[int, int, int]] = []
    first_only: list[tuple[int, int, int]] = []
    for (r0, j), (r1, _) in merged:
        field = names[j] if j < len(names) else None
        if r1 <= r0 or j >= len(cells) or field is None or r0 + 1 < first_row:
            continue                          # one row, a column no field names, or above the records
        (filled if _fills(field) else first_only).append((j, r0 + 1, r1 + 1))
    if not filled and not first_only:
        return body, None
    at = {row: i for i, row in enumerate(body["_row"].to_list())}       # a sheet row's record
    for j in sorted({j for j, _, _ in filled}):
        spans = [(a, b) for k, a, b in filled if k == j]
        values = body[cells[j]].to_list()
        for a, b in spans:
            top = values[at[a]] if a in at else None
            for row in range(a + 1, b + 1):
                if row in at and values[at[row]] is None:
                    values[at[row]] = top
        body = body.with_columns(pl.Series(cells[j], values, dtype=pl.String))

    def listed(areas: list[tuple[int, int, int]]) -> tuple[str, str]:
        shown = sorted(areas)[:SKIPPED_RUNS_SHOWN]
        zh = "、".join(f"第 {column_letter(j)} 列「{header[j]}」第 {a}–{b} 行" for j, a, b in shown)
        en = ", ".join(f"column {column_letter(j)} '{header[j]}' rows {a}–{b}" for j, a, b in shown)
        more = len(areas) - len(shown)
        return (zh + (f" 等 {len(areas)} 处" if more else ""), en + (f" … ({len(areas)} areas)" if more else ""))
    zh, en = [], []
    if filled:
        z, e = listed(filled)
        zh.append(f"合并单元格的值计入其中每一行：{z}")
        en.append(f"merged cells read as their value in each of their rows: {e}")
    if first_only:
        z, e = listed(first_only)
        zh.append(f"合并单元格中的数值只计入第一行：{z}（其余行视为未填写，请分行填写）")
        en.append(f"merged cells of numbers count in their first row only: {e} (the other rows are empty: "
                  f"give each row its own value)")
    return body, file_notice("W404", file_label, "；".join(zh) + " / " + "; ".join(en))


GROUP_HEADING = "分组标题行（一个合并单元格横跨整行）/ group heading row (one merged cell across the row)"


def heading_rows(merged: Merged, names: Sequence[str | None]) -> set[int]:
    """The sheet rows (1-based) a merged cell spans across more than half the columns fields name:
    a group heading (城关镇, 一、小学) over the records below it, never a record, which holds a
    value per field."""
    named = [j for j, n in enumerate(names) if n is not None]
    return {r + 1 for (r0, c0), (r1, c1) in merged if 2 * sum(1 for j in named if c0 <= j <= c1) > len(named)
            for r in range(r0, r1 + 1)}


GROUP_HEADING_CELL = "分组标题行（整行只填了这一格）/ group heading row (the only cell filled in its row)"
#: A Chinese ordinal opening a heading: 一、 二． （三） (四).
_ORDINAL = r"(?:[(（][一二三四五六七八九十]{1,3}[)）]|[一二三四五六七八九十]{1,3}[、.．])"
_GROUPS = r"(?:城区|镇区|城镇|乡镇|乡村|农村|县直|市直|区直|公办|民办)"
#: A group heading's text, alone in its row (城关镇, 一、城关镇, （一）城关镇, 二、初中, 农村学校): a township,
#: an area or a kind of school, or any words after a Chinese ordinal — never a school's name
#: (城关镇中心小学 ends with a school's word), a code or a number.
GROUP_HEADING_TEXT = re.compile(
    rf"{_ORDINAL}?\s*(?:[\u4e00-\u9fff]{{1,16}}(?:镇|乡|街道|办事处|片区|学区|社区|苏木|农场|林场|管委会|管理区|开发区|"
    rf"新区|园区|县|市|旗|(?<!校)区)|{_GROUPS}(?:学校)?|{_GROUPS}?(?:小学|初中|初级中学|中学|完全中学|[九十二]*年一贯制学校|"
    rf"教学点)[部组]?)|{_ORDINAL}\s*[\u4e00-\u9fff·]{{1,20}}")


def heading_cells(body: pl.DataFrame, cells: Sequence[str]) -> pl.Series:
    """True for each row whose only filled cell is a group heading's text (:data:`GROUP_HEADING_TEXT`):
    the heading a CSV keeps of a merged heading row, or one typed without merging. A row with a
    code or a number anywhere has a digit, and is never one; nor is a total (城关镇小计)."""
    one = pl.sum_horizontal([pl.col(c).is_not_null() for c in cells]) == 1     # only these rows are read in Python
    alone = body.select(pl.int_range(pl.len()).alias("i"), pl.coalesce(list(cells)).alias("t"), one.alias("one")
                        ).filter("one")
    found = [i for i, t, _ in alone.iter_rows() if GROUP_HEADING_TEXT.fullmatch(t.strip()) and not NON_RECORD.match(t)]
    return pl.repeat(False, body.height, dtype=pl.Boolean, eager=True).scatter(found, True)


@dataclass
class SheetRead:
    """What one table (a CSV file, a worksheet) gave: school and county rows, the notices about
    the whole table and the rows that are not records."""

    schools: pl.DataFrame
    county: pl.DataFrame
    notices: list[Problem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def table_frames(name: str, file_label: str, raw: pl.DataFrame, all_county: bool = False,
                 need_header: bool = False, strip: bool = True,
                 percent_cells: PercentCells | None = None, merged: Merged = ()) -> SheetRead | None:
    """School and county frames from a sheet of text cells (one String column per sheet
    column, one row per sheet row, header and title rows included); None if every row is blank.

    Columns no field names are dropped (one W401), columns in another unit converted (W402) or
    refused, rows that are not records skipped (W403; blank rows among the records too).
    ``need_header``: refuse a sheet none of whose first rows names a known field (a file that
    only decoded as GB18030 is then more likely binary than a table). ``strip``: some cell may
    start or end with white space (False when the caller knows none does). ``percent_cells``: a
    worksheet's cells formatted as percentages (:func:`~edubalance.loading.settle_columns`); ``merged``:
    a worksheet's merged areas (:func:`fill_merged`)."""
    cells = raw.columns
    if not cells:
        return None
    # Only columns with a cell to strip are rewritten (most exports have none).
    padded = raw.select(pl.col(cells).str.contains(r"^\s|\s$").any()).row(0) if strip else [False] * len(cells)
    stripped = {c: pl.col(c).str.strip_chars() for c, pad in zip(cells, padded) if pad}
    frame = raw.with_columns([pl.when(s.str.len_bytes() > 0).then(s).alias(c) for c, s in stripped.items()])
    frame = frame.with_row_index("_row", offset=1).filter(pl.any_horizontal(pl.col(cells).is_not_null()))
    if frame.height == 0:
        return None
    first = frame.head(HEADER_SEARCH_ROWS).select(cells).rows()
    k = header_index(first) or 0
    header = first[k]
    names = header_names(name, header)
    header_row = frame["_row"][k]
    if not any(names):           # shown: the widest of the first rows, most likely the header
        j = max(range(len(first)), key=lambda i: sum(c is not None for c in first[i]))
        if need_header and sum(c is not None for c in first[j]) < 2:
            raise InputError(name, "这不是表格：没有可识别的列名，也不是 UTF-8 文本 / this looks like a binary file, "
                                   "not CSV/XLSX/JSON (no known column header, and not UTF-8 text)")
        raise InputError(name, no_known_header(first[j], int(frame["_row"][j])))
    body = frame.slice(k + 1)
    skipped: list[Skipped] = []
    completed = second_header(header, names, body.row(0)[1:]) if body.height else None
    if completed is not None:
        header, names = tuple(completed), header_names(name, completed)
        skipped.append(Skipped(file_label, int(body["_row"][0]), SECOND_HEADER_ROW))
        body = body.slice(1)
    merged_notice = None
    if merged and body.height:
        body, merged_notice = fill_merged(body, merged, cells, names, header, file_label)
    fields_at = {names[j]: c for j, c in enumerate(cells) if names[j] is not None}
    units = units_row(cells, body.row(0)[1:], names, fields_at.get(LEAD_FIELDS[all_county][0])) if body.height else None
    if units is not None:
        skipped.append(Skipped(file_label, int(body["_row"][0]), UNITS_ROW))
        body = body.slice(1)
    headings = heading_rows(merged, names) if merged and body.height else set()
    if headings:
        at = body["_row"].is_in(list(headings))
        skipped += [Skipped(file_label, int(n), GROUP_HEADING) for n in body.filter(at)["_row"]]
        body = body.filter(~at)
    of_schools = not all_county and any(f in fields_at for f in LEAD_FIELDS[False])     # headings group schools
    alone = heading_cells(body, cells) if of_schools else pl.Series(dtype=pl.Boolean)
    if alone.any():
        skipped += [Skipped(file_label, int(n), GROUP_HEADING_CELL) for n in body.filter(alone)["_row"]]
        body = body.filter(~alone)
    used = body.select(pl.col(cells).is_not_null().any()).row(0) if body.height else (False,) * len(cells)
    known = [c for j, c in enumerate(cells) if names[j] is not None and used[j]]
    if body.height:
        lead = [fields_at[f] for f in LEAD_FIELDS[all_county] if f in fields_at]
        mask = non_record_rows(body, cells, lead, fields_at.get(LEAD_FIELDS[all_county][0]), known)
        if mask.any():
            skipped += skipped_rows(file_label, body.filter(mask), cells, lead)
            body = body.filter(~mask)
    last = int(frame["_row"][-1])
    if last - header_row > body.height + len(skipped):        # blank rows among the records
        present = set(frame["_row"].to_list())
        skipped.extend(Skipped(file_label, n, "空行 / blank row") for n in range(header_row + 1, last)
                       if n not in present)
    skipped.sort(key=lambda s: s.row)
    body = body.with_columns(pl.lit(file_label).alias("_file"), pl.col("_row").cast(pl.Int64))
    columns = [(c, names[j], header[j], _column_where(j))
               for j, c in enumerate(cells) if used[j]]
    body, notices = settle_columns(name, body, columns, file_label, units, percent_cells)
    if merged_notice is not None:
        notices.append(merged_notice)
    if skipped:
        notices.append(skipped_notice(file_label, skipped))
    body = body.select("_file", "_row", *[c for c in body.columns if not c.startswith("_")])
    schools, county = split_county(body, all_county)
    return SheetRead(schools, county, notices, skipped)


