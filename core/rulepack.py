"""Rule packs: read the YAML, check it against ``rulepack.schema.json``, merge, compile.

A pack is data. Loading goes: a regular file of bounded size → YAML (:mod:`edubalance.safeyaml`:
plain data, aliases and nesting bounded) → JSON-Schema check → every number finite → every
expression parsed and type-checked → fragments of one pack merged → overrides applied → the
chain ``national → province`` merged rule by rule → :func:`compile_ruleset` turns what is in
force in one year into the typed :class:`~edubalance.model.RuleSet` the engines run, checking
measures and types again on the merged rules. Expressions are parsed by :mod:`edubalance.expr`;
nothing in a pack can run code, and a pack error names the file, the pack and the rule.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from . import expr
from .packcache import cached_check
from .county_table import ROW_STAGES, STAGES
from .derive import DERIVED_MEASURES, FUNDING_MEASURES
from .model import Rule, RuleSet
from .loading import InputError, read_bytes
from .fields import COUNTY_FIELDS, COUNTY_TEXT_FIELDS, SCHOOL_FIELDS, TEXT_FIELDS
from .packfields import FieldConflict, declare
from .schemas import rulepack_schema

#: What a rule-language error in a pack is, before each half of the parser's own words.
EXPR_ERROR = ("规则表达式有误", "invalid rule expression")
#: Largest rule or override file read (the bundled packs are a few tens of kB).
MAX_RULE_FILE_BYTES = 4 << 20
#: The type of every text name a rule may read; every other name is a number.
NAME_TYPES = {name: expr.TEXT for name in (*TEXT_FIELDS, *COUNTY_TEXT_FIELDS)}


def _name_types(declared: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """:data:`NAME_TYPES` with the text fields among ``declared`` (a pack's ``fields:``)."""
    return {**NAME_TYPES, **{name: expr.TEXT for name, d in declared.items() if d.get("type") == "text"}}

#: Measures the county evaluation computes for every county row (see county_table.py).
COUNTY_MEASURES = ("composite_cv_2012", "schools_not_meeting_basic_standard",
                   "schools_not_meeting_resource_rule", "schools_in_scope")


class RulePackError(ValueError):
    """A rule pack (or override file) that cannot be used; the message names file and place."""


@dataclass
class PackSource:
    """Where a plug-in's pack lives: one or more YAML files that share one ``pack`` id."""

    files: list[Path]
    plugin: str = ""
    cases: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        # A plug-in may name one file, or give paths as text: read as the list of paths meant.
        self.files = _paths(self.files, "files", self.plugin)
        self.cases = _paths(self.cases, "cases", self.plugin)

    @classmethod
    def from_directory(cls, directory: str | Path, plugin: str = "") -> "PackSource":
        """A plug-in folder's pack: ``pack.yaml`` first, other ``*.yaml`` fragments, ``*cases.yaml`` as cases."""
        directory = Path(directory)
        yamls = sorted(directory.glob("*.yaml"), key=lambda p: (p.name != "pack.yaml", p.name))
        files = [p for p in yamls if not p.stem.endswith("cases")]
        if not files:
            # What an installed plug-in whose package left out its data files meets.
            raise RulePackError(f"{directory}: 插件 {plugin or '?'} 的目录中没有规则文件 pack.yaml；插件包须把 *.yaml "
                                f"作为包数据一起安装（package data）/ no rule file (pack.yaml) in the folder of plug-in "
                                f"{plugin or '?'}: its package must install its *.yaml files as package data")
        return cls(files=files, plugin=plugin, cases=[p for p in yamls if p.stem.endswith("cases")])


def _paths(given: Any, what: str, plugin: str) -> list[Path]:
    items = [given] if isinstance(given, (str, Path)) else given
    if not isinstance(items, (list, tuple)) or not all(isinstance(f, (str, Path)) for f in items):
        raise RulePackError(f"插件 {plugin or '?'} 的 PackSource.{what} 应为规则文件路径的列表，收到 {given!r} / "
                            f"PackSource.{what} of plug-in {plugin or '?'} must be a list of file paths, got {given!r}")
    return [Path(f) for f in items]


def pack_sources(found: Any) -> list[PackSource]:
    """What one plug-in's ``edubalance_rule_packs`` returned, as a list of :class:`PackSource`
    (one source alone is taken as a list of one); anything else is refused, saying what came."""
    if found is None:
        return []
    sources = [found] if isinstance(found, PackSource) else found
    if not isinstance(sources, (list, tuple)) or not all(isinstance(s, PackSource) for s in sources):
        raise RulePackError(f"edubalance_rule_packs 应返回 PackSource 的列表（如 [PackSource.from_directory(目录, "
                            f"plugin=\"名称\")]），收到 {found!r} / edubalance_rule_packs must return a list of "
                            f"PackSource (e.g. [PackSource.from_directory(folder, plugin=\"name\")]), got {found!r}")
    return list(sources)


@dataclass
class Pack:
    id: str
    revision: str
    data: dict[str, Any]
    files: list[str] = field(default_factory=list)
    plugin: str = ""
    cases: list[Path] = field(default_factory=list)
    #: The file each rule id is (last) given in, so that an error found when the rules are
    #: compiled names the file to fix.
    rule_files: dict[str, str] = field(default_factory=dict)
    #: The school fields the pack declares (``fields:``), as schema properties.
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def extends(self) -> str | None:
        return self.data.get("extends")

    @property
    def title(self) -> dict[str, str]:
        return self.data.get("title", {})


def read_pack_file(path: str | Path) -> dict[str, Any]:
    """Parse and check one pack or override file: schema, finite numbers, expressions and their types."""
    path = Path(path)
    text = read_rule_text(path)
    return cached_check(text, lambda: _checked(path, text))


def _checked(path: Path, text: str) -> dict[str, Any]:
    from . import safeyaml                           # only for a file not read before

    try:
        data = safeyaml.load(text)
    except safeyaml.YamlLimitError as exc:
        raise RulePackError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise RulePackError(f"{path}: 规则文件应为含 pack 和 revision 的映射 / a rule file must be a mapping with "
                            f"'pack' and 'revision'")
    check_schema(path, data, rulepack_schema(), ("规则文件", "rule file"))
    _check_unique_ids(path, data)
    for where, value in _numbers(data):
        if not _finite(value):
            raise RulePackError(f"{path}: pack {data['pack']}, {_place(data, where)}: 应为有限数字 expected a "
                                f"finite number, got {_shown(value)}")
    # Parse every expression now, so a bad rule file fails when it is loaded, not mid-run.
    types = _name_types(data.get("fields") or {})
    for where, text_expr, as_value in _expressions(data):
        try:
            node = (expr.parse_value if as_value else expr.parse_condition)(text_expr)
            expr.check_types(node, types)
        except expr.ExprError as exc:
            raise RulePackError(f"{path}: pack {data['pack']}, {_place(data, where)}: {_expr_error(exc)}") from None
    return data


def check_schema(path: Path, data: Any, schema: dict[str, Any], what: tuple[str, str]) -> None:
    """Raise one :class:`RulePackError` listing where ``data`` (a rule or case file) breaks ``schema``,
    each place with the rule (``id``) or case (``name``) it is in, so the author finds it."""
    from jsonschema import Draft202012Validator      # only for a file not read before

    from .schema_words import schema_error_text

    errors = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    n = len(errors)
    lines = [f"{path}: {what[0]}不符合格式（{n} 个问题）/ not a valid {what[1]} ({n} problem(s)):"]
    for err in errors[:20]:
        where = tuple(err.absolute_path)
        at = "/".join(str(p) for p in where) or "(top)"
        lines.append(f"  位置 at {at}{_item_at(data, where)}: {schema_error_text(err)}")
    raise RulePackError("\n".join(lines))


def _item_at(data: Any, where: tuple) -> str:
    """``（规则 rule henan.books）`` or ``（用例 case one）``: the listed rule or case a place is in, if it has an id or name."""
    if len(where) < 2 or not isinstance(where[1], int) or not isinstance(data, dict):
        return ""
    items = data.get(where[0])
    item = items[where[1]] if isinstance(items, list) and where[1] < len(items) else None
    if not isinstance(item, dict):
        return ""
    if isinstance(item.get("id"), str):
        return f"（规则 rule {item['id']}）"
    return f"（用例 case {item['name']}）" if isinstance(item.get("name"), str) else ""


def _check_unique_ids(path: Path, data: Mapping[str, Any]) -> None:
    """A rule id given twice in one file would be merged into one rule without a word (the later
    keys winning), so one of the author's rules would silently vanish: refuse it, naming both."""
    seen: dict[str, str] = {}
    for section in ("rules", "county_rules"):
        for i, rule in enumerate(data.get(section) or []):
            here = f"{section}/{i}"
            first = seen.setdefault(rule["id"], here)
            if first != here:
                raise RulePackError(f"{path}: pack {data['pack']}, rule {rule['id']}: 规则 id 重复（{first} 与 {here}），"
                                    f"请为每条规则取不同的 id / rule id given twice ({first} and {here}): give each "
                                    f"rule its own id")


def read_rule_text(path: Path) -> str:
    """A rule file's text: read as every input is (a regular file, never a device or a FIFO,
    which would never end; not empty), at most :data:`MAX_RULE_FILE_BYTES`, UTF-8."""
    try:
        raw = read_bytes(str(path), MAX_RULE_FILE_BYTES,
                         f"规则文件过大 the rule file is larger than {MAX_RULE_FILE_BYTES:,} bytes")
    except InputError as exc:
        raise RulePackError(str(exc)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1        # an editor shows lines, not bytes
        raise RulePackError(f"{path}: 第 {line} 行不是 UTF-8（如为 GBK 等编码，请另存为 UTF-8）/ line {line} is not "
                            f"UTF-8 ({exc.reason} at byte {exc.start}): a rule file must be UTF-8") from None


def _numbers(data: Any, where: tuple = ()) -> Iterable[tuple[tuple, Any]]:
    """Every number in a rule file, with its place (booleans are not numbers here)."""
    stack = [(where, data)]
    while stack:
        here, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((here + (k,), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((here + (i,), v) for i, v in enumerate(value))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield here, value


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:               # an integer beyond any float
        return False


def _shown(value: int | float) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return {math.inf: ".inf", -math.inf: "-.inf"}.get(value, ".nan")
    text = str(value) if not isinstance(value, int) or value.bit_length() < 200 else f"an integer of {len(str(abs(value)))} digits"
    return text[:60]


def _place(data: Mapping[str, Any], where: tuple) -> str:
    """``rule national.class_size, threshold/primary`` for a place in a rule file."""
    if len(where) >= 2 and where[0] in ("rules", "county_rules"):
        rules = data.get(where[0]) or []
        rid = rules[where[1]].get("id", f"#{where[1] + 1}") if where[1] < len(rules) else f"#{where[1] + 1}"
        rest = "/".join(str(p) for p in where[2:])
        return f"rule {rid}" + (f", {rest}" if rest else "")
    return "/".join(str(p) for p in where)


def _expressions(data: Mapping[str, Any]) -> Iterable[tuple[tuple, str, bool]]:
    for section in ("rules", "county_rules"):
        for i, rule in enumerate(data.get(section) or []):
            if "expression" in rule:
                yield (section, i, "expression"), rule["expression"], True
            when = (rule.get("scope") or {}).get("when")
            if when:
                yield (section, i, "scope", "when"), when, False
    params = data.get("parameters") or {}
    for name, entries in (params.get("funding") or {}).items():
        for i, entry in enumerate(entries):
            if entry.get("applies_when"):
                yield ("parameters", "funding", name, i, "applies_when"), entry["applies_when"], False
    for key, value in (params.get("county") or {}).items():
        if key.startswith("exclude_"):
            yield ("parameters", "county", key), value, False


def deep_merge(base: Any, over: Any) -> Any:
    """Dicts merge key by key; anything else is replaced by ``over``."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def merge_rule_lists(base: list[dict], over: list[dict]) -> list[dict]:
    """Rules with the same id merge key by key (the later wins); new ids append in order."""
    out = [copy.deepcopy(r) for r in base]
    index = {r["id"]: i for i, r in enumerate(out)}
    for rule in over:
        if rule["id"] in index:
            out[index[rule["id"]]] = deep_merge(out[index[rule["id"]]], rule)
        else:
            index[rule["id"]] = len(out)
            out.append(copy.deepcopy(rule))
    return out


def merge_pack_data(base: dict, over: dict) -> dict:
    """Merge a fragment or an override into a pack's data."""
    out = {k: copy.deepcopy(v) for k, v in base.items() if k not in ("rules", "county_rules", "parameters")}
    for k, v in over.items():
        if k not in ("rules", "county_rules", "parameters", "revision", "disable"):
            out[k] = copy.deepcopy(v)
    out["rules"] = merge_rule_lists(base.get("rules") or [], over.get("rules") or [])
    out["county_rules"] = merge_rule_lists(base.get("county_rules") or [], over.get("county_rules") or [])
    out["parameters"] = merge_parameters(base.get("parameters") or {}, over.get("parameters") or {})
    out["disable"] = list(base.get("disable") or []) + list(over.get("disable") or [])
    if base.get("fields") or over.get("fields"):
        out["fields"] = {**(base.get("fields") or {}), **(over.get("fields") or {})}
    out["revision"] = base.get("revision", over.get("revision"))
    return out


def load_pack(source: PackSource) -> Pack:
    """Read a plug-in's pack files into one :class:`Pack`."""
    data: dict[str, Any] | None = None
    names: list[str] = []
    rule_files: dict[str, str] = {}
    field_files: dict[str, str] = {}
    for path in source.files:
        part = read_pack_file(path)
        for name in part.get("fields") or {}:
            if name in field_files:
                raise RulePackError(f"{path}: 字段 '{name}' 已在 {field_files[name]} 中声明，同一规则包只能声明一次 / "
                                    f"field '{name}' is already declared in {field_files[name]}: a pack declares a "
                                    f"field once")
            field_files[name] = str(path)
        rule_files.update((r["id"], str(path)) for r in (part.get("rules") or []) + (part.get("county_rules") or []))
        if data is None:
            data = part
        else:
            if part["pack"] != data["pack"]:
                raise RulePackError(f"{path}: 规则包 '{data['pack']}' 的文件写的是 pack: {part['pack']} / pack "
                                  f"'{part['pack']}' in a file of pack '{data['pack']}'")
            data = merge_pack_data(data, part)
        names.append(str(path))
    if data is None:
        raise RulePackError(f"插件 {source.plugin or '?'} 给出的规则包没有文件 / plug-in {source.plugin or '?'} gave a "
                            f"pack with no files")
    if "title" not in data:
        raise RulePackError(f"{names[0]}: 规则包须有 title（zh 与 en）/ a pack needs a title (zh and en)")
    declared: dict[str, dict[str, Any]] = {}
    try:
        for file in dict.fromkeys(field_files.values()):
            part = {n: d for n, d in data["fields"].items() if field_files[n] == file}
            declared.update(declare(data["pack"], file, part))
    except FieldConflict as exc:
        raise RulePackError(str(exc)) from None
    return Pack(data["pack"], str(data["revision"]), data, names, source.plugin, list(source.cases), rule_files,
                declared)


class PackRegistry:
    """The packs on offer, by id; resolves a province's chain and applies overrides."""

    def __init__(self, packs: Iterable[Pack] = ()):
        self.packs: dict[str, Pack] = {}
        self.overrides: list[dict[str, Any]] = []
        for p in packs:
            self.add(p)

    def add(self, pack: Pack) -> None:
        if pack.id in self.packs:
            other = self.packs[pack.id]
            raise RulePackError(f"规则包 '{pack.id}' 重复：插件 {other.plugin}（{other.files[0] if other.files else '?'}）与 "
                                f"{pack.plugin}（{pack.files[0] if pack.files else '?'}）/ pack '{pack.id}' is given "
                                f"twice (plug-ins {other.plugin} and {pack.plugin})")
        self.packs[pack.id] = pack

    def apply_override(self, path: str | Path) -> None:
        """An override file patches a loaded pack: same format, only what changes.

        It is applied after the province chain is merged, so it wins over a province that
        restates the same rule; the pack's revision becomes ``<revision>+<override revision>``.
        """
        data = read_pack_file(path)
        if data.get("fields"):
            raise RulePackError(f"{path}: 修改文件不能声明字段（fields），字段由插件的规则包声明 / an override file cannot "
                                f"declare fields: a plug-in's pack declares them")
        target = self.packs.get(data["pack"])
        if target is None:
            raise RulePackError(f"{path}: 要修改的规则包 '{data['pack']}' 未加载 / overrides pack '{data['pack']}', "
                                f"which is not loaded (loaded: {', '.join(sorted(self.packs)) or 'none'})")
        known = {r["id"] for r in target.data.get("rules", []) + target.data.get("county_rules", [])}
        for r in (data.get("rules") or []) + (data.get("county_rules") or []):
            if r["id"] not in known and "measure" not in r:
                raise RulePackError(f"{path}: 规则包 '{target.id}' 中没有规则 '{r['id']}' / rule '{r['id']}' is not in "
                                    f"pack '{target.id}'")
        self.overrides.append({**data, OVERRIDE_FILE: str(path)})
        self.packs[target.id] = Pack(target.id, f"{target.revision}+{data['revision']}", target.data,
                                     target.files + [str(path)], target.plugin, target.cases, target.rule_files,
                                     target.fields)

    def declared(self, province: str | None = None) -> dict[str, dict[str, Any]]:
        """The school fields the packs declare: those of ``province``'s chain, or of every pack."""
        packs = self.chain(province) if province is not None else self.packs.values()
        return {name: spec for pack in packs for name, spec in pack.fields.items()}

    @property
    def provinces(self) -> list[str]:
        """Packs that can judge records: every pack but pure bases that others extend."""
        bases = {p.extends for p in self.packs.values() if p.extends}
        return sorted(pid for pid in self.packs if pid not in bases) or sorted(self.packs)

    def chain(self, pack_id: str) -> list[Pack]:
        """Base first: ``[national, guizhou]``."""
        chain: list[Pack] = []
        seen: set[str] = set()
        current: str | None = pack_id
        while current:
            child = chain[-1] if chain else None
            where = f"{child.files[0]}: " if child and child.files else ""
            if current in seen:
                raise RulePackError(f"{where}规则包 '{pack_id}' 的 extends 循环经过 '{current}' / pack '{pack_id}': "
                                    f"'extends' loops through '{current}'")
            pack = self.packs.get(current)
            if pack is None:
                loaded = ", ".join(sorted(self.packs)) or "none"
                if child is None:
                    raise RulePackError(f"没有规则包 '{current}'（已加载：{loaded}）/ no rule pack '{current}' is "
                                        f"loaded (loaded: {loaded})")
                import difflib                      # only for a message

                close = difflib.get_close_matches(current, sorted(self.packs), n=1)
                hint = f"；是否应为 '{close[0]}'" if close else ""
                raise RulePackError(f"{where}规则包 '{child.id}' 的 extends: '{current}' 未加载（已加载：{loaded}{hint}）/ "
                                    f"pack '{child.id}' extends '{current}', which is not loaded (loaded: {loaded})"
                                    + (f"; did you mean '{close[0]}'?" if close else ""))
            seen.add(current)
            chain.append(pack)
            current = pack.extends
        return list(reversed(chain))


def in_force(entries: list[dict] | None, year: int) -> list[dict]:
    """The year-ranged entries in force in ``year``, in the order they are listed."""
    return [e for e in entries or []
            if (e.get("from") is None or year >= e["from"]) and (e.get("to") is None or year <= e["to"])]


def merge_parameters(base: dict, over: dict, pack: str | None = None) -> dict:
    """``over`` on top of ``base``: county parameters key by key; funding parameters by key and year.

    A funding parameter is a list of year-ranged entries. The entries ``over`` gives for a key
    come first and the base's follow, so in a year where both have one a school takes the
    province's entry when its ``applies_when`` holds and the base's otherwise, and in the years
    the province names nothing the base's entries apply unchanged: a province overrides the
    parameters it names, where and when it names them, and inherits the rest. ``pack`` (the
    pack that gives ``over``) is written on each of its entries, so a listing can say whose
    entry it is.
    """
    out = deep_merge({k: v for k, v in base.items() if k != "funding"},
                     {k: v for k, v in over.items() if k != "funding"})
    funding = {k: list(v) for k, v in (base.get("funding") or {}).items()}
    for key, entries in (over.get("funding") or {}).items():
        mine = [copy.deepcopy(e) for e in entries]
        if pack:
            for e in mine:
                e.setdefault("pack", pack)
        funding[key] = mine + funding.get(key, [])
    if funding:
        out["funding"] = funding
    return out


def _merged_chain(chain: list[Pack], overrides: list[dict]) -> tuple[dict, dict[str, str], dict[str, str]]:
    """Merge the chain, then its overrides; remember which pack's revision each rule carries and
    the file that last gave it (for errors)."""
    merged: dict[str, Any] = {"rules": [], "county_rules": [], "parameters": {}}
    owner: dict[str, str] = {}
    files: dict[str, str] = {}
    for pack in chain:
        data = pack.data
        _check_base_ids(pack, merged)
        disabled = set(data.get("disable") or [])
        for section in ("rules", "county_rules"):
            kept = [r for r in merged[section] if r["id"] not in disabled]
            merged[section] = merge_rule_lists(kept, data.get(section) or [])
            for r in data.get(section) or []:
                owner[r["id"]] = pack.id
                files[r["id"]] = pack.rule_files.get(r["id"], pack.files[0] if pack.files else "")
        merged["parameters"] = merge_parameters(merged["parameters"], data.get("parameters") or {}, pack.id)
    ids = {p.id for p in chain}
    for data in overrides:
        if data["pack"] not in ids:
            continue
        for section in ("rules", "county_rules"):
            before = {r["id"]: r for r in merged[section]}
            merged[section] = merge_rule_lists(merged[section], data.get(section) or [])
            after = {r["id"]: r for r in merged[section]}
            for r in data.get(section) or []:
                owner[r["id"]] = data["pack"]       # its revision carries the override's
                files[r["id"]] = data.get(OVERRIDE_FILE, "")
                if r["id"] in before:
                    _restate(after[r["id"]], before[r["id"]], r, data)
        merged["parameters"] = merge_parameters(merged["parameters"], data.get("parameters") or {}, data["pack"])
    return merged, owner, files


def _check_base_ids(pack: Pack, merged: dict[str, Any]) -> None:
    """A rule a pack disables, or restates under another pack's id, must be in the packs it
    extends: a misspelled id would otherwise leave the base rule in force (``disable``) or
    make a new, incomplete rule, and the author would never learn why."""
    base = sorted(r["id"] for section in ("rules", "county_rules") for r in merged[section])
    refs = [("disable", rid, pack.files[0] if pack.files else "") for rid in pack.data.get("disable") or []]
    refs += [("rule", r["id"], pack.rule_files.get(r["id"], "")) for section in ("rules", "county_rules")
             for r in pack.data.get(section) or [] if r["id"].split(".")[0] != pack.id]
    known = set(base)
    for key, rid, file in refs:
        if rid in known:
            continue
        import difflib                              # only for a message

        close = difflib.get_close_matches(rid, base, n=1)
        raise RulePackError(f"{file + ': ' if file else ''}pack {pack.id}, {key} {rid}: 所扩展的规则包中没有规则 '{rid}'"
                            + (f"（是否应为 '{close[0]}'）" if close else "")
                            + f" / no pack that {pack.id} extends has rule '{rid}'"
                            + (f"; did you mean '{close[0]}'?" if close else ""))


OVERRIDE_FILE = "_file"      # where an override came from, kept beside its data
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
_ZH_NUMERALS = dict(zip(range(1, 11), "一二三四五六七八九十"))


def _restate(rule: dict, old: dict, over: dict, data: dict) -> None:
    """An overridden rule says what it now is: the override's source replaces the old one
    whole; a new threshold carries the override's source and status (``provisional`` unless the
    override states otherwise) and a title that states the new threshold, not the old one."""
    if "source" in over:
        rule["source"] = copy.deepcopy(over["source"])
    if "threshold" not in over and "threshold_measure" not in over:
        return
    if "source" not in over:
        rule["source"] = {"document": data.get(OVERRIDE_FILE, "override"), "clause": f"revision {data['revision']}"}
    if "threshold_status" not in over:
        rule["threshold_status"] = "provisional"
    if "title" not in over and "title" in old:
        rule["title"] = {lang: _restate_title(text, old.get("threshold"), rule.get("threshold"), rule["id"], lang,
                                              data.get(OVERRIDE_FILE, "override"))
                         for lang, text in old["title"].items()}


def _restate_title(text: str, old: Any, new: Any, rule_id: str, lang: str, where: str) -> str:
    """``text`` with each old threshold it states replaced by the new one; an error when the title
    states a changed threshold in a way that cannot be rewritten safely."""
    def by_stage(t: Any) -> dict[str, float]:
        if isinstance(t, dict):
            return {k: float(v) for k, v in t.items()}
        return {s: float(t) for s in ROW_STAGES} if t is not None else {}
    before, after = by_stage(old), by_stage(new)
    changes: dict[float, set[float]] = {}
    kept: set[float] = set()
    for stage, value in before.items():
        if stage in after and after[stage] != value:
            changes.setdefault(value, set()).add(after[stage])
        else:
            kept.add(value)
    stated = {float(m.group()) for m in _NUMBER.finditer(text)}
    problem = None
    for value, targets in changes.items():
        in_words = value.is_integer() and _ZH_NUMERALS.get(int(value), "\0") in text and lang == "zh"
        if value in stated and (len(targets) > 1 or value in kept):
            problem = f"it states {value:g} for stages that now differ"
        elif in_words:
            problem = f"it states {value:g} in words"
    if problem:
        raise RulePackError(f"{where}: rule {rule_id} changes a threshold its {lang} title states ({text}); "
                            f"{problem}: give the rule a new title in the override")

    def swap(m: re.Match) -> str:
        value = float(m.group())
        if value in changes:
            new_value = next(iter(changes[value]))
            return str(int(new_value)) if new_value.is_integer() else f"{new_value:g}"
        return m.group()
    return _NUMBER.sub(swap, text)


def uncompilable(registry: PackRegistry) -> dict[str, str]:
    """Each province whose rules (of every year) do not compile → the error. Reading a pack
    checks each file; what only the merged chain shows (an unknown measure, an ``extends`` of a
    pack not loaded) would otherwise wait for the province's first evaluation."""
    found: dict[str, str] = {}
    for pid in registry.provinces:
        try:
            compile_ruleset(registry, pid, None)
        except RulePackError as exc:
            found[pid] = str(exc)
    return found


def compile_ruleset(registry: PackRegistry, province: str, year: int | None) -> RuleSet:
    """Everything in force for ``province`` in ``year`` (every year if None), compiled for the engines."""
    chain = registry.chain(province)
    merged, owner, files = _merged_chain(chain, registry.overrides)
    revisions = {p.id: p.revision for p in chain}
    measures: dict[str, expr.Node] = {}
    declared = registry.declared(province)
    types = {**NAME_TYPES, **{name: expr.TEXT for name, spec in declared.items() if spec["type"] == "string"}}
    school_known = set(SCHOOL_FIELDS) | set(DERIVED_MEASURES) | set(declared)
    for r in merged["rules"]:
        if r.get("expression") and r.get("measure"):
            school_known.add(r["measure"])
    county_known = set(COUNTY_FIELDS) | set(COUNTY_MEASURES) | {"year"}
    for r in merged["county_rules"]:
        if r.get("expression") and r.get("measure"):
            county_known.add(r["measure"])
    params = merged["parameters"]
    for ind in (params.get("county") or {}).get("cv_2017_indicators", []):
        county_known.add(f"cv_{ind}")
    for ind in (params.get("county") or {}).get("cv_2012_indicators", []):
        county_known.add(f"cv2012_{ind}")

    def build(section: str, known: set[str], stages: tuple[str, ...], level: str) -> list[Rule]:
        out = []
        for raw in merged[section]:
            pack = owner[raw["id"]]
            rule = _compile_rule(raw, pack, revisions[pack], known, stages, measures, level, files[raw["id"]], types)
            if year is None or rule.in_force(year):
                out.append(rule)
        return out

    school = [_funding_status(r) for r in build("rules", school_known, STAGES, "school")]
    county = build("county_rules", county_known, ROW_STAGES, "county")
    checks = [r for r in school if r.kind == "check"]
    composites = [r for r in school if r.kind == "count_met"]
    ids = {r.id for r in checks}
    for c in composites:
        missing = [i for i in c.of if i not in ids]
        if missing:
            raise RulePackError(f"{_at(files[c.id], c.pack, c.id)}: of 中的规则不存在或不在适用年份 / counts rules "
                                f"that are not in force: {', '.join(missing)}")
    return RuleSet(province=province, year=year,
                   packs=[{"id": p.id, "revision": p.revision} for p in chain],
                   rules=checks, composites=composites, county_rules=county,
                   parameters=params, measures=measures)


def _funding_status(rule: Rule) -> Rule:
    """A rule judged against the entitlement rests on a provisional value exactly where a
    provisional funding parameter entered that school's entitlement (``funding_provisional``,
    computed by :mod:`edubalance.funding`), not wherever one is in force."""
    if not ({rule.measure, rule.threshold_measure} & set(FUNDING_MEASURES)):
        return rule
    return dataclasses.replace(rule, provisional_when="funding_provisional")


REQUIRED_RULE_KEYS = ("title", "dimension", "severity", "measure", "threshold_status", "source")


def _at(file: str, pack: str, rid: str) -> str:
    """``pack.yaml: pack henan, rule henan.books``: where a rule error is, as a read error says it."""
    return f"{file + ': ' if file else ''}pack {pack}, rule {rid}"


def _compile_rule(raw: dict, pack: str, revision: str, known: set[str], stages: tuple[str, ...],
                  measures: dict[str, expr.Node], level: str, file: str = "",
                  types: Mapping[str, str] = NAME_TYPES) -> Rule:
    rid = raw["id"]
    kind = raw.get("kind", "check")
    needed = REQUIRED_RULE_KEYS + (("operator",) if kind == "check" else ("of", "threshold"))
    absent = [k for k in needed if k not in raw]
    if kind == "check" and "threshold" not in raw and "threshold_measure" not in raw:
        absent.append("threshold or threshold_measure")
    if absent:
        raise RulePackError(f"{_at(file, pack, rid)}: 缺少 {'、'.join(absent)} / missing {', '.join(absent)}")
    measure = raw["measure"]
    try:
        for name in (measure, raw.get("threshold_measure")):
            if name and types.get(name) == expr.TEXT:
                raise expr.ExprError(f"'{name}' 是文字，规则须比较数字（指标或数字字段）",
                                     f"'{name}' is text; a rule compares a number (a measure or a numeric field)")
        if raw.get("expression"):
            node = _keyed_error("expression", lambda: expr.parse_value(raw["expression"], known))
            expr.check_types(node, types)
            if measure in measures and str(measures[measure]) != str(node):
                raise RulePackError(f"{_at(file, pack, rid)}: 指标 '{measure}' 已由另一条规则的表达式定义 / measure "
                                    f"'{measure}' is already defined by another expression")
            measures[measure] = node
        elif kind == "check" and measure not in known:
            raise _unknown(measure, known)
        if raw.get("threshold_measure") and raw["threshold_measure"] not in known:
            raise _unknown(raw["threshold_measure"], known)
        scope = raw.get("scope") or {}
        wanted = tuple(scope.get("stages") or stages)
        threshold = raw.get("threshold", 0.0)       # absent only beside a threshold_measure
        if isinstance(threshold, dict):
            thresholds = {s: float(v) for s, v in threshold.items() if s in wanted}
        else:
            thresholds = {s: float(threshold) for s in wanted if s in stages}
            if level == "county" and "stages" not in scope:
                thresholds = {"county": float(threshold)}
        scope_node, text = _scope_node(scope, known, level)
        if scope_node is not None:
            expr.check_types(scope_node, types)
            scope_node, lifted = expr.lift_arithmetic(scope_node)
            measures.update(lifted)
    except expr.ExprError as exc:
        raise RulePackError(f"{_at(file, pack, rid)}: {exc}") from None
    eff = raw.get("effective") or {}
    return Rule(
        id=rid, pack=pack, pack_revision=revision,
        title_zh=raw["title"]["zh"], title_en=raw["title"]["en"],
        dimension=raw["dimension"], severity=raw["severity"], weight=float(raw.get("weight", 1)),
        measure=measure, operator=raw.get("operator", ">="), thresholds=thresholds,
        unit=raw.get("unit", ""), scope=scope_node, scope_text=text,
        threshold_status=raw["threshold_status"], source=dict(raw["source"]),
        effective_from=eff.get("from"), effective_to=eff.get("to"),
        threshold_measure=raw.get("threshold_measure"), kind=kind,
        of=tuple(raw.get("of") or ()), min_ratio=raw.get("min_ratio"),
        programme=tuple(raw.get("programme") or ()), note=raw.get("note", ""),
        standard=raw.get("standard", ""),
    )


def _unknown(name: str, known: set[str]) -> expr.ExprError:
    import difflib                                  # only for a message

    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint_zh, hint = (f"；是否想写 '{close[0]}'？", f"; did you mean '{close[0]}'?") if close else ("", "")
    return expr.ExprError(f"未知的指标 '{name}'：应为记录字段、派生指标或某条规则以表达式定义的指标{hint_zh}",
                          f"unknown measure '{name}': expected a record field, a derived measure or a "
                          f"measure a rule defines with an expression{hint}")


def _keyed_error(key: str, parse: Callable[[], expr.Node]) -> expr.Node:
    """``parse()``, its error saying which key of the rule holds the text it is about."""
    try:
        return parse()
    except expr.ExprError as exc:
        raise expr.ExprError(f"{key}: {_expr_error(exc)}") from None


def _expr_error(exc: expr.ExprError) -> str:
    """``exc`` named as a rule-language error before each half: ``规则表达式有误：… / invalid rule expression: …``."""
    if not exc.en:
        return f"{EXPR_ERROR[0]}：{exc.zh}"
    return f"{EXPR_ERROR[0]}：{exc.zh} / {EXPR_ERROR[1]}: {exc.en}"


def _scope_node(scope: Mapping[str, Any], known: set[str], level: str) -> tuple[expr.Node | None, str]:
    """Scope lists and ``when`` as one condition; school rules also need pupils (students > 0)."""
    parts: list[str] = []
    if level == "school":
        parts.append("students > 0")
    if scope.get("school_types"):
        parts.append("school_type in [" + ", ".join(f"'{t}'" for t in scope["school_types"]) + "]")
    if scope.get("locations"):
        parts.append("location in [" + ", ".join(f"'{t}'" for t in scope["locations"]) + "]")
    names = known | {"school_type", "location", "stage"}
    if scope.get("when"):
        # Alone first, so that an error's column is a column of what the author wrote.
        _keyed_error("scope/when", lambda: expr.parse_condition(scope["when"], names))
        parts.append(f"({scope['when']})")
    if not parts:
        return None, ""
    text = " and ".join(parts)
    node = expr.parse_condition(text, names)
    shown = " and ".join(p for p in parts if p != "students > 0")   # the implicit part is not news
    return node, shown
