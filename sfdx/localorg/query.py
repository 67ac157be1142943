"""REST query and queryAll with nextRecordsUrl paging (2,000 rows a page unless batchSize says otherwise)."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any

from flask import Blueprint, Response, request

from .errors import SfError, not_found
from .org import Org
from .query_columns import column_metadata
from .soql_exec import QueryResult, execute
from .web import base_path, current_org, sf_json

blueprint = Blueprint("localorg_query", __name__, url_prefix="/services/data/v<version>")
MAX_CURSORS = 50  # Salesforce keeps a bounded number of open query locators per user too
_lock = threading.Lock()


@blueprint.url_value_preprocessor
def _pop_version(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values:
        values.pop("version", None)


def _batch_size() -> int:
    m = re.search(r"batchSize\s*=\s*(\d+)", request.headers.get("Sforce-Query-Options", ""))
    return min(2000, max(200, int(m.group(1)))) if m else 2000


def _cursors(org: Org) -> OrderedDict[str, QueryResult]:
    return org.extra.setdefault("cursors", OrderedDict())


def _page(org: Org, rows: QueryResult, total: int, locator: str | None, start: int, size: int,
          kind: str) -> dict[str, Any]:
    end = start + size
    out: dict[str, Any] = {"totalSize": total, "done": end >= len(rows)}
    if not out["done"]:
        if locator is None:
            locator = org.ids.new("01g")
            with _lock:
                cursors = _cursors(org)
                cursors[locator] = rows
                while len(cursors) > MAX_CURSORS:
                    cursors.popitem(last=False)
        out["nextRecordsUrl"] = f"{base_path()}/{kind}/{locator}-{end}"
    elif locator is not None:
        with _lock:
            _cursors(org).pop(locator, None)
    out["records"] = rows.page(start, end)
    return out


def run_query(include_deleted: bool) -> Response:
    q = request.args.get("q")
    if not q:
        raise SfError("MALFORMED_QUERY", "A query string must be provided.", with_fields=False)
    org = current_org()
    if request.args.get("columns", "").lower() == "true":
        return sf_json(column_metadata(org.store, q, base_path()))
    result = execute(org.store, q, base_path(), include_deleted)
    kind = "queryAll" if include_deleted else "query"
    if result.count is not None:
        return sf_json({"totalSize": result.count, "done": True, "records": []})
    return sf_json(_page(org, result, len(result), None, 0, _batch_size(), kind))


@blueprint.get("/query")
def query() -> Response:
    return run_query(False)


@blueprint.get("/queryAll")
def query_all() -> Response:
    return run_query(True)


@blueprint.get("/query/<cursor>")
@blueprint.get("/queryAll/<cursor>")
def query_more(cursor: str) -> Response:
    org = current_org()
    locator, _, start = cursor.rpartition("-")
    rows = _cursors(org).get(locator)
    if rows is None or not start.isdigit():
        raise SfError("INVALID_QUERY_LOCATOR", "invalid query locator", with_fields=False) if rows is None \
            else not_found()
    kind = "queryAll" if "/queryAll/" in request.path else "query"
    return sf_json(_page(org, rows, len(rows), locator, int(start), _batch_size(), kind))
