"""The reports as a county clerk reads them, made from files saved the way an office saves them
(GBK CSV from Excel, an openpyxl workbook): what to fill in when data is missing, which school a
warning is about, the values of every school with ``--verdicts findings``, long codes kept whole,
and Parquet columns typed when no county fills them."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from edubalance.cli import main

DEMO = Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "data"


def demo_rows() -> tuple[list[str], list[list[str]]]:
    with open(DEMO / "demo_schools.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def excel_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """A CSV as Excel saves it on a Chinese Windows: GBK, CRLF line ends."""
    with open(path, "w", encoding="gbk", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows([header, *rows])
    return path


def edubalance(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.output


@pytest.fixture(scope="module")
def blank_teaching_area(tmp_path_factory) -> tuple[Path, list[str]]:
    """The demo county with the first school's 教学及辅助用房面积 left blank."""
    header, rows = demo_rows()
    rows[0][header.index("教学及辅助用房面积")] = ""
    return excel_csv(tmp_path_factory.mktemp("blank") / "学校.csv", header, rows), rows[0]


def test_a_schools_missing_data_names_the_field_to_fill_in(blank_teaching_area):
    path, school = blank_teaching_area
    text = edubalance("evaluate", path, DEMO / "demo_county.csv")
    block = text.split("有问题的学校 Schools with findings")[1].split(f"  {school[0]} ")[1]
    line = next(x for x in block.splitlines() if "national.resource_indicators" in x)
    # The resource rule lacks a value because of the blank area: the clerk is told which cell.
    assert "缺少数据 missing data — 缺 教学及辅助用房面积 (teaching_aux_area_m2)" in line
    assert "(resource_indicators_met)" not in line and "学生" not in line.split("缺少数据")[1]
    # A school lacking two fields is told both, each once.
    other = text.split("青岚县水口镇中心小学 [小学 primary]")[1]
    assert "缺少数据 missing data — 缺 图书册数 (books) [guizhou.books_per_pupil]" in other
    assert "缺少数据 missing data — 缺 学生用计算机台数 (computers) [guizhou.computers_per_100]" in other


def test_the_workbook_and_page_name_the_fields_to_fill_in(blank_teaching_area, tmp_path):
    path, school = blank_teaching_area
    edubalance("evaluate", path, DEMO / "demo_county.csv", "-o", tmp_path / "r.xlsx")
    edubalance("evaluate", path, DEMO / "demo_county.csv", "-o", tmp_path / "r.html")
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["学校"]
    head = [c.value for c in ws[1]]
    col = head.index("需补填的数据")
    to_fill = {r[0]: r[col] for r in ws.iter_rows(min_row=3, values_only=True) if r[0]}
    assert to_fill[school[0]] == "教学及辅助用房面积 (teaching_aux_area_m2)"
    assert to_fill["5226980014"] == "图书册数 (books)、学生用计算机台数 (computers)"
    assert to_fill["5226980002"] is None                     # a school with every value
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    article = page.split(f'id="school-{school[0]}-primary"')[1].split("</article>")[0]
    assert "缺 lacks 教学及辅助用房面积 <code>teaching_aux_area_m2</code>" in article


def test_a_warning_names_its_school(tmp_path):
    header, rows = demo_rows()
    rows[2][header.index("教职工数")] = str(int(rows[2][header.index("专任教师数")]) - 5)   # staff < teachers
    path = excel_csv(tmp_path / "学校.csv", header, rows)
    for command in ("evaluate", "validate"):
        text = edubalance(command, path)
        line = next(x for x in text.splitlines() if "W303" in x)
        assert re.search(rf"第 4 行 row 4 {rows[2][0]} {rows[2][1]}: 警告 warning W303", line), line


def test_with_findings_only_the_schools_sheet_keeps_every_schools_values(tmp_path):
    """--verdicts findings shortens the verdict listing, not a school's values: the 学校 sheet
    shows the same value in every rule column where the full report has a pass, a failure or
    missing data; only the verdict of a rule that was not listed says so. The page lists them too."""
    files = [DEMO / "demo_schools.csv", DEMO / "demo_county.csv"]
    edubalance("evaluate", *files, "-o", tmp_path / "all.xlsx")
    edubalance("evaluate", *files, "--verdicts", "findings", "-o", tmp_path / "findings.xlsx")
    edubalance("evaluate", *files, "--verdicts", "findings", "-o", tmp_path / "findings.html")
    full = list(openpyxl.load_workbook(tmp_path / "all.xlsx")["学校"].iter_rows(values_only=True))
    short = list(openpyxl.load_workbook(tmp_path / "findings.xlsx")["学校"].iter_rows(values_only=True))
    verdict_cols = [j for j, h in enumerate(full[1]) if h == "verdict"]
    measure_rules = [j for j in verdict_cols if "项达标" not in full[0][j - 1]]   # a count of rules met is no measure
    compared = 0
    for a, b in zip(full[2:], short[2:]):
        assert a[0] == b[0]
        for j in measure_rules:
            if a[j] in ("达标 pass", "未达标 fail", "缺数据 missing data"):
                assert b[j - 1] == a[j - 1], (a[0], full[0][j - 1])
                assert b[j] == (a[j] if a[j] != "达标 pass" else "未列出 not listed")
                compared += a[j] == "达标 pass" and a[j - 1] is not None
    assert compared > 100
    page = (tmp_path / "findings.html").read_text(encoding="utf-8")
    article = page.split('id="school-5226980001-primary"')[1].split("</article>")[0]
    assert "生均教学仪器设备值" in article and ">2,156<" in article and "未列出 not listed" in article


def test_county_columns_no_county_fills_keep_their_type(tmp_path):
    """The demo's primary schools lack books and computers: no 2012 CV is computed for them, no
    junior school is left out and no county needs the school file; those columns are typed as
    when they are filled (a CV a float, a listing a list of named fields), not null."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    edubalance("evaluate", DEMO / "demo_schools.csv", DEMO / "demo_county.csv", "-o", tmp_path / "r.parquet")
    table = pq.read_table(tmp_path / "r.parquet" / "counties.parquet")
    assert table.column("stages_primary_composite_cv_2012").null_count == table.num_rows
    schema = table.schema
    assert schema.field("stages_primary_composite_cv_2012").type == pa.float64()
    assert schema.field("stages_primary_cv_2012_books_per_pupil").type == pa.float64()
    assert schema.field("stages_primary_cv_not_applicable_basic_2012").type == pa.string()
    assert schema.field("status_reason").type == pa.string()
    assert schema.field("needs_schools_rules").type == pa.list_(pa.string())
    # an empty listing has the items of a filled one
    excluded = schema.field("stages_junior_excluded").type
    assert excluded == schema.field("stages_primary_excluded").type
    assert pa.types.is_struct(excluded.value_type) and excluded.value_type.get_field_index("reason") >= 0
    assert pa.types.is_struct(schema.field("rejected_schools").type.value_type)
    assert not [f.name for f in schema if "null" in str(f.type)]


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists() or not Path("/usr/bin/pdftotext").exists(),
                    reason="needs Chromium and pdftotext")
def test_printed_charts_share_pages_and_none_is_split(tmp_path):
    """Printed, the indicator charts go two abreast and as many a page as fit (not one a page),
    and every chart's title and axis are on one page."""
    import json
    import subprocess

    files = [DEMO / "demo_schools.csv", DEMO / "demo_county.csv"]
    edubalance("evaluate", *files, "-o", tmp_path / "r.html")
    edubalance("evaluate", *files, "-f", "json", "-o", tmp_path / "r.json")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    charts = page.split('<section id="indicators">')[1].split("</section>")[0]
    only = tmp_path / "charts.html"                     # the report's own styles and its charts section
    only.write_text(page.split("<body")[0] + f'<body><section id="indicators">{charts}</section></body></html>',
                    encoding="utf-8")
    pdf = tmp_path / "charts.pdf"
    done = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer",
                           f"--print-to-pdf={pdf}", only.as_uri()], capture_output=True, timeout=120)
    assert done.returncode == 0 and pdf.is_file()
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout.split("\f")
    pages = [p for p in pages if p.strip()]
    ids = re.findall(r'id="indicator-([^"]+)"', charts)
    rules = {rid: d for cat in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["rulesets"].values()
             for rid, d in cat["rules"].items()}
    assert len(ids) >= 20
    assert len(pages) <= -(-len(ids) // 3), (len(pages), len(ids))      # one a page took 27 pages for 32
    heads = {rules[rid]["title"]["zh"][:14] for rid in ids}           # a long title is cut at the chart's edge
    assert len(heads) == len(ids)
    found = 0
    for text in pages:
        titles = sum(text.count(head) for head in heads)
        assert titles == text.count("= 阈值 threshold"), text[:300]       # each title with its axis
        found += titles
    assert found >= len(ids)


def test_long_codes_are_text_in_every_workbook_sheet(tmp_path):
    """School ids of 12 and 18 digits (an id typed as a number in Excel, a 统一社会信用代码-like
    code in a CSV) and a 12-digit 区划代码 typed where the 6-digit county code goes come back
    whole, as text, from every sheet of the report and of the plan: never a number Excel would
    cut to 15 digits or show as 9.11E+17."""
    header, rows = demo_rows()
    sid, code = header.index("学校标识码"), header.index("县级行政区划代码")
    numeric = [[int(c) if c.isdigit() else c for c in r] for r in rows]
    for k, r in enumerate(numeric):
        r[sid] = 520000000000 + k                             # 12 digits, stored as a number
    numeric[3][code] = 522698000000                           # a 区划代码 where the county code goes: rejected
    wb = openpyxl.Workbook()
    wb.active.append(header)
    for r in numeric:
        wb.active.append(r)
    wb.save(tmp_path / "学校.xlsx")
    for r in rows:
        r[sid] = "91" + r[sid] + "123456"                     # 18 digits
    csv_file = excel_csv(tmp_path / "学校.csv", header, rows)
    wanted = {str(r[sid]) for r in numeric} | {r[sid] for r in rows} | {"522698000000"}
    for source in (tmp_path / "学校.xlsx", csv_file):
        edubalance("evaluate", source, DEMO / "demo_county.csv", "-o", tmp_path / f"{source.suffix[1:]}-report.xlsx")
        edubalance("plan", source, DEMO / "demo_county.csv", "-o", tmp_path / f"{source.suffix[1:]}-plan.xlsx")
    found = set()
    for book in tmp_path.glob("*-*.xlsx"):
        for ws in openpyxl.load_workbook(book):
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                        assert abs(cell.value) < 1e11, (book.name, ws.title, cell.coordinate, cell.value)
                    elif isinstance(cell.value, str) and cell.value in wanted:
                        found.add(cell.value)
    assert found == wanted
