"""The source registry: lookup by type name, config checks against the schema, new types by registration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.errors import ConfigError
from backend.pipeline.chunk import Chunk, make_chunk
from backend.pipeline.sources import Source, create_source, register, source_class, source_types
from backend.pipeline.sources.base import _REGISTRY


def test_unknown_type_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="Unknown source type 'ftp'; known types: csv, xlsx"):
        source_class("ftp")


def test_config_values_are_checked_against_the_schema_enums() -> None:
    with pytest.raises(ConfigError, match="'#' is not a valid delimiter"):
        create_source("csv", {"delimiter": "#"})


def test_a_file_source_without_a_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no file"):
        create_source("csv", {}).columns()


def test_a_new_source_is_one_class_and_a_registration() -> None:
    @register
    class Numbers(Source):
        type = "numbers_for_test"
        label = "Numbers"
        config_schema = {"type": "object", "required": ["count"], "properties": {"count": {"type": "integer"}}}

        def columns(self) -> list[str]:
            return ["n"]

        def read(self) -> Iterator[Chunk]:
            n = self.config["count"]
            for start in range(0, n, self.chunk_size):
                stop = min(n, start + self.chunk_size)
                yield make_chunk(["n"], [[str(i)] for i in range(start, stop)], range(start + 1, stop + 1))

    try:
        assert "numbers_for_test" in {t["type"] for t in source_types()}
        with pytest.raises(ConfigError, match="setting 'count' is required"):
            create_source("numbers_for_test", {})
        chunks = list(create_source("numbers_for_test", {"count": 25}, chunk_size=10).read())
        assert [len(c) for c in chunks] == [10, 10, 5] and chunks[2].row_numbers.tolist() == [21, 22, 23, 24, 25]
    finally:
        _REGISTRY.pop("numbers_for_test")
