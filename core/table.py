"""Columnar view of validated school records.

Every stage after validation works on columns, not on dicts: one NumPy array per field or
measure, so that the same derived values feed both rule back ends and the county
calculations, and a province of 10,000 schools costs a few array operations.

Conventions (shared by every module that reads a Table):

* numeric and boolean fields are ``float64`` arrays; a missing value is ``NaN``;
  booleans are ``1.0`` / ``0.0``;
* text fields (``school_id``, ``stage``, ``location`` …) are ``object`` arrays holding
  ``str`` or ``None`` for missing;
* ``undefined[name]`` marks measures that do not exist for a record (a per-pupil measure of
  a school with 0 pupils, a per-boarder measure with 0 boarders); rules on them give
  ``not_applicable``. Their value in ``columns`` is ``NaN``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence, cast

import numpy as np

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

#: Fields kept as text; every other field becomes a float column.
TEXT_FIELDS = (
    "school_id", "school_name", "stage", "school_type", "province", "county_code",
    "county_name", "location",
)


_TEXT = frozenset(TEXT_FIELDS)
#: Text fields whose values hardly repeat (one per school): sharing their strings buys nothing.
DISTINCT_TEXT = frozenset(("school_id", "school_name"))
#: Up to this many rows, :meth:`Table.from_frame` goes through the records.
_FEW = 8


def is_none(col: np.ndarray) -> np.ndarray:
    """Where a text column holds None (a missing value), in one NumPy step."""
    return np.equal(col, None)  # type: ignore[call-overload]  # NumPy's stubs take no None operand


def filled(n: int, value: object) -> np.ndarray:
    """An object array of ``n`` times ``value`` (one object). ``np.full(n, "text", dtype=object)``
    converts the text to a NumPy string and back for every element: a hundred times slower."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def group_numbers(keys: Sequence, count: int) -> tuple[list, np.ndarray]:
    """``(distinct keys in order of first sight, each key's number)``: groups by hashing, with
    no sort of text (``TypeError`` for an unhashable key); both passes over ``keys`` run in C."""
    ids = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    return list(ids), np.fromiter(map(ids.__getitem__, keys), dtype=np.intp, count=count)


def _shared_strings(series: "pl.Series") -> tuple[np.ndarray, "pa.DictionaryArray"]:
    """A text column as an object array in which equal values are one ``str`` object (so that
    grouping by county or stage compares identities and reuses cached hashes); None for missing;
    and as the Arrow dictionary array that numbered them (what the reports write).

    Arrow's dictionary encoding numbers the distinct values in one hashed pass (no sort of the
    text; a third cheaper than polars' unique values and an Enum cast over them); its indices
    index the distinct values directly."""
    import polars as pl
    import pyarrow.compute as pc

    coded = pc.dictionary_encode(series.cast(pl.String).rechunk().to_arrow())
    distinct = coded.dictionary.to_pylist()
    codes = pc.fill_null(coded.indices, len(distinct)).to_numpy()
    values = np.empty(len(distinct) + 1, dtype=object)            # the last one: None, for missing
    values[:-1] = distinct
    return values[codes], coded


@dataclass
class Table:
    n: int
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    undefined: dict[str, np.ndarray] = field(default_factory=dict)
    #: text column → (the column, where it holds a value): see :meth:`present`
    _text_present: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, init=False,
                                                                  repr=False, compare=False)
    #: text column → (the column, its Arrow text as read): see :meth:`arrow_text`
    _arrow: dict[str, tuple[np.ndarray, "pa.Array"]] = field(default_factory=dict, init=False, repr=False,
                                                            compare=False)
    #: (text column, text) → (the column, where it holds the text): see :meth:`equals`
    _text_equal: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, init=False,
                                                                            repr=False, compare=False)

    @classmethod
    def from_records(cls, records: Sequence[Mapping], numeric_fields: Iterable[str],
                     text_fields: Sequence[str] = ()) -> "Table":
        """Build columns from validated records (missing keys and ``None`` become missing);
        ``text_fields``: text fields besides :data:`TEXT_FIELDS` (those a pack declares).
        More than a few go through a typed frame: reading each of tens of thousands of dicts
        field by field in Python took four times as long (the planner builds such a table
        for every batch of variants it tries)."""
        n = len(records)
        numeric_fields = list(numeric_fields)
        if n > _FEW:
            import polars as pl
            schema = {**{name: pl.String for name in (*TEXT_FIELDS, *text_fields)},
                      **{name: pl.Float64 for name in numeric_fields if name not in _TEXT and name not in text_fields}}
            return cls.from_frame(pl.from_dicts(records, schema=schema, strict=False), numeric_fields, text_fields)
        table = cls(n)
        for name in (*TEXT_FIELDS, *text_fields):
            col = np.empty(n, dtype=object)
            col[:] = [r.get(name) for r in records]
            table.columns[name] = col
        nan = float("nan")
        for name in numeric_fields:
            if name in TEXT_FIELDS:
                continue
            # One conversion per field, in C; NumPy turns a None value into NaN (missing) too.
            table.columns[name] = np.array([r.get(name, nan) for r in records], dtype=float)
        return table

    @classmethod
    def from_frame(cls, frame: "pl.DataFrame", numeric_fields: Iterable[str],
                   text_fields: Sequence[str] = ()) -> "Table":
        """Build columns from a frame of validated records (what validation accepts): text
        fields as object arrays, every other field as floats with NaN for missing."""
        import polars as pl

        n = frame.height
        if n <= _FEW:                   # one record through the API: cheaper in Python
            return cls.from_records(frame.to_dicts(), numeric_fields, text_fields)
        table = cls(n)
        for name in (*TEXT_FIELDS, *text_fields):
            if name not in frame.columns:
                table.columns[name] = filled(n, None)
            elif name in DISTINCT_TEXT:
                text = frame[name].cast(pl.String)
                table.columns[name] = text.to_numpy()
                table._arrow[name] = (table.columns[name], text.to_arrow())
            else:
                table.columns[name], coded = _shared_strings(frame[name])
                table._arrow[name] = (table.columns[name], coded)
        # Every numeric field in one select: polars converts the columns side by side, not one
        # call (and one pass over the frame's columns) at a time.
        names = [name for name in dict.fromkeys(numeric_fields) if name not in _TEXT]
        floats = frame.select([pl.col(name).cast(pl.Float64).fill_null(np.nan)
                               for name in names if name in frame.columns])
        for name in names:
            table.columns[name] = floats[name].to_numpy() if name in floats.columns else np.full(n, np.nan)
        return table

    def arrow_text(self, name: str) -> "pa.Array | None":
        """The text column ``name`` as the Arrow array it was read from (a dictionary array where
        values repeat, with ``string`` text), while it is the same column; None otherwise (read
        from records, or replaced since). The reports write it as it is, instead of converting
        the column's Python strings back (a fifth of a second for a national file)."""
        found = self._arrow.get(name)
        if found is None or found[0] is not self.columns.get(name):
            return None
        import pyarrow as pa

        arrow = found[1]
        if isinstance(arrow, pa.DictionaryArray):
            return pa.DictionaryArray.from_arrays(arrow.indices, arrow.dictionary.cast(pa.string()))
        return arrow.cast(pa.string())

    def get(self, name: str) -> np.ndarray:
        """The column ``name``; an all-missing column if no record has the field."""
        col = self.columns.get(name)
        if col is None:
            col = np.full(self.n, np.nan)
        return col

    def is_undefined(self, name: str) -> np.ndarray:
        mask = self.undefined.get(name)
        return mask if mask is not None else np.zeros(self.n, dtype=bool)

    def present(self, name: str) -> np.ndarray:
        """True where the value exists (not missing, not undefined); a new array each call.

        A text column's mask is found once per column (while it is the same array: columns are
        replaced, never written into): the rules and conditions read ``school_type`` or
        ``location`` dozens of times, and testing every cell of a text column for None costs
        some seventy float columns' NaN tests."""
        col = self.get(name)
        if col.dtype != object:
            return ~np.isnan(col)
        found = self._text_present.get(name)
        if found is None or found[0] is not col:
            found = self._text_present[name] = (col, ~is_none(col))
        return found[1].copy()

    def equals(self, name: str, text: str) -> np.ndarray:
        """True where the text column ``name`` holds ``text`` (nowhere for a column of numbers, i.e.
        a text field no record has); a new array each call. Found once per column and text (while
        it is the same array): funding, the county table and its listings ask for the same stages
        and school types of every school."""
        col = self.get(name)
        if col.dtype != object:
            return np.zeros(self.n, dtype=bool)
        found = self._text_equal.get((name, text))
        if found is None or found[0] is not col:
            found = self._text_equal[name, text] = (col, np.asarray(col == text, dtype=bool))
        return found[1].copy()

    def set_measure(self, name: str, values: np.ndarray, undefined: np.ndarray | None = None) -> None:
        values = np.asarray(values, dtype=float)
        if undefined is not None and undefined.any():
            values = np.where(undefined, np.nan, values)
            self.undefined[name] = undefined
        self.columns[name] = values

    def set_measures(self, names: Sequence[str], values: Sequence[np.ndarray] | np.ndarray,
                     undefined: np.ndarray) -> None:
        """:meth:`set_measure` for several measures at once, in a few NumPy calls in all.

        ``values`` holds one column per name (a ``[measures, records]`` matrix or a list of
        columns); ``undefined`` one mask per name (a matrix) or one mask shared by all.
        """
        if undefined.ndim == 1:
            if undefined.any():
                for name, col in zip(names, values):
                    self.set_measure(name, col, undefined)
            else:
                self.columns.update(zip(names, [np.asarray(col, dtype=float) for col in values]))
            return
        values = np.asarray(values, dtype=float)
        some = cast(list[bool], undefined.any(1).tolist())
        if any(some):
            values = np.where(undefined, np.nan, values)
            self.undefined.update((name, mask) for name, mask, s in zip(names, list(undefined), some) if s)
        self.columns.update(zip(names, list(values)))

    def take(self, index: np.ndarray) -> "Table":
        """Rows ``index`` of this table (a new table sharing nothing)."""
        sub = Table(len(index))
        sub.columns = {k: v[index] for k, v in self.columns.items()}
        sub.undefined = {k: v[index] for k, v in self.undefined.items()}
        return sub

    def value(self, name: str, i: int):
        """One cell as a plain Python value (``None`` for missing or undefined)."""
        col = self.columns.get(name)
        if col is None:
            return None
        v = col[i]
        if type(v) is str or v is None:       # text columns: the common case, checked first
            return v
        if isinstance(v, float):               # np.float64 is a float
            return None if v != v else float(v)
        if isinstance(v, np.floating):
            return None if np.isnan(v) else float(v)
        return v
