"""Amazon S3 and S3-compatible stores (boto3): list a prefix, stream objects, move to an archive prefix.

`s3://bucket/prefix?endpoint_url=...&region=...`; keys as the URL's user and password, or from
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when the connection is added. Every host boto3 connects to is
checked by the egress guard, and the connection goes to the checked address (`pinned_http`).

boto3 is imported when a connection is first used, not with the registry: it adds about 10 MB to every
process, and most runs never talk to S3.
"""

from __future__ import annotations

from typing import Any, BinaryIO
from urllib.parse import parse_qsl, unquote, urlsplit

from backend.connectors.base import ConnectorError, Entry, register
from backend.connectors.files import FileStore
from backend.connectors.uploads import Upload

_AUTH = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "InvalidClientTokenId"}
PART_BYTES = 8 * 1024 ** 2  # S3 parts are at least 5 MiB (but the last)
_MISSING = {"NoSuchBucket", "NoSuchKey", "404", "NotFound"}


@register
class S3Connector(FileStore):
    takes_files = True
    type, label, schemes = "s3", "Amazon S3", ("s3",)
    secret_keys = ("secret_access_key",)

    @classmethod
    def params_from_url(cls, url: str) -> dict[str, Any]:
        parts = urlsplit(url.strip())
        if not parts.hostname:
            raise ConnectorError("config", "The URL names no bucket: s3://bucket/prefix.")
        opts = dict(parse_qsl(parts.query))
        return {"bucket": parts.hostname, "path": unquote(parts.path.strip("/")),
                "region": opts.get("region", "us-east-1"), "endpoint_url": opts.get("endpoint_url", ""),
                "access_key_id": unquote(parts.username or ""), "secret_access_key": unquote(parts.password or "")}

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        from backend.connectors import pinned_http

        p = self.params
        endpoint = p.get("endpoint_url") or f"https://s3.{p.get('region') or 'us-east-1'}.amazonaws.com"
        ep = urlsplit(endpoint)
        if ep.scheme not in ("https", "http") or not ep.hostname:
            raise ConnectorError("config", "endpoint_url must be an http(s) URL.")
        resolver = pinned_http.Resolver(allow_loopback=self.allow_loopback)
        resolver.address(ep.hostname, ep.port or (443 if ep.scheme == "https" else 80))  # refused before boto3 starts
        if not (p.get("access_key_id") and p.get("secret_access_key")):
            raise ConnectorError("auth", "The connection has no access key id and secret access key.")
        return pinned_http.pin(boto3.session.Session().client(
            "s3", region_name=p.get("region") or "us-east-1", endpoint_url=p.get("endpoint_url") or None,
            aws_access_key_id=p["access_key_id"], aws_secret_access_key=p["secret_access_key"],
            config=Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 2}, signature_version="s3v4")),
            resolver)

    def test(self) -> str:
        entries = self.browse("")
        return f"Connected to S3 bucket {self.params['bucket']} ({len(entries)} item(s) in {self.root() or '/'})."

    def browse(self, path: str = "") -> list[Entry]:
        prefix = self.full(path) if path else self.root()
        prefix = f"{prefix}/" if prefix else ""
        entries = []
        try:
            pages = self.client().get_paginator("list_objects_v2").paginate(
                Bucket=self.params["bucket"], Prefix=prefix, Delimiter="/")
            for page in pages:
                for common in page.get("CommonPrefixes", []):
                    name = common["Prefix"][len(prefix):].rstrip("/")
                    entries.append(Entry(name, "folder", common["Prefix"].rstrip("/")))
                for obj in page.get("Contents", []):
                    name = obj["Key"][len(prefix):]
                    if name:
                        entries.append(Entry(name, "file", obj["Key"], obj["Size"], obj["LastModified"].isoformat()))
        except _errors() as err:
            raise _error(err, self.params["bucket"]) from None
        return entries

    def open_file(self, path: str) -> BinaryIO:
        try:
            return self.client().get_object(Bucket=self.params["bucket"], Key=path)["Body"]
        except _errors() as err:
            raise _error(err, path) from None

    def move(self, path: str, folder: str) -> str:
        target = f"{folder}/{path.rsplit('/', 1)[-1]}" if folder else path.rsplit("/", 1)[-1]
        s3, bucket = self.client(), self.params["bucket"]
        try:
            s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": path})
            s3.delete_object(Bucket=bucket, Key=path)
        except _errors() as err:
            raise _error(err, path) from None
        return target

    def upload(self, path: str) -> Upload:
        key = self.full(path)
        s3 = self.client()
        try:
            upload_id = s3.create_multipart_upload(Bucket=self.params["bucket"], Key=key)["UploadId"]
        except _errors() as err:
            raise _error(err, key) from None
        return _MultipartUpload(s3, self.params["bucket"], key, upload_id)


class _MultipartUpload(Upload):
    """Parts of PART_BYTES sent as they fill: one part in memory, never the whole file."""

    def __init__(self, s3: Any, bucket: str, key: str, upload_id: str) -> None:
        self.s3, self.bucket, self.key, self.upload_id = s3, bucket, key, upload_id
        self.buffer, self.parts = bytearray(), []

    def write(self, data: bytes) -> int:
        self.buffer += data
        while len(self.buffer) >= PART_BYTES:
            self._send(bytes(self.buffer[:PART_BYTES]))
            del self.buffer[:PART_BYTES]
        return len(data)

    def _send(self, body: bytes) -> None:
        number = len(self.parts) + 1
        try:
            answer = self.s3.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                         PartNumber=number, Body=body)
        except _errors() as err:
            raise _error(err, self.key) from None
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self) -> None:
        if self.buffer or not self.parts:  # the last part may be small (or the only one empty)
            self._send(bytes(self.buffer))
            self.buffer.clear()
        try:
            self.s3.complete_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id,
                                              MultipartUpload={"Parts": self.parts})
        except _errors() as err:
            raise _error(err, self.key) from None

    def abort(self) -> None:
        self.buffer.clear()
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        except _errors():
            pass  # nothing was published; the bucket's lifecycle rule cleans up what S3 keeps


def _errors() -> tuple[type[Exception], ...]:
    """What boto3 raises (looked up only once something was raised: an except clause's tuple is evaluated then)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


def _error(err: Exception, what: str) -> ConnectorError:
    from botocore.exceptions import ClientError, EndpointConnectionError, HTTPClientError

    inner = err.kwargs.get("error") if isinstance(err, HTTPClientError) else None
    if isinstance(inner, ConnectorError):  # the guard refused a host boto3 was about to connect to
        return inner
    if isinstance(err, EndpointConnectionError):
        return ConnectorError("tcp", f"S3: cannot reach the endpoint ({err}).")
    if not isinstance(err, ClientError):
        return ConnectorError("read", f"S3: {err}")
    code = err.response.get("Error", {}).get("Code", "")
    words = err.response.get("Error", {}).get("Message") or code
    if code in _AUTH:
        return ConnectorError("auth", f"S3: {words}")
    if code in ("AccessDenied", "403", "AllAccessDisabled"):
        return ConnectorError("permission", f"S3: access denied to {what}.")
    if code in _MISSING:
        return ConnectorError("missing", f"S3: {what} does not exist.")
    return ConnectorError("read", f"S3: {words}")
