"""S3 over boto3 connects to the address the egress guard checked (backend/connectors/pinned_http.py).

The names used are answered by a scripted resolver standing in for a DNS server that rebinds: its first
answer is what the guard sees, later answers differ. moto_server listens on 127.0.0.1 only, so a
connection made to a later answer (127.0.0.2) would be refused. (A name starting with "localhost" makes moto
read the bucket from the path, as from an IP address.)
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError, SSLError

from backend.connectors import ConnectorError, create_connector, pinned_http
from tests.connectors import filestores

REAL_GETADDRINFO = socket.getaddrinfo


class RebindingDns:
    """getaddrinfo for the scripted names (name -> answers; the last answer repeats), else the real one."""

    def __init__(self, script: dict[str, list[str]]) -> None:
        self.script, self.asked = script, []

    def __call__(self, host, port, *args, **kwargs):
        if host not in self.script:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        self.asked.append(host)
        answers = self.script[host]
        address = answers[min(len([h for h in self.asked if h == host]), len(answers)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))]


@pytest.fixture(scope="module")
def s3_params() -> Iterator[dict]:
    with filestores.moto_s3() as params:
        yield params


def _renamed(params: dict, host: str) -> dict:
    return {**params, "endpoint_url": params["endpoint_url"].replace("127.0.0.1", host)}


def test_a_name_that_answers_otherwise_later_is_still_read_from_the_checked_address(s3_params, monkeypatch):
    params = _renamed(s3_params, "localhost.rebind.test")
    dns = RebindingDns({"localhost.rebind.test": ["127.0.0.1", "127.0.0.2"]})
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    assert "people.csv" in [e.name for e in create_connector("s3", params, allow_loopback=True).browse("exports")]
    assert dns.asked == ["localhost.rebind.test"]  # the guard's lookup only: boto3 connected to its answer

    dns = RebindingDns({"localhost.rebind.test": ["127.0.0.1", "127.0.0.2"]})
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    client = create_connector("s3", params, allow_loopback=True).client()  # several requests, new connections
    client._endpoint.http_session.close()
    listed = client.list_objects_v2(Bucket=filestores.BUCKET, Prefix="exports/")
    client._endpoint.http_session.close()  # the next request opens a new connection, to the same address
    body = client.get_object(Bucket=filestores.BUCKET, Key="exports/people.csv")["Body"].read()
    assert listed["KeyCount"] == 3 and body == filestores.people_csv()
    assert dns.asked == ["localhost.rebind.test"]


def test_a_name_answering_a_metadata_address_is_refused_before_any_connection(s3_params, monkeypatch):
    dns = RebindingDns({"localhost.rebind.test": ["169.254.169.254"]})
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    with pytest.raises(ConnectorError) as caught:
        create_connector("s3", _renamed(s3_params, "localhost.rebind.test"), allow_loopback=True).test()
    assert caught.value.stage == "egress" and "metadata" in caught.value.message


def test_a_host_first_met_when_connecting_is_checked_then(s3_params, monkeypatch):
    """Virtual-hosted addressing puts the bucket in the host name: that name is checked at connect time."""
    bucket_host = f"{filestores.BUCKET}.localhost.rebind.test"
    dns = RebindingDns({"localhost.rebind.test": ["127.0.0.1"], bucket_host: ["10.1.2.3"]})
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    p = _renamed(s3_params, "localhost.rebind.test")
    client = boto3.session.Session().client(
        "s3", region_name=p["region"], endpoint_url=p["endpoint_url"], aws_access_key_id=p["access_key_id"],
        aws_secret_access_key=p["secret_access_key"],
        config=Config(s3={"addressing_style": "virtual"}, retries={"total_max_attempts": 1}))
    pinned_http.pin(client, pinned_http.Resolver(allow_loopback=True))
    with pytest.raises(HTTPClientError) as caught:
        client.list_objects_v2(Bucket=filestores.BUCKET)
    refusal = caught.value.kwargs["error"]
    assert isinstance(refusal, ConnectorError) and refusal.stage == "egress" and "private" in refusal.message
    assert dns.asked == [bucket_host]


@pytest.fixture(scope="module")
def https_site(localorg) -> Iterator[dict]:
    folder = Path(localorg.ca_path).parent  # its certificate names localhost, *.localhost and 127.0.0.1
    with filestores.https_site(folder / "server.pem", folder / "server.key") as params:
        yield {**params, "port": int(params["url"].split(":")[2].split("/")[0]), "ca": str(localorg.ca_path)}


def _https_client(host: str, site: dict) -> object:
    client = boto3.session.Session().client(
        "s3", region_name="us-east-1", endpoint_url=f"https://{host}:{site['port']}", verify=site["ca"],
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-a-secret",  # pragma: allowlist secret
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
    return pinned_http.pin(client, pinned_http.Resolver(allow_loopback=True))


def test_tls_still_verifies_the_name_not_the_pinned_address(https_site, monkeypatch):
    """Both names are pinned to 127.0.0.1, which the certificate names too: only the name that the certificate
    names gets past the handshake (the site answers, 401: it wants a password), the other fails verification."""
    dns = RebindingDns({"s3.localhost": ["127.0.0.1", "127.0.0.2"], "s3.rebind.test": ["127.0.0.1"]})
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    with pytest.raises(ClientError) as answered:
        _https_client("s3.localhost", https_site).list_objects_v2(Bucket="inflow-drop")
    assert answered.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    with pytest.raises(SSLError) as refused:
        _https_client("s3.rebind.test", https_site).list_objects_v2(Bucket="inflow-drop")
    assert "s3.rebind.test" in str(refused.value)
    assert dns.asked == ["s3.localhost", "s3.rebind.test"]
