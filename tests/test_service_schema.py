"""The OpenAPI contract, tested from the document itself: schemathesis generates requests for
every operation of ``/openapi.json`` (a bounded number each, with and without valid bodies) and
checks each answer — no 5xx, a documented status and content type, a body that matches the
documented schema (the report against ``schemas/report.schema.json``), the token enforced."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from edubalance.service.local import running_server

TOKEN = "schema-token-0123456789abcdef"
#: Examples per operation: seven operations stay well under a minute on a loaded 2-core machine.
EXAMPLES = 30


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    tokens = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    tokens.write_text(f"schemathesis {TOKEN}\n", encoding="utf-8")
    with running_server("--workers", "2", "--token-file", str(tokens), "--max-body-mb", "2",
                        "--max-records", "200", "--timeout", "30") as url:
        yield url


@pytest.fixture(scope="module")
def api(base_url):
    # A schema-valid request may still hold records that fail the data dictionary: 422 (with
    # every problem) is an answer to valid data, as 200 is.
    config = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {
        "expected-statuses": ["2xx", "422"]}}})
    return schemathesis.openapi.from_url(base_url + "/openapi.json", config=config)


def operations(api):
    for result in api.get_all_operations():
        yield result.ok()


def _invalid_headers(case) -> bool:
    components = case.meta.components if case.meta else {}
    return any(getattr(where, "value", where) == "header" and info.mode == schemathesis.GenerationMode.NEGATIVE
               for where, info in components.items())


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_every_answer_follows_the_contract(api, base_url, mode):
    # Driven through Hypothesis directly (one property per operation): the schemathesis pytest
    # plug-in's lazy loader does not run under this pytest.
    headers = {"Authorization": f"Bearer {TOKEN}"}
    tried = []
    for operation in operations(api):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            # A case whose headers are the invalid part (the token left out or mangled) is sent as
            # generated, and 401 answers it: adding the token would undo what makes it invalid.
            case.call_and_validate(base_url=base_url, headers={} if _invalid_headers(case) else headers, timeout=60)
        try:
            check()
        except Unsatisfiable:            # nothing to get wrong (no parameters, no body)
            assert mode == schemathesis.GenerationMode.NEGATIVE
            continue
        tried.append(operation.label)
    assert {"POST /v1/evaluate", "POST /v1/evaluate/file", "POST /v1/validate", "POST /v1/evaluate/school",
            "GET /v1/rules"} <= set(tried)
    if mode == schemathesis.GenerationMode.POSITIVE:
        assert {"GET /v1/packs", "GET /healthz", "GET /readyz"} <= set(tried)


def test_real_reports_match_the_documented_schemas(api, base_url):
    """Random records are mostly rejected (422): the demo county's records and one good school
    show that a full report and a school entry match their schemas too."""
    from edubalance import Evaluator
    from edubalance.loading import frame_rows
    data = Path(__file__).resolve().parent.parent / "plugins" / "shaanxi" / "data"
    rows, county_rows = Evaluator().load([data / "demo_schools.csv", data / "demo_county.csv"])
    body = {"records": [r.data for r in frame_rows(rows)], "counties": [r.data for r in frame_rows(county_rows)]}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for path, case_body in (("/v1/evaluate", body), ("/v1/validate", body),
                            ("/v1/evaluate/school", body["records"][0])):
        case = api[path]["POST"].Case(body=case_body, media_type="application/json")
        response = case.call_and_validate(base_url=base_url, headers=headers, timeout=60)
        assert response.status_code == 200


# -- what a client generator reads (openapi-generator, openapi-python-client, NSwag) ------------------

@pytest.fixture(scope="module")
def contract():
    """The API document as the service builds it (no server needed)."""
    from edubalance.service.app import create_app
    from edubalance.service.settings import Settings
    return create_app(Settings(workers=1)).openapi()


def test_every_operation_has_a_stable_meaningful_operation_id(contract):
    # Generators name client methods after these (Java ``evaluateSchool(...)``): the framework's
    # default (``evaluate_school_v1_evaluate_school_post``) changes whenever a path does.
    ids = {(path, method): op.get("operationId") for path, ops in contract["paths"].items()
           for method, op in ops.items()}
    assert ids == {("/v1/evaluate", "post"): "evaluate", ("/v1/evaluate/file", "post"): "evaluateFile",
                   ("/v1/validate", "post"): "validate", ("/v1/plan", "post"): "plan",
                   ("/v1/evaluate/school", "post"): "evaluateSchool", ("/v1/rules", "get"): "listRules",
                   ("/v1/packs", "get"): "listPacks", ("/v1/template", "get"): "getTemplate",
                   ("/healthz", "get"): "getHealth",
                   ("/readyz", "get"): "getReadiness"}


def test_each_component_is_titled_by_its_own_ascii_name(contract):
    # A generator names the class after a schema's title when it has one: a Chinese title makes
    # a class ``评估报告EvaluationReport`` that Java and C# code can hardly use.
    for name, schema in contract["components"]["schemas"].items():
        assert schema.get("title", name) == name, (name, schema.get("title"))
    assert contract["components"]["schemas"]["Report"]["description"].startswith("评估报告 Evaluation report")


def test_request_bodies_are_plain_objects_a_generator_can_type(contract):
    # A body schema that is an ``anyOf`` of partial objects comes out as a union of anonymous
    # classes (``EvaluateBodyType0 | EvaluateBodyType1``) instead of one EvaluateBody class.
    for path, ops in contract["paths"].items():
        for method, op in ops.items():
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                ref = content["schema"].get("$ref", "")
                assert ref.startswith("#/components/schemas/"), (path, media, content["schema"])
                schema = contract["components"]["schemas"][ref.rsplit("/", 1)[1]]
                assert schema["type"] == "object" and not {"anyOf", "oneOf", "allOf"} & set(schema), (path, media)


def test_provinces_and_formats_are_one_named_type_each(contract):
    # Inline enums become one anonymous type per operation (``RulesV1RulesGetProvince``,
    # ``EvaluateSchoolV1EvaluateSchoolPostProvince`` …) where a client wants one Province type.
    schemas = contract["components"]["schemas"]
    assert schemas["Province"]["enum"] == ["anhui", "guizhou", "shaanxi", "national"]
    assert {"json", "table", "html", "xlsx"} <= set(schemas["ReportFormat"]["enum"])
    params = {(path, p["name"]): p["schema"] for path, ops in contract["paths"].items() for op in ops.values()
              for p in op.get("parameters", ())}
    assert params[("/v1/rules", "province")] == params[("/v1/evaluate/school", "province")] == \
        {"$ref": "#/components/schemas/Province"}
    assert params[("/v1/evaluate", "format")]["$ref"] == "#/components/schemas/ReportFormat"
    for name in ("EvaluateBody", "ValidateBody", "PlanBody", "RecordFiles", "PlanFiles"):
        assert "#/components/schemas/Province" in json.dumps(schemas[name]["properties"]["province"]), name
    assert schemas["SchoolRecord"]["type"] == "object"


def test_an_optional_query_parameter_is_its_type_not_a_union_with_null(contract):
    # A query parameter is left out, never sent as null: ``year: anyOf [integer, null]`` only
    # makes the generated parameter a union type.
    for path, ops in contract["paths"].items():
        for op in ops.values():
            for p in op.get("parameters", ()):
                assert "anyOf" not in p["schema"], (path, p)
    year = next(p for p in contract["paths"]["/v1/rules"]["get"]["parameters"] if p["name"] == "year")
    assert year["schema"] == {"type": "integer", "minimum": 1990, "maximum": 2100}


def _untyped_objects(node, where):
    """Where an object's contents are left untyped (no properties, no schema for their values)."""
    if isinstance(node, dict):
        extra = node.get("additionalProperties", True)
        if node.get("type") == "object" and "properties" not in node and not isinstance(extra, dict):
            yield where
        for key, value in node.items():
            yield from _untyped_objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _untyped_objects(value, f"{where}[{i}]")


def test_every_answer_of_the_service_itself_is_fully_typed(contract):
    # ``items: {type: object}`` is a Map<String, Object> in the client: the rules listing was.
    # (The report and the plan are the command line's documents, typed by their schema files.)
    schemas = contract["components"]["schemas"]
    found = [w for name, schema in schemas.items() if name.split("_")[0] not in ("Report", "Plan")
             for w in _untyped_objects(schema, name)]
    assert found == []
    rule = schemas["ListedRule"]
    assert {"rule_id", "level", "title", "threshold", "threshold_status", "source", "effective"} <= set(rule["required"])
    assert schemas["FundingEntry"]["additionalProperties"] is False


def test_the_headers_a_client_reads_are_documented(contract):
    paths = contract["paths"]
    for path, ops in paths.items():
        for op in ops.values():
            if path.startswith("/v1"):
                assert {"X-Edubalance-Packs", "X-Edubalance-Standards-Year", "X-Request-Id"} <= \
                    set(op["responses"]["200"]["headers"]), path
    evaluate = paths["/v1/evaluate"]["post"]["responses"]["200"]["headers"]
    assert evaluate["X-Edubalance-Exit-Code"]["schema"] == {"type": "string", "enum": ["0", "1"]}
    assert {"X-Edubalance-Rulesets", "Content-Disposition"} <= set(evaluate)
    assert "X-Edubalance-Rulesets" in paths["/v1/evaluate/school"]["post"]["responses"]["200"]["headers"]


def test_every_request_body_has_an_example_the_service_judges(contract, base_url):
    import httpx
    schemas = contract["components"]["schemas"]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for path, name in (("/v1/evaluate", "EvaluateBody"), ("/v1/validate", "ValidateBody"),
                       ("/v1/evaluate/school", "SchoolRecord")):
        examples = schemas[name]["examples"]
        assert examples, name
        for example in examples:
            r = httpx.post(base_url + path, json=example, headers=headers, timeout=60)
            assert r.status_code == 200, (name, r.text)


def test_every_tag_is_described_chinese_first(contract):
    # Generators make one API class per tag (EvaluateApi, RulesApi, HealthApi) and document it
    # with the tag's description.
    used = {tag for ops in contract["paths"].values() for op in ops.values() for tag in op["tags"]}
    described = {t["name"]: t["description"] for t in contract.get("tags", ())}
    assert used == set(described) == {"evaluate", "plan", "rules", "health"}
    assert all("\u4e00" <= text[0] <= "\u9fff" for text in described.values()), described


# -- the rules listing and the rule pack schema ------------------------------------------------------

def test_every_property_of_a_rule_in_the_pack_schema_is_listed_or_left_out_knowingly(contract):
    # A property added to the rule pack schema fails here until the listing's type says how it
    # is shown (as written, renamed, in words) or that it is not; and the listing's type holds
    # nothing beyond those and the listing's own properties.
    from edubalance.schemas import rulepack_schema
    from edubalance.service.contract import (RULE_AS_WRITTEN, RULE_IN_WORDS, RULE_NOT_LISTED, RULE_RENAMED,
                                             _LISTING_ONLY)
    in_words = [p for props in RULE_IN_WORDS.values() for p in props]
    accounted = [*RULE_AS_WRITTEN, *RULE_RENAMED, *in_words, *RULE_NOT_LISTED]
    assert sorted(accounted) == sorted(set(accounted)), "a property is accounted for twice"
    assert set(accounted) == set(rulepack_schema()["$defs"]["rule"]["properties"])
    listed = contract["components"]["schemas"]["ListedRule"]
    assert set(listed["properties"]) == {*RULE_AS_WRITTEN, *RULE_RENAMED.values(), *_LISTING_ONLY}
    assert set(RULE_IN_WORDS) <= set(_LISTING_ONLY)
    assert set(listed["required"]) == set(listed["properties"]) and listed["additionalProperties"] is False


def _validator(contract, component):
    from jsonschema import Draft202012Validator
    return Draft202012Validator({"$ref": f"#/components/schemas/{component}", "components": contract["components"]})


def test_what_the_packs_write_is_what_the_listing_type_says(contract):
    # Each property the listing shows as written takes every value the packs give it (the two
    # types are one), and each funding entry of every pack is a FundingEntry but for what the
    # listing adds.
    from edubalance import Evaluator
    from edubalance.service.contract import RULE_AS_WRITTEN
    schemas = contract["components"]["schemas"]
    seen = {name: 0 for name in RULE_AS_WRITTEN}
    entries = 0
    for pack in Evaluator().registry.packs.values():
        for rule in pack.data.get("rules", []) + pack.data.get("county_rules", []):
            for name in RULE_AS_WRITTEN:
                if name in rule:
                    # (the listing names both years, a pack only those it bounds)
                    value = {"from": None, "to": None, **rule[name]} if name == "effective" else rule[name]
                    prop = {**schemas["ListedRule"]["properties"][name], "components": contract["components"]}
                    errors = [e.message for e in _validator(contract, "ListedRule").evolve(schema=prop)
                              .iter_errors(value)]
                    assert not errors, (pack.id, rule["id"], name, errors)
                    seen[name] += 1
        for parameter, values in (pack.data.get("parameters", {}).get("funding") or {}).items():
            for entry in values:
                listed = {"parameter": parameter, "pack": pack.id, **entry, "shadowed": False}
                errors = [e.message for e in _validator(contract, "FundingEntry").iter_errors(listed)]
                assert not errors, (pack.id, parameter, errors)
                entries += 1
    assert all(seen.values()) and entries > 5, (seen, entries)


def test_every_rules_listing_is_the_documented_type(contract):
    from edubalance import Evaluator
    from edubalance.listing import rules_listing
    ev = Evaluator()
    validator = _validator(contract, "RulesResult")
    counted = 0
    for province in ev.provinces:
        for year in (None, 2012, 2016, 2023):
            listing = rules_listing(ev, province, year)
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(listing)]
            assert not errors, (province, year, errors[:5])
            counted += len(listing["rules"]) + len(listing["funding"])
    assert counted > 100
    # A key the listing adds, a wrong type or a value outside a pack's own enumeration is refused.
    listing = rules_listing(ev, "guizhou", 2023)
    for change in ({"colour": "red"}, {"dimension": "colour"}, {"weight": "1"}, {"effective": {"from": 2012}}):
        bad = {**listing, "rules": [{**listing["rules"][0], **change}]}
        assert list(validator.iter_errors(bad)), change
