"""A chunk's frame over Arrow columns: the engine's string dtype, the values' own buffers, every column kept."""

from __future__ import annotations

import pyarrow as pa

from backend.pipeline.chunk import STRING_DTYPE, frame_from_arrow


def test_a_frame_over_arrow_columns_keeps_values_nulls_and_buffers() -> None:
    first = pa.array(["Zürich", None, ""], pa.large_string())
    second = pa.chunked_array([pa.array(["a"]), pa.array(["b", "c"])])
    frame = frame_from_arrow(["City", "Code"], [first, second])
    assert list(frame.dtypes) == [STRING_DTYPE, STRING_DTYPE] and list(frame.index) == [0, 1, 2]
    assert frame.astype(object).where(frame.notna(), None).values.tolist() == [["Zürich", "a"], [None, "b"],
                                                                                 ["", "c"]]
    # The values are not copied: the frame's column holds the same data buffer.
    held = frame["City"].array._pa_array.chunk(0)
    assert held.buffers()[2].address == first.buffers()[2].address


def test_columns_with_the_same_name_are_both_kept() -> None:
    frame = frame_from_arrow(["x", "x"], [pa.array(["1"]), pa.array(["2"])])
    assert frame.shape == (1, 2) and frame.iloc[0].tolist() == ["1", "2"]
