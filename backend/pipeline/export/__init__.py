"""Exports: Salesforce as the source (REST or Bulk 2.0 query), files and connections as targets."""

from backend.pipeline.export.engine import ExportProgress, ExportResult, run_export
from backend.pipeline.export.soql import Column, ExportQuery, QueryError, check_query, since, soql_for_object
from backend.pipeline.export.targets import DownloadTarget, ExportTarget, format_for

__all__ = ["Column", "DownloadTarget", "ExportProgress", "ExportQuery", "ExportResult",
           "ExportTarget", "QueryError", "check_query", "format_for", "run_export", "since", "soql_for_object"]
