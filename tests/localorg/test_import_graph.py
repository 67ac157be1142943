"""localorg's module import graph: no import circles, and nothing imported from backend or worker."""

from __future__ import annotations

from pathlib import Path

from tests.import_graph import cycles, import_graph

ROOT = Path(__file__).resolve().parents[2]


def test_localorg_has_no_import_circles() -> None:
    found = cycles(import_graph(ROOT / "sfdx/localorg", "sfdx.localorg"))
    assert not found, "import circles in sfdx/localorg: " + "; ".join(" <-> ".join(c) for c in found)


def test_localorg_imports_nothing_from_backend_or_worker() -> None:
    graph = import_graph(ROOT / "sfdx/localorg", "sfdx.localorg")
    found = {m: sorted(i for i in imports if i.split(".")[0] in ("backend", "worker")) for m, imports in graph.items()}
    assert not {m: i for m, i in found.items() if i}


def test_every_import_form_counts(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from .a import A\n",
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\nA = 1\n",
        "b.py": "def f():\n    from pkg import c\n",                   # absolute, a submodule, in a function
        "c.py": "from . import a\nimport pkg.sub.d\n",
        "sub/__init__.py": "from .. import e\n",                     # a package's relative import
        "sub/d.py": "from ..e import e\nimport backend.x\n",
        "e.py": "from . import e\n",                                 # a self-import
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    graph = import_graph(pkg, "pkg")
    assert graph["pkg.b"] == {"pkg.c"} and graph["pkg.sub"] == {"pkg.e"}
    assert graph["pkg.sub.d"] == {"pkg.e", "backend.x"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"], ["pkg.e"]]
