"""CSV files read as columns give, cell for cell, what the row reader gives."""
from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from edubalance import loading
from edubalance.csv_columns import (
    MAX_DIGITS, WS_LEAD, ByteColumns, ListColumns, parse_plain, read_unquoted, words_of,
)
from edubalance.loading import InputError, RawRow, Rows, load_file

DATA = Path(__file__).parent / "data"


def row_reader(path: Path, default_province: str | None = None) -> loading.LoadedFile:
    """What the row reader gives: every cell through the csv module, one dict per row."""
    name = str(path)
    text, _ = loading._decode(name, path.read_bytes())
    lf = loading._read_csv(name, text, loading._sniff_delimiter(text))
    if default_province:
        loading._fill_province(lf.rows, default_province)
        loading._fill_province(lf.county_rows, default_province)
    return lf


def as_tuples(rows) -> list[tuple]:
    return [(r.file, r.row, list(r.data.items())) for r in rows]


def assert_same_load(path: Path, default_province: str | None = None, kind: type | None = ByteColumns) -> None:
    got = load_file(path, default_province=default_province)
    want = row_reader(path, default_province)
    if kind is not None:
        assert isinstance(got.rows, Rows) and [type(p) for p in got.rows.parts] == [kind]
    assert as_tuples(got.rows) == as_tuples(want.rows)
    assert as_tuples(got.county_rows) == as_tuples(want.county_rows)


# --- plain numbers ------------------------------------------------------------------------------

def plain_reference(cell: str, decimal: bool) -> bool:
    """The validator's own fast test (``_to_int`` / ``to_float``), capped at MAX_DIGITS digits."""
    if not cell.isascii():
        return False
    digits = cell.replace(".", "", 1) if decimal else cell
    return digits.isdigit() and len(digits) <= MAX_DIGITS


def test_plain_numbers_are_exactly_what_float_reads():
    rng = random.Random(5)
    alphabet = "0123456789" * 6 + "..-+eE ,%x٣５"
    cells = ["", "0", "7", ".5", "5.", ".", "..", "1.2.3", "007", "0.0", "12928.199999999999",
             "123456789012345", "1234567890123456", "12345678.9012345", "1234567.89012345", "9" * 15,
             "9" * 16, "0." + "9" * 14, "0." + "9" * 15, "1e5", "-3", "+4", " 1", "1 ", "٣", "５", "1,200"]
    for _ in range(3000):
        size = rng.choice([1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20])
        cells.append("".join(rng.choice(alphabet) for _ in range(size)))
        cells.append(f"{rng.uniform(0, 10 ** rng.randint(0, 9)):.{rng.randint(0, 8)}f}")
    body = "".join(f"{c}\n" for c in cells)
    data = ("x" * 20 + "\n" + body).encode("utf-8")
    ends, starts, pos = [], [], 21
    for c in cells:
        size = len(c.encode("utf-8"))
        starts.append(pos)
        ends.append(pos + size)
        pos += size + 1
    s, e = np.array(starts), np.array(ends)
    for decimal in (False, True):
        values, plain = parse_plain(words_of(data), s, e, decimal)
        for c, v, p in zip(cells, values.tolist(), plain.tolist()):
            assert p == plain_reference(c, decimal), c
            if p:
                assert v == float(c) and np.float64(v).tobytes() == np.float64(float(c)).tobytes(), c
            else:
                assert np.isnan(v), c
        last = words_of(data)[e - 8]
        again = parse_plain(words_of(data), s, e, decimal, last)
        assert np.array_equal(again[0], values, equal_nan=True) and np.array_equal(again[1], plain)


def test_cells_near_the_start_of_the_file_are_left_to_the_coercer():
    data = b"a\n1\n22\n"
    values, plain = parse_plain(words_of(data), np.array([2, 4]), np.array([3, 6]), False)
    assert not plain.any() and np.isnan(values).all()


def test_whitespace_lead_bytes_cover_every_space_python_strips():
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    assert {ch.encode("utf-8")[0] for ch in spaces} == set(WS_LEAD)


# --- whole files ----------------------------------------------------------------------------------

AWKWARD = (
    "学校基本情况表（2023年）\n"                                   # a title row above the header
    "\n"
    "学校标识码,学校名称,学段,在校生数,教学仪器设备资产值（元）,公办,,备注,教师年平均工资收入,省份\n"
    "5201020001,花溪 第一小学,小学,1200,2400000.5,是,,,,guizhou\n"
    "\n"                                                          # blank, counted
    " ,  ,\u3000,,,,,,,\n"                                         # only spaces: blank
    "5201020002, 花溪中学 ,初中, １２００ ,3e6,否,x,备注一,,\n"      # spaces, full width, unnamed column
    ",,,,,,,,98000,guizhou\n"                                     # a county row
    "5201020003,ｓｃｈｏｏｌ,junior,12.0,0.95,Y,,,,\n"
    ",,,,,,,,,\n"                                                 # only delimiters: blank
    "5201020004,\u3000三小\u3000,primary,-3,95%,2,,,,\n"
    "5201020005,四小,高中,12345678901234567890,12928.199999999999,是,,,,beijing"   # no final newline
)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_awkward_file_gives_the_row_readers_rows(tmp_path, newline, encoding):
    path = tmp_path / "awkward.csv"
    text = AWKWARD.replace("\n", newline)
    if encoding == "gb18030":
        text = text.replace("\u3000", " ")         # not what this test is about
    path.write_bytes(text.encode(encoding))
    assert_same_load(path)
    assert_same_load(path, default_province="anhui")
    rows = load_file(path).rows
    assert [r.row for r in rows] == [4, 7, 9, 11, 12]


@pytest.mark.parametrize("delimiter", ["\t", ";", "|"])
def test_other_delimiters(tmp_path, delimiter):
    path = tmp_path / "t.txt"
    path.write_text(AWKWARD.replace(",", delimiter).replace("1200,", "1,200" + delimiter, 1), encoding="utf-8")
    assert_same_load(path)


def test_fixture_and_header_only_files(tmp_path):
    assert_same_load(DATA / "schools.csv")
    path = tmp_path / "h.csv"
    path.write_text("school_id,stage\n\n", encoding="utf-8")
    lf = load_file(path)
    assert lf.rows == [] and lf.county_rows == []
    counties = tmp_path / "c.csv"
    counties.write_text("county_code,year,rotation_rate\n520102,2023,0.1\n520103,2023,\n", encoding="utf-8")
    assert_same_load(counties)                   # the second row has no county-only value: a school row
    assert [r.row for r in load_file(counties).county_rows] == [2]
    counties.write_text("county_code,year,rotation_rate\n520102,2023,0.1\n", encoding="utf-8")
    lf = load_file(counties)
    assert lf.rows == [] and as_tuples(lf.county_rows) == as_tuples(row_reader(counties).county_rows)


@pytest.mark.parametrize("content, kind", [
    ("school_id,stage\n1,primary\r2,junior\n", None),                # a lone CR ends a row for csv
    ("school_id,stage\n1,primary,extra\n2,junior\n", None),          # a row wider than the header
    ("school_id,stage\n1\n2,junior\n", None),                        # a shorter row
    ('school_id,school_name\n1,"a, b"\n2,c\n', ListColumns),         # quotes: the csv module reads it
])
def test_files_the_byte_reader_leaves_to_the_csv_module(tmp_path, content, kind):
    path = tmp_path / "f.csv"
    path.write_bytes(content.encode("utf-8"))
    text = content
    assert read_unquoted(str(path), text, content.encode("utf-8"), ",") is None or '"' in content
    assert_same_load(path, kind=kind)


def test_very_long_cells_are_reported_by_the_csv_module(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("school_id,school_name\n1," + "x" * (csv.field_size_limit() + 1) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid CSV at line 2"):
        load_file(path)


def test_blank_and_title_only_files_are_empty(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text(" , \n\n", encoding="utf-8")
    with pytest.raises(InputError, match="the file is empty"):
        load_file(path)


def test_duplicate_headers_are_refused_by_both_readers(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("students,在校生数\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="columns A and B both give"):
        load_file(path)


def test_cells_factorize_and_rows_agree(tmp_path):
    rng = random.Random(3)
    words = ["小学", "初中", "primary", " 九年一贯制 ", "十二年一贯制学校十二年一贯制学校", "", "a" * 40, "b" * 60]
    lines = ["school_id,school_type,students"]
    for i in range(3000):
        lines.append(f"{rng.randint(1, 5000)},{rng.choice(words)},{rng.choice(['', '1', '22', '1,5'[:1]])}")
    path = tmp_path / "f.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    block = load_file(path).rows.parts[0]
    rows = row_reader(path).rows
    for k, name in enumerate(block.names):
        want = [r.data[name] for r in rows]
        assert block.cells(k) == want
        assert block.present(k).tolist() == [v is not None for v in want]
        found = block.factorize(k)
        if found is not None:
            codes, distinct = found
            assert [distinct[c] for c in codes.tolist()] == want
        some = np.array([5, 0, 2999, 17])
        assert block.cells(k, some) == [want[i] for i in some.tolist()]
    assert block.factorize(block.names.index("school_type")) is None      # cells longer than 48 bytes


# --- Rows --------------------------------------------------------------------------------------------

def test_rows_hand_over_columns_and_become_rows_when_read(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("school_id,students\n1,5\n2,\n", encoding="utf-8")
    rows = load_file(path).rows
    assert len(rows) == 2 and isinstance(rows.parts[0], ByteColumns)
    both = Rows()
    both.extend(rows)
    both.extend([RawRow("x.json", 1, {"school_id": "9"})])
    assert len(both) == 3 and [type(p) for p in both.parts] == [ByteColumns, list]
    assert isinstance(rows.parts[0], ByteColumns)                  # handing over made no rows
    rows[0].data["students"] = "6"                                 # reading makes rows, once
    assert rows.parts[0] is not None and isinstance(rows.parts[0], list)
    assert rows[0].data == {"school_id": "1", "students": "6"}
    assert rows == [RawRow(str(path), 2, {"school_id": "1", "students": "6"}),
                    RawRow(str(path), 3, {"school_id": "2", "students": None})]
    rows.fill_province("guizhou")
    assert [r.data["province"] for r in rows] == ["guizhou", "guizhou"]
    both.append(RawRow("y", 1, {}))
    assert len(both) == 4 and both[3].file == "y"
    both.clear()
    assert len(both) == 0 and not both and both == []
