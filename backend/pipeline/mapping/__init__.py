"""Mapping: model, auto-mapping, formula language, typed conversion, Mapper.map_chunk and validation."""

from __future__ import annotations

from backend.pipeline.mapping.automap import Suggestion, auto_map
from backend.pipeline.mapping.formula import Formula, compile_formula
from backend.pipeline.mapping.formula_parser import FormulaError
from backend.pipeline.mapping.mapper import NULL_MARKER_BULK, MappedChunk, Mapper, RowError, rejected_error
from backend.pipeline.mapping.model import OPERATIONS, FieldMapping, Lookup, Mapping, Options
from backend.pipeline.mapping.validate import (
    Issue,
    Preview,
    RowCheck,
    ValidationReport,
    check_rows,
    preview,
    required_fields,
    validate_mapping,
)

__all__ = [
    "NULL_MARKER_BULK", "OPERATIONS", "FieldMapping", "Formula", "FormulaError", "Issue", "Lookup",
    "MappedChunk", "Mapper", "Mapping", "Options", "Preview", "RowCheck", "RowError", "Suggestion", "ValidationReport",
    "auto_map", "check_rows", "compile_formula", "preview", "rejected_error", "required_fields", "validate_mapping",
]
