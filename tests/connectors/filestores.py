"""File-store servers for the connector tests, each real and on a free loopback port: moto_server (S3 over HTTP)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

from tests.connectors.servers import EXPECTED

BUCKET = "inflow-drop"
SETUP_ACTIONS = 9  # moto checks credentials only after this many requests: exactly the setup below


def people_csv() -> bytes:
    """The rows every connector serves, as the CSV file a partner drops (text exactly as expected)."""
    lines = ["id,name,amount,active,born,seen,note"]
    for row in EXPECTED:
        lines.append(",".join(f'"{v.replace(chr(34), chr(34) * 2)}"' if "," in v or '"' in v else v
                              for v in row.values()))
    return ("\n".join(lines) + "\n").encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None) -> None:
    for _ in range(300):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("the server exited before it listened")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def moto_s3() -> Iterator[dict]:
    """moto_server with IAM checks on: a user who may list the bucket and read only `exports/`."""
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_ACTIONS)}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        endpoint = f"http://127.0.0.1:{port}"
        setup = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "setup",
                 "aws_secret_access_key": "setup"}  # pragma: allowlist secret
        iam, s3 = boto3.client("iam", **setup), boto3.client("s3", **setup)
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.put_user_policy(UserName="reader", PolicyName="read-exports", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": f"arn:aws:s3:::{BUCKET}"},
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                 "Resource": f"arn:aws:s3:::{BUCKET}/exports/*"}]}))
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="exports/people-old.csv", Body=b"id,name\n9,Old\n")
        s3.put_object(Bucket=BUCKET, Key="exports/people.csv", Body=people_csv())
        s3.put_object(Bucket=BUCKET, Key="exports/readme.txt", Body=b"not data")
        s3.put_object(Bucket=BUCKET, Key="private/secret.csv", Body=b"a,b\n1,2\n")
        s3.list_objects_v2(Bucket=BUCKET)  # the ninth request: from here on moto checks every signature
        yield {"bucket": BUCKET, "path": "", "region": "us-east-1", "endpoint_url": endpoint,
               "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
    finally:
        proc.terminate()
        proc.wait(10)


PARTNER, PARTNER_PASSWORD = "partner", "partner-pw-7"  # pragma: allowlist secret


def partner_site(environ: dict, start_response) -> list[bytes]:
    """A WSGI partner site behind Basic auth: the CSV under /files/, a forbidden file, redirects."""
    import base64

    expected = "Basic " + base64.b64encode(f"{PARTNER}:{PARTNER_PASSWORD}".encode()).decode()
    path = environ["PATH_INFO"]

    def answer(status: str, body: bytes = b"", headers: list | None = None) -> list[bytes]:
        start_response(status, [("Content-Length", str(len(body))), *(headers or [])])
        return [body]

    if environ.get("HTTP_AUTHORIZATION") != expected:
        return answer("401 Unauthorized", headers=[("WWW-Authenticate", 'Basic realm="files"')])
    if path == "/files/people.csv":
        return answer("200 OK", people_csv(), [("Content-Type", "text/csv")])
    if path == "/files/latest.csv":
        return answer("302 Found", headers=[("Location", "/files/people.csv")])
    if path == "/files/elsewhere.csv":
        port = environ["SERVER_PORT"]
        return answer("302 Found", headers=[("Location", f"https://localhost:{port}/files/people.csv")])
    if path == "/private/secret.csv":
        return answer("403 Forbidden")
    return answer("404 Not Found")


@contextmanager
def https_site(cert: Path, key: Path) -> Iterator[dict]:
    """partner_site over HTTPS with localorg's certificate (which the tests' CA bundle trusts)."""
    import threading

    from werkzeug.serving import make_server

    from sfdx.localorg.tls import server_context
    from tests.servers import stop_server, track_requests

    server = make_server("127.0.0.1", 0, partner_site, threaded=True, ssl_context=server_context(cert, key))
    track_requests(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"https://127.0.0.1:{server.server_port}/files/people.csv", "user": PARTNER,
               "password": PARTNER_PASSWORD}
    finally:
        stop_server(server, thread)


SFTP_USER, SFTP_PASSWORD = "dropper", "dropper-pw-3"  # pragma: allowlist secret


def drop_folder(root: Path) -> Path:
    """The files every file-store kit serves: exports/ (readable) and private/ (refused by the server)."""
    (root / "exports").mkdir(parents=True)
    (root / "private").mkdir()
    (root / "exports" / "people-old.csv").write_bytes(b"id,name\n9,Old\n")
    (root / "exports" / "people.csv").write_bytes(people_csv())
    (root / "exports" / "readme.txt").write_bytes(b"not data")
    (root / "private" / "secret.csv").write_bytes(b"a,b\n1,2\n")
    (root / "batches").mkdir()
    (root / "batches" / "done").mkdir()
    (root / "batches" / "batch-1.csv").write_bytes(b"LastName,Email\nLee,lee@example.com\n")
    (root / "batches" / "batch-2.csv").write_bytes(b"LastName,Email\nKim,kim@example.com\nPark,park@example.com\n")
    os.utime(root / "exports" / "people-old.csv", (1_600_000_000, 1_600_000_000))
    return root


@contextmanager
def sftp_server(root: Path) -> Iterator[dict]:
    """An AsyncSSH SFTP server in a thread of its own: password login, chrooted to `root`, private/ refused."""
    import asyncio
    import threading

    import asyncssh

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return (username, password) == (SFTP_USER, SFTP_PASSWORD)

    class Files(asyncssh.SFTPServer):
        def __init__(self, chan) -> None:
            super().__init__(chan, chroot=str(root).encode())

        def open(self, path: bytes, pflags: int, attrs):  # noqa: A003 - asyncssh's name
            if b"/private/" in self.map_path(path):
                raise asyncssh.SFTPPermissionDenied("no access to private files")
            return super().open(path, pflags, attrs)

    host_key = asyncssh.generate_private_key("ssh-ed25519")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict = {}

    async def start() -> None:
        holder["server"] = await asyncssh.create_server(Server, "127.0.0.1", 0, server_host_keys=[host_key],
                                                        sftp_factory=Files, allow_scp=False)
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    started.wait(10)
    port = holder["server"].sockets[0].getsockname()[1]
    try:
        yield {"host": "127.0.0.1", "port": port, "user": SFTP_USER, "password": SFTP_PASSWORD, "path": "",
               "host_key": host_key.convert_to_public().get_fingerprint("sha256")}
    finally:
        async def stop() -> None:
            holder["server"].close()
            await holder["server"].wait_closed()
        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


FTP_USER, FTP_PASSWORD = "ftpdrop", "ftpdrop-pw-5"  # pragma: allowlist secret


@contextmanager
def ftps_server(root: Path, cert: Path, key: Path) -> Iterator[dict]:
    """pyftpdlib with TLS required on control and data (localorg's certificate); private/ not readable."""
    import threading
    import warnings

    with warnings.catch_warnings():  # pyftpdlib 2.x still imports asyncore, deprecated by Python 3.11
        warnings.simplefilter("ignore", DeprecationWarning)
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import TLS_FTPHandler
        from pyftpdlib.servers import ThreadedFTPServer

    authorizer = DummyAuthorizer()
    authorizer.add_user(FTP_USER, FTP_PASSWORD, str(root), perm="elradfmw")  # exports write, rename and delete
    authorizer.override_perm(FTP_USER, str(root / "private"), perm="", recursive=True)
    handler = type("Handler", (TLS_FTPHandler,), {
        "authorizer": authorizer, "certfile": str(cert), "keyfile": str(key), "tls_control_required": True,
        "tls_data_required": True, "passive_ports": None, "masquerade_address": None})
    # pyftpdlib keeps ThreadedFTPServer's stop event and lock on the class: closing one server would end the
    # sessions of every other one in the process (a module's server closing under the session's). Each
    # server gets its own.
    server_class = type("Server", (ThreadedFTPServer,), {"_exit": threading.Event(), "_lock": threading.Lock()})
    server = server_class(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.2, "handle_exit": False},
                              daemon=True)
    thread.start()
    try:
        yield {"host": "127.0.0.1", "port": server.address[1], "user": FTP_USER, "password": FTP_PASSWORD,
               "path": ""}
    finally:
        server.close_all()
        thread.join(10)
