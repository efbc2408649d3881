"""Compact string columns and the listing-id lookup, without a Python object per string.

A `list[str]` of a million short strings costs ~60-70 bytes a string (the str object and
its pointer) and scatters a million small objects over the heap, which then pins
allocator arenas long after the load's temporary objects are freed. A `StrColumn` is read
as a `Sequence[str]` but stores either

- `PackedStrings`: every string back to back in one buffer, plus offsets; or
- `CodedStrings`: a small integer code per row into the column's distinct strings (packed),
  for columns that repeat a few values (service codes, provider names, districts);

and makes a Python string only when one is read. An `IdIndex` finds a listing id's row by
binary search over the ids as sorted fixed-width bytes instead of a million-entry dict.
"""

from __future__ import annotations

import json
import re
import sys
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise
from typing import Any, overload

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.integer[Any]]

# Strings are stored as UTF-8 with lone surrogates passed through, so any Python string
# round-trips (validated snapshots have none: pydantic refuses them).
_ENCODING = ("utf-8", "surrogatepass")
_HASH_CHUNK = 65_536  # strings per piece when a column is written as JSON for hashing
_BUILD_CHUNK = 65_536  # strings coded per step while a column is built
MAX_CODED = 65_536  # a column with more distinct strings is packed, not coded
# What json.dumps(..., ensure_ascii=False) escapes in a string: quote, backslash, controls.
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_NEEDS_ESCAPE_BYTES = re.compile(rb'["\\\x00-\x1f]')


class StrColumn(Sequence[str]):
    """An immutable sequence of strings in compact storage (see the module docstring)."""

    __slots__ = ()

    @staticmethod
    def from_strings(strings: Iterable[str], codable: bool = True) -> StrColumn:
        """A column holding `strings` in order (coded when few of them are distinct)."""
        builder = StrColumnBuilder(codable)
        builder.extend(strings if isinstance(strings, list) else list(strings))
        return builder.finish()

    @property
    @abstractmethod
    def nbytes(self) -> int:
        """Memory held by the column's arrays and buffers."""

    @abstractmethod
    def take(self, rows: Ints | Sequence[int]) -> list[str]:
        """The strings at `rows`, in that order."""

    @abstractmethod
    def json_chunks(self, rows: Ints) -> Iterator[bytes]:
        """`json.dumps([self[i] for i in rows], ensure_ascii=False).encode()`, in pieces.

        The same bytes as one call on the whole list (a JSON list is "[" + the items joined
        by ", " + "]"), without making a million strings at once.
        """

    @abstractmethod
    def fixed_width(self) -> npt.NDArray[np.bytes_] | None:
        """The strings as a numpy `S<width>` array of their UTF-8, or None when one has a NUL.

        numpy pads fixed-width bytes with NULs and drops trailing ones when comparing, so a
        string with a NUL could compare equal to another; such columns get None.
        """

    @abstractmethod
    def _item(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return self.take(range(*index.indices(len(self))))
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("StrColumn index out of range")
        return self._item(index)

    def tolist(self) -> list[str]:
        """Every string, as a list."""
        return list(self)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        """`np.asarray(column)` as of the list of its strings (not one row at a time)."""
        return np.array(self.tolist(), dtype=dtype)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compares by content, like a list

    def __repr__(self) -> str:
        head = ", ".join(repr(s) for s in self[:3])
        more = ", ..." if len(self) > 3 else ""
        return f"{type(self).__name__}([{head}{more}], n={len(self)})"


class PackedStrings(StrColumn):
    """Every string back to back in one buffer; string i is `data[offsets[i]:offsets[i+1]]`.

    When every string is ASCII the buffer is a `str` (a slice is then the string, no
    decoding); otherwise it is UTF-8 `bytes`. Offsets are int32 below 2 GB of text.
    """

    __slots__ = ("_bounds", "_data", "_offsets", "_verbatim")

    def __init__(self, data: str | bytes, offsets: Ints) -> None:
        if isinstance(data, bytes) and data.isascii():
            data = data.decode("ascii")
        offsets = np.ascontiguousarray(offsets, dtype=_offset_dtype(len(data)))
        if offsets.ndim != 1 or len(offsets) < 1 or int(offsets[0]) != 0:
            raise ValueError("offsets must be 1-d and start at 0")
        if int(offsets[-1]) != len(data) or (np.diff(offsets) < 0).any():
            raise ValueError("offsets must be non-decreasing and end at the data's length")
        offsets.setflags(write=False)
        self._data = data
        self._offsets = offsets
        self._bounds = offsets.data  # a memoryview: its items are Python ints, ~3x faster
        self._verbatim: bool | None = None

    @classmethod
    def pack(cls, strings: list[str]) -> PackedStrings:
        """A packed column holding `strings` in order."""
        text = "".join(strings)
        if text.isascii():
            lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
            return cls(text, _cumulative(lengths))
        encoded = [s.encode(*_ENCODING) for s in strings]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        return cls(b"".join(encoded), _cumulative(lengths))

    @classmethod
    def concat(cls, parts: Sequence[PackedStrings]) -> PackedStrings:
        """The columns of `parts` one after another."""
        data: str | bytes
        texts = [p._data for p in parts]
        if all(isinstance(t, str) for t in texts):
            data = "".join(texts)  # type: ignore[arg-type]  # all str, checked above
        else:
            data = b"".join(p.buffer() for p in parts)
        lengths = [np.diff(p._offsets).astype(np.int64) for p in parts]
        return cls(data, _cumulative(np.concatenate(lengths) if lengths else np.zeros(0, np.int64)))

    def buffer(self) -> bytes:
        """The strings back to back as UTF-8."""
        data = self._data
        return data.encode("ascii") if isinstance(data, str) else data

    @property
    def offsets(self) -> Ints:
        """Byte offsets into `buffer()`: string i is buffer[offsets[i]:offsets[i+1]]."""
        return self._offsets

    @property
    def nbytes(self) -> int:
        """Memory held: the buffer and the offsets."""
        return len(self._data) + int(self._offsets.nbytes)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _item(self, index: int) -> str:
        bounds = self._bounds
        data = self._data
        if isinstance(data, str):
            return data[bounds[index] : bounds[index + 1]]
        return data[bounds[index] : bounds[index + 1]].decode(*_ENCODING)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        # Rows are read one by one in answers: a Python int >= 0 takes the shortest path.
        if index.__class__ is int and index >= 0:  # a Python int: the shortest path
            bounds = self._bounds
            try:
                start, end = bounds[index], bounds[index + 1]
            except IndexError:
                raise IndexError("StrColumn index out of range") from None
            data = self._data
            return data[start:end] if isinstance(data, str) else data[start:end].decode(*_ENCODING)
        return super().__getitem__(index)

    def __iter__(self) -> Iterator[str]:
        data = self._data
        pairs = pairwise(self._offsets.tolist())
        if isinstance(data, str):
            return (data[a:b] for a, b in pairs)
        return (data[a:b].decode(*_ENCODING) for a, b in pairs)

    def take(self, rows: Ints | Sequence[int]) -> list[str]:
        """The strings at `rows`, in that order."""
        bounds, data = self._bounds, self._data
        if isinstance(rows, np.ndarray):
            rows = rows.tolist()
        if isinstance(data, str):
            return [data[bounds[i] : bounds[i + 1]] for i in rows]
        return [data[bounds[i] : bounds[i + 1]].decode(*_ENCODING) for i in rows]

    def json_chunks(self, rows: Ints) -> Iterator[bytes]:
        """See `StrColumn.json_chunks`; when no string needs an escape, each item is its
        UTF-8 between quotes, gathered with numpy instead of made and dumped."""
        yield b"["
        source = np.frombuffer(self.buffer(), dtype=np.uint8) if self._no_escapes() else None
        for start in range(0, len(rows), _HASH_CHUNK):
            block = rows[start : start + _HASH_CHUNK]
            if source is None:
                piece = json.dumps(self.take(block), ensure_ascii=False)[1:-1].encode()
            else:
                piece = _json_gathered(source, self._offsets, block)
            yield piece if start == 0 else b", " + piece
        yield b"]"

    def _no_escapes(self) -> bool:
        """Every string is valid Unicode needing no JSON escape (its JSON is `"` UTF-8 `"`)."""
        if self._verbatim is None:
            data = self._data
            if isinstance(data, str):
                verbatim = _NEEDS_ESCAPE.search(data) is None
            else:
                try:
                    data.decode("utf-8")  # a lone surrogate: json.dumps(...).encode() fails
                    verbatim = _NEEDS_ESCAPE_BYTES.search(data) is None
                except UnicodeDecodeError:
                    verbatim = False
            self._verbatim = verbatim
        return self._verbatim

    def fixed_width(self) -> npt.NDArray[np.bytes_] | None:
        """See `StrColumn.fixed_width`."""
        raw = self.buffer()
        if b"\x00" in raw:
            return None
        n = len(self)
        offsets = self._offsets.astype(np.int64)
        lengths = np.diff(offsets)
        width = max(1, int(lengths.max())) if n else 1
        out = np.zeros(n * width, dtype=np.uint8)
        row = np.repeat(np.arange(n, dtype=np.int64), lengths)
        pos = row * width + (np.arange(len(raw), dtype=np.int64) - offsets[:-1][row])
        out[pos] = np.frombuffer(raw, dtype=np.uint8)
        return out.view(f"S{width}")


class CodedStrings(StrColumn):
    """Row i holds `values[codes[i]]`: a code per row into the distinct strings.

    The distinct strings (at most MAX_CODED) are also kept as Python strings, so reading a
    row makes no new string: ~4 MB at most, for reads as fast as a list's.
    """

    __slots__ = ("_code_at", "_codes", "_strings", "_values")

    def __init__(self, codes: Ints, values: PackedStrings) -> None:
        codes = np.ascontiguousarray(codes)
        if codes.ndim != 1 or codes.dtype.kind != "u":
            raise ValueError("codes must be a 1-d unsigned integer array")
        if len(codes) and int(codes.max()) >= len(values):
            raise ValueError("a code is beyond the values")
        codes.setflags(write=False)
        self._codes = codes
        self._code_at = codes.data  # memoryview, as PackedStrings._bounds
        self._values = values
        self._strings = values.tolist()

    @property
    def codes(self) -> Ints:
        """The code of each row."""
        return self._codes

    @property
    def values(self) -> PackedStrings:
        """The distinct strings the codes point into."""
        return self._values

    @property
    def nbytes(self) -> int:
        """Memory held: the codes and the distinct strings (packed, and as Python strings)."""
        objects = sum(map(sys.getsizeof, self._strings)) + sys.getsizeof(self._strings)
        return int(self._codes.nbytes) + self._values.nbytes + objects

    def __len__(self) -> int:
        return len(self._codes)

    def _item(self, index: int) -> str:
        return self._strings[self._code_at[index]]

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if index.__class__ is int and index >= 0:  # a Python int: the shortest path
            try:
                return self._strings[self._code_at[index]]
            except IndexError:
                raise IndexError("StrColumn index out of range") from None
        return super().__getitem__(index)

    def __iter__(self) -> Iterator[str]:
        return map(self._strings.__getitem__, self._codes.tolist())

    def take(self, rows: Ints | Sequence[int]) -> list[str]:
        """The strings at `rows`, in that order."""
        strings, code_at = self._strings, self._code_at
        if isinstance(rows, np.ndarray):
            rows = rows.tolist()
        return [strings[code_at[i]] for i in rows]

    def json_chunks(self, rows: Ints) -> Iterator[bytes]:
        """See `StrColumn.json_chunks`."""
        return self._values.json_chunks(self._codes[rows])

    def fixed_width(self) -> npt.NDArray[np.bytes_] | None:
        """See `StrColumn.fixed_width`."""
        values = self._values.fixed_width()
        return None if values is None else values[self._codes]


class StrColumnBuilder:
    """Strings appended a chunk at a time into one column, coded while few are distinct.

    Each chunk is packed (or coded) as it comes, so a chunk's Python strings can go.
    """

    def __init__(self, codable: bool = True) -> None:
        # distinct string -> code, while coding (a column of unique strings never codes)
        self._table: dict[str, int] | None = {} if codable else None
        self._coded: list[npt.NDArray[np.uint32]] = []
        self._packed: list[PackedStrings] = []
        self._size = 0

    def extend(self, strings: list[str]) -> None:
        """Append `strings`."""
        for start in range(0, len(strings), _BUILD_CHUNK):
            self._extend(strings[start : start + _BUILD_CHUNK])

    def _extend(self, strings: list[str]) -> None:
        self._size += len(strings)
        table = self._table
        if table is None:
            self._packed.append(PackedStrings.pack(strings))
            return
        # New strings get the next codes in order of first appearance; then every string's
        # code in one C-level pass (a per-string setdefault in Python took ~1.3x as long on a
        # column of few distinct strings, the columns that stay coded).
        for distinct in dict.fromkeys(strings):
            table.setdefault(distinct, len(table))
        if len(table) <= MAX_CODED:
            codes = map(table.__getitem__, strings)
            self._coded.append(np.fromiter(codes, dtype=np.uint32, count=len(strings)))
            return
        # Too many distinct strings to be worth coding: pack what came so far.
        values = list(table)
        self._packed = [PackedStrings.pack([values[c] for c in part.tolist()])
                        for part in self._coded]  # fmt: skip
        self._packed.append(PackedStrings.pack(strings))
        self._table, self._coded = None, []

    def finish(self) -> StrColumn:
        """The column: coded when its distinct strings are at most half its rows."""
        table = self._table
        if table is None:
            return PackedStrings.concat(self._packed)
        codes = np.concatenate(self._coded) if self._coded else np.zeros(0, np.uint32)
        values = list(table)
        if 2 * len(values) > self._size:
            return PackedStrings.pack([values[c] for c in codes.tolist()])
        dtype = (
            np.uint8
            if len(values) <= 1 << 8
            else np.uint16
            if len(values) <= 1 << 16
            else np.uint32
        )
        return CodedStrings(codes.astype(dtype), PackedStrings.pack(values))


def _offset_dtype(size: int) -> type[np.integer[Any]]:
    return np.int32 if size < 2**31 else np.int64


def _cumulative(lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _json_gathered(source: npt.NDArray[np.uint8], offsets: Ints, rows: Ints) -> bytes:
    """`"a", "b", "c"`: the strings at `rows` of a packed column (its UTF-8 `source` and
    `offsets`) as JSON list items, when none needs an escape (a compiled loop, imported
    here so that building columns alone never imports numba)."""
    from matcher.registry.gather import json_items

    return json_items(source, offsets, rows)


def as_str_column(value: Sequence[str], codable: bool = True) -> StrColumn:
    """`value` as a StrColumn (itself when it already is one)."""
    return value if isinstance(value, StrColumn) else StrColumn.from_strings(list(value), codable)


class IdIndex:
    """Listing id -> row through an open-addressing hash table of row numbers.

    At a million listings the table is 16 MB of int32 pairs (row, hash tag) where a
    `dict[str, int]` is ~130 MB of objects. A lookup hashes the id with Python's own `hash`
    (so each process builds its table), walks the slots from there and compares the id's
    string only where the tag matches: ~0.5 us. `order` (rows in id order, ties in row
    order) is the canonical order the registry version hashes rows in. A repeated id finds
    its last row, as a dict built in row order would.
    """

    __slots__ = ("_bounds", "_duplicates", "_item", "_mask", "_row_at", "_rows", "_tag_at",
                 "_tags", "_text", "order")  # fmt: skip

    def __init__(self, ids: StrColumn) -> None:
        keys = ids.fixed_width()
        if keys is None:  # a NUL in an id (never in a snapshot): numpy cannot sort them
            order = np.array(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)
            self._duplicates = len(set(ids)) != len(ids)
        else:
            order = np.argsort(keys, kind="stable")
            ranked = keys[order]
            self._duplicates = bool(len(ranked) > 1 and (ranked[1:] == ranked[:-1]).any())
            del ranked, keys
        self.order: Ints = order.astype(np.int32 if len(order) < 2**31 else np.int64)
        self.order.setflags(write=False)
        self._rows, self._tags, self._mask = _hash_table(ids)
        self._row_at, self._tag_at = self._rows.data, self._tags.data
        self._item = ids._item
        # ASCII ids packed in one str: compare in place, without making the id's string.
        self._text: str | None = None
        self._bounds: memoryview = memoryview(b"")
        if isinstance(ids, PackedStrings) and isinstance(ids._data, str):
            self._text, self._bounds = ids._data, ids._bounds

    @property
    def nbytes(self) -> int:
        """Memory held (the hash table and the canonical order)."""
        return int(self._rows.nbytes + self._tags.nbytes + self.order.nbytes)

    def duplicates(self) -> bool:
        """Whether some id appears more than once."""
        return self._duplicates

    def row_of(self, listing_id: str) -> int | None:
        """The row of `listing_id`, or None if unknown."""
        h = hash(listing_id)
        tag = h & _TAG_MASK
        mask = self._mask
        i = (h >> _TAG_BITS) & mask
        row_at, tag_at, text, bounds = self._row_at, self._tag_at, self._text, self._bounds
        while (row := row_at[i]) >= 0:
            if tag_at[i] == tag:
                if text is not None:
                    start = bounds[row]
                    if bounds[row + 1] - start == len(listing_id) and text.startswith(
                        listing_id, start
                    ):
                        return int(row)
                elif self._item(row) == listing_id:
                    return int(row)
            i = (i + 1) & mask
        return None

    def rows_of(self, listing_ids: Sequence[str]) -> npt.NDArray[np.intp]:
        """The row of each id, -1 where unknown."""
        rows = [self.row_of(x) for x in listing_ids]
        return np.array([-1 if r is None else r for r in rows], dtype=np.intp)


_TAG_BITS = 32
_TAG_MASK = (1 << _TAG_BITS) - 1


def _hash_table(ids: StrColumn) -> tuple[Ints, npt.NDArray[np.uint32], int]:
    """An open-addressing table (linear probing, at most half full) of the rows of `ids`,
    with each row's hash tag (the hash's low bits; the slot comes from the high bits).

    Filled in rounds with numpy: each round every unplaced row tries its next slot and one
    row per free slot takes it, the latest row first, so a repeated id's last row comes
    first on its probe path.
    """
    n = len(ids)
    size = 1 << max(3, (2 * n).bit_length())
    mask = size - 1
    hashes = np.fromiter(map(hash, ids), dtype=np.int64, count=n)
    rows: Ints = np.full(size, -1, dtype=np.int32 if n < 2**31 else np.int64)
    tags = np.zeros(size, dtype=np.uint32)
    pending = np.arange(n - 1, -1, -1, dtype=np.int64)  # latest row first
    probe = (hashes[pending] >> _TAG_BITS) & mask
    while len(pending):
        contenders = np.flatnonzero(rows[probe] < 0)
        taken, first = np.unique(probe[contenders], return_index=True)
        winners = contenders[first]  # per free slot, its earliest contender: the latest row
        rows[taken] = pending[winners]
        tags[taken] = (hashes[pending[winners]] & _TAG_MASK).astype(np.uint32)
        placed = np.zeros(len(pending), dtype=bool)
        placed[winners] = True
        pending, probe = pending[~placed], (probe[~placed] + 1) & mask
    return rows, tags, mask
