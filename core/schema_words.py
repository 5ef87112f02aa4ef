"""A rule or case file's schema error in Chinese first: jsonschema words its errors in English
only, and a province's pack author reads Chinese first, as every other message says it."""
from __future__ import annotations

from typing import Any

_TYPE_ZH = {"number": "数", "integer": "整数", "string": "文本", "boolean": "true 或 false", "object": "映射（键: 值）",
            "array": "列表", "null": "空（null）"}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _types(kind: Any) -> str:
    kinds = kind if isinstance(kind, list) else [kind]
    return "或".join(_TYPE_ZH.get(k, str(k)) for k in kinds)


def schema_error_text(err: Any) -> str:
    """``中文 / English`` for one ``jsonschema.ValidationError``. Where the value fits none of
    several forms (``anyOf``/``oneOf``), the form it came closest to says what is wrong."""
    from jsonschema.exceptions import best_match

    if err.validator in ("anyOf", "oneOf") and err.context:
        closest = best_match(err.context)
        return f"{_zh(closest)}（不符合任何允许的写法）/ {closest.message} (fits none of the allowed forms)"
    return f"{_zh(err)} / {err.message}"


def _zh(err: Any) -> str:
    """The Chinese half, by the schema keyword the value breaks."""
    v, expected, value = err.validator, err.validator_value, err.instance
    if v == "type":
        return f"应为{_types(expected)}，实际为 {_shown(value)}"
    if v == "required":
        missing = [k for k in expected if isinstance(value, dict) and k not in value]
        return f"缺少必填的键 {', '.join(missing) or _shown(expected)}"
    if v == "additionalProperties" and isinstance(value, dict):
        allowed = set((err.schema.get("properties") or {}))
        extra = sorted(k for k in value if k not in allowed)
        return f"未知的键 {', '.join(map(str, extra))}（可能拼写有误）"
    if v == "enum":
        return f"应为以下之一：{', '.join(map(str, expected))}；实际为 {_shown(value)}"
    if v == "const":
        return f"应为 {_shown(expected)}，实际为 {_shown(value)}"
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        sign = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<"}[v]
        return f"应 {sign} {expected}，实际为 {_shown(value)}"
    if v == "pattern":
        return f"写法不对（应符合 {expected}），实际为 {_shown(value)}"
    if v in ("minItems", "minLength", "minProperties"):
        return f"至少应有 {expected} 项，实际为 {_shown(value)}"
    if v in ("maxItems", "maxLength", "maxProperties"):
        return f"至多 {expected} 项，实际为 {_shown(value)}"
    if v == "uniqueItems":
        return "各项不可重复"
    if v == "not":
        return f"不允许这样写：{_shown(value)}"
    return f"不符合规则文件格式（{v}）"
