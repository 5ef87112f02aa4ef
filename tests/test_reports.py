"""The Excel and HTML reports of each demo county: the sheets and their numbers equal the JSON
report's; the HTML page loads nothing from outside and renders, charts included, in Chromium."""
from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from edubalance.cli import main
from edubalance.reports.view import DIMENSION_ZH, status_text
from edubalance.reports.xlsx import SHEETS

ROOT = Path(__file__).resolve().parents[1]
PROVINCES = ("guizhou", "shaanxi", "anhui")
CHROMIUM = "/usr/bin/chromium"


def demo_files(province):
    data = ROOT / "plugins" / province / "data"
    return [data / "demo_schools.csv", data / "demo_county.csv"]


def evaluate(tmp_path, province, name, *extra):
    out = tmp_path / name
    result = CliRunner().invoke(main, ["evaluate", *map(str, demo_files(province)), "-o", str(out), *extra],
                                catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    assert out.is_file()
    return out


@pytest.fixture(scope="module", params=PROVINCES)
def reports(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(request.param)
    js = json.loads(evaluate(tmp, request.param, "r.json").read_text(encoding="utf-8"))
    return {"province": request.param, "json": js, "xlsx": evaluate(tmp, request.param, "r.xlsx"),
            "html": evaluate(tmp, request.param, "r.html")}


def same(a, b):
    """Equal as Excel keeps numbers: 16 significant digits (xlsxwriter writes ``%.16G``)."""
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-15, abs=0)
    return a == b


def rows_of(ws, first=3):
    """Data rows of a sheet whose rows 1 and 2 are the Chinese and English headers."""
    out = []
    for row in ws.iter_rows(min_row=first, values_only=True):
        if all(v is None for v in row):
            break
        out.append(row)
    return out


def test_the_workbook_has_the_sheets_with_two_header_rows_frozen_and_filtered(reports):
    wb = openpyxl.load_workbook(reports["xlsx"])
    assert wb.sheetnames == list(SHEETS)
    ws = wb["学校"]
    assert ws["A1"].value == "学校标识码" and ws["A2"].value == "school id"
    assert ws.freeze_panes == "C3"
    assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A2")
    # Verdict colours are conditional formats on the verdict text, not baked fills.
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert any(r.type == "beginsWith" and r.text == "未达标" for r in rules)
    assert any(r.type == "expression" for r in rules)        # value cells follow their verdict


def test_workbook_summary_and_school_numbers_equal_the_json_report(reports):
    js, wb = reports["json"], openpyxl.load_workbook(reports["xlsx"])
    summary = {r[1]: r[2] for r in wb["汇总"].iter_rows(min_row=5, max_row=30, values_only=True) if r[1]}
    for key in ("read", "evaluated", "rejected"):
        assert summary[f"records {key}"] == js["records"][key]
    for status, n in js["summary"]["schools"].items():       # in words: "not applicable", not the key
        assert summary[f"schools: {status.replace('_', ' ')}"] == n
    for status, n in js["summary"]["counties"].items():
        assert summary[f"counties: {status.replace('_', ' ')}"] == n

    ws = wb["学校"]
    head_en = [c.value for c in ws[2]]
    by_key = {(s["school_id"], s["stage"]): s for s in js["schools"]}
    rows = rows_of(ws)
    assert len(rows) == len(js["schools"])
    rule_cols = {}
    for j, h in enumerate(head_en):
        if h == "verdict":
            rule_cols[j - 1] = None
    ids = [c.value for c in ws[1]]
    catalogue = {rid: d for cat in js["rulesets"].values() for rid, d in cat["rules"].items()}
    titles = {f"{d['title']['en']} ({d['unit']})": rid for rid, d in catalogue.items()}
    for j in rule_cols:
        rule_cols[j] = titles[head_en[j]]
    assert set(rule_cols.values()) == set(catalogue)
    stage_zh = {"小学": "primary", "初中": "junior"}
    for row in rows:
        s = by_key[(row[0], stage_zh[row[2]])]
        assert same(row[9], s["score"]["overall"])
        assert row[8] == status_text(s["status"])
        verdicts = {v["rule_id"]: v for v in s["verdicts"]}
        for j, rid in rule_cols.items():
            v = verdicts.get(rid)
            if v is None:
                assert row[j] is None and row[j + 1] == "—", (ids[j], s["school_id"])
            else:
                assert same(row[j], v["value"]), (rid, s["school_id"])
                assert row[j + 1] == status_text(v["status"])


def test_workbook_funding_counties_and_rules_equal_the_json_report(reports):
    js, wb = reports["json"], openpyxl.load_workbook(reports["xlsx"])
    funding = {(r[0], r[2]): r for r in rows_of(wb["经费"])}
    stage_zh = {"primary": "小学", "junior": "初中"}
    for s in js["schools"]:
        f = s["funding"]
        row = funding[(s["school_id"], stage_zh[s["stage"]])]
        expected = (f["entitlement_yuan"], f["received_yuan"], f["shortfall_yuan"], f["counted_pupils"])
        assert all(same(a, b) for a, b in zip(row[4:8], expected))

    county_rows = rows_of(wb["县域"])
    expected = [(c["county_code"], v["rule_id"], v["value"], v["threshold"], status_text(v["status"]))
                for c in js["counties"] for v in c["verdicts"]]
    assert len(county_rows) == len(expected)
    for r, e in zip(county_rows, expected):
        assert (r[0], r[7], r[10]) == (e[0], e[1], e[4]) and same(r[8], e[2]) and same(r[9], e[3])

    n_rules = sum(len(cat["rules"]) + len(cat["county_rules"]) for cat in js["rulesets"].values())
    rules = rows_of(wb["规则"])
    assert len(rules) == n_rules
    cat = next(iter(js["rulesets"].values()))
    rid, d = next(iter(cat["rules"].items()))
    row = next(r for r in rules if r[2] == rid)
    assert (row[3], row[14], row[15]) == (d["title"]["zh"], d["source"]["document"], d["source"].get("clause"))


def test_what_to_fix_first_groups_by_rule_and_sorts_by_schools_blocked(reports):
    js, wb = reports["json"], openpyxl.load_workbook(reports["xlsx"])
    catalogue = {rid: d for cat in js["rulesets"].values() for rid, d in cat["rules"].items()}
    expected = {}
    for s in js["schools"]:
        for v in s["verdicts"]:
            if v["status"] in ("fail", "missing_data"):
                e = expected.setdefault(v["rule_id"], {"n": 0, "blocked": 0, "gap": None})
                e["n"] += 1
                e["blocked"] += catalogue[v["rule_id"]]["severity"] in ("veto", "required")
                if v["status"] == "fail" and not catalogue[v["rule_id"]]["unit"].startswith("yes"):
                    e["gap"] = (e["gap"] or 0.0) + abs(v["gap"]["value"])
    rows = rows_of(wb["问题清单"])
    assert {r[3] for r in rows} == set(expected)
    blocked = [r[5] for r in rows]
    assert blocked == sorted(blocked, reverse=True) and blocked[0] > 0
    for r in rows:
        e = expected[r[3]]
        assert (r[5], r[6]) == (e["blocked"], e["n"])
        assert r[9] is None if e["gap"] is None else r[9] == pytest.approx(e["gap"], rel=1e-12)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [v for k, v in attrs if k in ("src", "href", "xlink:href", "action") and v is not None]


def test_the_html_report_loads_nothing_from_outside(reports):
    text = reports["html"].read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(text)
    assert parser.urls, "the page has its own anchors"
    assert all(u.startswith("#") for u in parser.urls), [u for u in parser.urls if not u.startswith("#")]
    assert "<script" not in text and "@import" not in text
    assert all(u.startswith("#") for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", text))
    assert "<svg" in text and "<text" in text                # charts, with their text as text
    ids = re.findall(r' id="([^"]+)"', text)
    assert len(ids) == len(set(ids))
    js = reports["json"]
    for s in js["schools"]:
        assert f'id="school-{s["school_id"]}-{s["stage"]}"' in text


def test_workbook_numbers_are_shown_in_their_rules_units(reports):
    """A share as a percentage, whole counts without decimals, a CV to three places; the cell
    keeps the exact number (a format only changes how it is shown)."""
    js, wb = reports["json"], openpyxl.load_workbook(reports["xlsx"])
    units = {rid: d["unit"] for cat in js["rulesets"].values()
             for group in ("rules", "county_rules") for rid, d in cat[group].items()}
    shown = {"fraction": "0.0##%", "schools": "#,##0", "CV": "0.000", "points": "#,##0.0#"}
    ws = wb["县域"]
    seen = set()
    for row in ws.iter_rows(min_row=3):
        if not isinstance(row[7].value, str) or row[7].value not in units:
            break
        unit = units[row[7].value]
        for cell in (row[8], row[9]):
            if cell.value is not None and unit in shown:
                assert cell.number_format == shown[unit], (row[7].value, unit, cell.number_format)
                seen.add(unit)
    assert {"fraction", "schools", "CV"} <= seen
    ws = wb["学校"]
    formats = {c.value: ws.cell(3, c.column).number_format for c in ws[2] if c.value and "(" in c.value}
    per_class = [f for h, f in formats.items() if h.endswith("(pupils per class)")]
    assert per_class and set(per_class) == {"#,##0.0#"}          # 58.0 pupils a class, not 58.00


def test_html_shares_read_in_percent(reports):
    """A county's failed rate reads 93%, required ≥ 95%, as the terminal and the workbook show it."""
    from edubalance.reports.view import number_text

    js, page = reports["json"], reports["html"].read_text(encoding="utf-8")
    shown = 0
    for c in js["counties"]:
        rules = js["rulesets"][c["ruleset"]]["county_rules"]
        for v in c["verdicts"]:
            if v["status"] == "fail" and rules[v["rule_id"]]["unit"] == "fraction":
                assert f'<td class="n">{number_text(v["value"] * 100, 3)}%</td>' in page
                assert f"≥ {number_text(v['threshold'] * 100, 3)}%" in page
                shown += 1
    assert shown and "比例</td>" not in page


class _Headers(HTMLParser):
    """Each table's header cells: how many, and how many of them sit in its ``<thead>``."""

    def __init__(self):
        super().__init__()
        self.tables, self.in_head = [], False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([0, 0])
        elif tag == "thead":
            self.in_head = True
        elif tag == "th":
            self.tables[-1][0] += 1
            self.tables[-1][1] += self.in_head

    def handle_endtag(self, tag):
        if tag == "thead":
            self.in_head = False


def test_printed_tables_repeat_their_header_on_every_page(reports):
    """A browser repeats a table's ``<thead>`` on each printed page: a header row outside one
    is printed once, and the next pages of a long table are columns with no names."""
    parser = _Headers()
    parser.feed(reports["html"].read_text(encoding="utf-8"))
    assert len(parser.tables) > 5
    assert all(n and n == in_head for n, in_head in parser.tables), parser.tables


def test_a_schools_scores_by_dimension_are_named_in_chinese_first(reports):
    page = reports["html"].read_text(encoding="utf-8")
    dims = {d for s in reports["json"]["schools"] for d in (s["score"].get("by_dimension") or {})}
    assert dims
    for dim in dims:
        assert f"{DIMENSION_ZH[dim]} {dim} " in page and f"· {dim} " not in page and f"，{dim} " not in page


class _SchoolRows(HTMLParser):
    """The rows of each school's table: (its class, the text of its cells)."""

    def __init__(self):
        super().__init__()
        self.rows, self.cell, self.in_school = [], None, False

    def handle_starttag(self, tag, attrs):
        if tag == "article":
            self.in_school = True
        elif self.in_school and tag == "tr":
            self.rows.append((dict(attrs).get("class"), []))
        elif self.in_school and tag == "td":
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.rows[-1][1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def test_a_schools_gap_is_how_far_a_failed_rule_is_from_its_threshold(reports):
    """The gap beside a school's verdict is what "what to fix first" adds up: the distance of a
    failed value from its threshold, whichever way the rule compares; a rule passed has none."""
    parser = _SchoolRows()
    parser.feed(reports["html"].read_text(encoding="utf-8"))
    gaps = {cls: [cells[3] for c, cells in parser.rows if c == cls] for cls in ("r-pass", "r-fail")}
    assert gaps["r-pass"] and set(gaps["r-pass"]) == {"—"}
    failed = sorted(abs(v["gap"]["value"]) for s in reports["json"]["schools"] for v in s["verdicts"]
                    if v["status"] == "fail" and v["gap"])
    assert sorted(float(g.replace(",", "")) for g in gaps["r-fail"] if g != "—") == pytest.approx(failed, abs=0.006)


def test_a_report_too_big_for_a_page_is_one_message(tmp_path, monkeypatch):
    from edubalance.reports import html
    monkeypatch.setattr(html, "MAX_SCHOOLS", 5)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["evaluate", *map(str, demo_files("anhui")), "-o", str(out)])
    assert result.exit_code == 2 and "report.xlsx" in result.output and "Traceback" not in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_an_xlsx_or_html_report_needs_a_file(tmp_path):
    result = CliRunner().invoke(main, ["evaluate", *map(str, demo_files("guizhou")), "-f", "xlsx"])
    assert result.exit_code == 2 and "-o" in result.output and "Traceback" not in result.output


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (make test installs it)")
def test_the_html_report_renders_in_headless_chromium(reports, tmp_path):
    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1600", f"--screenshot={shot}",
           "--dump-dom", reports["html"].as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    dom = done.stdout
    js = reports["json"]
    assert dom.count('class="chart cv-chart"') == sum(
        1 for c in js["counties"] for st in ("primary", "junior")
        if any(v["stage"] == st and v["rule_id"].startswith("national.county.cv_") for v in c["verdicts"]))
    assert 'id="chart-scores"' in dom and dom.count('class="chart indicator-chart"') >= 7
    assert dom.count("<svg") >= 10
    assert 'class="chart funding-chart"' in dom or not any(s["funding"]["shortfall_yuan"] for s in js["schools"])



@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (make test installs it)")
def test_printed_every_school_starts_a_page(tmp_path):
    html = evaluate(tmp_path, "guizhou", "r.html")
    pdf = tmp_path / "r.pdf"
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer",
                           f"--print-to-pdf={pdf}", html.as_uri()], capture_output=True, timeout=120)
    assert done.returncode == 0 and pdf.is_file()
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))
    schools = html.read_text(encoding="utf-8").count('<article class="school"')
    assert schools == 28 and pages >= schools + 2     # summary and county pages, then a page per school



@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (make test installs it)")
def test_what_to_fix_first_names_its_schools_in_a_readable_column(tmp_path):
    """At the width of a printed A4 page, the column of the schools a rule affects holds names
    (at least 10 characters a line), not two characters a line down a third of a page."""
    page = evaluate(tmp_path, "guizhou", "r.html").read_text(encoding="utf-8")
    probe = ('<script>const c = [...document.querySelectorAll("#fix td:last-child")];'
             'document.title = "W" + Math.min(...c.map(td => td.getBoundingClientRect().width'
             ' / parseFloat(getComputedStyle(td).fontSize)));</script>')
    measured = tmp_path / "measured.html"
    measured.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=760,1100", "--dump-dom",
                           measured.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    width = float(re.search(r"<title>W([0-9.]+)</title>", done.stdout).group(1))
    assert width >= 10, width


def both_reports(tmp_path, *args):
    """The workbook and the page of one evaluation (exit 1: rejected rows are findings)."""
    for suffix in ("xlsx", "html"):
        result = CliRunner().invoke(main, ["evaluate", *map(str, args), "-o", str(tmp_path / f"r.{suffix}")],
                                    catch_exceptions=False)
        assert result.exit_code == 1, result.output
    return openpyxl.load_workbook(tmp_path / "r.xlsx"), (tmp_path / "r.html").read_text(encoding="utf-8")


def test_a_rejected_row_is_listed_with_its_reason_beside_the_evaluated_ones(tmp_path):
    rows = (ROOT / "plugins" / "shaanxi" / "data" / "demo_schools.csv").read_text(encoding="utf-8").splitlines()
    head, first = rows[0].split(","), rows[1].split(",")
    first[head.index("在校生数")] = "很多"
    bad = tmp_path / "schools.csv"
    bad.write_text("\n".join([rows[0], ",".join(first), *rows[2:]]) + "\n", encoding="utf-8")
    wb, page = both_reports(tmp_path, bad)
    rejected = rows_of(wb["未通过校验"])
    assert [(r[0], r[2], r[3], r[7], r[9]) for r in rejected] == [("学校记录 school row", 2, first[0], "students", "很多")]
    assert rejected[0][10] == "整数 / an integer"                  # 应为: Chinese first, as everything a user reads
    assert len(rows_of(wb["学校"])) == len(rows) - 2
    assert 'id="rejected"' in page and "很多" in page and page.count('<article class="school"') == len(rows) - 2


def test_reports_of_an_evaluation_with_no_school_left(tmp_path):
    # every row lacks 省份, and its county code (99…) names no province it could be inferred from
    text = (ROOT / "tests" / "data" / "schools.csv").read_text(encoding="utf-8").replace(",520102,", ",990102,")
    (tmp_path / "schools.csv").write_text(text, encoding="utf-8")
    wb, page = both_reports(tmp_path, tmp_path / "schools.csv")
    kinds = [r[0] for r in rows_of(wb["未通过校验"])]
    assert kinds == ["学校记录 school row"] * 3 + ["跳过的行 skipped row"]      # and the blank row 4
    assert rows_of(wb["学校"]) == [] and rows_of(wb["问题清单"]) == []
    assert 'id="rejected"' in page and '<article class="school"' not in page and "没有县域结果" in page


def test_the_rows_skipped_and_the_notices_about_files_are_listed_in_both_reports(tmp_path):
    """A clerk who only gets the workbook sees which rows were not read and why, and which of
    the file's columns were ignored — not only their count."""
    rows = (ROOT / "plugins" / "guizhou" / "data" / "demo_schools.csv").read_text(encoding="utf-8").splitlines()
    office = ["青岚县义务教育学校办学条件统计表", rows[0] + ",备注", *[r + ",已核实" for r in rows[1:]],
              "合计" + "," * rows[0].count(","), "填表人：张敏" + "," * rows[0].count(",")]
    path = tmp_path / "学校.csv"
    path.write_bytes("\r\n".join(office).encode("gbk") + b"\r\n")
    wb, page = both_reports(tmp_path, path)
    listed = [(r[0], r[2], r[5], r[11]) for r in rows_of(wb["未通过校验"])]
    last = len(rows) + 1                               # the title row above the header
    assert [(kind, row, code) for kind, row, code, _ in listed] == [
        ("文件提示 file notice", None, "W401"), ("跳过的行 skipped row", last + 1, "W403"),
        ("跳过的行 skipped row", last + 2, "W403")]
    assert "备注" in listed[0][3] and listed[1][3] == "非记录行 not a record: 合计"
    assert listed[2][3] == "非记录行 not a record: 填表人：张敏"
    assert "跳过的行 skipped row" in page and "非记录行 not a record: 填表人：张敏" in page and "W401" in page


def test_warnings_and_rejected_county_rows_read_as_the_rest_of_the_workbook(tmp_path):
    """The 未通过校验 sheet says a problem's severity in Chinese first, a warning names its
    school as the evaluated school is named, and a rejected county row's 学年 in the summary is a
    number, as every other county's."""
    data = ROOT / "plugins" / "guizhou" / "data"
    rows = (data / "demo_schools.csv").read_text(encoding="utf-8").splitlines()
    head, first = rows[0].split(","), rows[1].split(",")
    first[head.index("在校生数")] = "0"                      # warned: classes and class size exceed pupils
    schools = tmp_path / "schools.csv"
    schools.write_text("\n".join([rows[0], ",".join(first), *rows[2:]]) + "\n", encoding="utf-8")
    county = (data / "demo_county.csv").read_text(encoding="utf-8").splitlines()
    bad = county[1].split(",")
    bad[0], bad[county[0].split(",").index("public_satisfaction_rate")] = "522699", "很高"
    counties = tmp_path / "counties.csv"
    counties.write_text("\n".join([*county, ",".join(bad)]) + "\n", encoding="utf-8")
    wb, _ = both_reports(tmp_path, schools, counties)
    listed = rows_of(wb["未通过校验"])
    warned = [r for r in listed if r[0] == "警告 warning (已评估 kept)"]
    assert warned and {(r[3], r[4], r[6]) for r in warned} == {(first[0], first[1], "警告 warning")}
    assert [(r[3], r[6]) for r in listed if r[0] == "县级记录 county row"] == [("522699", "错误 error")]
    summary = list(wb["汇总"].iter_rows(values_only=True))
    years = [r[2] for r in summary if r[0] in ("522698", "522699")]
    assert years == [2023, 2023]


def test_public_fund_totals_are_of_the_schools_whose_shortfall_is_known(reports):
    """Entitled and received are added up over the same schools — those with both amounts —
    so that their difference is not read as money unpaid to schools whose receipts are unknown;
    the schools left out are counted."""
    page = reports["html"].read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", page.split('<section id="funding">')[1].split("</section>")[0])
    found = re.search(r"([\d,]+) 所学校应拨合计 entitled ([\d,]+) 元，实拨合计 received ([\d,]+) 元", text)
    funds = [s["funding"] for s in reports["json"]["schools"] if s["funding"]["entitlement_yuan"] is not None]
    both = [f for f in funds if f["received_yuan"] is not None]
    assert found and [int(g.replace(",", "")) for g in found.groups()] == [
        len(both), round(sum(f["entitlement_yuan"] for f in both)), round(sum(f["received_yuan"] for f in both))]
    unknown = len(funds) - len(both)
    assert (f"另有 {unknown} 所学校缺实际拨付数" in text) == bool(unknown)


def test_a_page_listing_findings_only_says_so(tmp_path):
    """With --verdicts findings a passing school shows only its failed rules: the page says
    that the other rules are not listed, as the workbook's summary does, and a full page does not."""
    full = evaluate(tmp_path, "guizhou", "all.html").read_text(encoding="utf-8")
    findings = evaluate(tmp_path, "guizhou", "findings.html", "--verdicts", "findings").read_text(encoding="utf-8")
    note = "仅列出未达标和缺数据的规则"
    assert findings.count(note) == 2 and note not in full
    assert "逐校判定 verdicts per school: 全部 all" in full
