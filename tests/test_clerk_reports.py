"""The reports as a county clerk reads them, made from files saved the way an office saves them
(GBK CSV from Excel, an openpyxl workbook): what to fill in when data is missing, which school a
warning is about, the values of every school with ``--verdicts findings``, long codes kept whole,
and Parquet columns typed when no county fills them."""
from __future__ import annotations

import csv
import re
from pathlib import Path

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


def test_a_warning_names_its_school(tmp_path):
    header, rows = demo_rows()
    rows[2][header.index("教职工数")] = str(int(rows[2][header.index("专任教师数")]) - 5)   # staff < teachers
    path = excel_csv(tmp_path / "学校.csv", header, rows)
    for command in ("evaluate", "validate"):
        text = edubalance(command, path)
        line = next(x for x in text.splitlines() if "W303" in x)
        assert re.search(rf"第 4 行 row 4 {rows[2][0]} {rows[2][1]}: 警告 warning W303", line), line


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
