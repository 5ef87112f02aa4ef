"""School report entries, kept as columns until something reads them.

A national file holds ~200,000 school records with ~22 verdicts each: held as dicts they would
take several GB. :class:`SchoolBlock` keeps one (province, year) group's columns and builds
the entry dicts of the schools asked for, a chunk at a time; the JSON and NDJSON reports
serialise those dicts with orjson, the Parquet report reads the columns themselves
(:mod:`edubalance.parquet`). ``Evaluator.evaluate_record`` returns the very same dict.

Numbers follow one rule: NaN is ``null``; a measure, value, threshold, gap or score that is a
whole number below 2**53 is an int, any other an exact float; funding amounts stay floats.

Verdict lists come in two modes: ``all`` (every rule, the default) and ``findings`` (only
``fail`` and ``missing_data`` verdicts; the counts, scores, funding and status stay complete).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .derive import DERIVED_MEASURES
from .model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, STATUS_NAMES, RuleResults
from .table import Table

VERDICT_MODES = ("all", "findings")
IDENTITY = ("school_id", "stage", "school_name", "county_code", "county_name", "province", "year",
            "school_type", "location")
#: (key in the entry's ``funding`` object, the column it comes from)
FUNDING_KEYS = (("entitlement_yuan", "public_funds_entitlement_yuan"),
                ("received_yuan", "public_funds_received_yuan"),
                ("shortfall_yuan", None),
                ("counted_pupils", "funding_counted_pupils"),
                ("floor_applied", "funding_floor_applied"),
                ("base_yuan", "funding_base_yuan"),
                ("supplement_yuan", "funding_supplement_yuan"),
                ("special_needs_yuan", "funding_special_yuan"),
                ("heating_yuan", "funding_heating_yuan"))
LISTED = {"all": (PASS, FAIL, NOT_APPLICABLE, MISSING_DATA), "findings": (FAIL, MISSING_DATA)}
_STATUS = np.array(STATUS_NAMES, dtype=object)


def check_mode(verdicts: str) -> None:
    if verdicts not in LISTED:
        raise ValueError(f"unknown verdicts mode '{verdicts}' (choose from {', '.join(VERDICT_MODES)})")


def numbers(values: np.ndarray, whole_as_int: bool = True) -> list:
    """A float column as Python values: NaN → None; whole numbers below 2**53 as ints if
    ``whole_as_int``. Infinities stay floats (the JSON writer makes them ``null``)."""
    a = np.asarray(values, dtype=float)
    if not whole_as_int:
        out = a.astype(object)
    else:
        whole = (a == np.trunc(a)) & (np.abs(a) < 2.0 ** 53)       # NaN and infinities: False, no warning
        out = np.empty(len(a), dtype=object)
        out[whole] = a[whole].astype(np.int64).tolist()
        out[~whole] = a[~whole].tolist()
    out[np.isnan(a)] = None
    return out.tolist()


def numbers_of(columns: Sequence[np.ndarray], whole_as_int: bool = True) -> list[list]:
    """:func:`numbers` of several columns, in one pass over them all: for a few schools (one
    record through the API), NumPy's cost per call is most of the work."""
    flat = numbers(np.concatenate(columns) if columns else np.zeros(0), whole_as_int)
    ends = np.cumsum([len(c) for c in columns]).tolist()
    return [flat[a:b] for a, b in zip([0] + ends[:-1], ends)]


def gaps_of(status: np.ndarray, value: np.ndarray, threshold: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(judged, gap, gap share) of school verdicts: a verdict that passed or failed on a value
    and a threshold has gap = value − threshold and share = gap / threshold (NaN where the
    threshold is 0); every other verdict has NaN for both. The JSON and Parquet reports use it."""
    judged = ((status == PASS) | (status == FAIL)) & ~np.isnan(value) & ~np.isnan(threshold)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.where(judged, value - threshold, np.nan)
        share = np.where(judged & (threshold != 0), gap / np.where(threshold != 0, threshold, 1.0), np.nan)
    return judged, gap, share


class SchoolBlock:
    """The schools of one (province, year) group, as columns; entries are built on demand.

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
        self.files = np.asarray(list(files), dtype=object)
        self.rows = np.asarray(list(rows), dtype=object)
        self.identity = {k: table.get(k) for k in IDENTITY}
        names = sorted({r.measure for r in results.rules} | set(DERIVED_MEASURES))
        self.measure_names = [m for m in names if m in table.columns]
        self.measures = [table.columns[m] for m in self.measure_names]
        self.funding = {col: table.get(col) for _, col in FUNDING_KEYS if col}
        self.ruleset = ruleset
        self.rule_ids = np.array([r.id for r in results.rules], dtype=object)
        self.provisional = [k for k, r in enumerate(results.rules)
                            if r.threshold_status == "provisional" or getattr(r, "provisional_when", None)]
        # Where each provisional rule's verdict rests on a provisional value: everywhere, or
        # where its ``provisional_when`` measure is 1 (e.g. a provisional funding parameter).
        self.provisional_at = np.array(
            [np.ones(self.n, bool) if results.rules[k].threshold_status == "provisional"
             else table.get(results.rules[k].provisional_when) == 1 for k in self.provisional],
            dtype=bool).reshape(len(self.provisional), self.n)
        self.basic = table.get("meets_basic_standard")      # 1 / 0 / NaN → true / false / null

    # -- what a summary needs, without building entries ------------------------------------
    def sort_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """county_code, school_id, stage ("" when missing) and year (0 when missing): the
        report orders schools by these."""
        text = []
        for name in ("county_code", "school_id", "stage"):
            col = np.asarray(self.identity[name], dtype=object)
            missing = np.equal(col, None)
            if missing.any():
                col = col.copy()
                col[missing] = ""
            text.append(col)
        years = np.asarray(self.identity["year"], dtype=float)
        return (*text, np.where(np.isnan(years), 0, years).astype(np.int64))

    def score_key(self, i: int) -> float:
        """School ``i``'s overall score for ordering findings (a missing score counts as 0)."""
        v = float(self.overall[i])
        return 0 if v != v else v

    def provisional_rules_used(self) -> set[str]:
        """Rules with a provisional threshold that passed or failed somewhere in the block."""
        status = self.results.status
        return {self.rule_ids[k] for j, k in enumerate(self.provisional)
                if (((status[k] == PASS) | (status[k] == FAIL)) & self.provisional_at[j]).any()}

    def funding_columns(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """The ``funding`` object's values of schools ``index``, one float column per key
        (``floor_applied``: 1, 0 or NaN)."""
        cols = {key: self.funding[col][index] for key, col in FUNDING_KEYS if col}
        cols["shortfall_yuan"] = np.maximum(cols["entitlement_yuan"] - cols["received_yuan"], 0.0)
        return {key: cols[key] for key, _ in FUNDING_KEYS}

    def listed_cells(self, index: np.ndarray, verdicts: str) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``index``, rule) of every listed verdict, school by school, rules in order."""
        status = self.results.status[:, index].T                      # [schools, rules]
        listed = np.ones(status.shape, bool) if verdicts == "all" else np.isin(status, LISTED[verdicts])
        return np.nonzero(listed)

    # -- entries ------------------------------------------------------------------------------
    def entries(self, index: np.ndarray, verdicts: str = "all") -> list[dict[str, Any]]:
        """The entry dicts of schools ``index`` (positions in this block), in that order."""
        check_mode(verdicts)
        index = np.asarray(index, dtype=np.int64)
        if len(index) == 0:
            return []
        ident = [self.identity[k][index] for k in IDENTITY]
        numeric = iter(numbers_of([c for c in ident if c.dtype != object]))
        ident = zip(*[c.tolist() if c.dtype == object else next(numeric) for c in ident])
        sources = zip(self.files[index].tolist(), self.rows[index].tolist())
        status = self.results.status[:, index]
        counts = (status[None, :, :] == np.arange(len(STATUS_NAMES))[:, None, None]).sum(1).T.tolist()
        funding = self.funding_columns(index)
        floor = [None if x != x else bool(x) for x in funding["floor_applied"].tolist()]
        amounts = iter(numbers_of([col for key, col in funding.items() if key != "floor_applied"], whole_as_int=False))
        money = zip(*[floor if key == "floor_applied" else next(amounts) for key in funding])
        dims = list(self.by_dim)
        *by_dim, overall = numbers_of([*(self.by_dim[d][index] for d in dims), self.overall[index]])
        by_dim = zip(*by_dim) if dims else [()] * len(index)
        funding_keys = [k for k, _ in FUNDING_KEYS]
        ruleset = self.ruleset
        return [{**dict(zip(IDENTITY, who)), "ruleset": ruleset, "source": {"file": file, "row": row},
                 "measures": measures, "verdicts": verdicts, "counts": dict(zip(STATUS_NAMES, n)),
                 "funding": dict(zip(funding_keys, fund)),
                 "score": {"overall": overall, "by_dimension": dict(zip(dims, dim))},
                 "status": state, "provisional_rules": provisional, "meets_basic_standard": basic}
                for who, (file, row), measures, verdicts, n, fund, overall, dim, state, provisional, basic
                in zip(ident, sources, self._measures(index), self._verdicts(index, verdicts), counts, money,
                       overall, by_dim, self.status[index].tolist(),
                       self.provisional_lists(status, index),
                       [None if x != x else bool(x) for x in self.basic[index].tolist()])]

    def _measures(self, index: np.ndarray) -> list[dict[str, Any]]:
        """``{name: value}`` per school: measures in name order, missing ones left out."""
        if not self.measures:
            return [{} for _ in range(len(index))]
        values = numbers(np.stack([c[index] for c in self.measures], axis=1).ravel())
        k = len(self.measures)
        names = self.measure_names
        return [{n: v for n, v in zip(names, values[j:j + k]) if v is not None}
                for j in range(0, len(values), k)]

    def _verdicts(self, index: np.ndarray, verdicts: str) -> list[list[dict[str, Any]]]:
        """Each school's listed verdicts ``{rule_id, status, value, threshold, gap}``."""
        school, rule = self.listed_cells(index, verdicts)
        res = self.results
        cols = index[school]
        status = res.status[rule, cols]
        value, threshold = res.value[rule, cols], res.threshold[rule, cols]
        judged, diff, share = gaps_of(status, value, threshold)
        gaps = np.full(len(rule), None, dtype=object)
        if judged.any():
            gaps[judged] = [{"value": d, "share": s} for d, s in zip(*numbers_of([diff[judged], share[judged]]))]
        values, thresholds = numbers_of([value, threshold])
        flat = [{"rule_id": r, "status": s, "value": v, "threshold": t, "gap": g}
                for r, s, v, t, g in zip(self.rule_ids[rule].tolist(), _STATUS[status].tolist(),
                                         values, thresholds, gaps.tolist())]
        ends = np.cumsum(np.bincount(school, minlength=len(index))).tolist()
        return [flat[a:b] for a, b in zip([0] + ends[:-1], ends)]

    def provisional_cells(self, status: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``index``, rule id) of each provisional threshold that was applied (the
        rule passed or failed where its threshold rests on a provisional value), school by
        school, rules in order; ``status``: the columns of ``index``."""
        applied = ((status[self.provisional] == PASS) | (status[self.provisional] == FAIL)) \
            & self.provisional_at[:, index]
        school, rule = np.nonzero(applied.T)
        return school, self.rule_ids[self.provisional][rule]

    def provisional_lists(self, status: np.ndarray, index: np.ndarray) -> list[list[str]]:
        """Per school of ``index``: the rule ids of :meth:`provisional_cells`."""
        school, ids = self.provisional_cells(status, index)
        ids = ids.tolist()
        ends = np.cumsum(np.bincount(school, minlength=len(index))).tolist()
        return [ids[a:b] for a, b in zip([0] + ends[:-1], ends)]
