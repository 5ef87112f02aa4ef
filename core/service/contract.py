"""The request and response shapes of the API, and the OpenAPI components they refer to.

Request envelopes are pydantic models (checked in the evaluation process, so a large body is
parsed off the event loop); a report, a school entry and a validation problem are described by
``schemas/report.schema.json``, the same schema the command line's JSON follows, moved into
``components/schemas`` as ``Report`` and ``Report_<name>``.
"""
from __future__ import annotations

import copy
import json
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from ..plan.costs import ITEM_FIELDS
from ..schemas import load_schema, report_schema, rulepack_schema, year_range

#: The years a request may name: the record schema's bounds, as the command line checks them.
MIN_YEAR, MAX_YEAR = year_range()

#: A cell of a record: what a spreadsheet cell or a JSON value can hold (no nested objects).
Scalar = Union[StrictStr, StrictInt, StrictFloat, StrictBool, None]
Record = dict[str, Scalar]
Year = Field(None, ge=MIN_YEAR, le=MAX_YEAR,
             description="按该年标准评估（默认按每条记录自己的学年）。Judge by the standards in force that year "
                         "(default: each record's own year).")
Province = Field(None, description="记录未填省份时使用。Province (rule pack id) for records that carry none.")

#: A school record as a client sends one (the examples of the API document).
EXAMPLE_SCHOOL: dict[str, Any] = {"school_id": "5201020001", "stage": "primary", "county_code": "520102",
                                  "province": "guizhou", "year": 2023, "students": 420, "max_class_size": 46}
EXAMPLE_SCHOOL_ZH: dict[str, Any] = {"学校标识码": "5201020002", "学段": "初中", "县级行政区划代码": "520102",
                                     "省份": "贵州", "学年": 2023, "在校生数": 980, "最大班额": 52}
_EXAMPLES: dict[str, Any] = {"examples": [{"records": [EXAMPLE_SCHOOL, EXAMPLE_SCHOOL_ZH], "province": "guizhou"}]}


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=_EXAMPLES)

    records: list[Record] = Field(default_factory=list, description=(
        "学校记录（字段见数据字典，英文字段名或中文列名）。School records: the data dictionary's fields "
        "(English names or Chinese labels), one object per school and stage. records 与 counties 不可都为空"
        "（否则 422）；records and counties may not both be empty (422)."))
    counties: list[Record] = Field(default_factory=list, description=(
        "县级记录（政府保障、满意度、一票否决）。County records (government items, satisfaction, vetoes)."))
    province: Optional[str] = Province


class EvaluateBody(_Envelope):
    """评估请求 ``POST /v1/evaluate`` 的 JSON 请求体。The JSON body of ``POST /v1/evaluate``."""

    year: Optional[int] = Year
    verdicts: Literal["all", "findings"] = Field("all", description=(
        "列出每条规则的结论（all），或只列未通过和缺数据的结论（findings）。"
        "all: every rule's verdict; findings: only failed and missing-data verdicts."))
    schools_only: StrictBool = Field(False, description=(
        "为 true 时只评估学校，不作县级评估（同命令行 --schools-only）。"
        "true: judge the schools only, no county judgement (the command line's --schools-only)."))


class ValidateBody(EvaluateBody):
    """校验请求 ``POST /v1/validate`` 的 JSON 请求体：与评估请求相同（先校验、再评估同一请求体），
    year、verdicts、schools_only 不影响校验结果。The JSON body of ``POST /v1/validate``: the same as an
    evaluation's (a client checks a body, then judges it); year, verdicts and schools_only do not
    change the check."""


#: A price in yuan: a number ≥ 0 (not a boolean, not text).
Yuan = Annotated[float, Field(ge=0, strict=True)]


class Price(BaseModel):
    """一项成本的本地单价。A cost item's local price."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    yuan: Yuan = Field(description="单价（元）Price in yuan")
    per: Optional[Literal["once", "year"]] = Field(None, description=(
        "一次性（once）或每年（year）；默认教师、其他教职工和公用经费每年，其余一次性。Once or every year "
        "(default: every year for teachers, other staff and public funds, else once)."))
    unit: Optional[str] = Field(None, description="计价单位，如 元/人·年 The unit priced, e.g. 元/人·年")
    source: Optional[dict[str, str]] = Field(None, description="出处 {document, clause} Where the price comes from")


def _cost_items_schema(schema: dict[str, Any]) -> None:
    """Name the cost items the planner prices (the evaluation process refuses any other key,
    as the command line's cost file, :func:`edubalance.plan.costs.costs_from`)."""
    for option in schema.get("anyOf", ()):
        if option.get("type") == "object":
            price = option.pop("additionalProperties")
            option["properties"] = {item: copy.deepcopy(price) for item in ITEM_FIELDS}
            option["additionalProperties"] = False


class PlanBody(_Envelope):
    """整改方案请求 ``POST /v1/plan`` 的 JSON 请求体。The JSON body of ``POST /v1/plan``."""

    year: Optional[int] = Year
    target: Literal["quality", "basic"] = Field("quality", description=(
        "目标：优质均衡（quality，2017）或基本均衡（basic，2012）。The target: high-quality balance (2017) or "
        "basic balance (2012), as the command line's --target."))
    costs: Optional[dict[str, Union[Yuan, Price]]] = Field(None, description=(
        "本地单价，替换规则包中的暂定占位值：成本项目 → 元，或 {yuan, per: once|year}（同命令行 --costs 文件）。"
        "Local prices in place of the packs' provisional placeholders: cost item → yuan, or "
        "{yuan, per: once|year} (as the command line's --costs file)."),
        examples=[{"teacher": 120000, "building_m2": {"yuan": 3200, "per": "once"}}],
        json_schema_extra=_cost_items_schema)
    near: float = Field(0.05, ge=0, le=1, description=(
        "临界比例：学生增加这一比例即不达标的规则列为临界。A rule that would fail with this share more pupils "
        "is listed as near-failing."))


class Counts(BaseModel):
    read: int
    accepted: int
    rejected: int


class ValidationResult(BaseModel):
    records: Counts
    counties: Counts
    rejected: list[dict[str, Any]]     # items: Report_rejected (see :func:`refine`)
    warnings: list[dict[str, Any]]     # items: Report_problem


class Pack(BaseModel):
    id: str
    revision: str
    extends: Optional[str]
    title: dict[str, str]
    plugin: str


class PacksResult(BaseModel):
    packs: list[Pack]
    provinces: list[str]
    formats: list[str]
    standards_year: Optional[int] = Field(description="服务设定的标准年份 --year（若有）。The service's --year, if set.")


#: The rule pack schema's definitions a listing shows as a pack writes them, under the
#: contract's names, with the contract's (Chinese first) descriptions.
_RULEPACK_TYPES = {
    "title": ("RuleTitle", "规则名称 A rule's title: Chinese and English"),
    "source": ("RuleSource", "出处：文件及条款。Where a threshold comes from: the document and its clause."),
    "effective": ("RuleYears", "生效年份（含）。The years in force, both included; null: open."),
    "status": ("ThresholdStatus", "阈值状态：confirmed 见于正式文件，provisional 部分确认或未确认。"
                                  "confirmed: read in an official document; provisional: partly confirmed or unconfirmed."),
}

#: How ``edubalance rules -f json`` shows each property of a rule in the pack (schema ``rule``):
#: as written (the schema's type), renamed, in words, or not at all.
RULE_AS_WRITTEN = ("title", "dimension", "severity", "weight", "measure", "unit", "threshold_status", "source",
                   "effective")
RULE_RENAMED = {"id": "rule_id"}
#: Shown together as the threshold in words (``primary >= 4.2; junior >= 5.3``, ``>= 6 of 7 …``).
RULE_IN_WORDS = {"threshold": ("kind", "operator", "threshold", "threshold_measure", "of", "min_ratio"),
                 "scope": ("scope",)}
RULE_NOT_LISTED = ("expression", "programme", "standard", "note")

#: What the listing adds to a rule and to a funding entry.
_LISTING_ONLY: dict[str, dict[str, Any]] = {
    "level": {"enum": ["school", "county"], "description": "学校规则或县级规则 A school rule or a county rule"},
    "pack": {"$ref": "#/$defs/packId", "description": "规则所属的规则包 The pack the rule comes from"},
    "threshold": {"type": "string", "description": "阈值的文字表述 The threshold in words, e.g. "
                                                   "`primary >= 4.2; junior >= 5.3`"},
    "scope": {"type": "string", "description": "适用条件的文字表述（空：全部适用）The scope in words (empty: every record)"},
}
_FUNDING_ONLY: dict[str, dict[str, Any]] = {
    "parameter": {"type": "string", "description": "公用经费参数 The public-funds parameter, e.g. `base_per_pupil`"},
    "pack": {"$ref": "#/$defs/packId", "description": "取值所属的规则包 The pack the entry comes from"},
    "shadowed": {"type": "boolean", "description": "该年被前一条覆盖、不会用到 Unused that year: an earlier entry "
                                                   "covers the same schools"},
}


def _from_rulepack(node: Any, defs: dict[str, Any]) -> Any:
    """A piece of the rule pack schema as a contract type: its English descriptions left out, a
    reference to a shared definition pointed at the contract's type, any other inlined."""
    if isinstance(node, list):
        return [_from_rulepack(v, defs) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref", "")
    if ref.startswith("#/$defs/"):
        name = ref.rsplit("/", 1)[1]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        if name in _RULEPACK_TYPES:
            return {"$ref": f"#/components/schemas/{_RULEPACK_TYPES[name][0]}", **_from_rulepack(rest, defs)}
        return {**_from_rulepack(defs[name], defs), **_from_rulepack(rest, defs)}
    out = {k: _from_rulepack(v, defs) for k, v in node.items() if k not in ("description", "default")}
    if "enum" in out and "type" not in out and all(isinstance(v, str) for v in out["enum"]):
        out = {"type": "string", **out}          # a generator makes a string enum of it, not an Object
    return out


def _described(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A listing's own property: its type, and its description kept."""
    return {**_from_rulepack(node, defs), "description": node["description"]}


def rule_components() -> dict[str, Any]:
    """``ListedRule`` and ``FundingEntry`` (the rules listing's items) and the types they share
    with the rule pack, made from ``schemas/rulepack.schema.json``: a property the listing shows
    as the pack writes it has the pack's type, so the two cannot drift apart."""
    defs = rulepack_schema()["$defs"]
    out: dict[str, Any] = {}
    for name, (component, description) in _RULEPACK_TYPES.items():
        out[component] = {"title": component, **_from_rulepack(defs[name], defs), "description": description}
    # The listing always gives both years (null: open).
    out["RuleYears"]["required"] = ["from", "to"]
    rule = defs["rule"]["properties"]
    props = {**{new: _from_rulepack(rule[old], defs) for old, new in RULE_RENAMED.items()},
             **{k: _described(v, defs) for k, v in _LISTING_ONLY.items()},
             **{k: _from_rulepack(rule[k], defs) for k in RULE_AS_WRITTEN}}
    out["ListedRule"] = {"title": "ListedRule", "type": "object", "additionalProperties": False,
                         "properties": props, "required": list(props),
                         "description": "规则清单中的一条规则（同 `edubalance rules -f json`）。"
                                        "A rule as `edubalance rules -f json` lists it."}
    entry = defs["yearValue"]
    props = {**{k: _described(v, defs) for k, v in _FUNDING_ONLY.items()}, **_from_rulepack(entry["properties"], defs)}
    out["FundingEntry"] = {"title": "FundingEntry", "type": "object", "additionalProperties": False,
                           "properties": props, "required": ["parameter", "pack", *entry["required"], "shadowed"],
                           "description": "公用经费参数的一条取值（每所学校取第一条适用的）。One entry of a "
                                          "public-funds parameter (a school takes the first entry in force "
                                          "whose condition holds)."}
    return out


class RulesResult(BaseModel):
    province: str
    year: Optional[int]
    packs: list[dict[str, Any]]        # items: Report_pack (see :func:`refine`)
    rules: list[dict[str, Any]]        # items: ListedRule (see :func:`rule_components`)
    funding: list[dict[str, Any]]      # items: FundingEntry


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    workers: int
    workers_alive: int


class ProblemDocument(BaseModel):
    """错误应答：RFC 9457 问题文档。An error answer: RFC 9457 problem details."""

    type: str = Field(description="问题种类 `urn:edubalance:problem:<kind>`，各状态码的说明列出其种类。"
                                  "The problem's kind; each status's description lists its kinds.")
    title: str
    status: int
    detail: str
    instance: Optional[str] = None
    problems: Optional[list[dict[str, Any]]] = None     # items: Report_problem


#: (component, property) whose items are a report schema's definition.
_ITEMS = {("ValidationResult", "rejected"): "Report_rejected", ("ValidationResult", "warnings"): "Report_problem",
          ("ProblemDocument", "problems"): "Report_problem", ("RulesResult", "packs"): "Report_pack",
          ("RulesResult", "rules"): "ListedRule", ("RulesResult", "funding"): "FundingEntry"}


def refine(components: dict[str, Any]) -> None:
    """Point the loosely typed lists of the models at the report schema's definitions, and the
    province at the one ``Province`` type (the provinces the service knows)."""
    for name in ("EvaluateBody", "ValidateBody", "PlanBody"):
        components[name]["properties"]["province"]["anyOf"] = [{"$ref": "#/components/schemas/Province"},
                                                                {"type": "null"}]
    for (name, prop), target in _ITEMS.items():
        spec = components[name]["properties"][prop]
        ref = {"$ref": f"#/components/schemas/{target}"}
        if "anyOf" in spec:                      # Optional[list]: [array, null]
            for option in spec["anyOf"]:
                if option.get("type") == "array":
                    option["items"] = ref
        else:
            spec["items"] = ref


def report_components() -> dict[str, Any]:
    """``Report`` and its ``$defs`` (``schemas/report.schema.json``) as OpenAPI components."""
    return _components(report_schema(), "Report")


def plan_components() -> dict[str, Any]:
    """``Plan`` and its ``$defs`` (``schemas/plan.schema.json``) as OpenAPI components."""
    return _components(load_schema("plan.schema.json"), "Plan")


def _components(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """A schema and its ``$defs`` as components ``name`` and ``name_<def>`` (``$id`` dropped so
    references resolve inside the OpenAPI document; the Chinese title moved into the
    description, since client generators name a class after a schema's title)."""
    defs = schema.pop("$defs", {})
    schema.pop("$schema", None)
    schema.pop("$id", None)
    title = schema.pop("title", None)
    if title:
        schema["description"] = f"{title}: {schema['description']}" if schema.get("description") else title
    text = json.dumps({name: schema, **{f"{name}_{k}": v for k, v in defs.items()}}, ensure_ascii=False)
    return json.loads(text.replace('"#/$defs/', f'"#/components/schemas/{name}_'))
