"""Compact string columns and the id lookup behave as the lists and the dict they replace."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.registry import strings
from matcher.registry.strings import CodedStrings, IdIndex, PackedStrings, StrColumn

# Text as snapshots may hold it: ASCII, accents, emoji, quotes and controls (JSON escapes).
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
IDS = st.text(alphabet="AL0123456789._:/-é", min_size=1, max_size=9)


@pytest.mark.parametrize(
    "values",
    [
        [],  # empty column
        ["", "", ""],  # only empty strings
        ["L0000001", "L0000002", "x"],  # ASCII, all distinct: packed
        ["Café", "Ünïcode 😀", "plain"],  # non-ASCII: a bytes buffer
        ["a\ud800b", "ok"],  # a lone surrogate still round-trips
        ["hour", "day", "hour", "hour", "day", "week"] * 50,  # few distinct: coded
    ],
)
def test_a_column_reads_back_exactly_what_it_was_given(values: list[str]) -> None:
    column = StrColumn.from_strings(values)
    assert column == values and list(column) == values and column.tolist() == values
    assert len(column) == len(values)
    assert [column[i] for i in range(len(values))] == values
    assert column[1:3] == values[1:3] and column[::-1] == values[::-1]
    if values:
        assert column[-1] == values[-1]
    with pytest.raises(IndexError):
        column[len(values)]


def test_a_column_of_few_distinct_strings_is_coded_and_smaller() -> None:
    """Six service codes over 60,000 rows: a byte per row, not the text again and again."""
    values = ["one_to_one_staffing", "transport", "therapy_session"] * 20_000
    coded = StrColumn.from_strings(values)
    packed = PackedStrings.pack(values)
    assert isinstance(coded, CodedStrings) and coded.codes.dtype == np.uint8
    assert coded == packed == values
    assert coded.nbytes * 10 < packed.nbytes


def test_a_column_with_many_distinct_strings_is_packed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_CODED distinct strings the builder packs what it had coded so far."""
    monkeypatch.setattr(strings, "MAX_CODED", 50)
    monkeypatch.setattr(strings, "_BUILD_CHUNK", 40)
    values = [f"name {i % 70}" for i in range(400)]
    column = StrColumn.from_strings(values)
    assert isinstance(column, PackedStrings) and column == values


@given(st.lists(TEXT, max_size=40), st.data())
def test_json_chunks_are_the_bytes_json_dumps_gives(values: list[str], data: st.DataObject) -> None:
    """The version hashes these bytes: they must equal json.dumps of the list, as before."""
    rows = np.array(data.draw(st.permutations(range(len(values)))), dtype=np.intp)
    expected = json.dumps([values[i] for i in rows], ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )
    for column in (StrColumn.from_strings(values), PackedStrings.pack(values)):
        assert b"".join(column.json_chunks(rows)) == expected


def test_json_chunks_join_pieces_like_one_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """Columns longer than one piece (and coded ones) give one JSON list."""
    monkeypatch.setattr(strings, "_HASH_CHUNK", 7)
    values = [f"P{i % 5:06d}" for i in range(40)] + ['say "hi"\n']
    rows = np.arange(len(values))[::-1]
    expected = json.dumps([values[i] for i in rows], ensure_ascii=False).encode()
    for column in (StrColumn.from_strings(values), PackedStrings.pack(values)):
        assert b"".join(column.json_chunks(rows)) == expected


def test_json_of_a_lone_surrogate_fails_as_it_did() -> None:
    """json.dumps(...).encode() raised on a lone surrogate; the gathered path must too."""
    with pytest.raises(UnicodeEncodeError):
        b"".join(PackedStrings.pack(["a\ud800", "b"]).json_chunks(np.arange(2)))


@given(st.lists(IDS, max_size=30), st.lists(IDS, max_size=10))
def test_id_index_finds_rows_as_a_dict_would(ids: list[str], probes: list[str]) -> None:
    """row_of/rows_of answer as `{id: row}` built in row order; order sorts like `sorted`."""
    index = IdIndex(StrColumn.from_strings(ids))
    expected = {lid: row for row, lid in enumerate(ids)}
    wanted = probes + ids[:5] + ["", "x" * 80]
    assert [index.row_of(p) for p in wanted] == [expected.get(p) for p in wanted]
    assert index.rows_of(wanted).tolist() == [expected.get(p, -1) for p in wanted]
    assert index.order.tolist() == sorted(range(len(ids)), key=ids.__getitem__)
    assert index.duplicates() == (len(set(ids)) != len(ids))


def test_ids_with_a_nul_use_a_dict_and_still_answer() -> None:
    """numpy's fixed-width bytes drop trailing NULs, so such ids take the dict path."""
    ids = ["A\x00", "A", "B"]
    index = IdIndex(StrColumn.from_strings(ids))
    assert [index.row_of(x) for x in ids] == [0, 1, 2] and index.row_of("C") is None
    assert index.order.tolist() == sorted(range(3), key=ids.__getitem__)


def test_id_index_holds_up_with_many_ids_and_repeats() -> None:
    """10,000 rows of 7,000 ids (slots collide, rows repeat): every answer a dict's."""
    ids = [f"L{(i * 7919) % 7000:07d}" for i in range(10_000)]
    index = IdIndex(StrColumn.from_strings(ids, codable=False))
    expected = {lid: row for row, lid in enumerate(ids)}
    probes = [*expected, "L9999999", "L000000", "l0000001"]
    assert [index.row_of(p) for p in probes] == [expected.get(p) for p in probes]
    assert index.duplicates()


def test_numpy_reads_a_column_as_it_reads_a_list() -> None:
    values = ["P1", "P2", "P1", "é"] * 10
    for column in (StrColumn.from_strings(values), PackedStrings.pack(values)):
        assert np.asarray(column, dtype=object).tolist() == values
        assert np.array_equal(np.asarray(column), np.asarray(values))
