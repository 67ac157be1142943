"""What a file's first bytes say it is: binaries and archives offered as CSV are refused before storing."""

from __future__ import annotations

import codecs
import re

from backend.pipeline.sources.text import detect_encoding

SNIFF_BYTES = 64 * 1024  # binary formats show themselves in their first bytes; CSV text shows no NUL there
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")  # a file, an empty archive, a spanned one
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls, .doc and other old Office files
GZIP_MAGIC = b"\x1f\x8b"

NOT_CSV_ZIP = ("This file is a zip archive, not a CSV file. An Excel workbook (.xlsx) is a zip too: upload "
               "it with its .xlsx name to read it as Excel, or save it as CSV (UTF-8) and upload that.")
NOT_CSV_XLS = ("This is an old Excel (.xls) or other Office file, not a CSV file. Save it as .xlsx or as "
               "CSV (UTF-8) and upload that.")
NOT_CSV_GZIP = "This file is compressed (gzip), not a CSV file. Unpack it and upload the CSV file inside."
NOT_CSV_BINARY = ("This file contains binary data, not CSV text. Export it as CSV (UTF-8) from the program "
                  "that made it and upload that.")


def csv_refusal(head: bytes, complete: bool) -> str | None:
    """None when `head` (a file's first bytes; `complete`: the whole file) may start a text CSV file,
    otherwise what the user should do instead."""
    if head.startswith(ZIP_MAGICS):
        return NOT_CSV_ZIP
    if head.startswith(OLE2_MAGIC):
        return NOT_CSV_XLS
    if head.startswith(GZIP_MAGIC):
        return NOT_CSV_GZIP
    encoding = detect_encoding(head, complete=complete)
    if not encoding.codec.startswith("utf-16"):
        # UTF-8 and Windows-1252 (the fallback that decodes any byte) never hold NUL in text.
        return NOT_CSV_BINARY if b"\x00" in head else None
    try:
        text = codecs.getincrementaldecoder(encoding.codec)().decode(head, final=complete)
    except UnicodeDecodeError:
        return NOT_CSV_BINARY  # NUL-rich but not UTF-16 either: no supported encoding reads it
    # Binary with zeros in every other byte passes for UTF-16 and decodes; its control characters give it away.
    return NOT_CSV_BINARY if _CONTROL.search(text) else None


_CONTROL = re.compile("[\x00-\x08\x0e-\x1f]")  # C0 controls other than tab, line ends, form feed
