"""School report entries, rendered as JSON column by column.

A national file holds ~200,000 school records with ~22 verdicts each. Building a dict per
verdict and encoding it takes minutes and several GB of memory, so entries are kept as columns
(:class:`SchoolBlock`) and rendered on demand: whatever is the same for every school of a rule
set (the key names, each rule's id) is encoded once into a template (rule descriptions and
funding parameters are not repeated at all: see :mod:`edubalance.catalogue`), numbers are formatted a whole column at a time, and each school's entry is one
``template % pieces``. ``Report.schools`` parses these bytes back, so the dicts an embedding
program reads and the file the CLI writes can never disagree.

Verdict lists come in two modes: ``all`` (every rule, the default) and ``findings`` (only
``fail`` and ``missing_data`` verdicts; the counts, scores, funding and status stay complete).
"""
from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from .derive import DERIVED_MEASURES
from .model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, STATUS_NAMES, Rule, RuleResults
from .table import Table

try:  # optional: a much faster encoder; the output parses to the same values either way
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised only where orjson is absent
    _orjson = None

VERDICT_MODES = ("all", "findings")
IDENTITY = ("school_id", "stage", "school_name", "county_code", "county_name", "province", "year",
            "school_type", "location")
FUNDING_KEYS = (("entitlement_yuan", "public_funds_entitlement_yuan"),
                ("received_yuan", "public_funds_received_yuan"),
                ("shortfall_yuan", None),
                ("counted_pupils", "funding_counted_pupils"),
                ("floor_applied", "funding_floor_applied"),
                ("base_yuan", "funding_base_yuan"),
                ("supplement_yuan", "funding_supplement_yuan"),
                ("special_needs_yuan", "funding_special_yuan"),
                ("heating_yuan", "funding_heating_yuan"))
_LISTED = {"all": (PASS, FAIL, NOT_APPLICABLE, MISSING_DATA), "findings": (FAIL, MISSING_DATA)}
_NULL = b"null"
_INF = float("inf")


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON.

    Report values never hold NaN (every number goes through :func:`number_tokens` or the
    county module's conversion, which make it ``null``); the stdlib encoder would refuse one,
    orjson would write ``null``.
    """
    if _orjson is not None:
        return _orjson.dumps(obj)
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes) -> Any:
    return _orjson.loads(data) if _orjson is not None else json.loads(data)


def number_tokens(values: np.ndarray, whole_as_int: bool = True) -> list[bytes]:
    """JSON tokens of a float column: NaN → ``null``; whole numbers as ints if ``whole_as_int``.

    The same rule as the report's scalar conversion: a float that is a whole number below 2**53
    is written as an int, any other float as the shortest text that reads back to it.
    """
    a = np.asarray(values, dtype=float)
    if a.size <= _SMALL:
        return [_number_token(x, whole_as_int) for x in a.ravel().tolist()]
    if np.isinf(a).any():
        raise ValueError("Out of range float values are not JSON compliant")
    nan = np.isnan(a)
    obj = a.astype(object)
    if whole_as_int:
        with np.errstate(invalid="ignore"):
            whole = ~nan & (a == np.trunc(a)) & (np.abs(a) < 2.0 ** 53)
        if whole.any():
            obj[whole] = a[whole].astype(np.int64).astype(object)
    if nan.any():
        obj[nan] = None
    if _orjson is not None:
        text = _orjson.dumps(obj.tolist())
    else:
        text = json.dumps(obj.tolist(), separators=(",", ":")).encode("ascii")
    return text[1:-1].split(b",")


_SMALL = 16     # below this many values, plain Python beats NumPy's per-call overhead


def token_columns(columns: Sequence[np.ndarray], whole_as_int: bool = True) -> list[list[bytes]]:
    """:func:`number_tokens` of several equal-length columns in one call (one school's entry
    has ~50 numbers in ~20 columns: formatting them together saves the per-call overhead)."""
    if not columns:
        return []
    m = len(columns[0])
    flat = number_tokens(np.concatenate(columns) if len(columns) > 1 else columns[0], whole_as_int)
    return [flat[j * m:(j + 1) * m] for j in range(len(columns))]


def _number_token(x: float, whole_as_int: bool) -> bytes:
    if x != x:
        return _NULL
    if x in (_INF, -_INF):
        raise ValueError("Out of range float values are not JSON compliant")
    if whole_as_int and x.is_integer() and abs(x) < 2.0 ** 53:
        return b"%d" % int(x)
    return _orjson.dumps(x) if _orjson is not None else repr(x).encode("ascii")


def _number(x: float, whole_as_int: bool = True) -> int | float | None:
    """The value :func:`number_tokens` writes for ``x``, as JSON would read it back."""
    if x != x:
        return None
    if x in (_INF, -_INF):
        raise ValueError("Out of range float values are not JSON compliant")
    if whole_as_int and x.is_integer() and abs(x) < 2.0 ** 53:
        return int(x)
    return x


def _verdict(rule_id: str, status: int, value: float, threshold: float) -> dict[str, Any]:
    """One verdict as a dict: what the verdict templates of :func:`_rule_texts` write."""
    gap = None
    if status in (PASS, FAIL) and value == value and threshold == threshold:
        diff = value - threshold
        gap = {"value": _number(diff), "share": _number(diff / threshold) if threshold != 0 else None}
    return {"rule_id": rule_id, "status": STATUS_NAMES[status], "value": _number(value),
            "threshold": _number(threshold), "gap": gap}


def _scalar_dumps(v: str | int | None) -> bytes:
    if _orjson is not None:
        return _orjson.dumps(v)
    return json.dumps(v, ensure_ascii=False).encode("utf-8")


def text_tokens(values: Sequence[str | int | None]) -> list[bytes]:
    """JSON tokens of a text (or integer) column, ``None`` → ``null``; repeats encoded once."""
    cache: dict[Any, bytes] = {}
    if len(values) > 64 and len(set(values)) > len(values) // 2:  # mostly distinct: no cache
        return list(map(_orjson.dumps if _orjson is not None else _scalar_dumps, values))
    out = []
    for v in values:
        t = cache.get(v)
        if t is None:
            t = cache[v] = _scalar_dumps(v)
        out.append(t)
    return out


def _static(data: bytes) -> bytes:
    """Encoded JSON to be used as a ``%`` template: its own ``%`` signs doubled."""
    return data.replace(b"%", b"%%")


_KEYS: dict[str, bytes] = {}


def _key(name: str) -> bytes:
    """``"name":`` ready for a ``%`` template."""
    k = _KEYS.get(name)
    if k is None:
        k = _KEYS[name] = _static(_scalar_dumps(name)) + b":"
    return k


_RULE_TEXTS: dict[tuple[int, ...], tuple] = {}
_GAPS = (b'null}', b'{"value":%b,"share":%b}}')       # not judged, judged


def _rule_texts(rules: Sequence[Rule]) -> tuple[list[dict], list[bytes], list[int], list[bytes]]:
    """(descriptions, verdict templates, provisional rule positions, their ids), once per rule list.

    Verdict templates are indexed by ``((k * 4 + c) * 2 + judged) * 2 + blank`` for rule k and
    status code c: ``judged`` verdicts have a gap (four ``%b``: value, threshold, gap and its
    share), other verdicts ``"gap":null`` (two: value, threshold), and ``blank`` ones (no value,
    no threshold) are complete texts with none. A verdict names its rule by id only (the
    description is in the report's rule catalogue). Cached by the rules' identities; the cache
    holds the rules, so an identity cannot be reused meanwhile.
    """
    key = tuple(map(id, rules))
    found = _RULE_TEXTS.get(key)
    if found is None:
        descs = [r.describe() for r in rules]
        templates = []
        for d in descs:
            for name in STATUS_NAMES:
                for gap in _GAPS:
                    t = (b'{"rule_id":' + _static(dumps(d["rule_id"])) + b',"status":' + dumps(name)
                         + b',"value":%b,"threshold":%b,"gap":' + gap)
                    templates += [t, _static(t % (_NULL, _NULL)) if gap == _GAPS[0] else None]
        provisional = [k for k, d in enumerate(descs)
                       if d.get("threshold_status") == "provisional" or d.get("provisional_when")]
        if len(_RULE_TEXTS) >= 64:
            _RULE_TEXTS.clear()
        found = _RULE_TEXTS[key] = (list(rules), (descs, templates, provisional,
                                                  [dumps(descs[k]["rule_id"]) for k in provisional]))
    return found[1]


#: Templates shared by every block of the same shape (a single-record call makes a new block
#: each time): entry templates by (rule set, dimensions), measure templates by measure names.
_ENTRY_TEMPLATES: dict[tuple, bytes] = {}
_MEASURE_TEMPLATES: dict[tuple[str, ...], dict[Any, bytes]] = {}


class SchoolBlock:
    """The schools of one (province, year) group, as columns; entries are rendered on demand.

    ``ruleset`` is the key of the rule set that judged them in the report's catalogue
    (:func:`edubalance.catalogue.ruleset_key`); ``files`` and ``rows`` are each record's
    source; ``status`` is each school's ``pass``/``fail``/``incomplete``/``not_applicable``.
    """

    def __init__(self, table: Table, results: RuleResults, overall: np.ndarray,
                 by_dim: dict[str, np.ndarray], status: np.ndarray, ruleset: str,
                 files: Sequence[str | None], rows: Sequence[int | None]):
        self.n = table.n
        self.results = results
        self.overall = overall
        self.by_dim = by_dim
        self.status = np.asarray(status, dtype=object)
        self.files = list(files)
        self.rows = list(rows)
        self.identity = {k: table.get(k) for k in IDENTITY}
        names = sorted({r.measure for r in results.rules} | set(DERIVED_MEASURES))
        self.measure_names = [m for m in names if m in table.columns]
        self.measures = [table.columns[m] for m in self.measure_names]
        self.funding = {col: table.get(col) for _, col in FUNDING_KEYS if col}
        self.ruleset = ruleset
        self._measure_templates = _MEASURE_TEMPLATES.setdefault(tuple(self.measure_names), {})
        if len(_MEASURE_TEMPLATES) > 256:
            _MEASURE_TEMPLATES.clear()
        self.descs, self._verdict_templates, self._provisional, self._provisional_ids = _rule_texts(results.rules)
        # Where each provisional rule's verdict rests on a provisional value: everywhere, or
        # where its ``provisional_when`` measure is 1 (e.g. a provisional funding parameter).
        self._provisional_at = np.array(
            [np.ones(self.n, bool) if self.descs[k]["threshold_status"] == "provisional"
             else table.get(self.descs[k]["provisional_when"]) == 1 for k in self._provisional],
            dtype=bool).reshape(len(self._provisional), self.n)
        self.basic = table.get("meets_basic_standard")      # 1 / 0 / NaN → true / false / null

    # -- what a summary needs, without rendering ---------------------------------------------
    def sort_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """county_code, school_id, stage ("" when missing) and year (0 when missing): the
        report orders schools by these."""
        ident = self.identity
        text = []
        for name in ("county_code", "school_id", "stage"):
            col = np.asarray(ident[name], dtype=object)
            missing = np.equal(col, None)
            if missing.any():
                col = col.copy()
                col[missing] = ""
            text.append(col)
        years = np.asarray(ident["year"], dtype=float)
        return (*text, np.where(np.isnan(years), 0, years).astype(np.int64))

    def score_key(self, i: int) -> float:
        """School ``i``'s overall score for ordering findings (a missing score counts as 0)."""
        v = float(self.overall[i])
        return 0 if v != v else v

    def provisional_rules_used(self) -> set[str]:
        """Rules with a provisional threshold that passed or failed somewhere in the block."""
        status = self.results.status
        return {self.descs[k]["rule_id"] for j, k in enumerate(self._provisional)
                if (((status[k] == PASS) | (status[k] == FAIL)) & self._provisional_at[j]).any()}

    # -- rendering ------------------------------------------------------------------------------
    def render(self, index: np.ndarray, verdicts: str = "all") -> list[bytes]:
        """The JSON entries of schools ``index`` (positions in this block), in that order."""
        if verdicts not in _LISTED:
            raise ValueError(f"unknown verdicts mode '{verdicts}' (choose from {', '.join(VERDICT_MODES)})")
        index = np.asarray(index, dtype=np.int64)
        m = len(index)
        if m == 0:
            return []
        pieces: list[Sequence[bytes]] = []
        for name in IDENTITY:
            col = self.identity[name][index]
            if col.dtype == object:
                pieces.append(text_tokens(col.tolist()))
            else:
                pieces.append(number_tokens(col))
        pieces.append(text_tokens([self.files[i] for i in index.tolist()]))
        pieces.append(text_tokens([self.rows[i] for i in index.tolist()]))
        pieces.append(self._measures(index))
        pieces.append(self._verdicts(index, verdicts))
        status = self.results.status[:, index]
        pieces.extend(token_columns([(status == code).sum(0).astype(float) for code in range(len(STATUS_NAMES))]))
        pieces.extend(self._funding(index))
        pieces.extend(token_columns([self.overall[index]] + [self.by_dim[dim][index] for dim in self.by_dim]))
        pieces.append(text_tokens(self.status[index].tolist()))
        pieces.append(self._provisional_lists(status, index))
        pieces.append([_NULL if x != x else (b"true" if x else b"false") for x in self.basic[index].tolist()])
        template = self._template(verdicts)
        return [template % args for args in zip(*pieces)]

    def entry(self, i: int, verdicts: str = "all") -> dict[str, Any]:
        """School ``i``'s entry as a dict, equal to parsing ``render([i])`` (keys in the same
        order, the same ints and floats) but built directly: one record through the Python API
        should not pay for formatting JSON and parsing it back."""
        if verdicts not in _LISTED:
            raise ValueError(f"unknown verdicts mode '{verdicts}' (choose from {', '.join(VERDICT_MODES)})")
        out: dict[str, Any] = {}
        for name in IDENTITY:
            col = self.identity[name]
            out[name] = col[i] if col.dtype == object else _number(float(col[i]))
        out["ruleset"] = self.ruleset
        out["source"] = {"file": self.files[i], "row": self.rows[i]}
        measures = {}
        for name, col in zip(self.measure_names, self.measures):
            x = float(col[i])
            if x == x:
                measures[name] = _number(x)
        out["measures"] = measures
        res = self.results
        status = res.status[:, i].tolist()
        values, thresholds = res.value[:, i].tolist(), res.threshold[:, i].tolist()
        listed = _LISTED[verdicts]
        out["verdicts"] = [_verdict(self.descs[k]["rule_id"], s, values[k], thresholds[k])
                           for k, s in enumerate(status) if s in listed]
        out["counts"] = {name: status.count(code) for code, name in enumerate(STATUS_NAMES)}
        funding = {col: float(self.funding[col][i]) for col in self.funding}
        money: dict[str, Any] = {}
        for key, col in FUNDING_KEYS:
            if key == "shortfall_yuan":
                x = float(np.maximum(funding["public_funds_entitlement_yuan"] - funding["public_funds_received_yuan"], 0.0))
            else:
                x = funding[col]
            if key == "floor_applied":
                money[key] = None if x != x else bool(x)
            else:
                money[key] = _number(x, whole_as_int=False)
        out["funding"] = money
        out["score"] = {"overall": _number(float(self.overall[i])),
                        "by_dimension": {dim: _number(float(col[i])) for dim, col in self.by_dim.items()}}
        out["status"] = self.status[i]
        out["provisional_rules"] = [self.descs[k]["rule_id"] for j, k in enumerate(self._provisional)
                                    if status[k] in (PASS, FAIL) and self._provisional_at[j, i]]
        basic = float(self.basic[i])
        out["meets_basic_standard"] = None if basic != basic else bool(basic)
        return out

    def _template(self, verdicts: str) -> bytes:
        """The entry's ``%`` template: the same for every block of a rule set and dimensions."""
        key = (self.ruleset, tuple(self.by_dim))
        t = _ENTRY_TEMPLATES.get(key)
        if t is None:
            parts = [b"{"]
            parts.append(b",".join(_key(k) + b"%b" for k in IDENTITY))
            parts.append(b',"ruleset":' + _static(dumps(self.ruleset)))
            parts.append(b',"source":{"file":%b,"row":%b},"measures":%b,"verdicts":[%b],"counts":{')
            parts.append(b",".join(_key(s) + b"%b" for s in STATUS_NAMES))
            parts.append(b'},"funding":{')
            parts.append(b",".join(_key(k) + b"%b" for k, _ in FUNDING_KEYS))
            parts.append(b'},"score":{"overall":%b,"by_dimension":{')
            parts.append(b",".join(_key(d) + b"%b" for d in self.by_dim))
            parts.append(b'}},"status":%b,"provisional_rules":%b,"meets_basic_standard":%b}')
            if len(_ENTRY_TEMPLATES) >= 256:
                _ENTRY_TEMPLATES.clear()
            t = _ENTRY_TEMPLATES[key] = b"".join(parts)
        return t

    def _measures(self, index: np.ndarray) -> list[bytes]:
        """``{"name": value, …}`` per school: measures in name order, missing ones left out.

        The present values are formatted in one call, school by school; each school's object
        is one ``%`` of the template for its set of present measures."""
        m = len(index)
        if not self.measures:
            return [b"{}"] * m
        values = np.stack([c[index] for c in self.measures], axis=1)        # [schools, measures]
        present = ~np.isnan(values)
        tokens = number_tokens(values[present])
        if len(self.measures) <= 64:
            weights = np.uint64(1) << np.arange(len(self.measures), dtype=np.uint64)
            codes = (present.astype(np.uint64) * weights).sum(1).tolist()
        else:  # pragma: no cover - more measures than bits: the set's bits as bytes
            codes = [row.tobytes() for row in np.packbits(present, axis=1)]
        cache = self._measure_templates
        out = []
        start = 0
        for code, stop in zip(codes, np.cumsum(present.sum(1)).tolist()):
            template = cache.get(code)
            if template is None:
                template = cache[code] = self._measure_template(present[len(out)])
            out.append(template % tuple(tokens[start:stop]))
            start = stop
        return out

    def _measure_template(self, present: np.ndarray) -> bytes:
        """The ``measures`` object of schools whose present measures are ``present``."""
        return b"{" + b",".join(_key(self.measure_names[j]) + b"%b" for j in np.flatnonzero(present).tolist()) + b"}"

    def _verdicts(self, index: np.ndarray, mode: str) -> list[bytes]:
        """The inside of each school's ``verdicts`` array, rules in rule-set order.

        All listed (school, rule) cells are handled together: their numbers are formatted in
        one call, in the order the texts need them, and each school's verdicts are one ``%``
        of its cells' templates joined, so the cost per school hardly grows with its rules.
        """
        res = self.results
        m = len(index)
        if not self._verdict_templates:
            return [b""] * m
        status = res.status[:, index].T                      # [schools, rules]
        listed = (np.ones(status.shape, bool) if mode == "all"
                  else np.isin(status, _LISTED[mode]))
        school, rule = np.nonzero(listed)                     # school by school, rules in order
        s = status[school, rule]
        value = res.value[rule, index[school]]
        threshold = res.threshold[rule, index[school]]
        no_value, no_threshold = np.isnan(value), np.isnan(threshold)
        judged = ((s == PASS) | (s == FAIL)) & ~no_value & ~no_threshold
        blank = no_value & no_threshold              # e.g. not applicable: the same text every time
        code = (((rule * len(STATUS_NAMES) + s) * 2 + judged) * 2 + blank).tolist()
        table = self._verdict_templates
        templates = [table[c] for c in code]
        slots = np.where(judged, 4, np.where(blank, 0, 2))   # numbers each verdict's text takes
        at = np.cumsum(slots) - slots
        numbers = np.empty(int(at[-1] + slots[-1]) if len(at) else 0)
        shown = ~blank
        numbers[at[shown]] = value[shown]
        numbers[at[shown] + 1] = threshold[shown]
        if judged.any():
            v, t = value[judged], threshold[judged]
            with np.errstate(invalid="ignore", divide="ignore"):
                gap = v - t
                numbers[at[judged] + 2] = gap
                numbers[at[judged] + 3] = np.where(t != 0, gap / np.where(t != 0, t, 1.0), np.nan)
        tokens = number_tokens(numbers) if len(numbers) else []
        out = []
        cell = token = 0
        per_school = listed.sum(1).tolist()
        ends = np.cumsum(slots).tolist()
        for count in per_school:
            if count:
                last = cell + count
                stop = ends[last - 1]
                out.append(b",".join(templates[cell:last]) % tuple(tokens[token:stop]))
                cell, token = last, stop
            else:
                out.append(b"")
        return out

    def _funding(self, index: np.ndarray) -> list[list[bytes]]:
        """One token column per key of the ``funding`` object (its parameters are in the catalogue)."""
        cols = {name: self.funding[name][index] for name in self.funding}
        numbers = []
        for key, col in FUNDING_KEYS:
            if key == "shortfall_yuan":
                numbers.append(np.maximum(cols["public_funds_entitlement_yuan"] - cols["public_funds_received_yuan"], 0.0))
            elif key != "floor_applied":
                numbers.append(cols[col])
        tokens = iter(token_columns(numbers, whole_as_int=False))
        out = []
        for key, col in FUNDING_KEYS:
            if key == "floor_applied":
                out.append([_NULL if x != x else (b"true" if x else b"false") for x in cols[col].tolist()])
            else:
                out.append(next(tokens))
        return out

    def _provisional_lists(self, status: np.ndarray, index: np.ndarray) -> list[bytes]:
        """``["rule", …]`` per school: provisional thresholds that were applied (pass or fail)."""
        m = status.shape[1]
        if not self._provisional:
            return [b"[]"] * m
        used = ((status[self._provisional] == PASS) | (status[self._provisional] == FAIL)) \
            & self._provisional_at[:, index]
        weights = np.arange(len(self._provisional))
        if len(self._provisional) <= 62:
            codes = (used.astype(np.int64) << weights[:, None]).sum(0)
        else:  # pragma: no cover
            codes = np.unique(used.T, axis=0, return_inverse=True)[1]
        cache: dict[int, bytes] = {}
        out = []
        for j, code in enumerate(codes.tolist()):
            t = cache.get(code)
            if t is None:
                ids = [self._provisional_ids[p] for p in np.flatnonzero(used[:, j]).tolist()]
                t = cache[code] = b"[" + b",".join(ids) + b"]"
            out.append(t)
        return out
