"""SFTP (AsyncSSH): password or private key, the server's host key pinned, files streamed into the sources.

The first test of a connection learns the server's SHA-256 host key fingerprint (`learned`), which the
caller shows and stores once the user accepts it; from then on any other key is refused before the
password or key is sent. Reading needs a pinned key.

AsyncSSH is imported when a connection is first used, not with the registry: it adds about 6 MB to every
process, and most runs never talk to SFTP.
"""

from __future__ import annotations

import functools
import posixpath
import stat
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from backend.connectors import aio, guard, urls
from backend.connectors.base import ConnectorError, Entry, register
from backend.connectors.files import FileStore
from backend.connectors.uploads import Upload, temp_name

if TYPE_CHECKING:
    import asyncssh

CONNECT_TIMEOUT_S = 15


@functools.cache
def _pinning_client() -> type[asyncssh.SSHClient]:
    import asyncssh

    class PinningClient(asyncssh.SSHClient):
        def __init__(self, pinned: str, accept_new: bool) -> None:
            self.pinned, self.accept_new, self.seen = pinned, accept_new, ""

        def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
            self.seen = key.get_fingerprint("sha256")
            return self.seen == self.pinned if self.pinned else self.accept_new

    return PinningClient


@register
class SftpConnector(FileStore):
    takes_files = True
    type, label, schemes = "sftp", "SFTP", ("sftp",)
    secret_keys = ("password", "private_key", "passphrase")

    def __init__(self, params: dict[str, Any], *, allow_loopback: bool = False) -> None:
        super().__init__(params, allow_loopback=allow_loopback)
        self.learned: dict[str, str] = {}

    @classmethod
    def params_from_url(cls, url: str) -> dict[str, Any]:
        p = urls.split(url, 22)
        key = ""
        if p["options"].get("key_file"):
            try:
                with open(p["options"]["key_file"], encoding="utf-8") as f:
                    key = f.read()
            except OSError as err:
                raise ConnectorError("config", f"Cannot read the private key file: {err.strerror}.") from None
        return {"host": p["host"], "port": p["port"], "user": p["user"], "password": p["password"],
                "private_key": key, "passphrase": p["options"].get("passphrase", ""), "path": p["path"],
                "host_key": p["options"].get("host_key", "")}

    async def _connect(self, accept_new: bool = False) -> asyncssh.SSHClientConnection:
        import asyncssh

        p = self.params
        address = guard.resolve(p["host"], int(p["port"]), allow_loopback=self.allow_loopback)
        keys = None
        if p.get("private_key"):
            try:
                keys = [asyncssh.import_private_key(p["private_key"], p.get("passphrase") or None)]
            except (asyncssh.KeyImportError, ValueError):
                raise ConnectorError("config", "The private key cannot be read (wrong format or passphrase).") \
                    from None
        client = _pinning_client()(p.get("host_key") or "", accept_new)
        try:
            conn, _ = await asyncssh.create_connection(
                lambda: client, address, int(p["port"]), username=p["user"], password=p.get("password") or None,
                client_keys=keys, known_hosts=([], [], []), agent_path=None, config=[],
                connect_timeout=CONNECT_TIMEOUT_S, preferred_auth="publickey,password,keyboard-interactive")
        except asyncssh.HostKeyNotVerifiable:
            raise self._key_refused(client.seen) from None
        except asyncssh.PermissionDenied:
            raise ConnectorError("auth", f"SFTP: {p['host']} refused the user name, password or key.") from None
        except (OSError, asyncssh.Error) as err:
            raise ConnectorError("tcp", f"SFTP: cannot connect to {p['host']}:{p['port']} ({_words(err)}).") from None
        if not p.get("host_key"):
            self.learned = {"host_key": client.seen}
        return conn

    def _key_refused(self, seen: str) -> ConnectorError:
        pinned = self.params.get("host_key")
        if not pinned:
            return ConnectorError("host_key", f"The server's host key ({seen}) is not accepted yet; test the "
                                              "connection and accept its fingerprint first.")
        return ConnectorError("host_key", f"The server's host key has changed: accepted {pinned}, offered {seen}. "
                                          "Inflow refuses to connect; if the server's key was replaced on purpose, "
                                          "accept the new fingerprint.")

    def test(self) -> str:
        async def probe() -> str:
            async with await self._connect(accept_new=True) as conn, conn.start_sftp_client() as sftp:
                await sftp.listdir(self.root() or ".")
            return self.learned.get("host_key") or self.params["host_key"]
        fingerprint = _run(probe)
        note = "; accept it to pin it" if self.learned else " (pinned)"
        return f"Connected to SFTP {self.params['host']} as {self.params['user']}; host key {fingerprint}{note}."

    def browse(self, path: str = "") -> list[Entry]:
        folder = self.full(path) if path else self.root()

        async def listing() -> list[Entry]:
            async with await self._connect() as conn, conn.start_sftp_client() as sftp:
                names = await sftp.readdir(folder or ".")
            out = []
            for n in names:
                if n.filename in (".", ".."):
                    continue
                kind = "folder" if stat.S_ISDIR(n.attrs.permissions or 0) else "file"
                modified = datetime.fromtimestamp(n.attrs.mtime, UTC).isoformat() if n.attrs.mtime else None
                out.append(Entry(n.filename, kind, posixpath.join(folder, n.filename) if folder else n.filename,
                                 n.attrs.size if kind == "file" else None, modified))
            return sorted(out, key=lambda e: e.name)
        return _run(listing)

    def open_file(self, path: str) -> BinaryIO:
        async def opened() -> tuple[Any, Any, Any]:
            conn = await self._connect()
            try:
                sftp = await conn.start_sftp_client()
                return conn, sftp, await sftp.open(path, "rb")
            except BaseException:
                conn.close()
                raise
        conn, sftp, handle = _run(opened)

        async def close() -> None:
            await handle.close()
            sftp.exit()
            conn.close()
        return aio.SyncReader(handle.read, close, translate=lambda err: _error(err, path))

    def move(self, path: str, folder: str) -> str:
        target = posixpath.join(folder, posixpath.basename(path))

        async def rename() -> None:
            async with await self._connect() as conn, conn.start_sftp_client() as sftp:
                await sftp.rename(path, target)
        _run(rename)
        return target

    def upload(self, path: str) -> Upload:
        final = self.full(path)
        tmp = temp_name(final)

        async def opened() -> tuple[Any, Any, Any]:
            import asyncssh

            conn = await self._connect()
            try:
                sftp = await conn.start_sftp_client()
                return conn, sftp, await sftp.open(tmp, "wb")
            except asyncssh.SFTPError as err:
                conn.close()
                raise _error(err, final) from None
            except BaseException:
                conn.close()
                raise
        conn, sftp, handle = _run(opened)
        return _SftpUpload(conn, sftp, handle, tmp, final)


class _SftpUpload(Upload):
    def __init__(self, conn: Any, sftp: Any, handle: Any, tmp: str, final: str) -> None:
        self.conn, self.sftp, self.handle, self.tmp, self.final = conn, sftp, handle, tmp, final

    def write(self, data: bytes) -> int:
        _run(lambda: self.handle.write(data))
        return len(data)

    def commit(self) -> None:
        async def publish() -> None:
            import asyncssh

            await self.handle.close()
            try:
                await self.sftp.posix_rename(self.tmp, self.final)  # replaces an older file in one step
            except asyncssh.SFTPOpUnsupported:
                if await self.sftp.exists(self.final):
                    await self.sftp.remove(self.final)
                await self.sftp.rename(self.tmp, self.final)
        try:
            _run(publish)
        finally:
            self._close()

    def abort(self) -> None:
        async def drop() -> None:
            await self.handle.close()
            await self.sftp.remove(self.tmp)
        try:
            _run(drop)
        except ConnectorError:
            pass  # the connection is gone: so is the chance to tidy; the name was never the final one
        finally:
            self._close()

    def _close(self) -> None:
        self.sftp.exit()
        self.conn.close()


def _run(make: Any) -> Any:
    import asyncssh

    try:
        return aio.run(make())
    except ConnectorError:
        raise
    except (asyncssh.Error, OSError) as err:
        raise _error(err, "") from None


def _error(err: Exception, path: str) -> ConnectorError:
    import asyncssh

    if isinstance(err, ConnectorError):
        return err
    if isinstance(err, asyncssh.SFTPNoSuchFile):
        return ConnectorError("missing", f"SFTP: {path or 'the folder'} does not exist.")
    if isinstance(err, asyncssh.SFTPPermissionDenied):
        return ConnectorError("permission", f"SFTP: permission denied for {path or 'the folder'}.")
    return ConnectorError("read", f"SFTP: {_words(err)}")


def _words(err: Exception) -> str:
    return getattr(err, "reason", "") or getattr(err, "strerror", "") or type(err).__name__
