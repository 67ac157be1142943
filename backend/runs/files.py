"""Result parts as files in a local directory: the CLI's ResultParts (no database, no blob store)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from backend.runs.parts import join_parts, natural_key


class _PartFile:
    """Written to `<name>.tmp` and renamed on a clean close, so a half-written part never counts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".tmp")
        self.tmp.parent.mkdir(parents=True, exist_ok=True)
        self._f = self.tmp.open("wb")

    def write(self, data: bytes) -> int:
        return self._f.write(data)

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()
            os.replace(self.tmp, self.path)

    def __enter__(self) -> _PartFile:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self._f.close()
            self.tmp.unlink(missing_ok=True)


class DirResultParts:
    """open_part / has_part / snapshot / read over files under a private temporary directory."""

    def __init__(self, parent: Path) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=".inflow-parts-", dir=parent))

    def _path(self, name: str) -> Path:
        if ".." in Path(name).parts or name.startswith("/"):
            raise ValueError(f"bad part name {name!r}")
        return self.root / name

    def open_part(self, name: str) -> _PartFile:
        return _PartFile(self._path(name))

    def snapshot(self, name: str) -> _PartFile:
        return _PartFile(self._path(name))

    def has_part(self, name: str) -> bool:
        return self._path(name).is_file()

    def read(self, name: str) -> BinaryIO | None:
        path = self._path(name)
        return path.open("rb") if path.is_file() else None

    def part_names(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/"))
        if base.is_file():
            return [prefix]
        names = [p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file()
                 and not p.name.endswith(".tmp")] if base.is_dir() else []
        return sorted(names, key=natural_key)

    def assemble(self, prefix: str, target: Path, empty_header: Callable[[BinaryIO], None]) -> Path:
        with target.open("wb") as out:
            join_parts((self.read(n) for n in self.part_names(prefix)), out, empty_header)
        return target

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
