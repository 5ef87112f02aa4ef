"""Field names, Chinese labels, units and header mapping, all read from the JSON Schemas.

The schemas in ``edubalance.schemas`` are the single source of truth: this module only
indexes them, so adding a field or correcting a label is an edit to a JSON file. The school
schema also carries the derived measures' labels (``x-measures``), so reports can label a
measure the same way they label a field.

Headers in CSV/XLSX files may be the English field name or the Chinese label.
:func:`header_to_field` compares them after normalising what spreadsheets change: full-width
characters and brackets, spaces, case and ``_``/``-`` in English names, and a trailing unit in
brackets (``占地面积（平方米）``) — but only a unit that matches the field's own, so that a
``（万元）`` column is never read as yuan; after a field that has no unit (a name, a code, 是/否)
the brackets are a note (``学校标识码（10位）``); :func:`header_note` says whether such a note only
says how the value is written or that the column holds something else (``学校名称（英文）``).

A province plug-in's rule pack may declare school fields of its own (``fields:``, read by
:mod:`edubalance.packfields`); :func:`add_fields` adds them here, so that they are read, labelled
and converted as the schema's own. The tuples below stay the schema's; :func:`school_fields`
and :func:`school_spec` include the declared ones.
"""
from __future__ import annotations

import re
import unicodedata
from fractions import Fraction
from functools import lru_cache
from typing import Any, NamedTuple

from .schemas import county_schema, school_schema

_SCHOOL = school_schema()
_COUNTY = county_schema()
_SCHOOL_PROPS: dict[str, dict[str, Any]] = _SCHOOL["properties"]
_COUNTY_PROPS: dict[str, dict[str, Any]] = _COUNTY["properties"]
_MEASURES: dict[str, dict[str, Any]] = _SCHOOL.get("x-measures", {})


def _names_of_type(props: dict[str, dict[str, Any]], *types: str) -> tuple[str, ...]:
    return tuple(name for name, p in props.items() if p.get("type") in types)


#: School record fields, in the schema's (and the data dictionary's) order.
SCHOOL_FIELDS: tuple[str, ...] = tuple(_SCHOOL_PROPS)
#: County record fields, in schema order.
COUNTY_FIELDS: tuple[str, ...] = tuple(_COUNTY_PROPS)
#: Fields only a county record has; their presence marks a file row as a county record.
COUNTY_ONLY_FIELDS: frozenset[str] = frozenset(COUNTY_FIELDS) - frozenset(SCHOOL_FIELDS)
#: Derived measures (data-dictionary §3) with labels in the school schema.
MEASURES: tuple[str, ...] = tuple(_MEASURES)

SCHOOL_REQUIRED: tuple[str, ...] = tuple(_SCHOOL.get("required", ()))
COUNTY_REQUIRED: tuple[str, ...] = tuple(_COUNTY.get("required", ()))

INTEGER_FIELDS: tuple[str, ...] = _names_of_type(_SCHOOL_PROPS, "integer")
NUMERIC_FIELDS: tuple[str, ...] = _names_of_type(_SCHOOL_PROPS, "integer", "number")
BOOLEAN_FIELDS: tuple[str, ...] = _names_of_type(_SCHOOL_PROPS, "boolean")
TEXT_FIELDS: tuple[str, ...] = _names_of_type(_SCHOOL_PROPS, "string")

COUNTY_NUMERIC_FIELDS: tuple[str, ...] = _names_of_type(_COUNTY_PROPS, "integer", "number")
COUNTY_BOOLEAN_FIELDS: tuple[str, ...] = _names_of_type(_COUNTY_PROPS, "boolean")
COUNTY_TEXT_FIELDS: tuple[str, ...] = _names_of_type(_COUNTY_PROPS, "string")


#: School fields declared by rule packs (:func:`add_fields`), in the order they were declared.
_DECLARED: dict[str, dict[str, Any]] = {}
#: How many times :func:`add_fields` changed what is known (a key for caches of header lookups).
_VERSION = [0]


def version() -> int:
    """A number that changes whenever a pack's declared fields are added: a cache of what a
    header names keeps it in its key."""
    return _VERSION[0]


def _spec(name: str) -> dict[str, Any] | None:
    return _SCHOOL_PROPS.get(name) or _COUNTY_PROPS.get(name) or _MEASURES.get(name) or _DECLARED.get(name)


def school_fields() -> tuple[str, ...]:
    """The schema's school fields, then those rule packs declared (so far, in this process)."""
    return _KNOWN[0]


def declared() -> dict[str, dict[str, Any]]:
    """The school fields rule packs declared (so far, in this process): name → schema property."""
    return dict(_DECLARED)


def school_spec(name: str) -> dict[str, Any] | None:
    """A school field's schema property, a declared field's included; None for no school field."""
    return _SCHOOL_PROPS.get(name) or _DECLARED.get(name)


def integer_fields() -> frozenset[str]:
    """The whole-number school fields, declared ones included."""
    return _KNOWN[1]


def _known() -> tuple[tuple[str, ...], frozenset[str]]:
    """(:func:`school_fields`, :func:`integer_fields`): worked out when a pack declares fields,
    not at every call (the planner asks for each variant it builds)."""
    return (SCHOOL_FIELDS + tuple(n for n in _DECLARED if n not in _SCHOOL_PROPS),
            frozenset(INTEGER_FIELDS) | {n for n, spec in _DECLARED.items() if spec.get("type") == "integer"})


_KNOWN = _known()


def is_core_field(name: str) -> bool:
    """Whether ``name`` is a field of the bundled school or county schema (or a derived measure)."""
    return name in _SCHOOL_PROPS or name in _COUNTY_PROPS or name in _MEASURES


def header_owner(header: str) -> str | None:
    """The field a header written in a declaration (a label, an alias) already names, or None."""
    return _HEADER_INDEX.get(_norm(header))


def header_key(header: str) -> str:
    """A header as headers are compared (full-width forms, spaces, case and ``_``/``-`` aside)."""
    return _norm(header)


def add_fields(specs: dict[str, dict[str, Any]]) -> None:
    """Make school fields declared by a rule pack known: their labels, aliases, units and
    enumerations are read as the schema's own. ``specs`` are schema properties; the caller
    (:mod:`edubalance.packfields`) has refused a name or header that means something else."""
    global _KNOWN
    _DECLARED.update(specs)
    _VERSION[0] += 1
    _KNOWN = _known()
    for name, spec in specs.items():
        for key in (name, spec.get("title", ""), *spec.get("x-aliases", ())):
            if key:
                _HEADER_INDEX[_norm(key)] = name
        if "enum" in spec:
            _ENUM_INDEX[name] = _enum_table(spec)
    for cached in (label, _field_and_word, header_to_field, header_note):
        cached.cache_clear()


@lru_cache(maxsize=4096)
def label(name: str) -> str:
    """The Chinese label of a school field, county field or derived measure; else ``name``
    (remembered: every problem of a file names its field's label)."""
    spec = _spec(name)
    return spec.get("title", name) if spec else name


def unit(name: str) -> str:
    """The unit of a field or measure (``m²``, ``yuan``, ``pupils`` …); ``""`` if it has none."""
    spec = _spec(name)
    return spec.get("x-unit", "") if spec else ""


#: Units as a Chinese reader writes them; a unit not listed is shown as the catalogue gives it.
UNIT_ZH = {
    "m²": "平方米", "m² per pupil": "平方米/生", "m² per boarder": "平方米/寄宿生", "m² per school": "平方米/校",
    "yuan per pupil": "元/生", "yuan per year": "元/年", "yuan": "元",
    "teachers per 100 pupils": "人/百生", "rooms per 100 pupils": "间/百生", "computers per 100 pupils": "台/百生",
    "rooms per 12 classes": "间/12班", "pupils per class": "人/班", "pupils per school": "人/校",
    "pupils per staff member": "生/教职工", "pupils per teacher": "生/专任教师", "volumes per pupil": "册/生",
    "beds per boarder": "床/寄宿生", "share of full-time teachers": "占专任教师比例", "indicators met": "项达标",
    "floor": "层", "rooms": "间", "halls": "个", "schools": "所", "points": "分", "fraction": "比例",
    "ratio": "比值", "CV": "差异系数", "yes/no": "是/否", "yes (1) / no (0)": "是(1)/否(0)",
    # the input fields' own units (a refused column's message names the unit to give)
    "pupils": "人", "persons": "人", "teachers": "人", "classes": "个", "computers": "台", "volumes": "册",
    "beds": "张", "year": "年", "yuan/year": "元/年", "lessons/year": "课时/年", "lessons per year": "课时/年",
    "teachers per pupil": "人/生",
}


#: Units whose values are shares of a whole (0.97): every report shows them in percent (97%).
SHARE_UNITS = frozenset({"fraction", "share of full-time teachers"})


def unit_zh(unit: str) -> str:
    """A unit as a Chinese reader writes it (``yuan`` → 元)."""
    return UNIT_ZH.get(unit, unit)


# --- header mapping -------------------------------------------------------------------

_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")",
                           "{": "(", "}": ")", "〈": "(", "〉": ")", "《": "(", "》": ")"})
#: The invisible characters text pasted from web pages and other files carries (zero-width spaces
#: and joiners, BOM, soft hyphen, direction marks), as a regular-expression class's content.
INVISIBLE = "\u00ad\u200b-\u200f\u2060-\u2064\ufeff"
#: What headers are compared without: spaces, ``_``/``-`` and the invisible characters.
_DROP = re.compile(rf"[\s_\-{INVISIBLE}]+")
_TRAILING_UNIT = re.compile(r"^(.+?)\(([^()]*)\)$")
#: ``其中：`` before a header (其中：学生宿舍面积, 其中寄宿生数) marks a sub-item of the column before it,
#: as statistical forms write one: the column is the field it names.
_SUB_ITEM = re.compile(r"^其中:?(?=.)")

# Unit words a header may carry in trailing brackets, per the field's x-unit.
_UNIT_WORDS: dict[str, frozenset[str]] = {
    "m²": frozenset({"m2", "平方米", "平米"}),
    "yuan": frozenset({"元"}),
    "yuan/year": frozenset({"元", "元/年", "元/年度"}),
    "pupils": frozenset({"人", "名"}),
    "persons": frozenset({"人", "名"}),
    "teachers": frozenset({"人", "名"}),
    "classes": frozenset({"个", "班"}),
    "rooms": frozenset({"间", "个"}),
    "computers": frozenset({"台"}),
    "volumes": frozenset({"册"}),
    "fraction": frozenset(),
    "points": frozenset({"分"}),
    "halls": frozenset({"个", "间"}),
    "beds": frozenset({"张", "个"}),
    "floor": frozenset({"层"}),
    "year": frozenset({"年", "学年"}),
    "lessons/year": frozenset({"课时", "课时/年", "节", "节/年"}),
}


def unit_words(unit_name: str) -> frozenset[str]:
    """The words a field counted in ``unit_name`` (``pupils``, ``m²`` …) is written with: 人 and 名,
    平方米 and m2 … — its own unit, never one to convert."""
    return _UNIT_WORDS.get(unit_name, frozenset())


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_BRACKETS)
    return _SUB_ITEM.sub("", _DROP.sub("", text)).lower()


def _build_header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for props in (_SCHOOL_PROPS, _COUNTY_PROPS):
        for name, spec in props.items():
            for key in (name, spec.get("title", ""), *spec.get("x-aliases", ())):
                if key:
                    index.setdefault(_norm(key), name)
    return index


_HEADER_INDEX = _build_header_index()


#: Units a header may name that differ from the field's own, and the factor that turns a cell
#: in that unit into the field's unit — only factors that are exact by definition (万元 = 10,000
#: 元; 1 亩 = 1/15 公顷 = 10,000/15 m²). A header naming a known field with a unit not listed
#: here (nor in ``_UNIT_WORDS``) is refused: a value read in the wrong unit is a silent error.
UNIT_FACTORS: dict[str, dict[str, Fraction]] = {
    "yuan": {"万元": Fraction(10_000), "千元": Fraction(1_000), "百元": Fraction(100), "亿元": Fraction(10 ** 8)},
    "yuan/year": {"万元": Fraction(10_000), "千元": Fraction(1_000), "万元/年": Fraction(10_000),
                  "千元/年": Fraction(1_000)},
    "m²": {"万平方米": Fraction(10_000), "千平方米": Fraction(1_000), "公顷": Fraction(10_000),
           "平方公里": Fraction(10 ** 6), "平方千米": Fraction(10 ** 6), "km2": Fraction(10 ** 6),
           "亩": Fraction(10_000, 15)},
    "volumes": {"千册": Fraction(1_000), "万册": Fraction(10_000)},
    "fraction": {"%": Fraction(1, 100), "百分比": Fraction(1, 100)},
}

#: Every unit word a header may end with, longest first (for headers without brackets).
_ALL_UNIT_WORDS = sorted({w for words in _UNIT_WORDS.values() for w in words if len(w) > 1}
                         | {w for table in UNIT_FACTORS.values() for w in table}, key=len, reverse=True)


class UnitHeader(NamedTuple):
    """A header naming a known field in another unit: ``factor`` is None when the unit cannot
    be converted (then the column is refused)."""

    field: str
    unit: str
    factor: Fraction | None


def _unit_word(name: str, word: str) -> UnitHeader | None:
    """``word`` as the unit of a column of field ``name``: None if it is the field's own."""
    own = unit(name)
    if word in unit_words(own):
        return None
    return UnitHeader(name, word, UNIT_FACTORS.get(own, {}).get(word))


@lru_cache(maxsize=4096, typed=True)
def _field_and_word(header: Any) -> tuple[str, str] | None:
    """The known field a header names and the unit word it ends with (in brackets, or a
    known unit word written after the label), or None. Cached: a header is looked at when
    columns are named and again when their units are settled."""
    key = _norm(str(header))
    m = _TRAILING_UNIT.match(key)
    if m:
        name, word = _HEADER_INDEX.get(m.group(1)), _without_year(m.group(2))[1]   # 占地面积（2023年，亩）: 亩
        return (name, word) if name is not None and word else None
    for word in _ALL_UNIT_WORDS:
        if key.endswith(word) and len(key) > len(word):
            name = _HEADER_INDEX.get(key[: -len(word)])
            if name is not None:
                return name, word
    return None


def header_unit(header: Any) -> UnitHeader | None:
    """The field and foreign unit of a header such as ``教学仪器设备资产值（万元）`` or
    ``图书万册``; None when the header is not a known field in another unit."""
    found = _field_and_word(header) if header is not None else None
    return _unit_word(*found) if found is not None else None


def column_unit(name: str, word: str) -> UnitHeader | None:
    """``word`` (a unit written for a column, e.g. in a units row) as the unit of field
    ``name``: None if it is the field's own, else the factor (None: not convertible)."""
    return _unit_word(name, _norm(word))


def stated_unit(header: Any) -> str | None:
    """The unit word a header of a known field ends with (its own or another), or None."""
    found = _field_and_word(header) if header is not None else None
    return found[1] if found is not None else None


def in_percent(found: UnitHeader | None) -> bool:
    """Whether a column in a foreign unit is a fraction field written in percent (``辍学率（%）``:
    15 is 0.15); a fraction's only foreign units with a factor are percents."""
    return found is not None and unit(found.field) == "fraction"


#: Unit words a units row holds besides the fields' own and convertible ones.
_OTHER_UNIT_WORDS = frozenset({"所", "校", "岁", "次", "套", "座", "栋", "辆", "元/生", "平方米/生", "册/生", "台/百生",
                               "人/班", "生", "户", "项", "处", "亩"})
_UNIT_CELL_WORDS = frozenset({w for words in _UNIT_WORDS.values() for w in words}
                             | {w for table in UNIT_FACTORS.values() for w in table} | _OTHER_UNIT_WORDS)
_UNIT_LABEL = re.compile(r"^(?:计量)?单位[:：]?")


def unit_text(text: Any) -> str | None:
    """A cell of a units row (``（万元）``, ``单位：万元``, ``个``, ``%``) as the unit word it writes,
    normalised as headers are; None when it writes no word (blank, ``/``, ``—``)."""
    if text is None:
        return None
    key = _UNIT_LABEL.sub("", _norm(str(text)))
    if key.startswith("(") and key.endswith(")") and key.count("(") == 1:
        key = key[1:-1]
    return key if re.search(r"[^\W\d_]|%", key) else None


def unit_cell(text: Any) -> str | None:
    """:func:`unit_text` when it is a known unit word, else None (a cell that is not a unit)."""
    key = unit_text(text)
    return key if key in _UNIT_CELL_WORDS else None


def is_unit_label(text: Any) -> bool:
    """Whether a cell only names the row (``单位``, ``计量单位``)."""
    return text is not None and _norm(str(text)).strip("():：") in ("单位", "计量单位")


@lru_cache(maxsize=4096, typed=True)
def header_to_field(header: Any) -> str | None:
    """The field a column header names (English name or Chinese label), or ``None``. Cached:
    the same few hundred keys come back with every record handed to the API."""
    if header is None:
        return None
    key = _norm(str(header))
    if not key:
        return None
    if key.startswith("(") and key.endswith(")") and key.count("(") == 1:
        key = key[1:-1]          # 【学段】 → 学段
    name = _HEADER_INDEX.get(key)
    if name is not None:
        return name
    m = _TRAILING_UNIT.match(key)
    if m:
        name = _HEADER_INDEX.get(m.group(1))
        # a field without a unit (text, a code, 是/否) reads its brackets as a note: 学校标识码（10位）;
        # a field with one only a note saying what else the column holds, 在校生数（上年） (header_note),
        # or the school year it is of, 在校生数（2023年）
        # (beside a column headed with the plain name, such a column is another one: see loading.header_names)
        if name is not None and (not unit(name) or m.group(2) in unit_words(unit(name))
                                 or _only_holds(name, m.group(2), header) or _year_noted(name, m.group(2))):
            return name
        if name is None:
            return _counted(m.group(1), m.group(2))
    return None


def _counted(label_: str, word: str) -> str | None:
    """A count or an area headed as forms head it, without its 数 or 面积 and with the unit it is
    counted in after it: 学生用计算机（台） is 学生用计算机台数, 网络多媒体教室（间） 网络多媒体教室数, 教职工（人）
    教职工数, 教学及辅助用房（平方米） 教学及辅助用房面积."""
    for tail in ("数", word + "数", "面积"):
        name = _HEADER_INDEX.get(label_ + tail)
        if name is not None and word in unit_words(unit(name)):
            return name
    return None


#: 是/否 as a yes/no column is written: the words, and the tick and cross forms are ticked with
#: (√ ✓ ✔, × ✗ ✘), lower case after NFKC. A header's note listing them (公办（是/否）) is a format note.
YES_WORDS = frozenset({"true", "t", "1", "yes", "y", "是", "有", "√", "✓", "✔"})
NO_WORDS = frozenset({"false", "f", "0", "no", "n", "否", "无", "×", "✗", "✘"})

#: Notes in a header's brackets that say its column holds something else than the field itself,
#: by what they say it holds (Chinese, English): a county clerk's sheet keeps the English name,
#: the code before a merger or last year's value beside (or instead of) the current one. Words
#: are matched in the note after NFKC and in lower case: a Chinese word anywhere in it (spaces
#: aside), an English one as whole words.
CHANGING_NOTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("英文或拼音写法", "an English or pinyin form"): ("英文", "英语", "外文", "拼音", "english", "en", "pinyin"),
    ("少数民族文字写法", "a form in a minority script"): ("民族文字", "藏文", "蒙文", "蒙古文", "维文", "维吾尔文",
                                                    "哈萨克文", "朝鲜文", "彝文", "壮文"),
    ("简称", "a short form"): ("简称", "缩写", "简写", "略称", "abbr", "abbreviation", "short"),
    ("原来的（旧的）值", "a former value"): ("旧", "原", "曾用", "以前", "之前", "此前", "更名前", "变更前", "撤并前",
                                            "合并前", "调整前", "old", "former", "previous"),
    ("上一年的值", "last year's value"): ("上年", "去年", "上一年", "上学年", "上年度", "往年", "前一年",
                                         "last year", "prior year"),
}

#: Notes that only say how to write the field's own value — besides digits with 位 (``（10位）``),
#: the field's allowed values (``（小学/初中）``, ``（是/否）``) and its own unit: they need no check.
FORMAT_NOTES = frozenset({"必填", "选填", "可选", "可不填", "全称", "规范全称", "规范名称", "标准名称", "标准全称",
                          "中文", "中文名称", "中文全称", "汉字", "文本", "文本格式", "数字", "阿拉伯数字", "新", "现",
                          "现用", "现在", "最新", "当前", "本年", "本年度", "今年", "本学年", "与公章一致",
                          "与公章名称一致", "以公章为准", "盖章", "公章", "全国统一", "国标", "gb/t2260"})
#: A note's part that writes the length of a code (``10位``, ``十位``, ``6位数字``).
_DIGITS_NOTE = re.compile(r"^(?:\d+|[一二三四五六七八九十]+)位(?:数字|数|字符|代码|编码|码)?$")
#: A note's part that gives an example or an instruction (``如：5201020001``, ``请填写全称``).
_HINT_NOTE = re.compile(r"^(?:如|例|示例|格式|请|填写|按)")
_NOTE_PARTS = re.compile(r"[/、,，;；|]|或")
#: A note's part naming the school year its column's values are of (``2023年``, ``2023学年``,
#: ``2023-2024学年``), as a 学年 cell writes it: the column is the field, of that year.
_YEAR_NOTE = re.compile(r"^((?:19|20|21)\d{2})(?:学年度|学年|年度|年)?(?:[-—–―~至到]?(?:\d{4}|\d{2})(?:学年度|学年|年度|年)?)?$")
#: The last brackets of a header with its spaces kept (English words are matched whole).
_SPACED_NOTE = re.compile(r"\(([^()]*)\)\s*$")
#: Words with a changing note's character that say nothing of the kind (资产原值 is an asset's book value).
_NOT_CHANGING = re.compile("原值|原样|原则")
_CHANGING = [(re.compile(rf"(?<![a-z]){re.escape(word)}(?![a-z])") if word.isascii() else None, word, holds)
             for holds, words in CHANGING_NOTES.items() for word in words]


class HeaderNote(NamedTuple):
    """The note in a header's brackets after a field that has none of its own (a name, a code,
    是/否): ``holds`` says (in Chinese, in English) what the note says the column holds instead
    of the field; None for a format note (``（10位）``, ``（是/否）``), ``("", "")`` for a note that
    is neither."""

    field: str
    note: str
    holds: tuple[str, str] | None


def _format_part(name: str, part: str) -> bool:
    if not part or part in FORMAT_NOTES or _DIGITS_NOTE.match(part) or _HINT_NOTE.match(part) or _YEAR_NOTE.match(part):
        return True
    if part in unit_words(unit(name)):
        return True
    if (_spec(name) or {}).get("type") == "boolean":
        return part in YES_WORDS or part in NO_WORDS or part == "是否"
    return enum_value(name, part) is not None


@lru_cache(maxsize=4096, typed=True)
def header_note(header: Any) -> HeaderNote | None:
    """The note of a header naming a field with a note in brackets (``学校名称（英文）``), or None
    (a plain header, a unit, no field). One place decides which notes change what a column
    holds (:data:`CHANGING_NOTES`) and which only say how it is written."""
    if header is None or names_plainly(header) or header_to_field(header) is None:
        return None
    m = _TRAILING_UNIT.match(_norm(str(header)))
    written = _written_note(header)
    if m is None or written is None:
        return None
    name, note = _HEADER_INDEX.get(m.group(1)), m.group(2)
    if name is None or note in unit_words(unit(name)):
        return None
    holds = _holds(note, written)
    if holds is None and all(_format_part(name, p) for p in _NOTE_PARTS.split(note)):
        return HeaderNote(name, written, None)
    return HeaderNote(name, written, holds or ("", ""))


def _year_noted(name: str, note: str) -> bool:
    """Whether the note of a field with a unit names a school year and nothing more than the
    field's own unit (``2023年``, ``2023学年，人``)."""
    year, rest = _without_year(note)
    return year is not None and all(not p or p in unit_words(unit(name)) for p in _NOTE_PARTS.split(rest))


def _without_year(note: str) -> tuple[int | None, str]:
    """(the school year a header's note names, the note without it): ``2023年，万元`` → (2023, ``万元``)."""
    parts = _NOTE_PARTS.split(note)
    years = [int(found[1]) for found in map(_YEAR_NOTE.match, parts) if found]
    if not years:
        return None, note
    return years[0], ",".join(p for p in parts if p and not _YEAR_NOTE.match(p))


def note_year(header: Any) -> int | None:
    """The school year the note of a header naming a field says its values are of
    (``在校生数（2023年）``, ``占地面积（2023学年，亩）``), or None."""
    m = _TRAILING_UNIT.match(_norm(str(header))) if header is not None else None
    return _without_year(m.group(2))[0] if m and m.group(1) in _HEADER_INDEX else None


def _written_note(header: Any) -> str | None:
    """The note in a header's last brackets as written (its spaces kept), or None."""
    found = _SPACED_NOTE.search(unicodedata.normalize("NFKC", str(header)).translate(_BRACKETS))
    return found.group(1).strip() if found is not None else None


def _holds(note: str, written: str | None) -> tuple[str, str] | None:
    """What a header's note (``note``: normalised as headers are) says its column holds instead
    of the field (:data:`CHANGING_NOTES`), or None; English words are looked for in the note as
    ``written``, with its spaces."""
    spaced = written.lower() if written is not None else note
    note = _NOT_CHANGING.sub("", note)
    for english, word, holds in _CHANGING:
        if english.search(spaced) if english is not None else word in note:
            return holds
    return None


def _only_holds(name: str, note: str, header: Any) -> bool:
    """Whether the note of a field with a unit says what else its column holds and nothing more
    than the field's own unit (``上年``, ``上年/人``; not ``上年，万元``: a unit there is settled as a
    unit, never read as the field's own)."""
    if _holds(note, _written_note(header)) is None:
        return False
    rest = _NOT_CHANGING.sub("", note)
    for _, word, _holding in _CHANGING:
        rest = rest.replace(word.replace(" ", ""), "")
    return all(not part or part in unit_words(unit(name)) for part in _NOTE_PARTS.split(rest))


def names_plainly(header: Any) -> bool:
    """Whether ``header`` is a field's name or label itself, with no note or unit in brackets."""
    key = _norm(str(header)) if header is not None else ""
    if key.startswith("(") and key.endswith(")") and key.count("(") == 1:
        key = key[1:-1]
    return key in _HEADER_INDEX


def suggest_field(header: Any) -> str | None:
    """The known field an unknown header most likely meant (for a "did you mean" hint): of the
    names that contain it or that it contains, and the close spellings, the closest — so
    寄宿学生数 is 寄宿生数, not the 学生数 it also contains."""
    import difflib

    key = _norm(str(header))
    if not key:
        return None
    found = [known for known in _HEADER_INDEX if key in known or (len(known) >= 2 and known in key)] if len(key) >= 2 else []
    found += difflib.get_close_matches(key, list(_HEADER_INDEX), n=3, cutoff=0.75)
    if not found:
        return None
    return _HEADER_INDEX[max(found, key=lambda known: difflib.SequenceMatcher(None, key, known).ratio())]


# --- enumerations ---------------------------------------------------------------------

def _enum_norm(value: str) -> str:
    return _DROP.sub("", unicodedata.normalize("NFKC", value)).lower()


def _enum_table(spec: dict[str, Any], table: dict[str, str] | None = None) -> dict[str, str]:
    table = {} if table is None else table
    for v in spec["enum"]:
        table.setdefault(_enum_norm(str(v)), v)
    for v, zh in spec.get("x-enum-labels", {}).items():
        table.setdefault(_enum_norm(zh), v)
    for alias, v in spec.get("x-enum-aliases", {}).items():
        table.setdefault(_enum_norm(alias), v)
    return table


def _build_enum_index() -> dict[str, dict[str, str]]:
    index: dict[str, dict[str, str]] = {}
    for props in (_SCHOOL_PROPS, _COUNTY_PROPS):
        for name, spec in props.items():
            if "enum" in spec:
                _enum_table(spec, index.setdefault(name, {}))
    return index


_ENUM_INDEX = _build_enum_index()


def enum_value(name: str, raw: str) -> str | None:
    """The enum value ``raw`` stands for in field ``name`` (value, Chinese label or alias)."""
    table = _ENUM_INDEX.get(name)
    if table is None:
        return None
    return table.get(_enum_norm(raw))


def enum_label(name: str, value: str) -> str:
    """The Chinese label of an enum value (``primary`` → ``小学``); the value if it has none."""
    spec = _spec(name) or {}
    return spec.get("x-enum-labels", {}).get(value, value)
