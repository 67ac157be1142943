"""SOAP partner API, just the calls REST lacks: undelete and emptyRecycleBin (POST /services/Soap/u/XX.X)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from flask import Blueprint, Response, request

from .errors import SfError
from .web import server

blueprint = Blueprint("localorg_soap", __name__)
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="' + ENV + '" '
         'xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
         '<soapenv:Body>')
_TAIL = "</soapenv:Body></soapenv:Envelope>"


def _xml(body: str, status: int = 200) -> Response:
    return Response(_HEAD + body + _TAIL, status, content_type="text/xml; charset=utf-8")


def fault(code: str, message: str) -> Response:
    return _xml(f"<soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{escape(message)}</faultstring>"
                f'<detail><sf:UnexpectedErrorFault xmlns:sf="urn:fault.partner.soap.sforce.com">'
                f"<sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{escape(message)}"
                "</sf:exceptionMessage></sf:UnexpectedErrorFault></detail></soapenv:Fault>", 500)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@blueprint.post("/services/Soap/u/<version>")
@blueprint.post("/services/Soap/u/<version>/<org_id>")
def partner(version: str, org_id: str | None = None) -> Response:
    try:
        root = ET.fromstring(request.get_data())
    except ET.ParseError:
        return fault("INVALID_XML", "Premature end of file.")
    token = next((el.text or "" for el in root.iter() if _local(el.tag) == "sessionId"), "")
    org = request.environ.get("localorg.org") or server().org_for_token(token)
    if org is None or org.sessions.check(token) is None:
        return fault("INVALID_SESSION_ID", "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: "
                     "Illegal Session")
    body = next((el for el in root if _local(el.tag) == "Body"), None)
    call = next(iter(body), None) if body is not None else None
    name = _local(call.tag) if call is not None else ""
    if name not in ("undelete", "emptyRecycleBin"):
        return fault("INVALID_OPERATION", f"Unsupported call in localorg: {name}")
    ids = [el.text or "" for el in call if _local(el.tag) == "ids"]  # type: ignore[union-attr]
    results = []
    for rid in ids:
        try:
            done = org.store.undelete(rid) if name == "undelete" else _empty(org, rid)
            results.append(f"<result><id>{done}</id><success>true</success></result>")
        except SfError as err:
            results.append(f"<result><errors><message>{escape(err.message)}</message><statusCode>{err.code}"
                           f'</statusCode></errors><id xsi:nil="true"/><success>false</success></result>')
    return _xml(f"<{name}Response>{''.join(results)}</{name}Response>")


def _empty(org: object, rid: str) -> str:
    store = org.store  # type: ignore[attr-defined]
    t, rec, deleted = store.locate(store._full_id(rid))
    if not deleted:
        raise SfError("INVALID_ID_FIELD", "The ID is not in the recycle bin")
    return store.hard_delete(rid)
