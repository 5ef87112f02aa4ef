"""``edubalance serve`` end to end: a real server process on a free loopback port, real requests.

The report of ``POST /v1/evaluate`` is compared with what ``edubalance evaluate … -f json``
prints. The command is run in the folder of the demo files and given their bare names, and the
service reads uploaded files under the names they were uploaded with, so the two reports agree
entirely, file names included. Posted as a JSON body instead, the records have no file: the
report's ``files`` is empty and each school's ``source`` is ``{"file": "<records>", "row": n}``
(position in the body) — the only fields that differ, stated where they are compared.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from edubalance.loading import InputError, frame_rows
from edubalance import Evaluator
from edubalance.service.local import running_server
from edubalance.service.problems import bilingual_halves, unreadable_file

ROOT = Path(__file__).resolve().parent.parent
PROVINCES = ["guizhou", "shaanxi", "anhui"]
TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROBLEM = "application/problem+json"


def demo_files(province: str) -> list[Path]:
    data = ROOT / "plugins" / province / "data"
    return [data / "demo_schools.csv", data / "demo_county.csv"]


@pytest.fixture(scope="module")
def server_log(tmp_path_factory):
    return tmp_path_factory.mktemp("service") / "server.log"


@pytest.fixture(scope="module")
def url(tmp_path_factory, server_log):
    tokens = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    tokens.write_text(f"# clients\ntest-client {TOKEN}\n", encoding="utf-8")
    with running_server("--workers", "2", "--token-file", str(tokens), "--max-body-mb", "1",
                        "--max-records", "500", log=server_log) as base:
        yield base


@pytest.fixture(scope="module")
def client(url):
    with httpx.Client(base_url=url, headers=AUTH, timeout=60) as c:
        yield c


def cli_json(*args: str, cwd: Path | None = None) -> tuple[dict | list, int]:
    proc = subprocess.run([sys.executable, "-m", "edubalance.cli", *args], capture_output=True, cwd=cwd,
                          timeout=120)
    return json.loads(proc.stdout), proc.returncode


def raw_records(province: str) -> tuple[list[dict], list[dict]]:
    """The demo county's records as a JSON body would carry them (raw cells, English names)."""
    rows, county_rows = Evaluator().load(demo_files(province))
    return [dict(r.data) for r in frame_rows(rows)], [dict(r.data) for r in frame_rows(county_rows)]


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc = response.json()
    assert doc["status"] == status and doc["type"] == f"urn:edubalance:problem:{kind}"
    assert doc["title"] and doc["detail"] and "Traceback" not in response.text
    # Chinese first, English after.
    assert "\u4e00" <= doc["title"][0] <= "\u9fff" and any(c.isascii() and c.isalpha() for c in doc["title"])
    return doc


# -- the report is the command line's ----------------------------------------------------------

@pytest.mark.parametrize("province", PROVINCES)
def test_uploaded_demo_county_report_equals_the_cli(client, province, identical):
    files = demo_files(province)
    expected, code = cli_json("evaluate", *(f.name for f in files), "-f", "json", cwd=files[0].parent)
    upload = [("files", (f.name, f.read_bytes(), "text/csv")) for f in files]
    r = client.post("/v1/evaluate", files=upload)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    identical(r.json(), expected, "report")
    assert r.headers["x-edubalance-exit-code"] == str(code)
    assert r.headers["x-edubalance-rulesets"] == ",".join(sorted(expected["rulesets"]))
    assert r.headers["x-edubalance-standards-year"] == "2023"
    for pack in expected["packs"]:
        assert f"{pack['id']}={pack['revision']}" in r.headers["x-edubalance-packs"].split(";")


@pytest.mark.parametrize("province", PROVINCES)
def test_json_body_report_equals_the_cli_but_for_file_names(client, province, identical):
    files = demo_files(province)
    expected, _ = cli_json("evaluate", *map(str, files), "-f", "json")
    records, counties = raw_records(province)
    r = client.post("/v1/evaluate", json={"records": records, "counties": counties})
    assert r.status_code == 200, r.text
    got = r.json()
    # Legitimately different: a JSON body has no files, and each school's source is its
    # position in the body instead of a file and line.
    assert got.pop("files") == [] and expected.pop("files") == [str(f) for f in files]
    for k, (ours, theirs) in enumerate(zip(got["schools"], expected["schools"])):
        assert ours.pop("source")["file"] == "<records>" and theirs.pop("source")["file"] == str(files[0])
    identical(got, expected, "report")


def test_the_format_parameter_uses_the_report_renderers(client):
    files = demo_files("guizhou")
    table = subprocess.run([sys.executable, "-m", "edubalance.cli", "evaluate", *(f.name for f in files)],
                           capture_output=True, cwd=files[0].parent, timeout=120).stdout.decode()
    upload = [("files", (f.name, f.read_bytes(), "text/csv")) for f in files]
    r = client.post("/v1/evaluate", params={"format": "table"}, files=upload)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert 'filename="report.txt"' in r.headers["content-disposition"]
    assert r.text == table
    assert_problem(client.post("/v1/evaluate", params={"format": "docx"}, files=upload), 400, "unknown-format")


def test_each_report_format_comes_in_a_media_type_the_contract_types(client):
    # A generated client decodes what the contract types as a string and hands over as bytes
    # what it types as binary: a workbook or a zip read as text would be corrupted.
    import io
    import zipfile
    doc = client.get("/openapi.json").json()
    content = doc["paths"]["/v1/evaluate"]["post"]["responses"]["200"]["content"]
    files = demo_files("guizhou")
    upload = [("files", (f.name, f.read_bytes(), "text/csv")) for f in files]
    served = {}
    for fmt in client.get("/v1/packs").json()["formats"]:
        r = client.post("/v1/evaluate", params={"format": fmt}, files=upload)
        assert r.status_code == 200, (fmt, r.text[:300])
        media = r.headers["content-type"].split(";")[0]
        assert media in content, (fmt, media)
        served[fmt] = media
        schema = content[media]["schema"]
        if media == "application/json":
            assert schema == {"$ref": "#/components/schemas/Report"}
            r.json()
        elif media.startswith("text/") or media == "application/x-ndjson":
            assert schema == {"type": "string"}, (fmt, schema)
            text = r.content.decode("utf-8")
            if media == "application/x-ndjson":
                assert all(json.loads(line) for line in text.splitlines())
        else:
            assert schema == {"type": "string", "format": "binary", "contentMediaType": media}, (fmt, schema)
            assert zipfile.is_zipfile(io.BytesIO(r.content)), fmt        # a workbook is a zip too
    assert served == {"json": "application/json", "table": "text/plain", "html": "text/html",
                      "ndjson": "application/x-ndjson",
                      "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      "parquet": "application/zip"}
    assert set(content) == set(served.values())          # nothing declared that is never sent


def test_the_file_operation_gives_the_same_report_as_bytes(client):
    # A generated client returns an operation's first media type: evaluateFile's is bytes (a Java
    # client's File), and JSON comes last, so that any format can be received.
    import io
    import zipfile
    doc = client.get("/openapi.json").json()
    content = doc["paths"]["/v1/evaluate/file"]["post"]["responses"]["200"]["content"]
    evaluate = doc["paths"]["/v1/evaluate"]["post"]
    assert set(content) == set(evaluate["responses"]["200"]["content"])
    assert list(content)[-1] == "application/json" and content["application/json"] == \
        evaluate["responses"]["200"]["content"]["application/json"]
    assert all(schema["schema"] == {"type": "string", "format": "binary", "contentMediaType": media}
               for media, schema in content.items() if media != "application/json")
    assert doc["paths"]["/v1/evaluate/file"]["post"]["requestBody"] == evaluate["requestBody"]
    files = demo_files("shaanxi")
    upload = [("files", (f.name, f.read_bytes(), "text/csv")) for f in files]
    for fmt in client.get("/v1/packs").json()["formats"]:
        plain = client.post("/v1/evaluate", params={"format": fmt}, files=upload)
        as_file = client.post("/v1/evaluate/file", params={"format": fmt}, files=upload)
        assert plain.status_code == as_file.status_code == 200, (fmt, as_file.text[:300])
        assert as_file.headers["content-type"] == plain.headers["content-type"], fmt
        assert as_file.headers["x-edubalance-exit-code"] == plain.headers["x-edubalance-exit-code"]
        assert as_file.headers["content-disposition"].startswith('attachment; filename="report'), fmt
        if zipfile.is_zipfile(io.BytesIO(plain.content)):     # a workbook or a zip: the same members
            members = [sorted(zipfile.ZipFile(io.BytesIO(r.content)).namelist()) for r in (plain, as_file)]
            assert members[0] == members[1], fmt
        else:
            assert as_file.content == plain.content, fmt
    assert_problem(client.post("/v1/evaluate/file", params={"format": "docx"}, files=upload), 400, "unknown-format")
    assert_problem(client.post("/v1/evaluate/file", json={}), 422, "no-records")


def test_a_plugin_format_is_served_as_a_file_or_a_zipped_folder():
    import io
    import zipfile
    files = demo_files("anhui")
    upload = [("files", (f.name, f.read_bytes(), "text/csv")) for f in files]
    with running_server("--workers", "1", "-p", "report_format_plugin",
                        env={"PYTHONPATH": str(Path(__file__).parent)}) as base:
        assert {"counts", "folder"} <= set(httpx.get(base + "/v1/packs").json()["formats"])
        r = httpx.post(base + "/v1/evaluate", params={"format": "counts"}, files=upload, timeout=60)
        assert r.status_code == 200 and 'filename="report.counts.txt"' in r.headers["content-disposition"]
        read = r.json()["read"]
        r = httpx.post(base + "/v1/evaluate", params={"format": "folder"}, files=upload, timeout=60)
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(r.content))
        assert sorted(archive.namelist()) == ["schools.txt", "summary.json"]
        assert len(archive.read("schools.txt").decode().splitlines()) == read


def test_findings_only_and_a_given_year(client):
    records, counties = raw_records("shaanxi")
    r = client.post("/v1/evaluate", json={"records": records, "counties": counties, "verdicts": "findings",
                                          "year": 2016})
    assert r.status_code == 200, r.text
    report = r.json()
    expected = Evaluator(year=2016, verdicts="findings").evaluate_records(records, counties).to_dict()
    assert report == json.loads(json.dumps(expected, ensure_ascii=False))
    assert set(report["rulesets"]) == {"shaanxi/2016"}
    assert r.headers["x-edubalance-standards-year"] == "2016"
    assert all(v["status"] in ("fail", "missing_data") for s in report["schools"] for v in s["verdicts"])


def test_schools_only_skips_the_county_judgement_as_the_cli_does(client, url, identical):
    files = demo_files("guizhou")
    expected, code = cli_json("evaluate", *(f.name for f in files), "-f", "json", "--schools-only",
                              cwd=files[0].parent)
    assert not expected["counties"] and expected["schools"]
    upload = [("files", (f.name, f.read_bytes(), "text/csv")) for f in files]
    r = client.post("/v1/evaluate", data={"schools_only": "true"}, files=upload)
    assert r.status_code == 200, r.text
    identical(r.json(), expected, "report")
    assert r.headers["x-edubalance-exit-code"] == str(code)
    records, counties = raw_records("guizhou")
    r = client.post("/v1/evaluate", json={"records": records, "counties": counties, "schools_only": True})
    assert r.status_code == 200, r.text
    expected = Evaluator().evaluate_records(records, counties, schools_only=True).to_dict()
    assert r.json() == json.loads(json.dumps(expected, ensure_ascii=False)) and not r.json()["counties"]
    judged = client.post("/v1/evaluate", json={"records": records, "counties": counties, "schools_only": False})
    assert judged.json()["counties"]                                  # the default judges the county
    assert_problem(client.post("/v1/evaluate", data={"schools_only": "maybe"}, files=upload), 400, "malformed-request")
    for form, said in (({"verdicts": "some"}, "未知的结论列表方式 'some'"), ({"year": "1800"}, "学年应为 1990–2100")):
        doc = assert_problem(client.post("/v1/evaluate", data=form, files=upload), 400, "malformed-request")
        assert doc["detail"].startswith(said), doc
    assert_problem(client.post("/v1/evaluate", json={"records": records, "schools_only": "maybe"}), 400,
                   "malformed-request")
    doc = httpx.get(url + "/openapi.json").json()
    form = doc["paths"]["/v1/evaluate"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form == {"$ref": "#/components/schemas/RecordFiles"}
    assert doc["components"]["schemas"]["RecordFiles"]["properties"]["schools_only"]["type"] == "boolean"


def test_fifty_concurrent_requests_of_different_provinces_get_their_own_reports(client):
    bodies, expected = {}, {}
    for p in PROVINCES:
        records, counties = raw_records(p)
        for rec in records + counties:
            rec.pop("province", None)              # the body's province must be the one used
        for verdicts in ("all", "findings"):
            bodies[p, verdicts] = {"records": records, "counties": counties, "province": p, "verdicts": verdicts}
            report = Evaluator(province=p, verdicts=verdicts).evaluate_records(records, counties)
            expected[p, verdicts] = json.loads(report.to_json())
    keys = [list(bodies)[i % len(bodies)] for i in range(50)]

    def post(key):
        with httpx.Client(base_url=client.base_url, headers=AUTH, timeout=120) as c:
            return key, c.post("/v1/evaluate", json=bodies[key])

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(post, keys))
    assert len(results) == 50
    for (province, verdicts), r in results:
        assert r.status_code == 200, r.text
        report = r.json()
        assert report == expected[province, verdicts]
        assert {s["province"] for s in report["schools"]} == {province}


def test_one_school_is_one_entry(client):
    record = {"school_id": "5201020001", "stage": "primary", "county_code": "520102", "year": 2023,
              "students": 420, "max_class_size": 46}
    r = client.post("/v1/evaluate/school", params={"province": "guizhou"}, json=record)
    assert r.status_code == 200, r.text
    expected = Evaluator(province="guizhou").evaluate_record(record)
    assert r.json() == json.loads(json.dumps(expected))
    assert r.headers["x-edubalance-rulesets"] == "guizhou/2023"


def test_validate_answers_as_the_cli(client):
    files = demo_files("anhui")
    expected, _ = cli_json("validate", *(f.name for f in files), "-f", "json", cwd=files[0].parent)
    upload = [("files", (f.name, f.read_bytes(), "text/csv")) for f in files]
    r = client.post("/v1/validate", files=upload)
    assert r.status_code == 200, r.text
    assert r.json() == expected
    bad = client.post("/v1/validate", json={"records": [{"school_id": "1", "stage": "college"}], "province": "anhui"})
    assert bad.status_code == 200
    assert bad.json()["records"] == {"read": 1, "accepted": 0, "rejected": 1, "skipped": 0}
    # The same body as an evaluation (a client checks first, then judges what it checked).
    records, counties = raw_records("anhui")
    body = {"records": records, "counties": counties, "year": 2023, "verdicts": "findings", "schools_only": True}
    checked = client.post("/v1/validate", json=body)
    assert checked.status_code == 200, checked.text
    assert checked.json() == client.post("/v1/validate", json={"records": records, "counties": counties}).json()
    assert client.post("/v1/evaluate", json=body).status_code == 200


def test_rules_and_packs(client):
    expected, _ = cli_json("rules", "--province", "shaanxi", "--year", "2016", "-f", "json")
    r = client.get("/v1/rules", params={"province": "shaanxi", "year": 2016})
    assert r.status_code == 200 and r.json() == expected
    assert [d["province"] for d in client.get("/v1/rules").json()] == sorted(PROVINCES)
    packs = client.get("/v1/packs").json()
    ev = Evaluator()
    assert {p["id"]: p["revision"] for p in packs["packs"]} == {k: p.revision for k, p in ev.registry.packs.items()}
    assert packs["provinces"] == sorted(PROVINCES) and "json" in packs["formats"]


def test_a_province_is_read_as_everywhere_in_a_query_and_a_form(client):
    """``贵州``, ``GUIZHOU`` and ``陕西省`` name their plug-ins in a query and an upload form, as
    after -P and in a JSON body."""
    record = {"school_id": "5201020001", "stage": "primary", "county_code": "520102", "year": 2023,
              "students": 420, "max_class_size": 46}
    for name in ("贵州", "GUIZHOU"):
        r = client.post("/v1/evaluate/school", params={"province": name}, json=record)
        assert r.status_code == 200, r.text
        assert r.headers["x-edubalance-rulesets"] == "guizhou/2023"
    by_name = client.get("/v1/rules", params={"province": "陕西省", "year": 2016})
    assert by_name.status_code == 200 and by_name.json() == client.get(
        "/v1/rules", params={"province": "shaanxi", "year": 2016}).json()
    files = demo_files("guizhou")
    school_file = next(f for f in files if "school" in f.name)
    rows = school_file.read_text(encoding="utf-8").splitlines()
    header = rows[0].split(",")
    at = header.index("省份")
    without = "\n".join(",".join(c for k, c in enumerate(r.split(",")) if k != at) for r in rows) + "\n"
    r = client.post("/v1/evaluate", files=[("files", ("schools.csv", without.encode("gbk"), "text/csv"))],
                    data={"province": "贵州"})
    assert r.status_code == 200, r.text
    assert r.json()["records"]["evaluated"] == len(rows) - 1 and list(r.json()["rulesets"]) == ["guizhou/2023"]


# -- errors are problem documents ----------------------------------------------------------------

def test_a_bad_record_is_422_with_its_problems(client):
    r = client.post("/v1/evaluate/school", json={"school_id": "5201020001", "stage": "college", "province": "guizhou",
                                                 "county_code": "520102", "year": 2023, "students": -5})
    doc = assert_problem(r, 422, "records-rejected")
    fields = {p["field"] for p in doc["problems"]}
    assert {"stage", "students"} <= fields
    for p in doc["problems"]:
        assert p["code"] and p["row"] == 1 and p["label"] and p["message"]
    everything_bad = client.post("/v1/evaluate", json={"records": [{"school_id": "x", "stage": "college"}],
                                                       "province": "guizhou"})
    assert assert_problem(everything_bad, 422, "records-rejected")["problems"]


def test_chinese_keys_and_the_structured_problems_of_a_rejected_record(client):
    english = {"school_id": "5201020001", "stage": "primary", "county_code": "520102", "year": 2023,
               "students": 420, "max_class_size": 46}
    chinese = {"学校标识码": "5201020001", "学段": "小学", "县级行政区划代码": "520102", "学年": 2023,
               "在校生数": 420, "最大班额": 46}
    a = client.post("/v1/evaluate/school", params={"province": "guizhou"}, json=english)
    b = client.post("/v1/evaluate/school", params={"province": "guizhou"}, json=chinese)
    assert a.status_code == b.status_code == 200 and a.json() == b.json()
    r = client.post("/v1/evaluate/school", params={"province": "guizhou"}, json={**chinese, "在校生数": -5})
    [p] = assert_problem(r, 422, "records-rejected")["problems"]
    expected = Evaluator(province="guizhou").evaluate_records([{**chinese, "在校生数": -5}]).rejected[0]["problems"][0]
    assert p == expected
    assert (p["code"], p["field"], p["label"], p["observed"], p["expected"], p["row"]) == \
        ("E103", "students", "在校生数", "-5", "≥ 0", 1)
    # a record naming one field twice cannot be judged: 422 with the structured problem, not a parsed string
    twice = client.post("/v1/evaluate", json={"records": [{**english, "学段": "初中"}], "province": "guizhou"})
    [p] = assert_problem(twice, 422, "records-rejected")["problems"]
    assert (p["code"], p["field"], p["row"]) == ("E191", "stage", 1)
    assert p["message"].startswith("键「stage」和「学段」都是 学段")
    checked = client.post("/v1/validate", json={"records": [{**english, "学段": "初中"}]})
    assert [q["code"] for q in assert_problem(checked, 422, "records-rejected")["problems"]] == ["E191"]


def test_a_key_in_another_unit_is_converted_with_a_notice_as_a_files_header(client):
    record = {"school_id": "5201020001", "stage": "primary", "county_code": "520102", "year": 2023,
              "students": 420, "equipment_value_yuan": 845000}
    in_wan = {**{k: v for k, v in record.items() if k != "equipment_value_yuan"}, "教学仪器设备资产值（万元）": 84.5}
    plain = client.post("/v1/evaluate", json={"records": [record], "province": "guizhou"}).json()
    r = client.post("/v1/evaluate", json={"records": [in_wan], "province": "guizhou"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["schools"][0]["measures"] == plain["schools"][0]["measures"] and not got["rejected"]
    [notice] = got["notices"]
    assert (notice["code"], notice["field"], notice["observed"]) == ("W402", "equipment_value_yuan", "教学仪器设备资产值（万元）")
    checked = client.post("/v1/validate", json={"records": [in_wan], "province": "guizhou"}).json()
    assert checked["records"]["accepted"] == 1 and [n["code"] for n in checked["notices"]] == ["W402"]
    one = client.post("/v1/evaluate/school", params={"province": "guizhou"}, json=in_wan)
    assert one.status_code == 200 and one.json()["measures"] == plain["schools"][0]["measures"]
    dollars = {**in_wan}
    dollars["教学仪器设备资产值（美元）"] = dollars.pop("教学仪器设备资产值（万元）")
    [p] = assert_problem(client.post("/v1/evaluate", json={"records": [dollars], "province": "guizhou"}), 422,
                         "records-rejected")["problems"]
    assert p["code"] == "E106" and "「美元」无法换算" in p["message"]


def test_a_partly_bad_request_is_a_report_that_lists_the_rejected(client):
    records, counties = raw_records("guizhou")
    bad = {**records[0], "students": "many"}
    r = client.post("/v1/evaluate", json={"records": records + [bad], "counties": counties})
    assert r.status_code == 200
    report = r.json()
    assert report["records"] == {"read": len(records) + 1, "evaluated": len(records), "rejected": 1, "skipped": 0}
    assert report["rejected"][0]["row"] == len(records) + 1
    assert r.headers["x-edubalance-exit-code"] == "1"


@pytest.mark.parametrize("body, content_type", [
    (b"{not json", "application/json"),
    (b"[1, 2, 3]", "application/json"),
    (b'{"records": "many"}', "application/json"),
    (b'{"records": [{"school_id": {"nested": 1}}]}', "application/json"),
    (b'{"records": [], "colour": "red"}', "application/json"),
    (b'{"records": [{"students": NaN}]}', "application/json"),
    (b"\xff\xfe garbage", "application/json"),
])
def test_garbage_is_400(client, body, content_type):
    r = client.post("/v1/evaluate", content=body, headers={"content-type": content_type})
    assert_problem(r, 400, "malformed-request")


def test_every_way_to_send_no_record_is_one_422(client, tmp_path):
    # However a request holds nothing to judge, a calling system gets one status and one kind
    # (and the detail says which way it was).
    from office_files import save_xlsx
    only_province = b'--x\r\nContent-Disposition: form-data; name="province"\r\n\r\nguizhou\r\n--x--\r\n'
    header_only = [("files", ("empty.csv", "学校标识码,学段\n".encode(), "text/csv"))]
    totals = [("files", ("totals.csv", "学校标识码,学段,在校生数\n合计,,1200\n填表人：张三,,\n".encode(), "text/csv"))]
    sheet = [["学校标识码", "学段", "在校生数"], ["合计", None, 1200], ["小计", None, 600], [None, None, None],
             ["填表人：张三", None, None]]
    xlsx = [("files", ("totals.xlsx", save_xlsx(tmp_path / "totals.xlsx", [("学校", sheet)]).read_bytes(),
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))]
    for path in ("/v1/evaluate", "/v1/validate"):
        ways = {"empty lists": {"json": {"records": [], "counties": []}}, "empty body": {"json": {}},
                "no file": {"content": only_province, "headers": {"content-type": "multipart/form-data; boundary=x"}},
                "header only": {"files": header_only}, "totals rows": {"files": totals},
                "xlsx totals rows": {"files": xlsx}}
        details = {way: assert_problem(client.post(path, **request), 422, "no-records")["detail"]
                   for way, request in ways.items()}
        assert details["empty lists"].startswith("请求中没有学校或县级记录"), details
        assert details["no file"].startswith("没有上传文件（表单字段 files）"), details
        assert "只有表头" in details["header only"], details
        # every row skipped: said so, as on the command line
        assert details["totals rows"].startswith(
            "未找到学校或县级记录：全部 2 行都是合计、签名、说明、单位行或空行，已跳过（totals.csv 第 2–3 行）。"
            "No records found: all 2 row(s) were skipped as not records"), details
        assert details["xlsx totals rows"].startswith("未找到学校或县级记录：全部 4 行都是合计、签名、说明、单位行或空行，已跳过"
                                                      "（totals.xlsx 第 2–5 行）。"), details
        assert "only a header" not in details["totals rows"] + details["xlsx totals rows"]


def test_a_file_without_a_known_header_or_field_is_refused(client):
    bad = [("files", ("codes.csv", "编号,名字\n1,x\n".encode(), "text/csv"))]
    detail = assert_problem(client.post("/v1/evaluate", files=bad), 422, "unreadable-file")["detail"]
    assert detail.startswith("文件 codes.csv 无法读取：没有可识别的列名：第 1 行是 「编号」、「名字」"), detail
    assert "。The file 'codes.csv' cannot be read: no column header recognised: row 1 holds '编号', '名字'" in detail
    assert detail.count("没有可识别的列名") == 1 and detail.count("no column header") == 1
    r = client.post("/v1/evaluate", data={"province": "guizhou"}, files=[("other", ("a.csv", b"x", "text/csv"))])
    assert_problem(r, 400, "malformed-request")


@pytest.mark.parametrize("content_type, body, chinese, english", [
    ("multipart/form-data; boundary=x", b"--y\r\nnot a part", "分段格式不正确", "Invalid multipart data"),
    ("multipart/form-data", b"--x\r\n", "缺少边界", "Missing boundary"),
])
def test_a_form_the_parser_refuses_is_explained_chinese_first(client, content_type, body, chinese, english):
    doc = assert_problem(client.post("/v1/evaluate", content=body, headers={"content-type": content_type}),
                         400, "malformed-request")
    assert doc["detail"].startswith(f"无法解析 multipart/form-data 表单：{chinese}"), doc["detail"]
    assert english in doc["detail"]


def test_a_form_cut_short_is_refused_not_read_in_part(client):
    # A body that ends before its closing boundary: the last file is incomplete, and the files
    # before it are not judged alone as if they were all that was sent.
    data = (ROOT / "plugins" / "guizhou" / "data" / "demo_schools.csv").read_bytes()
    part = b'--x\r\nContent-Disposition: form-data; name="files"; filename="%s"\r\n\r\n'
    for body in (part % b"a.csv" + data + b"\r\n" + part % b"b.csv" + data[:300], part % b"a.csv" + data[:300],
                 b"--x\r\ngarbage"):
        r = client.post("/v1/evaluate", content=body, headers={"content-type": "multipart/form-data; boundary=x"})
        doc = assert_problem(r, 400, "malformed-request")
        assert doc["detail"].startswith("multipart/form-data 表单在结束边界之前就结束了"), doc["detail"]
    whole = part % b"a.csv" + data + b"\r\n--x--\r\nan epilogue, ignored"
    r = client.post("/v1/evaluate", content=whole, headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 200 and r.json()["files"] == ["a.csv"], r.text


def test_too_many_files_or_fields_is_explained_chinese_first(client):
    files = [("files", (f"a{i}.csv", b"x,y\n", "text/csv")) for i in range(21)]
    doc = assert_problem(client.post("/v1/evaluate", files=files), 400, "malformed-request")
    assert doc["detail"].startswith("无法解析 multipart/form-data 表单：文件过多（最多 20 个）"), doc["detail"]
    assert "Too many files" in doc["detail"]
    fields = {f"f{i}": "1" for i in range(12)}
    doc = assert_problem(client.post("/v1/evaluate", data=fields, files=files[:1]), 400, "malformed-request")
    assert doc["detail"].startswith("无法解析 multipart/form-data 表单：其他字段过多（最多 10 个）"), doc["detail"]
    assert "Too many fields" in doc["detail"]


def test_other_bad_requests(client):
    for path in ("/v1/evaluate", "/v1/validate"):      # valid JSON and no record: nothing to judge
        for body in ({"records": []}, {"counties": []}, {}, {"records": [], "counties": [], "province": "guizhou"}):
            doc = assert_problem(client.post(path, json=body), 422, "no-records")
            assert doc["detail"].startswith("请求中没有学校或县级记录"), doc["detail"]
    assert_problem(client.post("/v1/evaluate", json={"records": [{"a": 1}], "province": "atlantis"}), 400,
                   "unknown-province")
    assert_problem(client.get("/v1/rules", params={"province": "atlantis"}), 400, "unknown-province")
    assert_problem(client.get("/v1/rules", params={"year": "soon"}), 400, "malformed-request")
    assert_problem(client.post("/v1/evaluate", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"}),
                   415, "unsupported-media-type")
    upload = [("files", ("schools.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "application/octet-stream"))]
    doc = assert_problem(client.post("/v1/evaluate", files=upload), 422, "unreadable-file")
    assert "schools.xls" in doc["detail"]
    assert assert_problem(client.get("/v1/nothing"), 404, "not-found")["detail"] == "未找到。Not found."
    assert assert_problem(client.get("/v1/evaluate"), 405, "method-not-allowed")["detail"] == \
        "不支持的请求方法。Method not allowed."


def test_odd_upload_names_are_kept_safe(client):
    data = (ROOT / "plugins" / "guizhou" / "data" / "demo_schools.csv").read_bytes()
    names = ["../../etc/学校\x00.csv", "学" * 200 + ".csv", "..", "demo.csv", "demo.csv"]
    r = client.post("/v1/evaluate", files=[("files", (n, data, "text/csv")) for n in names])
    assert r.status_code == 200, r.text
    files = r.json()["files"]
    assert files[0] == "学校%00.csv"           # the client escaped the NUL; the folders are gone
    assert files[1].endswith("….csv") and len(files[1].encode()) <= 120
    assert files[2] == "upload-3" and files[3] == "demo.csv" and files[4].endswith("/demo.csv")
    assert r.json()["records"]["read"] == 5 * (len(data.decode().splitlines()) - 1)


def test_a_file_name_a_dotnet_client_encodes_is_read_as_sent(client):
    """.NET's MultipartFormDataContent writes a non-ASCII file name as an RFC 2047 encoded word
    (with ``filename*`` beside it): the report names the file as the client did."""
    data = (ROOT / "plugins" / "guizhou" / "data" / "demo_schools.csv").read_text(encoding="utf-8").encode("gbk")
    body = (b"--b\r\nContent-Type: text/csv\r\nContent-Disposition: form-data; name=files; "
            b"filename=\"=?utf-8?B?5a2m5qChLmNzdg==?=\"; filename*=utf-8''%E5%AD%A6%E6%A0%A1.csv\r\n\r\n"
            + data + b"\r\n--b--\r\n")
    r = client.post("/v1/evaluate", content=body, headers={"content-type": 'multipart/form-data; boundary="b"'})
    assert r.status_code == 200, r.text
    assert r.json()["files"] == ["学校.csv"]


def test_upload_names_lose_folders_and_control_characters():
    from edubalance.service.uploads import upload_name as _upload_name
    assert _upload_name("C:\\data\\学校\x00\x07.csv", 1) == "学校.csv"
    assert _upload_name("\x00", 2) == "upload-2" and _upload_name(None, 3) == "upload-3"
    assert _upload_name("=?utf-8?B?5a2m5qChLmNzdg==?=", 4) == "学校.csv"
    assert _upload_name("=?gb2312?Q?=D1=A7=D0=A3.xlsx?=", 5) == "学校.xlsx"
    assert _upload_name("=?nosuch?B?eA==?=", 6) == "=?nosuch?B?eA==?="    # an unknown charset: kept as sent


def test_an_oversized_body_is_413(client):
    big = b'{"records": [' + b",".join([b'{"school_id": "%d", "note": "' % i + b"x" * 1000 + b'"}'
                                        for i in range(1100)]) + b"]}"
    assert len(big) > 1024 * 1024
    assert_problem(client.post("/v1/evaluate", content=big, headers={"content-type": "application/json"}),
                   413, "too-large")

    def chunks():                                # no Content-Length: counted as it streams in
        for _ in range(40):
            yield b"x" * 65536
    assert_problem(client.post("/v1/evaluate", content=chunks(), headers={"content-type": "application/json"}),
                   413, "too-large")


def test_too_many_records_is_413(client):
    records = [{"school_id": str(i)} for i in range(501)]
    doc = assert_problem(client.post("/v1/evaluate", json={"records": records}), 413, "too-large")
    assert "500" in doc["detail"]


def test_health_answers_head_as_get(url):
    # A load balancer's or monitor's health check often asks HEAD (HTTP: a server that answers
    # GET answers HEAD): the same status and headers, no body.
    for path in ("/healthz", "/readyz"):
        r = httpx.head(url + path)
        assert r.status_code == 200 and r.content == b"", (path, r.status_code)
        assert r.headers["content-type"] == "application/json" and "x-edubalance-packs" in r.headers


def test_a_missing_or_wrong_token_is_401(url):
    for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": f"Basic {TOKEN}"}):
        r = httpx.get(url + "/v1/packs", headers=headers)
        assert_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "x-edubalance-packs" in r.headers
    assert httpx.get(url + "/healthz").status_code == 200          # health and the contract need no token
    assert httpx.get(url + "/openapi.json").status_code == 200


# -- contract, docs, log --------------------------------------------------------------------------

def test_the_contract_and_the_docs_are_served_offline(url):
    doc = httpx.get(url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert {"/v1/evaluate", "/v1/validate", "/v1/evaluate/school", "/v1/rules", "/v1/packs", "/healthz",
            "/readyz"} <= set(doc["paths"])
    for page in ("/docs", "/redoc"):
        html = httpx.get(url + page).text
        assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css") if page == "/docs" else ("redoc.standalone.js",):
            src = html.split(asset)[0].rsplit('"', 1)[1] + asset
            assert httpx.get(url + src).status_code == 200


def _example_request(doc: dict, path: str, method: str) -> dict:
    """What a generated client would send to one operation of the contract: its request body's
    first example (JSON), and a province for an operation that takes one."""
    operation = doc["paths"][path][method]
    request: dict = {}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        name = body["schema"]["$ref"].rsplit("/", 1)[1]
        request["json"] = doc["components"]["schemas"][name]["examples"][0]
    if any(p["name"] == "province" for p in operation.get("parameters", ())):
        request["params"] = {"province": "guizhou"}
    return request


def test_every_operation_answers_the_same_with_a_trailing_slash(client, url):
    # Java's HttpURLConnection and .NET's HttpClient do not follow a redirect of a POST with its
    # body (or drop the token on the way): a trailing slash is answered, never redirected.
    doc = client.get("/openapi.json").json()
    tried = set()
    for path, operations in doc["paths"].items():
        assert not path.endswith("/"), path          # one entry per operation, without the slash
        for method in operations:
            request = _example_request(doc, path, method)
            plain = client.request(method.upper(), path, **request)
            slashed = client.request(method.upper(), path + "/", **request)
            assert slashed.status_code == plain.status_code and plain.status_code == 200, (path, slashed.text)
            assert slashed.content == plain.content, path
            assert slashed.headers["content-type"] == plain.headers["content-type"]
            tried.add(f"{method.upper()} {path}")
    assert {"POST /v1/evaluate", "POST /v1/evaluate/file", "POST /v1/validate", "POST /v1/evaluate/school",
            "GET /v1/rules", "GET /v1/packs", "GET /healthz", "GET /readyz"} <= tried
    # Errors too: the same problem document (its instance is the path without the slash).
    for method, path, request in (("POST", "/v1/evaluate", {"json": {}}), ("GET", "/v1/rules", {"params": {"year": 1}}),
                                  ("GET", "/v1/nothing", {}), ("GET", "/v1/evaluate", {})):
        plain, slashed = (client.request(method, p, **request) for p in (path, path + "/"))
        assert plain.status_code >= 400 and slashed.status_code == plain.status_code, path
        assert slashed.json() == plain.json(), path
    r = httpx.post(url + "/v1/evaluate/", json={})                # no token: 401, not a redirect
    assert_problem(r, 401, "unauthorized")
    # One slash only: a path ending in two is not an operation's.
    assert_problem(client.get("/v1/packs//"), 404, "not-found")
    assert httpx.get(url + "/openapi.json/").json() == doc     # the contract itself lists no slashed path


def test_the_problem_kinds_are_one_list_in_the_code_the_contract_and_the_readme():
    from edubalance.service.app import create_app
    from edubalance.service.problems import KINDS
    from edubalance.service.settings import Settings
    # Every kind is answered: raised by the service, or the framework's 404 and 405.
    raised = {"not-found", "method-not-allowed"}
    for module in (ROOT / "core" / "service").glob("*.py"):
        raised |= set(re.findall(r'ServiceProblem\(\s*"([a-z-]+)"', module.read_text(encoding="utf-8")))
    assert raised == set(KINDS)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `([a-z-]+)` \| (\d{3}) \|", readme, re.M))
    assert table == {kind: str(status) for kind, (status, _, _) in KINDS.items()}
    doc = create_app(Settings(workers=1), tokens=None).openapi()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and "ProblemDocument" in json.dumps(response):
                    named = set(re.findall(r"`([a-z-]+)`", response["description"]))
                    assert named == {k for k, (s, _, _) in KINDS.items() if str(s) == status}, (path, status)


def _texts(node, where=""):
    """Every description and summary of an OpenAPI document, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                yield f"{where}/{key}", value
            else:
                yield from _texts(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _texts(value, f"{where}[{i}]")


def test_what_the_api_document_says_is_chinese_first(url):
    doc = httpx.get(url + "/openapi.json").json()
    ours = {k: v for k, v in doc["components"]["schemas"].items() if k.split("_")[0] not in ("Report", "Plan")}
    texts = list(_texts({"info": doc["info"], "paths": doc["paths"], "components": ours}))
    assert len(texts) > 40
    for where, text in texts:
        first_han = re.search(r"[\u4e00-\u9fff]", text)
        first_word = re.search(r"\b[A-Za-z]{4,}\b", text.replace("edubalance", "").replace("multipart", ""))
        assert first_han, (where, text)
        assert first_word is None or first_han.start() < first_word.start(), (where, text)
    assert "Successful Response" not in json.dumps(doc)


def test_bilingual_halves_part_a_reader_message_where_its_english_starts():
    assert bilingual_halves("文件为空 / the file is empty") == ("文件为空", "the file is empty")
    assert bilingual_halves("计数（上限 5）/ more than 5 rows") == ("计数（上限 5）", "more than 5 rows")
    assert bilingual_halves("第 A 列「a / b」未知 / column A 'a / b' unknown") == ("第 A 列「a / b」未知",
                                                                                "column A 'a / b' unknown")
    assert bilingual_halves("只有中文，GB18030/GBK") == ("只有中文，GB18030/GBK", None)
    assert unreadable_file(InputError("x.csv", "只有中文")).detail == "文件 x.csv 无法读取：只有中文。The file 'x.csv' cannot be read."


def test_each_request_is_one_json_log_line_without_school_data(client, server_log):
    files = demo_files("guizhou")
    upload = [("files", (f.name, f.read_bytes(), "text/csv")) for f in files]
    r = client.post("/v1/evaluate", files=upload)
    mine = None
    for _ in range(50):                            # the line is written as the response ends
        lines = [json.loads(line) for line in server_log.read_text(encoding="utf-8").splitlines()
                 if line.startswith("{")]
        mine = next((x for x in lines if x["request_id"] == r.headers["x-request-id"]), None)
        if mine:
            break
        time.sleep(0.1)
    assert mine is not None
    assert mine["who"] == "test-client" and mine["status"] == 200 and mine["path"] == "/v1/evaluate"
    assert mine["rulesets"] == ["guizhou/2023"] and mine["records"]["read"] == r.json()["records"]["read"]
    assert mine["duration_ms"] > 0
    text = server_log.read_text(encoding="utf-8")
    for school in r.json()["schools"]:
        assert school["school_id"] not in text and (school["school_name"] or "\0") not in text
    assert TOKEN not in text


def test_a_request_over_the_time_limit_is_stopped_and_the_worker_replaced():
    from edubalance.synthetic import generate
    records = generate(3000, seed=3, provinces=("guizhou",))
    with running_server("--workers", "1", "--engine", "durable", "--timeout", "1") as base:
        with httpx.Client(base_url=base, timeout=60) as c:
            assert_problem(c.post("/v1/evaluate", json={"records": records}), 503, "timeout")
            for _ in range(300):                 # the stopped worker's replacement compiles its packs
                if c.get("/readyz").status_code == 200:
                    break
                time.sleep(0.1)
            r = c.post("/v1/evaluate/school", json=records[0])
            assert r.status_code == 200, r.text


def test_beyond_the_workers_and_the_queue_requests_get_503_at_once():
    from edubalance.synthetic import generate
    body = {"records": generate(800, seed=5, provinces=("anhui",))}
    with running_server("--workers", "1", "--engine", "durable", "--max-queue", "1") as base:
        def post(_):
            with httpx.Client(base_url=base, timeout=120) as c:
                return c.post("/v1/evaluate", json=body)
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(post, range(4)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(200) >= 2 and 503 in statuses, statuses
    for r in answers:
        if r.status_code == 503:
            assert assert_problem(r, 503, "busy") and r.headers["retry-after"]


def test_refuses_to_listen_beyond_loopback_without_a_token(tmp_path):
    r = subprocess.run([sys.executable, "-m", "edubalance.cli", "serve", "--host", "0.0.0.0", "--port", "1"],
                       capture_output=True, timeout=60, text=True)
    assert r.returncode == 2 and "--token-file" in r.stderr and "Traceback" not in r.stderr
    short = tmp_path / "t.txt"
    short.write_text("abc\n")
    r = subprocess.run([sys.executable, "-m", "edubalance.cli", "serve", "--token-file", str(short), "--port", "1"],
                       capture_output=True, timeout=60, text=True)
    assert r.returncode == 2 and "16" in r.stderr


def test_every_form_refusal_worded_in_chinese_is_one_the_form_parser_gives():
    """The Chinese of a refused form is chosen by the start of Starlette's English message: each
    start must still be one of its messages, or a reworded one falls back to the generic text."""
    import inspect

    import starlette.formparsers

    from edubalance.service.uploads import _FORM_REFUSALS_ZH

    source = inspect.getsource(starlette.formparsers)
    assert [start for start in _FORM_REFUSALS_ZH if start not in source] == []



# -- the remediation plan ------------------------------------------------------------------------

def test_a_plan_of_uploaded_files_is_the_command_lines(client, identical, tmp_path):
    files = demo_files("guizhou")
    subprocess.run([sys.executable, "-m", "edubalance.cli", "plan", *(f.name for f in files), "-o",
                    str(tmp_path / "plan.json")], cwd=files[0].parent, capture_output=True, timeout=300)
    expected = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    upload = [("files", (f.name, f.read_bytes(), "text/csv")) for f in files]
    r = client.post("/v1/plan", files=upload)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-edubalance-exit-code"] == "1"             # class sizes remain, as on the command line
    assert r.headers["x-edubalance-rulesets"] == "guizhou/2023"
    identical(r.json(), expected, "plan")


def test_a_plan_from_a_json_body_with_local_prices(client):
    records, counties = raw_records("guizhou")
    prices = {"teacher": 120000, "building_m2": {"yuan": 3200, "per": "once"}}
    r = client.post("/v1/plan", json={"records": records, "counties": counties, "costs": prices})
    assert r.status_code == 200, r.text
    plan = r.json()
    items = plan["costs"]["guizhou/2023"]["items"]
    assert items["teacher"]["yuan"] == 120000 and items["teacher"]["threshold_status"] == "confirmed"
    assert items["teacher"]["title"]["zh"] == "新增专任教师" and items["teacher"]["unit"] == "元/人·年"
    assert items["book"]["threshold_status"] == "provisional"          # not given: the pack's placeholder
    by_item = plan["totals"]["by_item"]
    assert by_item["teacher"]["yuan"] == by_item["teacher"]["quantity"] * 120000
    assert by_item["building_m2"]["yuan"] == round(by_item["building_m2"]["quantity"] * 3200, 2)


def test_a_plan_as_a_workbook_or_a_page(client, tmp_path):
    files = demo_files("guizhou")
    upload = [("files", (f.name, f.read_bytes(), "text/csv")) for f in files]
    r = client.post("/v1/plan", params={"format": "xlsx"}, files=upload)
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert r.headers["content-disposition"] == 'attachment; filename="plan.xlsx"'
    (tmp_path / "plan.xlsx").write_bytes(r.content)
    wb = load_workbook(tmp_path / "plan.xlsx")
    assert wb.sheetnames[:4] == ["汇总 Totals", "项目 Items", "县 Counties", "学校 Schools"]
    r = client.post("/v1/plan", params={"format": "html"}, files=upload, data={"target": "basic"})
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert "目标 target: 基本均衡 basic" in r.text and "青岚县" in r.text


@pytest.mark.parametrize("request_kwargs,status,kind", [
    ({"json": {"records": [{"school_id": "1"}], "costs": {"dragons": 5}}}, 400, "malformed-request"),
    ({"json": {"records": [{"school_id": "1"}], "costs": {"teacher": -1}}}, 400, "malformed-request"),
    ({"json": {"records": [{"school_id": "1"}]}, "params": {"format": "table"}}, 400, "unknown-format"),
    ({"json": {"records": [{"school_id": "1"}]}}, 422, "records-rejected"),
    ({"json": {"counties": [{"county_code": "522698", "province": "guizhou", "year": 2023}]}}, 422, "no-records"),
    ({"files": [("files", ("s.csv", b"a\n1\n", "text/csv"))], "data": {"verdicts": "all"}}, 400, "malformed-request"),
    ({"files": [("files", ("s.csv", b"a\n1\n", "text/csv"))], "data": {"target": "best"}}, 400, "malformed-request"),
])
def test_a_plan_request_that_cannot_be_planned_is_one_problem(client, request_kwargs, status, kind):
    doc = assert_problem(client.post("/v1/plan", **request_kwargs), status, kind)
    if kind == "records-rejected":
        assert doc["problems"] and doc["problems"][0]["code"] == "E101"


def test_the_template_is_the_command_lines(client, tmp_path):
    subprocess.run([sys.executable, "-m", "edubalance.cli", "template", "-P", "guizhou", "-o",
                    str(tmp_path / "cli.xlsx")], capture_output=True, timeout=120, check=True)
    r = client.get("/v1/template", params={"province": "贵州"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''guizhou-%E5%AD%A6%E6%A0%A1" in r.headers["content-disposition"]
    (tmp_path / "api.xlsx").write_bytes(r.content)
    ours, theirs = load_workbook(tmp_path / "api.xlsx"), load_workbook(tmp_path / "cli.xlsx")
    assert ours.sheetnames == theirs.sheetnames == ["填表说明", "学校数据", "县级数据"]
    for name in ours.sheetnames:
        assert [list(r) for r in ours[name].iter_rows(values_only=True)] == \
               [list(r) for r in theirs[name].iter_rows(values_only=True)]
    assert_problem(client.get("/v1/template", params={"province": "hebei"}), 400, "unknown-province")


def test_national_is_accepted_as_on_the_command_line(client):
    """``national`` (全国) names the national standards alone, in a query and a body, as a record's
    省份 and ``-P`` do; the contract's Province type lists it."""
    listed = client.get("/v1/rules", params={"province": "全国"}).json()
    assert [x["province"] for x in listed] == ["national"] and listed[0]["rules"]
    record = {"school_id": "1100000001", "stage": "primary", "county_code": "110101", "year": 2023, "students": 400}
    r = client.post("/v1/evaluate", json={"records": [record], "province": "national", "schools_only": True})
    assert r.status_code == 200, r.text
    assert r.json()["schools"][0]["ruleset"] == "national/2023"
    assert "national" in client.get("/openapi.json").json()["components"]["schemas"]["Province"]["enum"]
    doc = assert_problem(client.get("/v1/rules", params={"province": "hebei"}), 400, "unknown-province")
    assert "全国（national）只按国家标准" in doc["detail"]
