"""IterStream: any mix of reads gives back exactly the blocks' bytes, in order, whatever the block sizes."""

from __future__ import annotations

import io
import random

import pytest

from backend.streams import IterStream


@pytest.mark.parametrize("seed", range(20))
def test_mixed_reads_return_every_byte_once_in_order(seed: int) -> None:
    rnd = random.Random(seed)
    blocks = [bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 50))) for _ in range(rnd.randint(0, 12))]
    blocks = [bytearray(b) if rnd.random() < 0.3 else b for b in blocks]  # a producer may hand out bytearrays
    stream, got = IterStream(iter(blocks)), []
    while True:
        how = rnd.choice(("read", "readinto", "rest"))
        if how == "read":
            size = rnd.randint(1, 60)
            piece = stream.read(size)
            assert isinstance(piece, bytes) and len(piece) <= size
        elif how == "readinto":
            buf = bytearray(rnd.randint(1, 60))
            piece = bytes(buf[:stream.readinto(buf)])
        else:
            piece = stream.read()
        if not piece:
            break
        got.append(piece)
    assert b"".join(got) == b"".join(blocks)
    assert stream.read(10) == b"" and stream.read() == b""


def test_a_buffered_reader_and_a_whole_read_see_the_same_bytes() -> None:
    blocks = [b"Name,City\n", b"Ada,Z\xc3\xbcrich\n", b"", b"Cy,Berlin\n"]
    assert io.BufferedReader(IterStream(iter(blocks)), buffer_size=4).read() == b"".join(blocks)
    stream = IterStream(iter(blocks))
    assert stream.read(4) == b"Name" and stream.readall() == b"".join(blocks)[4:]


@pytest.mark.parametrize("seed", range(10))
def test_the_rest_as_blocks_after_any_reads_is_every_byte_not_yet_read(seed: int) -> None:
    rnd = random.Random(seed)
    blocks = [bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 40))) for _ in range(rnd.randint(0, 10))]
    stream = IterStream(iter(blocks))
    head = b"".join(stream.read(rnd.randint(1, 30)) for _ in range(rnd.randint(0, 4)))
    rest = list(stream.rest())
    assert head + b"".join(rest) == b"".join(blocks)
    assert all(isinstance(b, bytes) for b in rest)
    assert stream.read(10) == b""


def test_a_csv_file_reads_the_same_through_the_block_handover() -> None:
    """The CSV source hands pyarrow what its line reader buffered, then the file's 1 MiB blocks as they are."""
    import numpy as np

    from backend.pipeline.sources import create_source

    n = 120_000  # about 4 MB: the sample, then blocks
    data = b"Id,Name,Note\n" + b"".join(f"{i},name {i},\"quoted, {i}\"\n".encode() for i in range(n))
    chunks = list(create_source("csv", {}, open_stream=lambda: io.BytesIO(data)).read())
    rows = [r for chunk in chunks for r in chunk.frame.itertuples(index=False, name=None)]
    assert rows == [(str(i), f"name {i}", f"quoted, {i}") for i in range(n)]
    assert np.array_equal(np.concatenate([c.row_numbers for c in chunks]), np.arange(2, n + 2))
