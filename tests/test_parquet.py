"""The Parquet report's files as written: school and verdict row groups that match, one codec,
statistics where a reader can use them, and a writer's failure reported once with nothing left."""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_output import TABLES, _assert_parquet_equals_json, _json_report

from edubalance import parquet
from edubalance.synthetic import county_records, generate, write_csv


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("records")
    records = generate(1200, seed=21, missing_rate=0.05)
    records[3]["students"] = -1                      # rejected
    write_csv(folder / "schools.csv", records)
    write_csv(folder / "counties.csv", county_records(records, seed=21))
    return [folder / "schools.csv", folder / "counties.csv"]


@pytest.fixture
def small_groups(monkeypatch):
    """Entry tables of 97 schools and row groups of at least 300: many tables in flight."""
    monkeypatch.setattr(parquet, "CHUNK", 97)
    monkeypatch.setattr(parquet, "ROWS", 300)


def test_many_row_groups_hold_the_json_report_and_match(run, files, tmp_path, small_groups):
    data = _json_report(run, files, tmp_path)
    out = tmp_path / "r.parquet"
    result = run("evaluate", *files, "-e", "vector", "-o", out)
    assert result.exit_code == 1, result.output
    _assert_parquet_equals_json(out, data)
    schools, verdicts = pq.ParquetFile(out / "schools.parquet"), pq.ParquetFile(out / "verdicts.parquet")
    n = len(data["schools"])
    sizes = [schools.metadata.row_group(g).num_rows for g in range(schools.num_row_groups)]
    assert sum(sizes) == n and sizes[:-1] == [4 * 97] * (len(sizes) - 1)    # 4 tables of 97 reach 300
    assert verdicts.num_row_groups == schools.num_row_groups
    for g in range(schools.num_row_groups):                 # row group g of verdicts: the schools of group g
        keys = verdicts.read_row_group(g, columns=["school_key"]).column(0)
        school_keys = schools.read_row_group(g, columns=["school_key"]).column(0)
        assert set(keys.to_pylist()) <= set(school_keys.to_pylist())
        assert keys[0].as_py() == school_keys[0].as_py()


def test_every_column_is_snappy_and_verdict_text_has_no_statistics(run, files, tmp_path):
    out = tmp_path / "r.parquet"
    run("evaluate", *files, "-e", "vector", "-o", out)
    for name in TABLES:
        meta = pq.ParquetFile(out / f"{name}.parquet").metadata
        group = meta.row_group(0)
        assert {group.column(c).compression for c in range(group.num_columns)} == {"SNAPPY"}, name
    for name, key in (("verdicts", "school_key"), ("county_verdicts", "county_key")):
        group = pq.ParquetFile(out / f"{name}.parquet").metadata.row_group(0)
        stats = {group.column(c).path_in_schema: group.column(c).statistics for c in range(group.num_columns)}
        assert all(stats[c] is None or not stats[c].has_min_max for c in ("rule_id", "status"))
        assert stats[key].has_min_max and stats[key].min == 0
        assert stats["value"].has_min_max
    group = pq.ParquetFile(out / "schools.parquet").metadata.row_group(0)
    county = next(group.column(c) for c in range(group.num_columns) if group.column(c).path_in_schema == "county_code")
    assert county.statistics.has_min_max                     # filters by county skip row groups


def test_verdict_rule_ids_and_statuses_are_dictionary_encoded_plain_text(run, files, tmp_path, small_groups):
    """Written from dictionary arrays (three provinces' rule sets, so several dictionaries),
    read back by pyarrow, and typed in the file itself for other readers, as plain text."""
    out = tmp_path / "r.parquet"
    run("evaluate", *files, "-e", "vector", "-o", out)
    found = pq.ParquetFile(out / "verdicts.parquet")
    assert b"ARROW:schema" not in (found.metadata.metadata or {})
    for name in ("rule_id", "status"):
        assert found.schema_arrow.field(name).type == pa.string()
        column = found.schema.column(found.schema.names.index(name))
        assert column.physical_type == "BYTE_ARRAY" and column.logical_type.type == "STRING"
        for g in range(found.num_row_groups):             # one dictionary for every table of every rule set
            chunk = found.metadata.row_group(g).column(found.schema.names.index(name))
            assert "RLE_DICTIONARY" in chunk.encodings
            assert name == "status" or chunk.total_compressed_size < 2048      # no rule id written whole
    verdicts = found.read()
    assert set(verdicts.column("status").to_pylist()) <= {"pass", "fail", "not_applicable", "missing_data"}
    rulesets = {r for r in pq.read_table(out / "rules.parquet").column("ruleset").to_pylist()}
    assert len(rulesets) > 1
    assert pq.read_table(out / "schools.parquet").schema.field("status").type == pa.string()


def test_a_report_without_schools_has_empty_school_and_verdict_files(run, files, tmp_path):
    out = tmp_path / "r.parquet"
    result = run("evaluate", files[1], "-e", "vector", "-o", out)
    assert result.exit_code in (0, 1), result.output
    schools, verdicts = pq.read_table(out / "schools.parquet"), pq.read_table(out / "verdicts.parquet")
    assert schools.num_rows == 0 and verdicts.num_rows == 0
    assert schools.schema.field("year").type == pa.int64() and schools.schema.field("school_id").type == pa.string()
    assert verdicts.column_names == ["school_key", "rule_id", "status", "value", "threshold", "gap", "gap_share"]
    assert pq.read_table(out / "counties.parquet").num_rows > 0


@pytest.mark.parametrize("failing", [1, 3])
def test_a_writer_failing_after_some_row_groups_is_one_message_and_leaves_nothing(run, files, tmp_path,
                                                                                 monkeypatch, small_groups, failing):
    """The ``failing``-th table written to schools.parquet runs out of space, in its writer's
    thread, while the command goes on building: one message, exit 2, no folder left."""
    real = pq.ParquetWriter
    written = []

    class Full(real):
        def write_table(self, table, row_group_size=None):
            if str(self.where).endswith("schools.parquet"):
                written.append(table.num_rows)
                if len(written) == failing:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            super().write_table(table, row_group_size)

    monkeypatch.setattr(pq, "ParquetWriter", Full)
    out = tmp_path / "r.parquet"
    result = run("evaluate", *files, "-e", "vector", "-o", out)
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output and result.output.count("edubalance: 错误 error:") == 1
    assert len(written) == failing and list(tmp_path.iterdir()) == []


def test_a_failure_while_building_waits_for_the_writers_and_leaves_nothing(run, files, tmp_path, monkeypatch,
                                                                          small_groups):
    real = parquet._flat_entries
    built = []

    def failing(entries, key):
        built.append(key)
        if len(built) == 9:                                   # two row groups are on their way by now
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(entries, key)

    monkeypatch.setattr(parquet, "_flat_entries", failing)
    result = run("evaluate", *files, "-e", "vector", "-o", tmp_path / "r.parquet")
    assert result.exit_code == 2, result.output
    assert os.strerror(errno.EIO) in result.output and result.output.count("edubalance: 错误 error:") == 1
    assert len(built) == 9 and list(tmp_path.iterdir()) == []


def test_head_json_is_the_json_reports_head(run, files, tmp_path):
    data = _json_report(run, files, tmp_path)
    run("evaluate", *files, "-e", "vector", "-o", tmp_path / "r.parquet")
    head = json.loads(pq.read_table(tmp_path / "r.parquet" / "summary.parquet").column("head_json")[0].as_py())
    assert head == {k: v for k, v in data.items() if k not in ("schools", "counties")}


def test_the_small_files_share_one_writer_thread(run, files, tmp_path, monkeypatch):
    made = []

    class Recorded(parquet.ThreadPoolExecutor):
        def __init__(self, workers, thread_name_prefix=""):
            made.append(thread_name_prefix)
            super().__init__(workers, thread_name_prefix=thread_name_prefix)

    monkeypatch.setattr(parquet, "ThreadPoolExecutor", Recorded)
    out = tmp_path / "r.parquet"
    run("evaluate", *files, "-e", "vector", "-o", out)
    assert sorted(made) == ["parquet-schools", "parquet-tables", "parquet-verdicts"]
    assert {p.stem for p in out.iterdir()} == TABLES


def test_school_texts_written_from_dictionaries_read_back_as_the_json_reports_text(run, files, tmp_path, small_groups):
    """The identity texts that repeat, the source file and the status are handed to the writer as
    dictionary arrays (one per province's block, several per row group): every value, and every
    missing one, reads back as the JSON report's plain text."""
    data = _json_report(run, files, tmp_path)
    out = tmp_path / "r.parquet"
    run("evaluate", *files, "-e", "vector", "-o", out)
    found = pq.ParquetFile(out / "schools.parquet")
    schools = found.read()
    texts = ("school_id", "stage", "school_name", "county_code", "county_name", "province", "school_type",
             "location", "status", "source_file")
    for name in texts:
        assert schools.schema.field(name).type == pa.string(), name
        want = [s["source"]["file"] if name == "source_file" else s[name] for s in data["schools"]]
        assert schools.column(name).to_pylist() == want, name
    assert any(s["location"] is None for s in data["schools"])          # missing values among them
    assert len({s["province"] for s in data["schools"]}) > 1 and found.num_row_groups > 1


def test_rejected_rows_name_their_county_and_keep_their_column_types_when_none(run, files, tmp_path):
    """An analyst counts rejected rows per county and stacks the rejected tables of several
    reports: a rejected school's county code is its record's, and a report with nothing
    rejected has the same text and integer columns, not columns of no type."""
    out = tmp_path / "r.parquet"
    assert run("evaluate", *files, "-e", "vector", "-o", out).exit_code == 1
    rejected = pq.read_table(out / "rejected.parquet").to_pylist()
    schools = [r for r in rejected if r["record"] == "school"]
    assert schools and all(r["county_code"] == json.loads(r["data"])["county_code"] for r in schools)
    demo = Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "data"
    clean = tmp_path / "clean.parquet"
    assert run("evaluate", demo / "demo_schools.csv", demo / "demo_county.csv", "-o", clean).exit_code in (0, 1)
    empty = pq.read_schema(clean / "rejected.parquet")
    assert pq.read_metadata(clean / "rejected.parquet").num_rows == 0
    assert {name: str(empty.field(name).type) for name in parquet._PROBLEM_COLUMNS} == {
        name: "int64" if name == "row" else "string" for name in parquet._PROBLEM_COLUMNS}


def test_a_county_listing_is_read_with_its_known_type_unless_an_item_has_another_field():
    """A listing of schools whose items have only the known fields is written with its known
    type (a missing field null); an item with another field keeps it (the type is then read
    from the items), and a listing of something else is written as found."""
    kind = parquet._county_type("stages_primary_excluded")
    known = [[{"school_id": "1", "reason": "不适用 n/a"}], None, []]
    typed = parquet._listing(known, kind)
    assert typed.type == kind and typed.to_pylist()[0][0]["stage"] is None and typed.to_pylist()[1:] == [None, []]
    other = [[{"school_id": "1", "extra": 2}], []]
    found = parquet._listing(other, kind)
    assert found.type != kind and found.to_pylist()[0] == [{"school_id": "1", "extra": 2}]
    assert parquet._listing([["a"], None], kind).to_pylist() == [["a"], None]
