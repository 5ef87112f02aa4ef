"""`edubalance plan … -o plan.html`: the plan as a printable page, Chinese first, with the JSON plan's figures."""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from edubalance import Evaluator
from edubalance.reports.html import render_plan_html
from edubalance.reports.view import number_text

ROOT = Path(__file__).resolve().parents[1]


def demo(province: str) -> list[Path]:
    data = ROOT / "plugins" / province / "data"
    return [data / "demo_schools.csv", data / "demo_county.csv"]


class Text(HTMLParser):
    """The page's visible text and its section ids."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.ids: list[str] = []
        self._skip = False

    def handle_starttag(self, tag, attrs):
        self._skip = tag == "style"
        self.ids += [v for k, v in attrs if k == "id"]

    def handle_endtag(self, tag):
        self._skip = False

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def page_text(html: str) -> Text:
    parser = Text()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("province,target", [("guizhou", "quality"), ("anhui", "basic")])
def test_plan_html_carries_the_json_plans_figures(run, tmp_path, province, target):
    out_html, out_json = tmp_path / "plan.html", tmp_path / "plan.json"
    r_html = run("plan", *demo(province), "-e", "vector", "--target", target, "-o", out_html)
    r_json = run("plan", *demo(province), "-e", "vector", "--target", target, "-o", out_json)
    assert r_html.exit_code == r_json.exit_code
    plan = json.loads(out_json.read_text(encoding="utf-8"))
    page = page_text(out_html.read_text(encoding="utf-8"))
    text = " ".join(page.parts)
    assert page.parts[0].startswith("义务教育均衡发展整改方案")         # Chinese first
    assert {"summary", "costs", "counties", "schools", "ranking", "prices"} <= set(page.ids)
    assert number_text(plan["totals"]["first_year_yuan"], 0) in text
    needing = [s for s in plan["schools"] if s["additions"]]
    assert needing
    for s in needing:
        assert s["school_id"] in text
        for a in s["additions"]:
            assert f"+{number_text(a['amount'])}" in text and a["label"] in text
            for rule_id in a["for"]:
                assert rule_id in text
    for c in plan["counties"]:
        assert c["county_code"] in text
    # the rules are named by their Chinese titles, not only by id
    catalogue = Evaluator().rule_catalogue(needing[0]["ruleset"])
    first_rule = needing[0]["additions"][0]["for"][0]
    assert catalogue["rules"][first_rule]["title"]["zh"] in text
    # each cost item with the quantity in its counting unit (新增专任教师 8 人)
    teachers = plan["totals"]["by_item"].get("teacher")
    if teachers:
        assert f"{number_text(teachers['quantity'])} 人" in page.parts


def test_a_plan_html_lists_rejected_rows_and_structural_failures():
    plan = Evaluator(engine="vector").plan(demo("guizhou"), records=[{"school_id": "x", "stage": "college"}])
    assert plan["rejected"]
    page = page_text(render_plan_html(plan, {}))
    assert "rejected" in page.ids
    text = " ".join(page.parts)
    assert "<records>" in text
    structural = [r["rule_id"] for s in plan["schools"] for r in s["structural"]]
    assert structural and all(r in text for r in structural)


def test_an_unknown_plan_suffix_names_html(run, tmp_path):
    result = run("plan", *demo("guizhou"), "-o", tmp_path / "plan.pdf")
    assert result.exit_code == 2 and ".html" in result.output


def test_a_printed_plans_tables_repeat_their_header_on_every_page(run, tmp_path):
    """As the report's: each table's header row is its ``<thead>``, which a browser prints again
    on every page a long table (the ranking of a county's schools) runs over."""
    from test_reports import _Headers

    out = tmp_path / "plan.html"
    run("plan", *demo("guizhou"), "-e", "vector", "-o", out)
    parser = _Headers()
    parser.feed(out.read_text(encoding="utf-8"))
    assert len(parser.tables) >= 5
    assert all(n and n == in_head for n, in_head in parser.tables), parser.tables


def test_a_plan_that_costs_nothing_is_a_page_too(run, tmp_path):
    """A county whose schools all pass already: every county and stage total is 0, and the page
    is written (it used to end in a template error, as no total had a ``yuan``)."""
    schools = demo("guizhou")[0]
    lines = schools.read_text(encoding="utf-8").splitlines()
    passing = tmp_path / "passing.csv"
    passing.write_text("\n".join([lines[0]] + [x for x in lines[1:] if x.startswith("5226980003,")]) + "\n",
                       encoding="utf-8")
    out = tmp_path / "plan.html"
    result = run("plan", passing, "-e", "vector", "-o", out)     # exit 1: no county record, the county is incomplete
    assert result.exit_code == 1 and out.exists(), result.output
    text = " ".join(page_text(out.read_text(encoding="utf-8")).parts)
    assert "义务教育均衡发展整改方案" in text and "522698/2023" in text
