"""Validating a CSV file as columns gives exactly what validating its rows one by one gives."""
from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import numpy as np
import pytest

from edubalance import Evaluator, validate_columns
from edubalance.csv_columns import ByteColumns, ListColumns
from edubalance.loading import RawRow, Rows, load_file
from edubalance.validation import CROSS_CHECKED, AcceptedRecords, _cross_checks, _RowProblems, validate

KNOWN = ["guizhou", "shaanxi", "anhui", "national"]
HEADER = ["学校标识码", "学校名称", "学段", "办学类型", "省份", "县级行政区划代码", "学年", "城乡类型", "公办",
          "寄宿制学校", "在校生数", "寄宿生数", "班级数", "最大班额", "随班就读残疾学生数", "教职工数", "专任教师数",
          "县级及以上骨干教师数", "持教师资格证专任教师数", "占地面积", "教学仪器设备资产值", "普通教室所在最高楼层",
          "备注", "", "教师年平均工资收入", "学生宿舍设在地下室"]

# Per column: (usual values, awkward values). No double quote anywhere: the byte reader reads these.
POOLS: list[tuple[list[str], list[str]]] = [
    ([], ["", " ", "５２０１", "abc", "520102 0001"]),                          # school_id (made below)
    (["花溪小学", "第 一 中学", "三小"], ["", "ｓｃｈｏｏｌ", " 四小 ", "\u3000五小", "ﬁve"]),
    (["小学", "初中", "primary", "junior"], ["", "JUNIOR", "初级中学", "小学段", "高中", " 小学 "]),
    (["小学", "初级中学", "九年一贯制", "nine_year"], ["", "九年一贯制学校", "大学", "十二年一贯制"]),
    (["guizhou", "shaanxi", "anhui"], ["", "GuiZhou", "beijing", "Gui zhou", "ＡＮＨＵＩ"]),
    (["520102", "610001", "340002"], ["", "5201", "５２０１０２", "520102.0", "52O102"]),
    (["2023", "2020", "2016"], ["", "２０２３", "1989", "2101", "2023.0", "2023.5", "20 23"]),
    (["城区", "镇区", "乡村", "rural"], ["", "农村", "县镇", "城市", "山区"]),
    (["是", "否", "1", "0"], ["", "有", "无", "yes", "N", "true", "2", "对"]),
    (["是", "否"], ["", "T", "f", "1.0"]),
    (["1200", "480", "35", "0"], ["", "1,200", "1 200", "１２００", "12.0", "-3", "+5", "1e3", "95%", "abc",
                                  "12345678901234567890", "0012", "3.5"]),
    (["0", "40", "300"], ["", "2000", "-1", "4.0"]),
    (["24", "12", "6"], ["", "5000", "0"]),
    (["50", "42", "66"], ["", "9999", "45.5"]),
    (["0", "1", "2"], ["", "3000", "-2"]),
    (["60", "30", "25"], ["", "1", "20"]),
    (["58", "28", "20"], ["", "100", "0"]),
    (["5", "2", "0"], ["", "90", "x"]),
    (["50", "25", "18"], ["", "200"]),
    (["37229.9", "8234.4", "0.0", "15685"], ["", "12928.199999999999", "1,234.5", "-0.0", "1e4", ".5", "5.",
                                              "９５.５", "95%", "nan", "inf", "1..2"]),
    (["2400000", "3235637.1", "0"], ["", "300万", "1234567890123456.5", "00012.50"]),
    (["3", "1", "6"], ["", "0", "-1", "2.0"]),
    ([""], ["备注", "见附件"]),                                                   # unknown column
    ([""], ["x"]),                                                                # unnamed column
    ([""], ["98000"]),                                                            # county-only column
    (["否"], ["", "是", "maybe"]),
]


def awkward_rows(n: int, seed: int, awkward: float = 0.08) -> list[list[str]]:
    """School rows full of awkward cells; school ids repeat now and then (duplicates)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row = []
        for j, (usual, odd) in enumerate(POOLS):
            if j == 0:
                value = f"52{rng.randint(0, n // 2 if i % 7 == 0 else 10 ** 8):08d}"
            elif usual == [""] and rng.random() > 0.02:
                value = ""
            else:
                value = rng.choice(odd) if rng.random() < awkward or not usual else rng.choice(usual)
            row.append(value)
        if rng.random() < 0.02:
            row = [""] * len(row)                      # a blank row
        if rng.random() < 0.01:
            row[0] = ""                                # a county row
            row[24] = "98000"
        rows.append(row)
    return rows


def write(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8",
          quote: bool = False) -> Path:
    buf = io.StringIO()
    if quote:
        csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows([HEADER, *rows])
        text = buf.getvalue()
    else:
        text = "".join(delimiter.join(r) + "\n" for r in [HEADER, *rows])
    path.write_bytes(text.encode(encoding))
    return path


def assert_same(a, b) -> None:
    """Everything a validation result holds, compared exactly (types and key order too)."""
    assert [p.to_dict() for p in a.problems] == [p.to_dict() for p in b.problems]
    assert [(type(p.observed), type(p.expected)) for p in a.problems] == \
        [(type(p.observed), type(p.expected)) for p in b.problems]
    assert a.problems == b.problems
    assert [(r.file, r.row, r.school_id, r.school_name, r.problems, list(r.data.items())) for r in a.rejected] == \
        [(r.file, r.row, r.school_id, r.school_name, r.problems, list(r.data.items())) for r in b.rejected]
    assert len(a.accepted) == len(b.accepted)
    assert [[(k, type(v), v) for k, v in rec.items()] for rec in a.accepted] == \
        [[(k, type(v), v) for k, v in rec.items()] for rec in b.accepted]
    ca, cb = a.columns, b.columns
    assert ca.size == cb.size == len(a.accepted)
    assert ca.numeric.keys() == cb.numeric.keys() and ca.text.keys() == cb.text.keys()
    for name in ca.numeric:
        x = np.frombuffer(ca.numeric[name], dtype=float)[:ca.size]
        y = np.frombuffer(cb.numeric[name], dtype=float)[:cb.size]
        assert x.tobytes() == y.tobytes(), name                  # the same floats, bit for bit
    for name in ca.text:
        assert ca.text[name][:ca.size] == cb.text[name][:cb.size], name


def by_rows(rows: Rows | list[RawRow]) -> list[RawRow]:
    return [RawRow(r.file, r.row, dict(r.data)) for r in rows]


def check_file(path: Path, kind: type, default_province: str | None = None, known=KNOWN,
               defaults=(None, "Guizhou", "no such")) -> None:
    columns = load_file(path, default_province=default_province).rows
    assert [type(p) for p in columns.parts] == [kind]
    rows = by_rows(load_file(path, default_province=default_province).rows)
    for dflt in defaults:
        a = validate(columns, default_province=dflt, known_provinces=known)
        assert isinstance(a.accepted, AcceptedRecords)
        b = validate(rows, default_province=dflt, known_provinces=known)
        assert isinstance(b.accepted, list)
        assert_same(a, b)


@pytest.mark.parametrize("delimiter, quote, kind", [
    ("\t", False, ByteColumns), (",", False, ByteColumns), (",", True, ListColumns)])
def test_awkward_file_columns_and_rows_agree(tmp_path, delimiter, quote, kind):
    rows = awkward_rows(700, seed=len(delimiter) + quote)
    if delimiter == "," and not quote:
        rows = [[c.replace(",", "") for c in r] for r in rows]
    path = write(tmp_path / "awkward.csv", rows, delimiter, quote=quote)
    check_file(path, kind)
    check_file(path, kind, default_province="shaanxi", known=None, defaults=("anhui",))


@pytest.mark.parametrize("odd_name", ["", "ｓｃｈｏｏｌ"])
def test_many_distinct_texts_are_checked_in_bulk_when_they_need_no_converting(tmp_path, monkeypatch, odd_name):
    rows = awkward_rows(3000, seed=17, awkward=0.0)
    for i, r in enumerate(rows):
        r[0], r[1] = f"52{i:08d}", f"学校{i}"
    rows[1500][1] = odd_name or rows[1500][1]                  # not NFKC-normal: each is converted
    rows[2000][0] = rows[10][0]                                # a duplicate
    outcomes = []
    normal = validate_columns._normal
    monkeypatch.setattr(validate_columns, "_normal", lambda texts: outcomes.append(normal(texts)) or outcomes[-1])
    check_file(write(tmp_path / "many.tsv", rows, "\t"), ByteColumns, defaults=(None,))
    assert outcomes == [True, not odd_name]                    # school_id, then school_name


def test_mostly_clean_file_with_findings_agrees(tmp_path):
    path = write(tmp_path / "clean.tsv", awkward_rows(3000, seed=9, awkward=0.004), "\t")
    check_file(path, ByteColumns)
    result = validate(load_file(path).rows, known_provinces=KNOWN)
    codes = {p.code for p in result.problems}
    assert {"E102", "E104", "E106", "E201", "E202", "E204", "W301", "W302", "W303"} <= codes


def test_gbk_and_utf16_files_agree(tmp_path):
    rows = [[c.replace("\u3000", " ").replace("ﬁ", "fi") for c in r] for r in awkward_rows(400, seed=4)]
    check_file(write(tmp_path / "gbk.csv", rows, ",", "gb18030", quote=True), ListColumns)
    rows = [[c.replace(",", "") for c in r] for r in rows]
    check_file(write(tmp_path / "gbk2.csv", rows, ",", "gb18030"), ByteColumns)
    check_file(write(tmp_path / "utf16.txt", rows, "\t", "utf-16"), ByteColumns)


def test_many_files_duplicates_across_them_name_the_first(tmp_path):
    rows = awkward_rows(600, seed=12, awkward=0.02)
    a = write(tmp_path / "a.tsv", rows[:300], "\t")
    b = write(tmp_path / "b.tsv", rows[250:] + rows[:40], "\t")
    c = tmp_path / "c.json"
    c.write_text(json.dumps([dict(zip(["school_id", "stage", "county_code", "year", "students"], r[0:1] + r[2:3] +
                                      r[5:7] + r[10:11])) for r in rows[100:130]]), encoding="utf-8")
    together = Rows()
    for path in (a, c, b, a):                                  # one file twice: every row repeats
        together.extend(load_file(path).rows)
    assert [type(p) for p in together.parts] == [ByteColumns, list, ByteColumns, ByteColumns]
    plain = by_rows(Rows(p if isinstance(p, list) else p.rows() for p in together.parts))
    first, second = validate(together, known_provinces=KNOWN), validate(plain, known_provinces=KNOWN)
    assert_same(first, second)
    assert sum(p.code == "E204" and str(a) in p.message for p in first.problems) > 250


@pytest.mark.parametrize("other", [lambda record, rp: None, lambda record, rp: ("?", "primary", 2023)])
def test_a_disagreement_on_identity_falls_back_to_the_rows(tmp_path, monkeypatch, other):
    rows = awkward_rows(300, seed=21, awkward=0.1)
    path = write(tmp_path / "f.tsv", rows, "\t")
    want = validate(by_rows(load_file(path).rows), known_provinces=KNOWN)
    monkeypatch.setattr(validate_columns, "_school_key", other)
    got = validate(load_file(path).rows, known_provinces=KNOWN)
    assert_same(got, want)


def test_identities_too_many_for_one_integer_are_compared_as_tuples(tmp_path, monkeypatch):
    rows = awkward_rows(800, seed=23, awkward=0.02)
    path = write(tmp_path / "f.tsv", rows, "\t")
    want = validate(by_rows(load_file(path).rows), known_provinces=KNOWN)
    monkeypatch.setattr(validate_columns, "_key_codes", lambda texts, year, pos: None)
    got = validate(load_file(path).rows, known_provinces=KNOWN)
    assert_same(got, want)
    assert any(p.code == "E204" for p in got.problems)


def test_cross_checked_pairs_cover_every_cross_check():
    rng = random.Random(2)
    names = sorted({f for pair in CROSS_CHECKED for f in pair})
    for _ in range(3000):
        record = {n: rng.randint(0, 4) for n in names if rng.random() < 0.8}
        rp = _RowProblems(RawRow("f", 2, {}), "1")
        _cross_checks(record, rp)
        fires = any(a in record and b in record and record[a] > record[b] for a, b in CROSS_CHECKED)
        assert bool(rp.items) <= fires, record


def test_accepted_records_are_made_when_read(tmp_path):
    path = write(tmp_path / "f.tsv", awkward_rows(200, seed=5, awkward=0.0), "\t")
    result = validate(load_file(path).rows, known_provinces=KNOWN)
    accepted = result.accepted
    assert isinstance(accepted, AcceptedRecords) and len(accepted) > 50
    assert accepted._list is None                            # counting made no dict
    first = accepted[0]
    first["students"] = -1                                   # a change sticks, as in a list
    assert accepted[0]["students"] == -1 and accepted[0] is first
    assert accepted == list(accepted) and list(accepted)[-1]["_file"] == str(path)


def test_evaluator_reads_csv_as_columns_and_reports_the_same(tmp_path):
    path = write(tmp_path / "f.tsv", awkward_rows(500, seed=8, awkward=0.03), "\t")
    ev = Evaluator(engine="vector", verdicts="findings")
    rows, county_rows = ev.load([path])
    assert isinstance(rows, Rows) and isinstance(rows.parts[0], ByteColumns)
    a = ev.evaluate_files([path])
    b = ev._evaluate(by_rows(rows), county_rows, [str(path)], None)
    assert (a.rejected, a.warnings, a.county_rejected, a.summary()) == \
        (b.rejected, b.warnings, b.county_rejected, b.summary())
    assert a.to_dict()["schools"] == b.to_dict()["schools"]


def test_a_plugin_check_gets_the_accepted_records_of_a_csv_file_as_a_list(tmp_path):
    from edubalance import hookimpl
    from edubalance.validation import Problem

    class Flag:
        records = None

        @hookimpl
        def edubalance_validate_records(self, records, context):
            Flag.records = records
            return [Problem.about(records[0], "E299", "flagged by a plug-in", field="school_id", severity="error")]

    path = write(tmp_path / "f.tsv", awkward_rows(120, seed=8, awkward=0.0), "\t")
    plain = Evaluator(engine="vector").evaluate_files([path])
    report = Evaluator(engine="vector", plugins=[Flag()]).evaluate_files([path])
    assert type(Flag.records) is list and len(Flag.records) == plain.summary()["records"]["evaluated"]
    assert Flag.records[0]["_file"] == str(path)
    assert len(report.rejected) == len(plain.rejected) + 1
    assert report.rejected[-1]["problems"][0]["message"] == "flagged by a plug-in"
