"""School report entries: built once, as Arrow record batches a chunk of schools at a time, and
read by every writer.

A national file holds ~200,000 school records with ~22 verdicts each: held as Python dicts they
would take several GB and most of the writing time. :class:`SchoolBlock` keeps one
(province, year) group's columns; :meth:`SchoolBlock.table` builds the entries of the schools
asked for as one Arrow record batch (nested: ``source``, ``measures``, ``verdicts``, ``counts``,
``funding``, ``score``). The JSON and NDJSON reports write those batches with Polars' JSON writer,
the Parquet report flattens them, and :meth:`SchoolBlock.entries` (``Evaluator.evaluate_record``,
the text and Excel reports) reads them as dicts. There is no other entry builder.

Numbers: NaN and infinities are ``null``; counts, years and rows are integers, every other number a
float. Every school lists the report's measures and dimensions (``null`` where missing or not
judged by its rules), so every entry has the same shape.

Verdict lists come in two modes: ``all`` (every rule, the default) and ``findings`` (only
``fail`` and ``missing_data`` verdicts; the counts, scores, funding and status stay complete).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .catalogue import ruleset_key
from .derive import DERIVED_MEASURES
from .model import FAIL, MISSING_DATA, NOT_APPLICABLE, PASS, STATUS_NAMES, Rule, RuleResults, RuleSet
from .serialise import clean
from .table import DISTINCT_TEXT, Table, is_none

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
_TEXT_IDENTITY = tuple(k for k in IDENTITY if k != "year")
#: The text columns a table takes from its block: the identity's, then the source file and status.
_TEXT_COLUMNS = (*_TEXT_IDENTITY, "file", "status")
#: A table of at least 1/WHOLE_SHARE of a block's schools takes its text from the block-wide
#: columns (converting a block at once costs about what converting a fifth of it row by row does).
WHOLE_SHARE = 5
LISTED = {"all": (PASS, FAIL, NOT_APPLICABLE, MISSING_DATA), "findings": (FAIL, MISSING_DATA)}
_STATUS_NAMES = pa.array(STATUS_NAMES, type=pa.string())


def _floats_type(names: Sequence[str]) -> pa.StructType:
    return pa.struct([(name, pa.float64()) for name in names])


# The entries' fixed struct types, made once: a struct built on a known type skips the
# inference and checks of each call (most of the cost for one school).
_SOURCE = pa.struct([("file", pa.string()), ("row", pa.int64())])
_COUNTS = pa.struct([(name, pa.int64()) for name in STATUS_NAMES])
_FUNDING = pa.struct([(key, pa.bool_() if key == "floor_applied" else pa.float64()) for key, _ in FUNDING_KEYS])
_GAP = _floats_type(("value", "share"))
#: The Arrow type of one verdict of a school entry.
VERDICT_TYPE = pa.struct([("rule_id", pa.string()), ("status", pa.string()), ("value", pa.float64()),
                          ("threshold", pa.float64()), ("gap", _GAP)])
_CODE = pa.dictionary(pa.int32(), pa.string())
_CODED_SOURCE = pa.struct([("file", _CODE), ("row", pa.int64())])
#: The same with the rule id and status as dictionary arrays (``coded`` entries: the Parquet report's).
CODED_VERDICT_TYPE = pa.struct([("rule_id", _CODE), ("status", _CODE), *list(VERDICT_TYPE)[2:]])


def check_mode(verdicts: str) -> None:
    if verdicts not in LISTED:
        raise ValueError(f"未知的结论列表方式 unknown verdicts mode '{verdicts}' "
                         f"(可选 choose from {', '.join(VERDICT_MODES)})")


def gaps_of(status: np.ndarray, value: np.ndarray, threshold: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(judged, gap, gap share) of verdicts, school and county alike: a verdict that passed or
    failed on a value and a threshold has gap = value − threshold and share = gap / threshold
    (NaN where the threshold is 0); every other verdict has NaN for both."""
    judged = ((status == PASS) | (status == FAIL)) & ~np.isnan(value) & ~np.isnan(threshold)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.where(judged, value - threshold, np.nan)
        share = np.where(judged & (threshold != 0), gap / np.where(threshold != 0, threshold, 1.0), np.nan)
    return judged, gap, share


@dataclass(frozen=True)
class Layout:
    """The shape every entry of a report shares: its measures and score dimensions."""

    measure_names: tuple[str, ...]
    dims: tuple[str, ...]

    @classmethod
    def of(cls, blocks: Sequence["SchoolBlock"]) -> "Layout":
        if len(blocks) == 1:
            return blocks[0].layout
        return cls(tuple(sorted({m for b in blocks for m in b.measure_names})),
                   tuple(dict.fromkeys(d for b in blocks for d in b.by_dim)))

    @cached_property
    def measures_type(self) -> pa.StructType:
        return _floats_type(self.measure_names)

    @cached_property
    def dims_type(self) -> pa.StructType:
        return _floats_type(self.dims)

    @cached_property
    def score_type(self) -> pa.StructType:
        return pa.struct([("overall", pa.float64()), ("by_dimension", self.dims_type)])


def floats(a: np.ndarray) -> pa.Array:
    """A float column with NaN (and infinities: JSON has no such number) as null."""
    a = np.asarray(a, dtype=float)
    return pa.array(a, mask=~np.isfinite(a))


def texts(values: Any) -> pa.Array:
    """Text values (None for missing) as a string array; a lone surrogate (from a JSON input)
    becomes U+FFFD rather than losing the report."""
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowException, UnicodeEncodeError):
        return pa.array(clean(list(values)), type=pa.string(), from_pandas=True)


def _offsets(owner: np.ndarray, n: int) -> pa.Array:
    """List offsets of ``n`` lists whose items belong to ``owner`` (ascending)."""
    out = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(owner, minlength=n), out=out[1:])
    return pa.array(out)


def _struct(arrays: Sequence[pa.Array], kind: pa.StructType, n: int) -> pa.StructArray:
    """A struct array of type ``kind`` and length ``n`` whose fields are ``arrays`` (of the
    field types, in order; none null)."""
    return pa.StructArray.from_buffers(kind, n, [None], children=list(arrays))


#: Up to this many values a column, :func:`_columns` converts several columns in one call.
_JOINED = 1_024


def _columns(convert: Any, columns: list[np.ndarray], m: int) -> list[pa.Array]:
    """``convert`` applied to several columns of length ``m``: for a few schools in one call
    (one Arrow array, sliced: the cost per call is most of the work), else one by one (joining
    them would copy every value once more)."""
    if m > _JOINED:
        return [convert(c) for c in columns]
    if not columns:
        return []
    whole = convert(np.concatenate(columns))
    return [whole.slice(k * m, m) for k in range(len(columns))]


class RuleColumns:
    """What the entries take from the rules alone, made once per rule set
    (``ruleset.kept_for(rules, RuleColumns.of, …)``): the rule ids (as text and as an Arrow array), the
    provisional rules, the measures an entry may list and the layouts of the blocks."""

    def __init__(self, rules: Sequence[Rule], key: str):
        self.rules = list(rules)
        self.key = key                              # the rule set's key in the report's catalogue
        self.ids = [r.id for r in rules]
        self.array = pa.array(self.ids, pa.string())
        #: positions of the rules with a provisional threshold, or one that is provisional
        #: where a measure (``provisional_when``, None: everywhere) is 1
        self.provisional = [k for k, r in enumerate(rules)
                            if r.threshold_status == "provisional" or r.provisional_when]
        self.provisional_ids = self.array.take(pa.array(self.provisional, pa.int64()))
        self.provisional_when = [None if rules[k].threshold_status == "provisional" else rules[k].provisional_when
                                 for k in self.provisional]
        self.measure_names = sorted({r.measure for r in rules} | set(DERIVED_MEASURES))
        self._layouts: dict[tuple[tuple[str, ...], tuple[str, ...]], Layout] = {}

    @classmethod
    def of(cls, ruleset: RuleSet) -> "RuleColumns":
        return cls(ruleset.school_rules, ruleset_key(ruleset))

    def layout(self, measure_names: tuple[str, ...], dims: tuple[str, ...]) -> Layout:
        """The layout of a block listing ``measure_names`` and scored on ``dims`` (its types built once)."""
        found = self._layouts.get((measure_names, dims))
        if found is None:
            found = self._layouts[(measure_names, dims)] = Layout(measure_names, dims)
        return found


class SchoolBlock:
    """The schools of one (province, year) group, as columns; entries are built on demand.

    ``ruleset`` is the rule set that judged them (``self.ruleset``: its key in the report's
    catalogue, :func:`edubalance.catalogue.ruleset_key`); ``files`` and ``rows`` are each record's
    source; ``status`` is each school's ``pass``/``fail``/``incomplete``/``not_applicable``.
    """

    def __init__(self, table: Table, results: RuleResults, overall: np.ndarray,
                 by_dim: dict[str, np.ndarray], status: np.ndarray, ruleset: RuleSet,
                 files: Sequence[str | None], rows: Sequence[int | None]):
        self.n = table.n
        self.results = results
        self.overall = overall
        self.by_dim = by_dim
        self.status = np.asarray(status, dtype=object)
        self.files = np.asarray(list(files), dtype=object)
        self.rows = np.array([-1 if r is None else r for r in rows], dtype=np.int64)
        self.identity = {k: table.get(k) for k in IDENTITY}
        self.arrow_identity = {k: table.arrow_text(k) for k in _TEXT_IDENTITY}
        rules = ruleset.kept_for(results.rules, RuleColumns.of, lambda other: RuleColumns(other, ruleset_key(ruleset)))
        self.rule_columns = rules
        self.measure_names = [m for m in rules.measure_names if m in table.columns]
        self.measures = dict(zip(self.measure_names, (table.columns[m] for m in self.measure_names)))
        self.funding = {col: table.get(col) for _, col in FUNDING_KEYS if col}
        self.ruleset = rules.key
        self.rule_ids = rules.ids
        self.provisional = rules.provisional
        # Where each provisional rule's verdict rests on a provisional value: everywhere, or
        # where its ``provisional_when`` measure is 1 (e.g. a provisional funding parameter).
        self.provisional_at = np.array(
            [np.ones(self.n, bool) if when is None else table.get(when) == 1 for when in rules.provisional_when],
            dtype=bool).reshape(len(self.provisional), self.n)
        self.basic = table.get("meets_basic_standard")      # 1 / 0 / NaN → true / false / null
        self._report_positions: tuple[pa.Array, np.ndarray] | None = None

    @cached_property
    def coded_columns(self) -> list[pa.Array]:
        """:attr:`text_columns` for ``coded`` tables, made once: those that repeat as dictionary
        arrays, school ids and names as text. A table takes its rows' indices only (measured: a
        sixteenth of the cost of taking their text), and the Parquet writer takes the dictionary
        as it is."""
        found = self.__dict__.get("text_columns") or self._whole_texts()
        return [column if name in DISTINCT_TEXT or isinstance(column, pa.DictionaryArray)
                else column.dictionary_encode() for name, column in zip(_TEXT_COLUMNS, found)]

    @cached_property
    def text_columns(self) -> list[pa.Array]:
        """The identity text columns (``_TEXT_IDENTITY``), files and statuses of the whole
        block as Arrow text, made once: each table takes its schools' rows (measured: a fifth
        of the cost of converting the same Python strings a table at a time, scattered)."""
        return [c.dictionary.take(c.indices) if isinstance(c, pa.DictionaryArray) else c for c in self._whole_texts()]

    def _whole_texts(self) -> list[pa.Array]:
        """The block's :data:`_TEXT_COLUMNS` as Arrow text: an identity column as it was read (a
        dictionary array where values repeat), the others converted from their Python strings."""
        found = [self.arrow_identity.get(name) for name in _TEXT_COLUMNS]
        cells = self._text_cells(slice(None))
        converted = iter(_columns(texts, [c for c, a in zip(cells, found) if a is None], self.n))
        return [next(converted) if a is None else a for a in found]

    def _text_cells(self, index: np.ndarray | slice) -> list[np.ndarray]:
        """The cells of :attr:`text_columns` at ``index``, as Python objects."""
        own = {"file": self.files, "status": self.status}
        cells = (own[k] if k in own else self.identity[k] if self.identity[k].dtype == object
                 else np.full(self.n, None) for k in _TEXT_COLUMNS)  # all-NaN: a field no record has
        return [column[index] for column in cells]

    def _text_rows(self, index: np.ndarray, whole: bool, coded: bool) -> list[pa.Array]:
        """:attr:`text_columns` (``coded``: :attr:`coded_columns`) at ``index``: taken from the
        block-wide columns when coded, when the table is one of many over the block (``whole``),
        the rows are a large share of it or the columns are made already; else just those rows
        converted (a few entries of a large block)."""
        if coded or whole or len(index) * WHOLE_SHARE >= self.n or "text_columns" in self.__dict__:
            columns = self.coded_columns if coded else self.text_columns
            if len(index) == self.n and np.array_equal(index, np.arange(self.n)):   # all, in order
                return columns                        # (one record through the API: no take)
            return [column.take(index) for column in columns]
        return _columns(texts, self._text_cells(index), len(index))

    @cached_property
    def layout(self) -> Layout:
        """This block's own layout: its measures and score dimensions."""
        return self.rule_columns.layout(tuple(self.measure_names), tuple(self.by_dim))

    # -- what a summary needs, without building entries ------------------------------------
    def sort_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """county_code, school_id, stage ("" when missing) and year (0 when missing): the
        report orders schools by these."""
        text = []
        for name in ("county_code", "school_id", "stage"):
            col = np.asarray(self.identity[name], dtype=object)
            missing = is_none(col)
            if missing.any():
                col = col.copy()
                col[missing] = ""
            text.append(col)
        years = np.asarray(self.identity["year"], dtype=float)
        county, school, stage = text
        return county, school, stage, np.where(np.isnan(years), 0, years).astype(np.int64)

    def score_key(self, i: int) -> float:
        """School ``i``'s overall score for ordering findings (a missing score counts as 0)."""
        v = float(self.overall[i])
        return 0 if v != v else v

    def provisional_rules_used(self) -> set[str]:
        """Rules with a provisional threshold that passed or failed somewhere in the block."""
        status = self.results.status
        return {self.rule_ids[k] for j, k in enumerate(self.provisional)
                if (((status[k] == PASS) | (status[k] == FAIL)) & self.provisional_at[j]).any()}

    # -- entries ------------------------------------------------------------------------------
    def entries(self, index: np.ndarray, verdicts: str = "all", layout: Layout | None = None) -> list[dict[str, Any]]:
        """The entry dicts of schools ``index`` (positions in this block), in that order."""
        return self.table(index, verdicts, layout, whole=False).to_pylist()

    def table(self, index: np.ndarray, verdicts: str = "all", layout: Layout | None = None,
              coded: pa.Array | None = None, whole: bool = True) -> pa.RecordBatch:
        """The entries of schools ``index`` (positions in this block, in that order) as one
        Arrow record batch, shaped by ``layout`` (the report's; this block's own if None).

        ``coded`` (the report's rule ids, a superset of the block's): each verdict's rule id and
        status, and the identity texts that repeat, the source file and the status, as dictionary
        arrays (indices into ``coded``, the status names and :attr:`coded_columns`, no copy of
        each text: the Parquet writer encodes them as they are); otherwise (None) plain text (the
        JSON writers: Polars reads a dictionary's values 15x slower).
        ``whole``: the caller goes on to the block's other schools (see :meth:`_text_rows`)."""
        check_mode(verdicts)
        layout = layout or self.layout
        index = np.asarray(index, dtype=np.int64)
        m = len(index)
        none = np.full(m, np.nan)
        *who, file, state = self._text_rows(index, whole, coded is not None)
        cols: dict[str, pa.Array] = dict(zip(_TEXT_IDENTITY, who))
        year = self.identity["year"][index]
        cols["year"] = pa.array(np.where(np.isnan(year), 0, year).astype(np.int64), mask=np.isnan(year))
        cols = {k: cols[k] for k in IDENTITY}
        cols["ruleset"] = pa.array([self.ruleset] * m, type=pa.string())
        rows = self.rows[index]
        source = _SOURCE if coded is None else _CODED_SOURCE
        cols["source"] = _struct([file, pa.array(rows, mask=rows < 0)], source, m)
        funding = {key: self.funding[col][index] for key, col in FUNDING_KEYS if col}
        funding["shortfall_yuan"] = np.maximum(funding["entitlement_yuan"] - funding["received_yuan"], 0.0)
        floor = funding.pop("floor_applied")
        numbers = _columns(floats, [*(self.measures[k][index] if k in self.measures else none for k in layout.measure_names),
                                    *funding.values(), self.overall[index],
                                    *(self.by_dim[d][index] if d in self.by_dim else none for d in layout.dims)], m)
        measures, numbers = numbers[:len(layout.measure_names)], numbers[len(layout.measure_names):]
        money, (overall, *by_dim) = dict(zip(funding, numbers[:len(funding)])), numbers[len(funding):]
        cols["measures"] = _struct(measures, layout.measures_type, m)
        status = self.results.status[:, index]
        cols["verdicts"] = self._verdicts(index, status, verdicts, coded)
        counts = (status[None, :, :] == np.arange(len(STATUS_NAMES), dtype=status.dtype)[:, None, None]).sum(1)
        cols["counts"] = _struct(_columns(pa.array, list(counts.astype(np.int64)), m), _COUNTS, m)
        money["floor_applied"] = pa.array(floor == 1, mask=np.isnan(floor))
        cols["funding"] = _struct([money[key] for key, _ in FUNDING_KEYS], _FUNDING, m)
        cols["score"] = _struct([overall, _struct(by_dim, layout.dims_type, m)], layout.score_type, m)
        cols["status"] = state
        school, ids = self.provisional_cells(status, index)
        cols["provisional_rules"] = pa.ListArray.from_arrays(_offsets(school, m), ids)
        basic = self.basic[index]
        cols["meets_basic_standard"] = pa.array(basic == 1, mask=np.isnan(basic))
        return pa.RecordBatch.from_arrays(list(cols.values()), names=list(cols))

    def _verdicts(self, index: np.ndarray, status: np.ndarray, verdicts: str,
                  coded: pa.Array | None) -> pa.ListArray:
        """Each school's listed verdicts ``{rule_id, status, value, threshold, gap}``, rules in
        order; ``status``: the verdict columns of ``index``."""
        res = self.results
        k, m = status.shape
        state = status.T.ravel()                         # school by school, rules in order
        value, threshold = res.value[:, index].T.ravel(), res.threshold[:, index].T.ravel()
        rule = np.tile(np.arange(k, dtype=np.int32), m)
        if verdicts == "all":                            # k verdicts a school
            offsets = pa.array(np.arange(0, (m + 1) * k, k, dtype=np.int32))
        else:
            at = np.flatnonzero(np.isin(state, LISTED[verdicts]))
            state, value, threshold, rule = (a[at] for a in (state, value, threshold, rule))
            offsets = _offsets(at // k, m)
        judged, gap, share = gaps_of(state, value, threshold)
        value, threshold, gap, share = _columns(floats, [value, threshold, gap, share], len(rule))
        if coded is not None:
            codes = [(coded, pa.array(self._positions_in(coded)[rule])),
                     (_STATUS_NAMES, pa.array(state.astype(np.int32)))]
            rule_id, state_name = (pa.DictionaryArray.from_arrays(i, names) for names, i in codes)
        else:
            rule_id = self.rule_columns.array.take(pa.array(rule))
            state_name = _STATUS_NAMES.take(pa.array(state.astype(np.int32)))
        items = _struct([rule_id, state_name, value, threshold,
                         pa.StructArray.from_arrays([gap, share], fields=list(_GAP), mask=pa.array(~judged))],
                        VERDICT_TYPE if coded is None else CODED_VERDICT_TYPE, len(rule))
        return pa.ListArray.from_arrays(offsets, items)

    def _positions_in(self, rule_ids: pa.Array) -> np.ndarray:
        """Each of this block's rules' position in ``rule_ids`` (the report's), found once for
        every table the block gives a report."""
        if self._report_positions is None or self._report_positions[0] is not rule_ids:
            found = pc.index_in(self.rule_columns.array, value_set=rule_ids)
            self._report_positions = (rule_ids, found.to_numpy().astype(np.int32))
        return self._report_positions[1]

    def provisional_cells(self, status: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, pa.Array]:
        """(position in ``index``, rule id as Arrow text) of each provisional threshold applied (the
        rule passed or failed where its threshold rests on a provisional value), school by
        school, rules in order; ``status``: the verdict columns of ``index``."""
        judged = status[self.provisional]
        applied = ((judged == PASS) | (judged == FAIL)) & self.provisional_at[:, index]
        school, rule = np.nonzero(applied.T)
        return school, self.rule_columns.provisional_ids.take(pa.array(rule))
