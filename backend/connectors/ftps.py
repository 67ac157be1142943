"""FTPS (explicit TLS, `ftplib.FTP_TLS`): certificate verified for the host name, protected data channel.

The control connection goes to the address the egress guard checked; data connections go to the same
address (ftplib ignores the address a PASV reply names), so a server cannot point Inflow elsewhere.
"""

from __future__ import annotations

import ftplib
import posixpath
import socket
import ssl
from datetime import UTC, datetime
from typing import Any, BinaryIO

from backend.connectors import guard, urls
from backend.connectors.base import ConnectorError, Entry, register
from backend.connectors.files import FileStore
from backend.connectors.guard import tls_context
from backend.connectors.uploads import Upload, temp_name

TIMEOUT_S = 30


class _PinnedFTP(ftplib.FTP_TLS):
    """FTP_TLS whose control socket connects to a checked address while TLS verifies the name."""

    def connect_to(self, name: str, address: str, port: int) -> None:
        self.host, self.port = name, port
        self.sock = socket.create_connection((address, port), self.timeout)
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()


@register
class FtpsConnector(FileStore):
    takes_files = True
    type, label, schemes = "ftps", "FTPS", ("ftps",)

    @classmethod
    def params_from_url(cls, url: str) -> dict[str, Any]:
        p = urls.split(url, 21)
        return {"host": p["host"], "port": p["port"], "user": p["user"], "password": p["password"], "path": p["path"]}

    def _login(self) -> _PinnedFTP:
        p = self.params
        address = guard.resolve(p["host"], int(p["port"]), allow_loopback=self.allow_loopback)
        ftp = _PinnedFTP(context=tls_context(), timeout=TIMEOUT_S)
        try:
            ftp.connect_to(p["host"], address, int(p["port"]))
        except (OSError, EOFError) as err:
            ftp.close()
            raise ConnectorError("tcp", f"FTPS: cannot reach {p['host']}:{p['port']} ({err.strerror or err}).") \
                from None
        try:
            ftp.auth()
        except ssl.SSLError as err:
            ftp.close()
            raise ConnectorError("tls", f"FTPS: TLS failed with {p['host']} ({err.reason}).") from None
        except ftplib.Error as err:
            ftp.close()
            raise ConnectorError("tls", f"FTPS: the server does not offer TLS ({_words(err)}).") from None
        except (OSError, EOFError) as err:  # ftplib says EOFError when the server hangs up
            ftp.close()
            raise ConnectorError("tls", f"FTPS: {p['host']} closed the connection when asked for TLS "
                                        f"({_words(err)}).") from None
        try:
            ftp.login(p["user"], p.get("password") or "")
            ftp.prot_p()
        except ftplib.error_perm as err:
            ftp.close()
            raise ConnectorError("auth", f"FTPS: {_words(err)}") from None
        except (ftplib.Error, OSError, EOFError) as err:
            ftp.close()
            raise ConnectorError("auth", f"FTPS: {p['host']} broke off the login ({_words(err)}).") from None
        return ftp

    def test(self) -> str:
        entries = self.browse("")
        return f"Connected to FTPS {self.params['host']} as {self.params['user']} ({len(entries)} item(s))."

    def browse(self, path: str = "") -> list[Entry]:
        folder = self.full(path) if path else self.root()
        ftp = self._login()
        try:
            listing = list(ftp.mlsd(folder or ".", facts=["type", "size", "modify"]))
        except ftplib.error_perm as err:
            raise _error(err, folder) from None
        finally:
            ftp.close()
        out = []
        for name, facts in listing:
            kind = {"dir": "folder", "file": "file"}.get(facts.get("type", ""))
            if kind is None:
                continue
            modified = datetime.strptime(facts["modify"][:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC).isoformat() \
                if facts.get("modify") else None
            out.append(Entry(name, kind, posixpath.join(folder, name) if folder else name,
                             int(facts["size"]) if kind == "file" and facts.get("size") else None, modified))
        return sorted(out, key=lambda e: e.name)

    def _transfer(self, command: str, name: str, shown: str) -> tuple[ftplib.FTP_TLS, socket.socket]:
        """A logged-in control connection and the binary data connection of `command name` (RETR, STOR)."""
        ftp = self._login()
        try:
            ftp.voidcmd("TYPE I")
            return ftp, ftp.transfercmd(f"{command} {name}")
        except ftplib.error_perm as err:
            ftp.close()
            raise _error(err, shown) from None

    def open_file(self, path: str) -> BinaryIO:
        return _Retrieval(*self._transfer("RETR", path, path))

    def move(self, path: str, folder: str) -> str:
        target = posixpath.join(folder, posixpath.basename(path))
        ftp = self._login()
        try:
            ftp.rename(path, target)
        except ftplib.error_perm as err:
            raise _error(err, path) from None
        finally:
            ftp.close()
        return target

    def upload(self, path: str) -> Upload:
        final = self.full(path)
        tmp = temp_name(final)
        return _Storage(*self._transfer("STOR", tmp, final), tmp, final)


class _Storage(Upload):
    """The data connection of one STOR under the temporary name; `commit()` ends it and renames the file."""

    def __init__(self, ftp: ftplib.FTP_TLS, data: socket.socket, tmp: str, final: str) -> None:
        self.ftp, self.data, self.tmp, self.final = ftp, data, tmp, final

    def write(self, data: bytes) -> int:
        try:
            self.data.sendall(data)
        except OSError as err:
            raise ConnectorError("read", f"FTPS: the upload of {self.final} broke off ({err.strerror or err}).") \
                from None
        return len(data)

    def _end_transfer(self) -> None:
        try:
            if isinstance(self.data, ssl.SSLSocket):
                self.data.unwrap()
        except (OSError, ValueError):
            pass
        self.data.close()

    def commit(self) -> None:
        try:
            self._end_transfer()
            self.ftp.voidresp()
            self.ftp.rename(self.tmp, self.final)
        except ftplib.Error as err:
            raise _error(err, self.final) from None
        finally:
            self.ftp.close()

    def abort(self) -> None:
        self._end_transfer()
        try:
            self.ftp.voidresp()
            self.ftp.delete(self.tmp)
        except (ftplib.Error, OSError):
            pass  # a partial temporary file at worst, never under the final name
        finally:
            self.ftp.close()


class _Retrieval:
    """The data connection of one RETR as a readable stream; closing ends the transfer and the session."""

    def __init__(self, ftp: ftplib.FTP_TLS, data: socket.socket) -> None:
        self.ftp, self.data, self.closed = ftp, data, False
        self.reader = data.makefile("rb")

    def read(self, n: int = -1) -> bytes:
        return self.reader.read(n)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.reader.close()
        try:
            if isinstance(self.data, ssl.SSLSocket):
                self.data.unwrap()
        except (OSError, ValueError):
            pass
        self.data.close()
        try:
            self.ftp.voidresp()
        except (ftplib.Error, OSError):
            pass
        self.ftp.close()

    def __del__(self) -> None:
        self.close()


def _error(err: ftplib.Error, path: str) -> ConnectorError:
    words = _words(err)
    if words.startswith("550") and any(w in words.lower() for w in ("no such", "not found", "doesn't exist",
                                                                     "does not exist")):
        return ConnectorError("missing", f"FTPS: {path or 'the folder'} does not exist.")
    if words.startswith(("550", "553", "530")):
        return ConnectorError("permission", f"FTPS: {words}")
    return ConnectorError("read", f"FTPS: {words}")


def _words(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
