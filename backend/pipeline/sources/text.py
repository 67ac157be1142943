"""Text-file plumbing for file sources: encoding detection and a UTF-8 byte stream over any input."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from backend.errors import SourceError

SAMPLE_BYTES = 1 << 20
BLOCK_BYTES = 1 << 20
_LATIN1_FALLBACK = "inflow-latin1"


def _latin1_for_undefined(err: UnicodeError) -> tuple[str, int]:
    # Windows-1252 leaves five bytes undefined; Latin-1 maps them, so a legacy file never fails halfway.
    if not isinstance(err, UnicodeDecodeError):
        raise err
    return err.object[err.start:err.end].decode("latin-1"), err.end


codecs.register_error(_LATIN1_FALLBACK, _latin1_for_undefined)


@dataclass(frozen=True)
class Encoding:
    """How to decode a file: Python codec name, BOM bytes to skip, and a warning for the user if guessed."""

    codec: str
    skip: int = 0
    warning: str | None = None


def _looks_utf16(sample: bytes) -> str | None:
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def detect_encoding(sample: bytes, declared: str = "auto", *, complete: bool = False) -> Encoding:
    """Pick the codec for a file from its first bytes; `complete` says the sample is the whole file."""
    if declared and declared != "auto":
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            raise SourceError(f"Unknown encoding '{declared}'.") from None
        skip = 3 if codec == "utf-8" and sample.startswith(codecs.BOM_UTF8) else 0
        return Encoding(codec, skip)
    if sample.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8", 3)
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding("utf-16")
    guessed = _looks_utf16(sample)
    if guessed:
        return Encoding(guessed)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return Encoding("utf-8")
    except UnicodeDecodeError as err:
        return Encoding("cp1252", 0, f"The file is not valid UTF-8 (byte {err.start + 1}); it was read as "
                        "Windows-1252. If accents look wrong, choose the right encoding in the source settings.")


def _transcode(blocks: Iterator[bytes], codec: str) -> Iterator[bytes]:
    errors = _LATIN1_FALLBACK if codec == "cp1252" else "strict"
    decoder = codecs.getincrementaldecoder(codec)(errors)
    try:
        for block in blocks:
            yield decoder.decode(block).encode("utf-8")
        yield decoder.decode(b"", final=True).encode("utf-8")
    except UnicodeDecodeError as err:
        raise SourceError(f"The file is not valid {codec}: {err.reason}. "
                          "Choose the right encoding in the source settings.") from None


def read_blocks(stream: BinaryIO, first: bytes = b"") -> Iterator[bytes]:
    """Yield `first`, then the rest of `stream` in blocks."""
    if first:
        yield first
    while block := stream.read(BLOCK_BYTES):
        yield block


def utf8_blocks(stream: BinaryIO, encoding: Encoding, sample: bytes) -> Iterator[bytes]:
    """The file's content as UTF-8 blocks, BOM removed; `sample` is what was already read from `stream`."""
    blocks = read_blocks(stream, sample[encoding.skip:])
    if encoding.codec == "utf-8":
        return blocks
    return _transcode(blocks, encoding.codec)


def read_sample(stream: BinaryIO, size: int = SAMPLE_BYTES) -> tuple[bytes, bool]:
    """Read up to `size` bytes; returns them and whether that was the whole file."""
    parts, got = [], 0
    while got < size:
        block = stream.read(size - got)
        if not block:
            return b"".join(parts), True
        parts.append(block)
        got += len(block)
    return b"".join(parts), False
