"""The security promises (backend/promises.toml), the tests that prove them, and docs/security.md made of both."""

from __future__ import annotations

import argparse
import ast
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMISES_FILE = ROOT / "backend" / "promises.toml"
DOC_FILE = ROOT / "docs" / "security.md"
MARKER = "promise"
COMMAND = "python -m backend.promises"


@dataclass(frozen=True)
class Promise:
    id: str
    promise: str
    mechanism: tuple[str, ...]
    enforced: tuple[str, ...]


def load(path: Path = PROMISES_FILE) -> list[Promise]:
    """The promises in file order; a malformed entry or a repeated id raises ValueError naming it."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("promise", [])
    promises, seen = [], set()
    for entry in entries:
        pid = entry.get("id", "")
        if not pid or pid in seen or not entry.get("promise") or not entry.get("mechanism"):
            raise ValueError(f"{path.name}: promise {pid!r} needs a unique id, a promise and a mechanism")
        seen.add(pid)
        mechanism = tuple(line.strip() for line in entry["mechanism"].strip().splitlines() if line.strip())
        promises.append(Promise(pid, entry["promise"].strip(), mechanism, tuple(entry.get("enforced", ()))))
    return promises


def marked_ids(decorators: Iterable[ast.expr]) -> list[str]:
    """Promise ids of `@pytest.mark.promise("a", "b")` decorators (also `@mark.promise(...)`)."""
    ids = []
    for node in decorators:
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == MARKER
                and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "mark"):
            ids += [arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    return ids


def find_proofs(root: Path = ROOT, tests_dir: str = "tests") -> list[tuple[str, str]]:
    """(promise id, test id) for every marked test function under `tests_dir`, read with ast (nothing runs)."""
    pairs = []
    for path in sorted((root / tests_dir).rglob("test_*.py")):
        module = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            functions = [(node.name, node)] if isinstance(node, ast.FunctionDef) else []
            if isinstance(node, ast.ClassDef):
                functions = [(f"{node.name}::{f.name}", f) for f in node.body if isinstance(f, ast.FunctionDef)]
            for name, function in functions:
                if name.rsplit("::", 1)[-1].startswith("test"):
                    pairs += [(pid, f"{module}::{name}") for pid in marked_ids(function.decorator_list)]
    return pairs


def render(promises: list[Promise], proofs: Iterable[tuple[str, str]]) -> str:
    """docs/security.md: each promise, its mechanism in two lines, where it is kept, and the tests that prove it."""
    by_id: dict[str, set[str]] = {}
    for pid, test in proofs:
        by_id.setdefault(pid, set()).add(test)
    lines = ["# Security and privacy", "",
             f"Generated from `backend/promises.toml` by `{COMMAND}`; do not edit by hand. Each promise below is",
             "proven by the tests listed under it: a full test run fails when a promise has no passing test,",
             "or a test names a promise not listed, or this page is stale.", ""]
    for item in promises:
        lines += [f"## {item.promise}", "", f"`{item.id}`", ""]
        lines += [f"- {line}" for line in item.mechanism]
        if item.enforced:
            lines += ["- Kept in: " + ", ".join(f"`{p}`" for p in item.enforced)]
        tests = sorted(by_id.get(item.id, ()))
        lines += ["", "Proven by:" if tests else "Proven by: no test yet.", ""]
        lines += [f"- `{test}`" for test in tests]
        lines += [""] if tests else []
    return "\n".join(lines).rstrip("\n") + "\n"


def generate(root: Path = ROOT) -> str:
    return render(load(root / "backend" / "promises.toml"), find_proofs(root))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description="Write docs/security.md from backend/promises.toml "
                                     "and the tests marked with its ids.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when the page is stale")
    args = parser.parse_args(argv)
    text = generate()
    if args.check:
        current = DOC_FILE.read_text(encoding="utf-8") if DOC_FILE.exists() else ""
        print(f"{DOC_FILE.name} is {'current' if current == text else 'stale; run: ' + COMMAND}")
        return 0 if current == text else 1
    DOC_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
