"""Validation: coercion, every problem code, cross-field checks, and the fast path's fidelity."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from edubalance import problems, validation
from edubalance.checks import RecordChecker
from edubalance.loading import RawRow
from edubalance.readers import load_file
from edubalance.problems import PROBLEM_CODES, Problem
from edubalance.validation import validate, validate_counties

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True, params=["row by row", "by columns"])
def path(request, monkeypatch):
    """Every test runs twice: a handful of rows is checked row by row, a file's rows by the
    column expressions that pick the rows to examine — both must give the same results."""
    if request.param == "by columns":
        monkeypatch.setattr(validation, "FEW", 0)
    return request.param


def school(**over) -> dict:
    base = {"school_id": "5201020001", "school_name": "一小", "stage": "primary",
            "county_code": "520102", "year": "2023", "students": "500", "province": "guizhou"}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def rows(*datas: dict, file: str = "f.csv") -> list[RawRow]:
    return [RawRow(file, i + 2, d) for i, d in enumerate(datas)]


def codes(result) -> list[str]:
    return [p.code for p in result.problems]


def one_rejected(data: dict, **kw):
    result = validate(rows(data), **kw)
    assert result.accepted == [] and len(result.rejected) == 1
    return result.rejected[0]


# --- acceptance and coercion --------------------------------------------------------------

def test_good_row_is_coerced_and_keeps_provenance():
    result = validate(rows(school(students="1,200", is_public="是", is_boarding="N", location="农村",
                                  land_area_m2="12000.5", stage="小学", school_type="九年一贯制",
                                  county_code=520102, year=2023.0)))
    assert result.rejected == [] and result.problems == []
    rec = result.accepted[0]
    assert rec == {"school_id": "5201020001", "school_name": "一小", "stage": "primary",
                   "county_code": "520102", "year": 2023, "students": 1200, "province": "guizhou",
                   "is_public": True, "is_boarding": False, "location": "rural", "land_area_m2": 12000.5,
                   "school_type": "nine_year", "_file": "f.csv", "_row": 2}
    assert type(rec["year"]) is int and type(rec["land_area_m2"]) is float


@pytest.mark.parametrize("raw, expected", [
    ("true", True), ("FALSE", False), ("1", True), ("0", False), ("是", True), ("否", False),
    ("yes", True), ("No", False), ("Y", True), ("n", False), (True, True), (0, False), (1.0, True),
])
def test_boolean_spellings(raw, expected):
    result = validate(rows(school(is_public=raw)))
    assert result.accepted[0]["is_public"] is expected


@pytest.mark.parametrize("raw, expected", [
    ("1200", 1200), (" 1200 ", 1200), ("1,200", 1200), ("1 200", 1200), ("１２００", 1200),
    ("1200.0", 1200), (1200.0, 1200), (1200, 1200), ("+7", 7),
])
def test_integer_spellings(raw, expected):
    assert validate(rows(school(students=raw))).accepted[0]["students"] == expected


def test_missing_values_are_absent_not_zero():
    rec = validate(rows(school(boarders="", teachers=None, classes="  "))).accepted[0]
    assert "boarders" not in rec and "teachers" not in rec and "classes" not in rec


def test_nine_year_school_two_stages_same_id_is_not_a_duplicate():
    result = validate(rows(school(stage="primary"), school(stage="junior"), school(stage="primary", year="2024")))
    assert len(result.accepted) == 3 and result.rejected == []


# --- every problem code ------------------------------------------------------------------

def test_e101_required_missing_with_chinese_label():
    rej = one_rejected(school(school_id=None, county_code=None))
    assert [(p.code, p.field, p.label) for p in rej.problems] == [
        ("E101", "school_id", "学校标识码"), ("E101", "county_code", "县级行政区划代码")]
    assert rej.school_name == "一小" and rej.school_id is None
    assert "缺失" in rej.problems[0].message and "missing" in rej.problems[0].message


def test_e101_province_required_only_without_default():
    rej = one_rejected(school(province=None, county_code="990102"))     # 99: no province's code
    assert [(p.code, p.field, p.label) for p in rej.problems] == [("E101", "province", "省份")]
    inferred = validate(rows(school(province=None)))                      # 520102: Guizhou's
    assert inferred.accepted[0]["province"] == "guizhou" and not inferred.problems
    ok = validate(rows(school(province=None)), default_province="anhui")
    assert ok.accepted[0]["province"] == "anhui"
    own = validate(rows(school(province="Guizhou")), default_province="anhui")
    assert own.accepted[0]["province"] == "guizhou"          # the row's own value wins


def test_e102_wrong_type_names_the_expected_type():
    rej = one_rejected(school(students="many", is_public="maybe", teachers="12.5", land_area_m2="big"))
    got = {p.field: (p.code, p.observed, p.expected) for p in rej.problems}
    assert got["students"] == ("E102", "many", "整数 / an integer")
    assert got["teachers"][0] == "E102" and got["teachers"][1] == "12.5"
    assert got["is_public"][0] == "E102" and "是或否" in got["is_public"][2]
    assert next(p for p in rej.problems if p.field == "students").message == "在校生数（students） 应为整数，实际为 'many' / expected an integer, got 'many'"
    assert got["land_area_m2"][0] == "E102"
    assert len(rej.problems) == 4                              # no extra E101 for students
    assert {p.label for p in rej.problems} == {"在校生数", "公办", "专任教师数", "占地面积"}


def test_e102_non_finite_and_nested_values():
    rej = one_rejected(school(land_area_m2=float("nan"), school_name=["a"], year=True))
    assert sorted(p.field for p in rej.problems if p.code == "E102") == ["land_area_m2", "school_name", "year"]


def test_cells_the_coercer_reads_are_read_in_their_column_with_one_check(monkeypatch, path):
    """``1,200`` (read by the coercer), ``many`` (unreadable) and a list (JSON text) in numeric
    columns: the frame's cells are read once and checked once, whatever the coercer reads."""
    calls: list[str] = []
    for name in ("_read", "_judged"):
        real = getattr(validation, name)
        monkeypatch.setattr(validation, name,
                            lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    result = validate(rows(school(students="1,200", boarders="1,200"),
                           school(school_id="5201020002", students=[5], boarders="3"),
                           school(school_id="5201020003", students="many", boarders="1,200")))
    assert [r["students"] for r in result.accepted] == [1200] and result.accepted[0]["boarders"] == 1200
    assert [(r.row, [(p.code, p.field, p.observed) for p in r.problems]) for r in result.rejected] == [
        (3, [("E102", "students", "[5]")]), (4, [("E102", "students", "many")])]
    assert calls == ([] if path == "row by row" else ["_read", "_judged"])


def test_e103_negative_counts_and_areas():
    rej = one_rejected(school(students="-5", boarders="-1", sports_area_m2="-0.5"))
    assert [(p.code, p.field, p.observed, p.expected) for p in rej.problems] == [
        ("E103", "students", "-5", "≥ 0"), ("E103", "boarders", "-1", "≥ 0"),
        ("E103", "sports_area_m2", "-0.5", "≥ 0")]
    assert rej.problems[0].message.startswith("在校生数（students）")


def test_e104_not_in_enum_lists_the_choices():
    p = one_rejected(school(stage="高中")).problems[0]
    assert (p.code, p.field, p.label) == ("E104", "stage", "学段")
    assert p.expected == "primary (小学), junior (初中)"


def test_e105_pattern_county_code_and_province():
    rej = one_rejected(school(county_code="52010", province="贵州省教育"))    # 贵州 alone is Guizhou
    assert [(p.code, p.field) for p in rej.problems] == [("E105", "province"), ("E105", "county_code")]
    assert "6" in rej.problems[1].expected


def test_e106_unknown_field_with_a_hint():
    rej = one_rejected(school(studnets="5"))
    p = rej.problems[0]
    assert (p.code, p.field, p.observed) == ("E106", "studnets", "5")
    assert "students" in p.expected and "在校生数" in p.expected


def test_e106_empty_unknown_value_is_not_a_problem():
    assert validate(rows(school(备注=None))).accepted


def test_e107_above_maximum():
    p = one_rejected(school(year="2200")).problems[0]
    assert (p.code, p.field, p.expected) == ("E107", "year", "≤ 2100")


def test_e108_and_e109_from_other_schema_keywords():
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"code": {"type": "string", "maxLength": 3, "title": "代码"},
                             "n": {"type": "integer", "multipleOf": 5}}}
    checker = RecordChecker(schema)
    assert checker.schema_problems({"code": "abcd", "n": 7}) == [
        ("E108", "code", "abcd", "maxLength 3"), ("E109", "n", 7, "multipleOf: 5")]
    assert checker.is_valid({"n": 10}) and not checker.is_valid({"n": 7})


def test_e201_boarders_exceed_students():
    p = one_rejected(school(students="100", boarders="101")).problems[0]
    assert (p.code, p.field, p.label, p.observed) == ("E201", "boarders", "寄宿生数", 101)
    assert validate(rows(school(students="100", boarders="100"))).accepted       # equal is fine


def test_e202_each_teacher_subset_exceeding_teachers():
    subsets = ["teachers_above_required_degree", "teachers_mid_senior_title", "backbone_teachers",
               "pe_art_teachers", "certified_teachers"]
    rej = one_rejected(school(teachers="10", **{n: "11" for n in subsets}))
    assert [(p.code, p.field) for p in rej.problems] == [("E202", n) for n in subsets]
    assert validate(rows(school(teachers="10", **{n: "10" for n in subsets}))).accepted


def test_e203_special_needs_exceed_students():
    p = one_rejected(school(students="3", special_needs_students="4")).problems[0]
    assert (p.code, p.label) == ("E203", "随班就读残疾学生数")


def test_e204_duplicate_across_files_names_the_first():
    result = validate(rows(school(), file="a.csv") + rows(school(), school(), file="b.csv"))
    assert len(result.accepted) == 1
    assert [(r.file, r.row) for r in result.rejected] == [("b.csv", 2), ("b.csv", 3)]
    p = result.rejected[0].problems[0]
    assert p.code == "E204" and "a.csv row 2" in p.message and p.school_id == "5201020001"


def test_e204_duplicate_of_a_rejected_row_is_still_reported():
    result = validate(rows(school(students="-1"), school()))
    assert result.accepted == []
    assert [p.code for p in result.rejected[1].problems] == ["E204"]


def test_e204_only_rows_with_a_valid_identity_are_compared():
    """A row whose school year is refused has no identity: the rows after it with that school's
    identity are compared with each other (the third names the second), never with it."""
    result = validate(rows(*[school(school_id=str(5201020100 + k)) for k in range(20)],
                           school(year="二〇二三"), school(), school()))
    assert [(r.row, [p.code for p in r.problems]) for r in result.rejected] == [(22, ["E102"]), (24, ["E204"])]
    assert "f.csv row 23" in result.rejected[1].problems[0].message


def test_e205_unknown_province():
    result = validate(rows(school(province="hebei"), school(school_id="2", province="anhui")),
                      known_provinces={"guizhou", "anhui"})
    assert [r.row for r in result.rejected] == [2]
    p = result.rejected[0].problems[0]
    assert (p.code, p.field, p.observed) == ("E205", "province", "hebei")
    assert validate(rows(school(province="hebei"))).accepted           # no list given: no check


def test_e205_applies_to_the_default_province_too():
    result = validate(rows(school(province=None)), default_province="tibet", known_provinces={"guizhou"})
    assert codes(result) == ["E205"]


def test_warnings_keep_the_record():
    result = validate(rows(school(students="30", max_class_size="31", classes="40", teachers="5", staff="4")))
    assert len(result.accepted) == 1 and result.rejected == []
    assert sorted(codes(result)) == ["W301", "W302", "W303"]
    assert all(p.severity == "warning" for p in result.problems)
    assert result.warnings == result.problems and result.errors == []


def test_cross_checks_skip_values_that_already_failed():
    rej = one_rejected(school(students="-5", boarders="3", special_needs_students="2"))
    assert [p.code for p in rej.problems] == ["E103"]


def test_every_code_is_documented_and_has_a_severity():
    for code, (name, severity) in PROBLEM_CODES.items():
        assert code in problems.__doc__ and name in problems.__doc__
        assert severity == ("warning" if code.startswith("W") else "error")


def test_problem_is_frozen():
    p = one_rejected(school(students="x")).problems[0]
    assert isinstance(p, Problem) and p.name == "wrong-type"
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.code = "E999"


def test_rejected_keeps_raw_data_and_identity():
    data = school(students="x")
    rej = one_rejected(data)
    assert rej.data is data and (rej.file, rej.row, rej.school_id) == ("f.csv", 2, "5201020001")
    assert all(p.file == "f.csv" and p.row == 2 for p in rej.problems)


# --- counties ----------------------------------------------------------------------------

def county(**over) -> dict:
    base = {"county_code": "520102", "year": "2023"}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_county_rows_are_coerced():
    accepted, rejected = validate_counties(rows(county(rotation_rate="12%", veto_exam_admission="否",
                                                       teacher_avg_salary_yuan="98,000", four_unified="是")),
                                           default_province="guizhou")
    assert rejected == []
    assert accepted[0] == {"county_code": "520102", "year": 2023, "rotation_rate": 0.12,
                           "veto_exam_admission": False, "teacher_avg_salary_yuan": 98000.0,
                           "four_unified": True, "province": "guizhou", "_file": "f.csv", "_row": 2}


@pytest.mark.parametrize("raw, expected", [("95%", 0.95), ("95 ％", 0.95), ("12.5%", 0.125), ("0.95", 0.95),
                                           (1, 1.0), ("100%", 1.0)])
def test_rates_accept_percentages_exactly(raw, expected):
    accepted, _ = validate_counties(rows(county(junior_retention_rate=raw)))
    assert accepted[0]["junior_retention_rate"] == expected


def test_percent_only_for_rates():
    _, rejected = validate_counties(rows(county(teacher_avg_salary_yuan="95%")))
    assert rejected[0].problems[0].code == "E102"


def test_county_problems():
    accepted, rejected = validate_counties(rows(
        county(rotation_rate="1.5"),                       # E107 with a hint about fractions
        county(county_code=None),                          # E101
        county(county_code="520105", veto_falsified_data="maybe"),    # E102
        county(county_code="520106", government_work_score="101"),    # E107
        county(county_code="520103", teacher_avg_salary_yuan="-1"),   # E103
        county(county_code="520104"), county(county_code="520104"),   # E206
    ))
    assert len(accepted) + len(rejected) == 7
    got = [[(p.code, p.field) for p in r.problems] for r in rejected]
    assert got == [[("E107", "rotation_rate")], [("E101", "county_code")], [("E102", "veto_falsified_data")],
                   [("E107", "government_work_score")], [("E103", "teacher_avg_salary_yuan")],
                   [("E206", "county_code")]]
    zh, _, en = rejected[0].problems[0].message.partition(" / ")
    assert "0.95" in zh and "0.95" in en           # the hint in Chinese too, not only in English
    assert rejected[0].problems[0].label == "教师交流轮岗比例"


def test_county_unknown_field_and_province():
    accepted, rejected = validate_counties(rows(county(province="hebei", salary="1")),
                                           known_provinces={"guizhou"})
    assert [p.code for p in rejected[0].problems] == ["E106", "E205"]


# --- whole files ----------------------------------------------------------------------------

def test_fixture_files_validate():
    lf = load_file(DATA / "schools.csv")
    result = validate(lf.rows, default_province="guizhou")
    # teacher_avg_salary_yuan is a county field, empty on school rows: not a problem
    assert result.rejected == [] and len(result.accepted) == 3
    accepted, rejected = validate_counties(lf.county_rows, default_province="guizhou")
    assert rejected == [] and accepted[0]["civil_servant_avg_salary_yuan"] == 96000.0
    for name in ("schools.json", "schools.ndjson", "schools.yaml"):
        lf = load_file(DATA / name, default_province="guizhou")
        result = validate(lf.rows)
        assert result.rejected == [], name


def test_mixed_file_every_row_accepted_or_rejected(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "school_id,stage,county_code,year,students,boarders,teachers,backbone_teachers\n"
        "1,primary,520102,2023,100,10,5,1\n"          # good
        "2,primary,520102,2023,abc,,5,\n"              # E102
        "3,senior,520102,2023,100,,5,\n"               # E104
        "4,junior,5201,2023,100,,5,\n"                 # E105
        "5,junior,520102,2023,-3,,5,\n"                # E103
        "6,junior,520102,2023,100,200,5,\n"            # E201
        "7,junior,520102,2023,100,,5,9\n"              # E202
        "1,primary,520102,2023,100,,5,\n"              # E204
        ",junior,520102,2023,100,,5,\n"                # E101
        "8,junior,520102,2023,100,,5,\n",              # good
        encoding="utf-8")
    lf = load_file(path, default_province="guizhou")
    result = validate(lf.rows)
    assert len(result.accepted) + len(result.rejected) == len(lf.rows) == 10
    assert [r.row for r in result.rejected] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert [r.problems[0].code for r in result.rejected] == ["E102", "E104", "E105", "E103", "E201", "E202",
                                                              "E204", "E101"]
    assert [a["_row"] for a in result.accepted] == [2, 11]


def test_empty_input():
    result = validate([])
    assert (result.accepted, result.rejected, result.problems) == ([], [], [])


# --- what the report and plug-ins use --------------------------------------------------------

def test_to_dict_is_json_ready_and_fits_the_report_schema():
    import json

    from jsonschema import Draft202012Validator

    from edubalance.schemas import report_schema

    rej = one_rejected(school(land_area_m2=float("inf"), students="x"))
    d = rej.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["problems"][0]["code"] == "E102" and d["problems"][0]["label"] == "在校生数"
    assert d["problems"][1]["observed"] == "inf" and d["data"]["land_area_m2"] == "inf"
    defs = report_schema()["$defs"]
    Draft202012Validator({**defs["rejected"], "$defs": defs}).validate(d)
    Draft202012Validator({**defs["problem"], "$defs": defs}).validate(d["problems"][0])


def test_with_problems_moves_records_on_errors_only():
    result = validate(rows(school(school_id="1"), school(school_id="2"), school(school_id="3", students="x")))
    first, second = result.accepted
    extra = [Problem.about(first, "X900", "一个插件的错误 / a plug-in error", field="students"),
             Problem.about(second, "W301", "just a warning")]
    out = result.with_problems(extra)
    assert [a["school_id"] for a in out.accepted] == ["2"]
    assert [r.school_id for r in out.rejected] == ["3", "1"]
    moved = out.rejected[1]
    assert (moved.file, moved.row, moved.problems[0].label, moved.problems[0].observed) == ("f.csv", 2, "在校生数", 500)
    assert extra[1].severity == "warning" and extra[0].severity == "error"
    assert out.problems[-2:] == extra
    assert len(out.accepted) + len(out.rejected) == 3
    assert len(result.accepted) == 2                          # the original is unchanged


# --- numeric domains ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw, code", [
    ("10000001", "E107"), (str(10 ** 400), "E107"), ("9" * 5000, "E107"), (10 ** 400, "E107"),
    ("1e309", "E102"), ("inf", "E102"), ("nan", "E102"), (float("inf"), "E102"), (float("nan"), "E102"),
])
def test_counts_beyond_any_school_are_rejected_per_row(raw, code):
    result = validate(rows(school(), school(school_id="2", students=raw), school(school_id="3")))
    assert [a["school_id"] for a in result.accepted] == ["5201020001", "3"]
    p = result.rejected[0].problems[0]
    assert (p.code, p.field, p.file, p.row) == (code, "students", "f.csv", 3)
    if code == "E107":
        assert p.expected == "≤ 10000000" and "在校生数" in p.message and len(p.message) < 300
    json.dumps(result.rejected[0].to_dict(), allow_nan=False)


@pytest.mark.parametrize("raw", ["1e309", "1" + "0" * 14, str(10 ** 400), float("inf")])
def test_money_and_areas_have_a_ceiling(raw):
    rej = one_rejected(school(equipment_value_yuan=raw))
    assert [(p.code, p.field) for p in rej.problems] in ([("E107", "equipment_value_yuan")],
                                                         [("E102", "equipment_value_yuan")])
    assert validate(rows(school(equipment_value_yuan="9999999999999"))).accepted


def test_every_number_in_the_schemas_has_a_maximum():
    for checker in (RecordChecker(problems_schema("school")), RecordChecker(problems_schema("county"))):
        for name, spec in checker.props.items():
            if spec["type"] in ("integer", "number"):
                assert spec.get("maximum") is not None and spec["maximum"] <= 10 ** 13, name


def problems_schema(kind):
    from edubalance.schemas import county_schema, school_schema
    return school_schema() if kind == "school" else county_schema()


def test_huge_numbers_in_a_json_file_are_rejected_per_row(tmp_path):
    path = tmp_path / "big.json"
    path.write_text('[{"school_id": "1", "stage": "primary", "county_code": "520102", "year": 2023, '
                    '"students": 1' + "0" * 5000 + '}, {"school_id": "2", "stage": "primary", '
                    '"county_code": "520102", "year": 2023, "students": 1e309}, {"school_id": "3", '
                    '"stage": "primary", "county_code": "520102", "year": 2023, "students": 12}]', encoding="utf-8")
    result = validate(load_file(path, default_province="guizhou").frame)
    assert [(r.row, r.problems[0].code) for r in result.rejected] == [(1, "E107"), (2, "E102")]
    assert [a["students"] for a in result.accepted] == [12]


def test_evaluate_record_with_an_impossible_number_raises_the_usual_error(vector_evaluator):
    for value in (10 ** 400, float("inf"), "1e309", 10 ** 5000):
        with pytest.raises(ValueError, match="record rejected") as err:
            vector_evaluator.evaluate_record(dict(school(), year=2023, students=value))
        assert [(p.code, p.field) for p in err.value.problems] in ([("E107", "students")], [("E102", "students")])


def _breaking_values(spec: dict) -> list:
    """Values that break one keyword of a field's schema each (and one of the wrong type)."""
    out: list = [[1], {"a": 1}, True if spec.get("type") != "boolean" else "yes"]
    if spec.get("type") in ("integer", "number"):
        out += ["12", float("nan"), float("inf"), 10 ** 30]
        if spec.get("type") == "integer":
            out.append(1.5)
        if "minimum" in spec:
            out += [spec["minimum"] - 1, spec["minimum"] - 0.5]
        if "maximum" in spec:
            out += [spec["maximum"] + 1, spec["maximum"] * 10 ** 6]
    if spec.get("type") == "string":
        out += [12, "" if spec.get("minLength") else None, "x" * 3]
        if "pattern" in spec:
            out += ["52010\n", " 520102", "52O102", "５２０１０２"]
        if "enum" in spec:
            out += [spec["enum"][0].upper() + "x", spec["enum"][0] + "\n"]
    return [v for v in out if v is not None]


@pytest.mark.parametrize("kind", ["school", "county"])
def test_the_compiled_validator_never_passes_what_jsonschema_refuses(kind):
    """A record the compiled validator passes gets no jsonschema messages: it must refuse every
    record ``jsonschema`` refuses (it may refuse more; those go through ``jsonschema``)."""
    from edubalance.checks import checker_for
    from edubalance.synthetic import generate

    checker = checker_for(kind)
    good = checker.prepare({k: str(v) for k, v in generate(1, seed=5)[0].items()})[0]
    good = {k: v for k, v in good.items() if k in checker.props}
    if kind == "county":
        good.update(county_name="云岩区", province="guizhou")
    assert checker.passes(good) and checker.is_valid(good), good
    tried = refused = 0
    for name, spec in checker.props.items():
        for value in _breaking_values(spec):
            record = {**good, name: value}
            tried += 1
            if any(True for _ in checker.validator.iter_errors(record)):
                refused += 1
                assert not checker.passes(record), (name, value)
    for name in checker.required:
        record = {k: v for k, v in good.items() if k != name}
        assert not checker.passes(record) and not checker.is_valid(record)
    assert not checker.passes({**good, "no_such_field": 1})
    assert refused > 0.8 * tried > 100


def test_a_province_is_read_the_same_in_a_cell_on_the_command_line_and_in_the_api(tmp_path, run):
    """One reading of a province name everywhere: a plug-in not on the list of provinces
    (``national``), written with capitals, is the same province in a 省份 cell, after ``-P`` and
    for ``Evaluator(province=…)``; a listed one is read by its Chinese name or pinyin."""
    from edubalance import Evaluator
    from edubalance.regions import province_key
    assert [province_key(t) for t in ("贵州省", " GUIZHOU ", "广西", "National", "ｎａｔｉｏｎａｌ")] == [
        "guizhou", "guizhou", "guangxi", "national", "national"]
    assert Evaluator(engine="vector", province="National").province == "national"
    assert Evaluator(engine="vector").with_options("贵州", None).province == "guizhou"
    demo = Path(__file__).resolve().parents[1] / "plugins" / "guizhou" / "data" / "demo_schools.csv"
    path = tmp_path / "schools.csv"
    path.write_text(demo.read_text(encoding="utf-8").replace(",guizhou,", ",National,"), encoding="utf-8")
    out = run("validate", "-P", "National", str(path), "-f", "json")
    doc = json.loads(out.output)
    assert doc["records"]["accepted"] == 28 and {w["code"] for w in doc["warnings"]} == {"W320"}


def test_two_keys_for_one_field_are_found_by_one_check_for_files_and_the_api(tmp_path, vector_evaluator):
    """A record with 学段 and stage: a JSON file is refused (exit 2) and the API raises E191 for
    every such record, in the same words, found by the same check."""
    from edubalance import InvalidInput
    from edubalance.loading import InputError
    record = {"school_id": "5201020001", "stage": "primary", "学段": "小学", "year": 2023}
    path = tmp_path / "d.json"
    path.write_text(json.dumps([record], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputError) as in_file:
        load_file(path)
    with pytest.raises(InvalidInput) as given:
        vector_evaluator.evaluate_records([record, {**record, "school_id": "5201020002"}])
    assert [(p.code, p.row, p.school_id, p.field) for p in given.value.problems] == [
        ("E191", 1, "5201020001", "stage"), ("E191", 2, "5201020002", "stage")]
    said = given.value.problems[0].message
    assert said == "键「stage」和「学段」都是 学段，只能给一个 / keys 'stage' and '学段' both give 学段 (stage); give one"
    zh, en = said.split(" / ")
    assert in_file.value.message == f"record 1 的{zh} / record 1: {en}"


def test_rules_across_fields_and_rows_word_every_problem_alike_row_by_row_and_by_columns(monkeypatch):
    """Rows whose cells are all valid but that break several rules at once (cross-field errors
    and warnings, a county code of another province, an unknown province taken from the county
    code, a duplicate) get the same problems, in the same order and words, whether each row is
    checked on its own or the rules run over the columns and word the problems in bulk."""
    datas = [
        school(school_id="1", boarders="600", teachers="10", backbone_teachers="12", certified_teachers="11",
               staff="8", classes="900", max_class_size="700", special_needs_students="501"),
        school(school_id="2", county_code="130102", boarders="501"),                  # W320 and E201
        school(school_id="3", province=None, county_code="130102", classes="501"),    # E205 inferred, W302
        school(school_id="4", province="mars", teachers="5", pe_art_teachers="6"),     # E205, E202
        school(school_id="1", boarders="600"),                                          # E204 and E201
        school(school_id="5", teachers="9", staff="3"),                                 # W303 only: accepted
        school(school_id="6", students="abc", boarders="5"),                            # refused cell
        school(school_id="7"),
    ]
    found = {}
    for few in (0, 1000):
        monkeypatch.setattr(validation, "FEW", few)
        result = validate(rows(*datas), known_provinces=["guizhou"])
        found[few] = (result.problems, [(r.row, r.school_id, r.problems, r.data) for r in result.rejected],
                      result.accepted)
    assert found[0] == found[1000]
    problems_found, rejected, accepted = found[0]
    assert [p.code for p in problems_found if p.row == 2] == [
        "E201", "E202", "E202", "W303", "E203", "W301", "W302"]
    assert [p.code for p in problems_found if p.row in (3, 4, 5, 6)] == [
        "W320", "E201", "E205", "W302", "E205", "E202", "E201", "E204"]
    assert [a["school_id"] for a in accepted] == ["5", "7"]
    by_row = {p.row: p for p in problems_found}
    assert by_row[7].message == "专任教师数 9 超过 教职工数 3 / teachers exceed staff (teachers are part of the staff)"
    assert by_row[7].expected == "≤ 教职工数（3）/ ≤ staff (3)" and by_row[7].observed == 9 and by_row[7].severity == "warning"
