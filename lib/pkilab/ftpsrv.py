"""An FTP server on the test host, and the client half the simulated routers use.

The seed backs the CA's files up and restores them over FTP as well as TFTP ("copy
nvram:ese-ios-ca.prv ftp://username:password@FTPservername/pathname/ese-ios-ca.prv"; "If you use
FTP, make sure it is in binary mode"). :class:`FtpServer` serves the host server's directory
(``testbed.custom.hostsrv.root``) with pyftpdlib, for one user whose name and password the testbed
gives::

    hostsrv: {address: 127.0.0.1, tftp_port: 6900, http_port: 6901, ftp_port: 6902,
              ftp_username: backup, ftp_password: …}

Unlike the TFTP daemons, FTP creates files it is asked to store. :func:`ftp_read` and
:func:`ftp_write` (stdlib :mod:`ftplib`, binary mode, passive) are what a simulated router's
``copy … ftp://USER:PASSWORD@HOST/PATH`` does. Failures raise :class:`FtpError` with the FTP reply
code; the router turns it into IOS's words. Passwords never appear in a message or a ``repr``.
"""

from __future__ import annotations

import contextlib
import ftplib
import io
import logging
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # pyftpdlib still imports asyncore/asynchat, deprecated since Python 3.11: its concern, not the
    # user's; filtered here only, for these two modules only.
    warnings.filterwarnings("ignore", r"The (asyncore|asynchat) module is deprecated", DeprecationWarning)
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

from pkilab.errors import PkilabError

CLIENT_TIMEOUT = 5.0

# pyftpdlib logs each command at INFO, and configures stderr logging itself when its logger has no
# handler: it gets one that drops everything below WARNING.
_log = logging.getLogger("pyftpdlib")
_log.setLevel(logging.WARNING)
if not _log.handlers:
    _log.addHandler(logging.NullHandler())


class FtpError(PkilabError):
    """An FTP transfer failed; ``code`` is the server's reply code (0: no reply, e.g. refused)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class FtpCredentials:
    """The one account of the host's FTP server (the password stays out of ``repr``)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class FtpTransfer:
    """One file the server sent (``read``) or stored (``write``)."""

    client: str
    op: str
    filename: str
    size: int


class FtpServer:
    """FTP over ``root`` for one account, in a daemon thread."""

    def __init__(self, root: Path, host: str, port: int, account: FtpCredentials) -> None:
        self.root = root
        self.host = host
        self.port = port
        self.account = account
        self.transfers: list[FtpTransfer] = []
        self._lock = threading.Lock()
        self._server: ThreadedFTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FtpServer:
        """Bind and serve (raise OSError if the port is taken)."""
        authorizer = DummyAuthorizer()
        # e: cwd, l: list, r: retrieve, a: append, d: delete, f: rename, m: mkdir, w: store
        authorizer.add_user(self.account.username, self.account.password, str(self.root), perm="elradfmw")
        handler = type("PkilabFtpHandler", (_Handler,), {"authorizer": authorizer, "owner": self})
        self._server = ThreadedFTPServer((self.host, self.port), handler)
        self.port = self._server.address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"timeout": 0.2, "handle_exit": False},
            name=f"pkilab-ftp-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection (idempotent)."""
        if self._server is not None:
            self._server.close_all()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def record(self, transfer: FtpTransfer) -> None:
        """Remember a completed transfer (called from the server's threads)."""
        with self._lock:
            self.transfers.append(transfer)


class _Handler(FTPHandler):  # type: ignore[misc]
    """Records completed transfers on the owning :class:`FtpServer`."""

    owner: FtpServer
    auth_failed_timeout = 0.5  # pyftpdlib's 3 s brake on password guessing is no use on a lab's loopback

    def _relative(self, file: str) -> str:
        return Path(file).resolve().relative_to(self.owner.root.resolve()).as_posix()

    def on_file_sent(self, file: str) -> None:
        self.owner.record(FtpTransfer(self.remote_ip, "read", self._relative(file), Path(file).stat().st_size))

    def on_file_received(self, file: str) -> None:
        self.owner.record(FtpTransfer(self.remote_ip, "write", self._relative(file), Path(file).stat().st_size))


# ---- client --------------------------------------------------------------------------------------
def _session(host: str, port: int, account: FtpCredentials | None) -> ftplib.FTP:
    ftp = ftplib.FTP()
    try:
        ftp.connect(host, port, timeout=CLIENT_TIMEOUT)
        if account is None:
            ftp.login()
        else:
            ftp.login(account.username, account.password)
        ftp.set_pasv(True)
    except BaseException:
        with contextlib.suppress(Exception):
            ftp.close()
        raise
    return ftp


def _failure(exc: BaseException) -> FtpError:
    if isinstance(exc, ftplib.Error):
        text = str(exc)
        code = int(text[:3]) if text[:3].isdigit() else 0
        return FtpError(code, text)
    if isinstance(exc, TimeoutError):
        return FtpError(0, "timed out")
    if isinstance(exc, OSError):
        return FtpError(0, exc.strerror or type(exc).__name__)
    return FtpError(0, type(exc).__name__)


def ftp_read(host: str, port: int, path: str, account: FtpCredentials | None) -> bytes:
    """Fetch ``path`` (relative to the account's home) in binary mode."""
    sink = io.BytesIO()
    try:
        with contextlib.closing(_session(host, port, account)) as ftp:
            ftp.retrbinary(f"RETR {path}", sink.write)
            with contextlib.suppress(ftplib.Error, OSError):
                ftp.quit()
    except (ftplib.Error, OSError, EOFError) as exc:
        raise _failure(exc) from None
    return sink.getvalue()


def ftp_write(host: str, port: int, path: str, data: bytes, account: FtpCredentials | None) -> None:
    """Store ``data`` as ``path`` (relative to the account's home) in binary mode."""
    try:
        with contextlib.closing(_session(host, port, account)) as ftp:
            ftp.storbinary(f"STOR {path}", io.BytesIO(data))
            with contextlib.suppress(ftplib.Error, OSError):
                ftp.quit()
    except (ftplib.Error, OSError, EOFError) as exc:
        raise _failure(exc) from None


def account_from(raw: Any) -> FtpCredentials | None:
    """The account of ``custom.hostsrv`` (``ftp_username``/``ftp_password``), or None when unset."""
    user, password = raw.get("ftp_username"), raw.get("ftp_password")
    if user is None and password is None:
        return None
    return FtpCredentials(str(user or ""), str(password or ""))
