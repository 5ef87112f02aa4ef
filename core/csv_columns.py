"""CSV rows held as columns: what a national-scale file is read into instead of a dict per row.

A 200,000-row file with 44 columns is 8.8 million cells. Turning each into a Python string and
each row into a dict costs more than everything else the evaluation does; most cells are plain
numbers that validation only needs as one float column. So the loader keeps such a file as
columns (:class:`ByteColumns` for a file without quotes, :class:`ListColumns` for one read
with the ``csv`` module) and validation asks each column for what it needs:

* :meth:`plain_numbers` — the cells that are plain decimal numbers (``"1200"``, ``"37229.9"``),
  converted in a few array operations over the bytes, with a mask of which cells they were;
* :meth:`cells` — the cells as text, stripped, ``None`` for empty (all of them or some rows);
* :meth:`present` — which cells hold a value;
* :meth:`row` — one row as the :class:`~edubalance.loading.RawRow` the row loader gives.

Nothing here judges a value: a cell that is not plain is handed over as text, and validation
converts it the way it converts any cell. The columns must equal, cell for cell, what
:func:`edubalance.loading.load_file` would put in ``RawRow.data`` (the tests compare them).
"""
from __future__ import annotations

import csv
import io
import re
from itertools import repeat
from operator import is_not
from typing import Any, Sequence

import numpy as np

from .fields import COUNTY_ONLY_FIELDS
from .loading import _HEADER_SEARCH_ROWS, RawRow, _column_letter, _find_header, _header_names

#: First UTF-8 byte of every character ``str.isspace`` is true for (a cell holding only spaces
#: must be found without decoding every cell): ASCII blanks, U+0085/U+00A0 (0xC2),
#: U+1680 (0xE1), U+2000–U+205F (0xE2), U+3000 (0xE3).
WS_LEAD = frozenset((0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0xC2, 0xE1, 0xE2, 0xE3))
_WS_FIRST = np.zeros(256, dtype=bool)
_WS_FIRST[list(WS_LEAD)] = True
_SPACE = re.compile(r"[^\S\n]")          # whitespace inside decoded cells joined by newlines

_U = np.uint64
_ONES = 0x0101010101010101
_ZERO8 = _U(0x30 * _ONES)                # eight ASCII '0'
_HIGH = _U(0x80 * _ONES)
_LOW7 = _U(0x7F * _ONES)
_DOTS = _U(0x2E * _ONES)
_NIBBLES = _U(0xF0 * _ONES)
_SIX = _U(0x06 * _ONES)
_THREES = _U(0x33 * _ONES)
#: The top ``k`` bytes of a little-endian word (the last ``k`` characters of a right-aligned cell).
_TOP = np.array([0] + [((1 << (8 * k)) - 1) << (8 * (8 - k)) for k in range(1, 9)], dtype=np.uint64)
_ZERO_PAD = _ZERO8 & ~_TOP                        # '0' in the other bytes
_POW10_INT = np.array([10 ** k for k in range(17)], dtype=np.uint64)
_POW10 = np.array([10.0 ** k for k in range(17)])
#: Longest plain number converted here: 15 digits are exact in a float, whatever they are.
MAX_DIGITS = 15
#: Longest cell :meth:`ByteColumns.factorize` tells apart by its bytes.
FACTOR_BYTES = 48


# --- plain numbers, eight bytes at a time --------------------------------------------------

def _all_digits(w: np.ndarray) -> np.ndarray:
    """True where all eight bytes of ``w`` are ASCII digits: each byte's high nibble is 3, also
    after adding 6 (a low nibble above 9 carries; no carry leaves a byte whose high nibble is 3)."""
    return ((w & _NIBBLES) | (((w + _SIX) & _NIBBLES) >> _U(4))) == _THREES


def _zero_bytes(w: np.ndarray) -> np.ndarray:
    """0x80 in each byte of ``w`` that is 0."""
    return ~(((w & _LOW7) + _LOW7) | w) & _HIGH


def _eight_digits(w: np.ndarray) -> np.ndarray:
    """The value of eight ASCII digits (first character in the lowest byte)."""
    v = w - _ZERO8
    v = (v * _U(10) + (v >> _U(8))) & _U(0x00FF00FF00FF00FF)
    v = (v * _U(100) + (v >> _U(16))) & _U(0x0000FFFF0000FFFF)
    return (v * _U(10000) + (v >> _U(32))) & _U(0xFFFFFFFF)


def _four_digits(w: np.ndarray) -> np.ndarray:
    """The value of the four ASCII digits in the top half of ``w``."""
    v = (w >> _U(32)) - _U(0x30303030)
    v = (v * _U(10) + (v >> _U(8))) & _U(0x00FF00FF)
    return (v * _U(100) + (v >> _U(16))) & _U(0xFFFF)


def _high_bit_index(marker: np.ndarray) -> np.ndarray:
    """Index of the byte whose 0x80 bit is the one set in ``marker`` (0 where none is)."""
    exponent = np.frexp(marker.astype(np.float64))[1]        # 2**(8q+7) -> 8q+8
    return np.maximum(exponent - 8, 0) // 8


def _word(words: np.ndarray, at: np.ndarray, length: np.ndarray, read: np.ndarray | None = None) -> np.ndarray:
    """The ``length`` (0..8) bytes before offset ``at``, right-aligned, with '0' in front.
    ``read``: the eight bytes before ``at``, if already read."""
    w = words[at - 8] if read is None else read.copy()
    w &= _TOP[length]
    w |= _ZERO_PAD[length]
    return w


def words_of(data: bytes) -> np.ndarray | None:
    """``w[i]`` = the eight bytes ``data[i:i+8]`` as a little-endian integer (a view, no copy)."""
    if len(data) < 8:
        return None
    return np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))


def parse_plain(words: np.ndarray | None, s: np.ndarray, e: np.ndarray, decimal: bool,
                last: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cells ``[s:e]`` that are plain numbers: ``(values, plain)``; values are NaN elsewhere.
    ``words``: :func:`words_of` the file's bytes; ``last``: ``words[e - 8]`` if already read.

    Plain means what the validator's own fast test means: ASCII digits (``decimal``: with at most
    one ``.`` and at least one digit), here also at most :data:`MAX_DIGITS` digits. The value is
    exact: the digits make an integer below 2**53 and one division by a power of ten rounds it
    the way ``float(text)`` does.
    """
    n = len(e)
    if n == 0 or words is None:
        return np.full(n, np.nan), np.zeros(n, dtype=bool)
    length = e - s
    plain = length > 0
    plain &= length <= MAX_DIGITS + (1 if decimal else 0)
    at = e
    if int(e.min()) < 16:                           # too near the start of the file: not here
        plain &= e >= 16
        at = np.maximum(e, 16)
        last = None
    longest = int(length[plain].max()) if plain.any() else 0
    lo = _word(words, at, np.minimum(length, 8) * plain, last)
    hi = _word(words, at - 8, np.clip(length - 8, 0, 8) * plain) if longest > 8 else None
    if decimal:
        dot_lo = _zero_bytes(lo ^ _DOTS)
        lo += (dot_lo >> _U(7)) * _U(2)               # the dot becomes a '0' digit
        plain &= (dot_lo & (dot_lo - _U(1))) == 0          # at most one dot in a word ...
        dots = (dot_lo != 0).astype(np.int64)
        if hi is not None:
            dot_hi = _zero_bytes(hi ^ _DOTS)
            hi += (dot_hi >> _U(7)) * _U(2)
            plain &= (dot_hi & (dot_hi - _U(1))) == 0
            dots += dot_hi != 0
        plain &= dots <= 1                                    # ... and in the cell
        plain &= length - dots >= 1
        plain &= length - dots <= MAX_DIGITS
    plain &= _all_digits(lo)
    if hi is not None:
        plain &= _all_digits(hi)
        number = _eight_digits(lo) + _eight_digits(hi) * _U(10 ** 8)
    elif longest <= 4:
        number = _four_digits(lo)
    else:
        number = _eight_digits(lo)
    if decimal:
        frac = np.where(dot_lo != 0, 7 - _high_bit_index(dot_lo), 0)
        if hi is not None:
            frac = np.where(dot_hi != 0, 15 - _high_bit_index(dot_hi), frac)
        frac *= plain
        tail = number % _POW10_INT[frac]
        mantissa = (number - tail) // _U(10) + tail
        mantissa = np.where(dots > 0, mantissa, number)         # "5.": a dot but no decimals
        result = mantissa.astype(np.float64) / _POW10[frac]
    else:
        result = number.astype(np.float64)
    return np.where(plain, result, np.nan), plain


# --- the columns -----------------------------------------------------------------------------

class CsvColumns:
    """The school rows of one CSV file as columns of raw cells (see the module docstring).

    ``names`` are the kept columns' field names in file order, ``numbers`` the rows' numbers
    (header = 1, blank lines counted). Column ``k`` of a row holds what ``RawRow.data[names[k]]``
    would: a stripped str, or ``None``.
    """

    file: str
    names: list[str]
    numbers: np.ndarray

    def __len__(self) -> int:
        return len(self.numbers)

    @property
    def n(self) -> int:
        return len(self.numbers)

    def present(self, k: int) -> np.ndarray:
        raise NotImplementedError

    def cells(self, k: int, rows: np.ndarray | None = None) -> list[str | None]:
        raise NotImplementedError

    def plain_numbers(self, k: int, decimal: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """``(values, plain)`` for the plain-number cells of column ``k``; None if not offered."""
        return None

    def factorize(self, k: int) -> tuple[np.ndarray, list[str | None]] | None:
        """``(codes, distinct)``: cell ``i`` of column ``k`` is ``distinct[codes[i]]`` (a text may
        appear more than once in ``distinct``); None if not offered."""
        return None

    def row(self, i: int) -> RawRow:
        raise NotImplementedError

    def rows(self) -> list[RawRow]:
        return [self.row(i) for i in range(self.n)]

    def fill_province(self, value: str) -> None:
        """Give rows without a province ``value`` (a column is added if the file has none)."""
        raise NotImplementedError


class ByteColumns(CsvColumns):
    """Columns over the UTF-8 bytes of a CSV file that has no quotes: only offsets are kept.

    ``ends[j, i]`` is the offset just after cell ``j`` of row ``i`` (a delimiter, a newline or
    the CR of a CRLF), ``line_starts[i]`` where row ``i`` begins.
    """

    def __init__(self, file: str, data: bytes, delimiter: str, ends: np.ndarray, line_starts: np.ndarray,
                 numbers: np.ndarray, names: list[str], cols: list[int], present: list[np.ndarray],
                 by_row: np.ndarray | None = None) -> None:
        self.file = file
        self._data = data
        self._delimiter = delimiter
        self._b = np.frombuffer(data, dtype=np.uint8)
        self._words = words_of(data)
        self._ends = ends
        self._by_row = by_row               # ``ends.T`` if the reader has it (row after row)
        self._lasts: np.ndarray | None = None
        self._line_starts = line_starts
        self.numbers = numbers
        self.names = names
        self._cols = cols                   # file column of each name; -1: the filled province
        self._present = present
        self._fill: tuple[int, str] | None = None

    def _span(self, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Start and end offsets of column ``k``'s cells (of ``rows``, else all)."""
        j = self._cols[k]
        if rows is None:
            return (self._line_starts if j == 0 else self._ends[j - 1] + 1), self._ends[j]
        return (self._line_starts[rows] if j == 0 else self._ends[j - 1, rows] + 1), self._ends[j, rows]

    def present(self, k: int) -> np.ndarray:
        return self._present[k]

    def _last(self, j: int) -> np.ndarray:
        """The eight bytes before the end of each cell of file column ``j`` (as one integer).
        Read for all columns at once, row after row: the bytes of a row lie together, while
        reading a column at a time jumps through the whole file for every column."""
        if self._lasts is None:           # [rows, columns]: a column is a strided view
            at = self._by_row if self._by_row is not None else np.ascontiguousarray(self._ends.T)
            self._by_row = None           # used up here: in place, unless it is ``ends`` itself
            at = np.subtract(at, 8, out=None if np.may_share_memory(at, self._ends) else at)
            np.maximum(at, 0, out=at)
            self._lasts = self._words[at]
        return self._lasts[:, j]

    def cells(self, k: int, rows: np.ndarray | None = None) -> list[str | None]:
        n = self.n if rows is None else len(rows)
        if self._cols[k] < 0:
            return [self._fill[1]] * n if self._fill else [None] * n
        s, e = self._span(k, rows)
        out = _decode_cells(self._b, s, e)
        if self._fill is not None and self._fill[0] == k:
            value = self._fill[1]
            return [c if c is not None else value for c in out]
        return out

    def plain_numbers(self, k: int, decimal: bool) -> tuple[np.ndarray, np.ndarray] | None:
        if self._cols[k] < 0 or (self._fill is not None and self._fill[0] == k):
            return None
        s, e = self._span(k)
        if self._words is None:
            return parse_plain(None, s, e, decimal)
        return parse_plain(self._words, s, e, decimal, self._last(self._cols[k]))

    def factorize(self, k: int) -> tuple[np.ndarray, list[str | None]] | None:
        """Cells of up to :data:`FACTOR_BYTES` bytes are told apart by their bytes read as
        integers, so that only one cell per distinct text is decoded."""
        n = self.n
        fill = self._fill[1] if self._fill is not None and self._fill[0] == k else None
        if self._cols[k] < 0:
            return np.zeros(n, dtype=np.intp), [fill]
        s, e = self._span(k)
        length = e - s
        words = self._words
        longest = int(length.max()) if n else 0
        count = max(1, -(-longest // 8))                  # words per cell
        if n == 0 or words is None or longest > FACTOR_BYTES or int(e.min()) < 8 * count:
            return None
        parts = [(self._last(self._cols[k]) if i == 0 else words[e - 8 * (i + 1)])
                 & _TOP[np.clip(length - 8 * i, 0, 8)] for i in range(count)]
        key = parts[0].copy()
        for part in parts[1:]:
            key *= _U(0x9E3779B97F4A7C15)
            key ^= part
        codes, first = _codes(key)
        same = np.ones(n, dtype=bool)
        for part in parts:
            same &= part[first][codes] == part
        if not same.all():                 # two texts with one key: rare, so do it the slow way
            return None
        distinct = _decode_cells(self._b, s[first], e[first])
        if fill is not None:
            distinct = [fill if d is None else d for d in distinct]
        return codes, distinct

    def row(self, i: int) -> RawRow:
        start, end = int(self._line_starts[i]), int(self._ends[-1, i])
        line = self._data[start:end].decode("utf-8")
        cells = line.split(self._delimiter)          # no quotes: the cells are what lies between
        data: dict[str, Any] = {}
        fill = self._fill[1] if self._fill is not None else None
        for name, j in zip(self.names, self._cols):
            data[name] = (cells[j].strip() or None) if j >= 0 else fill
        if fill is not None and data.get("province") is None:
            data["province"] = fill
        return RawRow(self.file, int(self.numbers[i]), data)

    def fill_province(self, value: str) -> None:
        if "province" not in self.names:
            self.names = [*self.names, "province"]
            self._cols = [*self._cols, -1]
            self._present = [*self._present, None]
        k = self.names.index("province")
        self._fill = (k, value)
        self._present[k] = np.ones(self.n, dtype=bool)


class ListColumns(CsvColumns):
    """Columns of cells already read as text (a CSV file with quotes, read by the csv module)."""

    def __init__(self, file: str, numbers: Sequence[int], names: list[str], columns: list[list[Any]]) -> None:
        self.file = file
        self.numbers = np.asarray(numbers, dtype=np.int64)
        self.names = names
        self._columns = columns
        self._present: dict[int, np.ndarray] = {}

    def present(self, k: int) -> np.ndarray:
        found = self._present.get(k)
        if found is None:
            col = self._columns[k]
            found = self._present[k] = np.fromiter(map(is_not, col, repeat(None)), dtype=bool, count=len(col))
        return found

    def cells(self, k: int, rows: np.ndarray | None = None) -> list[str | None]:
        col = self._columns[k]
        if rows is None:
            return list(col)
        return [col[i] for i in rows.tolist()]

    def plain_numbers(self, k: int, decimal: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """The column written out as bytes, one cell per line, and read as :func:`parse_plain` does."""
        col = self._columns[k]
        data = ("x" * 16 + "\n" + "\n".join([c or "" for c in col]) + "\n").encode("utf-8")
        b = np.frombuffer(data, dtype=np.uint8)
        newlines = np.flatnonzero(b == 10)
        if len(newlines) != len(col) + 1:
            return None                                # a cell holds a line break
        s, e = newlines[:-1] + 1, newlines[1:]
        self._present[k] = e > s                       # a cell is None or stripped, non-empty text
        return parse_plain(words_of(data), s, e, decimal)

    def row(self, i: int) -> RawRow:
        return RawRow(self.file, int(self.numbers[i]), {name: col[i] for name, col in zip(self.names, self._columns)})

    def fill_province(self, value: str) -> None:
        self._present.clear()
        if "province" in self.names:
            k = self.names.index("province")
            self._columns[k] = [value if c is None else c for c in self._columns[k]]
        else:
            self.names = [*self.names, "province"]
            self._columns = [*self._columns, [value] * self.n]


def _codes(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, first)``: ``key[i] == key[first[codes[i]]]``, one code per distinct key.
    Most columns hold a few distinct values: those are found among the first rows and the
    rest looked up, without sorting the whole column."""
    n = len(key)
    sample = np.unique(key[:8192])
    missing = None
    if len(sample) <= 4096:
        codes = np.searchsorted(sample, key)
        np.minimum(codes, len(sample) - 1, out=codes)
        missing = sample[codes] != key
        if missing.any() and np.count_nonzero(missing) <= n // 2:
            sample = np.union1d(sample, key[missing])
            codes = np.searchsorted(sample, key)
            missing = None
    if len(sample) > 4096 or missing is not None and missing.any():
        sample, codes = np.unique(key, return_inverse=True)
        codes = codes.ravel()
    first = np.empty(len(sample), dtype=np.intp)
    first[codes] = np.arange(len(key))            # any row of each key will do
    return codes, first


def _decode_cells(b: np.ndarray, s: np.ndarray, e: np.ndarray) -> list[str | None]:
    """Cells ``b[s:e]`` as stripped text (None for empty), decoded in one go: the cells are
    gathered into one buffer separated by newlines (which no cell holds), decoded and split."""
    n = len(s)
    if n == 0:
        return []
    length = e - s
    span = length + 1
    offsets = np.cumsum(span) - span
    total = int(offsets[-1] + span[-1])
    src = np.arange(total, dtype=np.int64)
    src += np.repeat(s - offsets, span)
    np.minimum(src, len(b) - 1, out=src)          # the last cell of a file without a final newline
    out = b[src]
    out[offsets + length] = 10
    text = out.tobytes().decode("utf-8")
    cells: list[Any] = text.split("\n")
    cells.pop()
    if _SPACE.search(text) is not None:
        return [c.strip() or None for c in cells]
    if not length.all():
        for i in np.flatnonzero(length == 0).tolist():
            cells[i] = None
    return cells


# --- reading a file without quotes ---------------------------------------------------------------

class Empty(Exception):
    """The file has no header row (every row is blank)."""


def _header(text: str, delimiter: str) -> tuple[list[tuple[int, Sequence[Any]]], int]:
    """:func:`~edubalance.loading._find_header` over the csv module's rows of ``text``, reading
    only as much of the text as it needs (a national file is tens of MB)."""
    size = 1 << 16
    while True:
        head = text if size >= len(text) else text[:text.rfind("\n", 0, size) + 1]
        rows = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
        buffered, k = _find_header(enumerate(rows, start=1))
        if len(buffered) >= _HEADER_SEARCH_ROWS or len(head) == len(text):
            return buffered, k
        size *= 4


def read_unquoted(name: str, text: str, data: bytes, delimiter: str
                  ) -> tuple[ByteColumns | None, list[RawRow]] | None:
    """The school rows of a CSV file without quotes as columns, and its county rows.

    ``text`` is the decoded file, ``data`` the same text as UTF-8 bytes (without a BOM). None
    when the file is not one this reader gives exactly what the csv module would (a lone CR,
    a NUL, a very long line, a row with a different number of cells): the caller reads it
    row by row then. Raises :class:`Empty` when there is no header.
    """
    if b"\x00" in data:
        return None
    b = np.frombuffer(data, dtype=np.uint8)
    cr = np.flatnonzero(b == 13)
    if len(cr) and (int(cr[-1]) + 1 >= len(b) or not (b[cr + 1] == 10).all()):
        return None                               # a CR that does not end a line
    try:
        buffered, k = _header(text, delimiter)
    except csv.Error:
        return None                               # the row reader reports it
    if not buffered:
        raise Empty()
    header_no, header = buffered[k]
    names = _header_names(name, header)
    width = len(names)

    is_sep = b == ord(delimiter)
    is_sep |= b == 10
    seps = np.flatnonzero(is_sep)
    del is_sep
    is_nl = b[seps] == 10
    if not data.endswith(b"\n"):                 # the last line has no newline: end it here
        seps = np.append(seps, len(b))
        is_nl = np.append(is_nl, True)
    line_ends = np.flatnonzero(is_nl)            # per line: index in seps of its newline
    del is_nl
    n_lines = len(line_ends)
    if n_lines < header_no:
        return None
    newlines = seps[line_ends]
    line_start = np.empty(n_lines, dtype=np.int64)
    line_start[0] = 0
    line_start[1:] = newlines[:-1] + 1
    if int((newlines - line_start).max()) > csv.field_size_limit():
        return None                               # let the csv module say what it says
    if len(cr):                                   # CRLF: a line's last cell ends at its CR
        seps[line_ends[b[np.maximum(newlines - 1, 0)] == 13]] -= 1
    counts = np.diff(line_ends, prepend=-1)
    body = np.arange(header_no, n_lines)         # 0-based line indexes after the header
    regular = counts[header_no:] == width
    for i in body[~regular].tolist():            # a row of another length: only if blank
        line = data[line_start[i]:seps[line_ends[i]]].decode("utf-8")
        if any(c.strip() for c in line.split(delimiter)):
            return None
    lines = body[regular]
    first_sep = line_ends[lines - 1] + 1
    if len(lines) == n_lines - header_no and len(lines):
        by_row = seps[first_sep[0]:].reshape(len(lines), width)
    else:
        by_row = seps[first_sep[:, None] + np.arange(width)]
    del seps
    ends = np.ascontiguousarray(by_row.T)
    starts = line_start[lines]
    numbers = lines + 1

    present = []
    last = len(b) - 1
    for j in range(width):
        s = starts if j == 0 else ends[j - 1] + 1
        has = ends[j] > s
        maybe = _WS_FIRST[b[np.minimum(s, last)]]
        maybe &= has
        if maybe.any():
            for i in np.flatnonzero(maybe).tolist():
                if not data[s[i]:ends[j, i]].decode("utf-8").strip():
                    has[i] = False
        present.append(has)
    filled = np.zeros(len(lines), dtype=bool)
    for has in present:
        filled |= has
    keep = [j for j in range(width) if present[j].any()]
    keep_names = [names[j] if names[j] is not None else f"(column {_column_letter(j)})" for j in keep]
    county_cols = [j for j, fname in zip(keep, keep_names) if fname in COUNTY_ONLY_FIELDS]
    county = np.zeros(len(lines), dtype=bool)
    if county_cols:
        for j in county_cols:
            county |= present[j]
        if "school_id" in keep_names:
            county &= ~present[keep[keep_names.index("school_id")]]
        county &= filled
    schools = filled & ~county
    whole = ByteColumns(name, data, delimiter, ends, starts, numbers, keep_names, keep, [present[j] for j in keep],
                        by_row)
    county_rows = [whole.row(i) for i in np.flatnonzero(county).tolist()]
    if not schools.any():
        return None, county_rows
    if not schools.all():
        whole = ByteColumns(name, data, delimiter, ends[:, schools], starts[schools], numbers[schools], keep_names,
                            keep, [present[j][schools] for j in keep])
    return whole, county_rows
