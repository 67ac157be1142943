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
