"""Well-formedness check for SFDX metadata XML: `sf project convert source` does not catch malformed XML."""

from __future__ import annotations

import pathlib
import sys
import xml.parsers.expat

# Aura markup (.cmp, .app, ...) is XML too; expat runs without namespace processing so the
# aura:/force: prefixes, which are never declared, do not count as errors.
SUFFIXES = ("-meta.xml", ".cmp", ".app", ".evt", ".intf", ".design", ".tokens", ".auradoc")
SKIP_DIRS = {"node_modules", ".tools", ".sfdx", ".sf"}


def malformed(paths: list[str]) -> list[str]:
    """Return one message per file under `paths` that is not well-formed XML."""
    problems = []
    for root in paths:
        base = pathlib.Path(root)
        files = [base] if base.is_file() else sorted(base.rglob("*"))
        for path in files:
            if not path.is_file() or not path.name.endswith(SUFFIXES) or SKIP_DIRS & set(path.parts):
                continue
            parser = xml.parsers.expat.ParserCreate()
            try:
                parser.Parse(path.read_bytes(), True)
            except xml.parsers.expat.ExpatError as error:
                problems.append(f"{path}: {error}")
    return problems


def main(argv: list[str]) -> int:
    roots = argv or ["force-app"]
    missing = [root for root in roots if not pathlib.Path(root).exists()]
    if missing:
        print(f"xmlcheck: no such path: {', '.join(missing)}")
        return 2
    problems = malformed(roots)
    for problem in problems:
        print(problem)
    print(f"xmlcheck: {len(problems)} malformed file(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
