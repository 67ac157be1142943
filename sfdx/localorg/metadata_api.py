"""Metadata API over SOAP (POST /services/Soap/m/XX.X): `deploy` and `checkDeployStatus`, enough for
`sf project deploy start`. No recording of a real deploy exchange is public; element names and order follow
the Metadata API WSDL (as jsforce's schema lists them) and fault texts are Salesforce's (see README)."""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from flask import Blueprint, Response, request

from .metadata_deploy import Deployment, deploy
from .web import server

blueprint = Blueprint("localorg_metadata_api", __name__)
MD = "http://soap.sforce.com/2006/04/metadata"
_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/'
         f'soap/envelope/" xmlns="{MD}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>')
_TAIL = "</soapenv:Body></soapenv:Envelope>"


def _xml(body: str, status: int = 200) -> Response:
    return Response(_HEAD + body + _TAIL, status, content_type="text/xml;charset=UTF-8")


def fault(code: str, message: str) -> Response:
    return _xml(f"<soapenv:Fault><faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring>"
                "</soapenv:Fault>", 500)


def _el(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _result(dep: Deployment, details: bool) -> str:
    failures = len(dep.failures)
    parts = [_el("checkOnly", dep.check_only), _el("completedDate", dep.completed), _el("createdBy", dep.user_id),
             _el("createdByName", dep.user_name), _el("createdDate", dep.created)]
    if details:
        msgs = "".join(
            f"<{'componentFailures' if m.problem else 'componentSuccesses'}>"
            + "".join(_el(k, v) for k, v in m.fields(dep.created))
            + f"</{'componentFailures' if m.problem else 'componentSuccesses'}>" for m in dep.messages)
        parts.append(f"<details>{msgs}<runTestResult><numFailures>0</numFailures><numTestsRun>0</numTestsRun>"
                     "<totalTime>0.0</totalTime></runTestResult></details>")
    deployed = 0 if dep.status == "Failed" else len(dep.messages) - failures
    parts += [_el("done", True), _el("errorMessage", dep.error and dep.error[1]),
              _el("errorStatusCode", dep.error and dep.error[0]), _el("id", dep.id),
              _el("ignoreWarnings", dep.ignore_warnings), _el("lastModifiedDate", dep.completed),
              _el("numberComponentErrors", failures), _el("numberComponentsDeployed", deployed),
              _el("numberComponentsTotal", len(dep.messages)), _el("numberTestErrors", 0),
              _el("numberTestsCompleted", 0), _el("numberTestsTotal", 0), _el("rollbackOnError", dep.rollback_on_error),
              _el("runTestsEnabled", False), _el("startDate", dep.created), _el("status", dep.status),
              _el("success", dep.status != "Failed")]
    return "<result>" + "".join(parts) + "</result>"


@blueprint.post("/services/Soap/m/<version>")
@blueprint.post("/services/Soap/m/<version>/<org_id>")
def metadata(version: str, org_id: str | None = None) -> Response:
    try:
        root = ET.fromstring(request.get_data())
    except ET.ParseError:
        return fault("soapenv:Client", "Premature end of file.")
    token = next((el.text or "" for el in root.iter() if _local(el.tag) == "sessionId"), "")
    org = request.environ.get("localorg.org") or server().org_for_token(token)
    session = org.sessions.check(token) if org is not None else None
    if org is None or session is None:
        return fault("sf:INVALID_SESSION_ID", "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: "
                     "Illegal Session")
    body = next((el for el in root if _local(el.tag) == "Body"), None)
    call = next(iter(body), None) if body is not None else None
    name = _local(call.tag) if call is not None else ""
    args = {_local(el.tag): el for el in (call if call is not None else [])}
    if name == "deploy":
        try:
            data = base64.b64decode("".join((args["ZipFile"].text or "").split()), validate=True)
        except (KeyError, binascii.Error):
            return fault("sf:INVALID_BASE64", "INVALID_BASE64: The ZipFile is not valid base64")
        opts = {_local(el.tag): (el.text or "") for el in args.get("DeployOptions", [])}
        dep = deploy(org, data, opts, session.user_id)
        return _xml(f"<deployResponse><result>{_el('done', False)}{_el('id', dep.id)}"
                    f"{_el('state', 'Queued')}</result></deployResponse>")
    if name == "checkDeployStatus":
        ident = (args["asyncProcessId"].text or "").strip() if "asyncProcessId" in args else ""
        dep = next((d for k, d in org.extra.get("deployments", {}).items() if k[:15] == ident[:15] and ident), None)
        if dep is None:
            return fault("sf:INVALID_CROSS_REFERENCE_KEY", "INVALID_CROSS_REFERENCE_KEY: invalid cross reference id")
        details = (args["includeDetails"].text or "").strip() == "true" if "includeDetails" in args else False
        return _xml(f"<checkDeployStatusResponse>{_result(dep, details)}</checkDeployStatusResponse>")
    return fault("soapenv:Client", f"No operation available for request {{{MD}}}{name}, please check the WSDL "
                 "for the service.")
