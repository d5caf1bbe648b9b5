"""Files on the test host's TFTP and FTP servers, and IOS's ``copy`` dialogs that move them.

A router reaches ``tftp://HOST/PATH`` and ``ftp://USER:PASSWORD@HOST/PATH`` when HOST resolves (an
address, or an ``ip host`` name) to the testbed's ``custom.hostsrv`` address: the simulator treats
that host as reachable from every router, and the transfers are real TFTP and FTP over loopback
(:mod:`pkilab.hostsrv`, :mod:`pkilab.ftpsrv`). Other hosts time out. The transfers are blocking
socket code: in a running lab they run in a worker thread (:func:`off_loop`) that the session
awaits, so that every other router keeps answering while one waits for a slow server; an offline
lab (no event loop, unit tests) runs them inline.

:func:`copy_remote` is ``copy`` when one side is remote, in the seed's forms: ``copy nvram:F
tftp://HOST/PATH``, ``copy nvram:F ftp://USER:PASSWORD@HOST/PATH`` (backup) and ``copy tftp: nvram:``
/ ``copy tftp://HOST/PATH startup`` (restore), with IOS's questions (remote host, source file,
destination file, overwrite) and its reports. Credentials never appear in what the router prints
(IOS shows ``ftp://*:*@HOST/PATH``).
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pkilab.ftpsrv import FtpCredentials, FtpError, ftp_read, ftp_write
from pkilab.hostsrv import HostServerSpec, TftpError, TftpTimeout, Timing, spec_from_testbed, tftp_read, tftp_write
from pkilab.sim.features.ip import Ip
from pkilab.sim.filesys import FileSystem, FileSystemError, FileSystems
from pkilab.sim.interp import Ask, Await

if TYPE_CHECKING:
    from pkilab.sim.router import Router

T = TypeVar("T")

TFTP_TIMING = Timing(timeout=0.5, retries=3)
#: One worker for the writes :meth:`DatabaseStore.write_soon` defers: they reach the server in order.
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-db-write")
SCHEMES = ("tftp", "ftp")


@dataclass(frozen=True)
class RemoteUrl:
    """``SCHEME://[USER:PASSWORD@]HOST/PATH`` as typed (HOST and PATH may be empty: ``tftp:``)."""

    scheme: str
    host: str
    path: str
    account: FtpCredentials | None = None

    @classmethod
    def parse(cls, url: str) -> RemoteUrl:
        """Split a ``tftp:``/``ftp:`` URL (no validation beyond the scheme)."""
        scheme, _, rest = url.partition(":")
        rest = rest[2:] if rest.startswith("//") else rest.lstrip("/")
        where, _, path = rest.partition("/")
        account = None
        if "@" in where:
            creds, _, where = where.rpartition("@")
            user, _, password = creds.partition(":")
            account = FtpCredentials(urllib.parse.unquote(user), urllib.parse.unquote(password))
        return cls(scheme.lower(), where, path, account)

    def with_host(self, host: str) -> RemoteUrl:
        """The same URL on another host (the answer to "Address or name of remote host")."""
        return RemoteUrl(self.scheme, host, self.path, self.account)

    def with_path(self, path: str) -> RemoteUrl:
        """The same URL for another file."""
        return RemoteUrl(self.scheme, self.host, path, self.account)

    @property
    def shown(self) -> str:
        """The URL as IOS prints it: ``ftp://*:*@HOST/PATH`` hides the credentials."""
        creds = "*:*@" if self.scheme == "ftp" and self.account is not None else ""
        return f"{self.scheme}://{creds}{self.host}/{self.path}"


def is_remote(url: str) -> bool:
    """True for a ``tftp:`` or ``ftp:`` URL (with or without ``//HOST/PATH``)."""
    return url.partition(":")[0].lower() in SCHEMES and ":" in url


def is_tftp(url: str) -> bool:
    """True for a ``tftp://`` URL."""
    return url.lower().startswith("tftp://")


@dataclass(frozen=True)
class TftpReach:
    """Which remote URLs a router reaches: those whose host resolves to the host server's address."""

    resolve: Callable[[str], str | None]
    spec: HostServerSpec | None

    @classmethod
    def of(cls, resolve: Callable[[str], str | None], testbed: object) -> TftpReach:
        """The reach of a router with name lookup ``resolve`` in a lab built from ``testbed``."""
        return cls(resolve, spec_from_testbed(testbed) if testbed is not None else None)

    def address(self, url: RemoteUrl) -> str:
        """The host server's address when ``url`` reaches it; FileSystemError as IOS words it."""
        address = self.resolve(url.host) if url.host else None
        if address is None:
            raise FileSystemError(f"%Error opening {url.shown} (Unknown host)")
        if self.spec is None or address != self.spec.address or not url.path:
            raise FileSystemError(f"%Error opening {url.shown} (Timed out)")
        return address

    def target(self, url: str) -> tuple[str, int, str]:
        """(address, port, file name) of ``tftp://HOST/PATH``; FileSystemError when unreachable."""
        remote = RemoteUrl.parse(url)
        address = self.address(remote)
        assert self.spec is not None
        return address, self.spec.tftp_port, remote.path

    def ftp_port(self, url: RemoteUrl) -> int:
        """The host's FTP port; FileSystemError (timed out, as for a host without FTP) when it has none."""
        if self.spec is None or self.spec.ftp_port is None:
            raise FileSystemError(f"%Error opening {url.shown} (Timed out)")
        return self.spec.ftp_port


def _tftp_reason(exc: TftpError) -> str:
    """IOS's words for a TFTP failure."""
    if isinstance(exc, TftpTimeout):
        return "Timed out"
    return {1: "No such file or directory", 2: "Permission denied"}.get(exc.code, str(exc) or "Undefined error")


def _ftp_reason(exc: FtpError) -> str:
    """IOS's words for an FTP failure (550: no such file; 530: login refused; no answer: timed out)."""
    if exc.code == 550:
        return "No such file or directory"
    if exc.code in (530, 532):
        return "Permission denied"
    return "Timed out" if exc.code == 0 else "Undefined error"


class DatabaseStore:
    """Files at router file-system URLs or on the test host (``tftp://``, ``ftp://``)."""

    def __init__(
        self, fs: FileSystems, reach: TftpReach | None = None, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.fs = fs
        self.reach = reach
        self.loop = loop  # the lab's event loop, which remote writes must not block (None: offline)

    def _reach(self, url: RemoteUrl) -> TftpReach:
        if self.reach is None:
            raise FileSystemError(f"%Error opening {url.shown} (Timed out)")
        return self.reach

    def check(self, url: str) -> None:
        """Raise FileSystemError when ``url`` names no file system or an unreachable host."""
        if is_remote(url):
            remote = RemoteUrl.parse(url)
            self._reach(remote).address(remote)
        else:
            self.fs.resolve(url)

    def resolve(self, url: str) -> tuple[FileSystem, str]:
        """The local file system and path of ``url`` (FileSystemError for a remote URL)."""
        if is_remote(url):
            raise FileSystemError(f"%Error opening {RemoteUrl.parse(url).shown} (Not a local file system)")
        return self.fs.resolve(url)

    def read(self, url: str) -> bytes:
        """Read ``url``."""
        if not is_remote(url):
            return self.fs.read(url)
        remote = RemoteUrl.parse(url)
        reach = self._reach(remote)
        address = reach.address(remote)
        try:
            if remote.scheme == "ftp":
                return ftp_read(address, reach.ftp_port(remote), remote.path, remote.account)
            assert reach.spec is not None
            return tftp_read(address, reach.spec.tftp_port, remote.path, TFTP_TIMING)
        except TftpError as exc:
            raise FileSystemError(f"%Error opening {remote.shown} ({_tftp_reason(exc)})") from None
        except FtpError as exc:
            raise FileSystemError(f"%Error opening {remote.shown} ({_ftp_reason(exc)})") from None

    def write(self, url: str, data: bytes) -> None:
        """Write ``url`` (over TFTP the file must already exist on the server; FTP creates it)."""
        if not is_remote(url):
            self.fs.write(url, data)
            return
        remote = RemoteUrl.parse(url)
        reach = self._reach(remote)
        address = reach.address(remote)
        try:
            if remote.scheme == "ftp":
                ftp_write(address, reach.ftp_port(remote), remote.path, data, remote.account)
                return
            assert reach.spec is not None
            tftp_write(address, reach.spec.tftp_port, remote.path, data, TFTP_TIMING)
        except TftpError as exc:
            raise FileSystemError(f"%Error opening {remote.shown} ({_tftp_reason(exc)})") from None
        except FtpError as exc:
            raise FileSystemError(f"%Error opening {remote.shown} ({_ftp_reason(exc)})") from None

    def write_soon(self, url: str, data: bytes, failed: Callable[[FileSystemError], None]) -> None:
        """Write ``url``; a remote write in a running lab is left to a worker thread, in order.

        ``failed`` gets the error of a write that fails: at once for a local or offline write,
        on the event loop once the worker has tried for a remote one.
        """
        if self.loop is None or not is_remote(url):
            try:
                self.write(url, data)
            except FileSystemError as exc:
                failed(exc)
            return

        def report(done: asyncio.Future[None]) -> None:
            exc = None if done.cancelled() else done.exception()
            if isinstance(exc, FileSystemError):
                failed(exc)
            elif exc is not None:  # a socket error the transfer did not word is a failed write too
                failed(FileSystemError(f"%Error opening {RemoteUrl.parse(url).shown} ({exc})"))

        self.loop.run_in_executor(_WRITER, self.write, url, data).add_done_callback(report)


def off_loop(router: Router, work: Callable[[], T]) -> Generator[Any, Any, T]:
    """Run ``work`` (blocking I/O) off the lab's event loop, for a handler's ``yield from``.

    In a running lab the session awaits ``work`` in a worker thread, and an exception it raises is
    raised here again; without an event loop (an offline lab) ``work`` runs inline.
    """
    if router.lab.network.loop is None:
        return work()
    result = yield Await(asyncio.to_thread(work))
    if isinstance(result, BaseException):
        raise result
    return cast(T, result)


# ---- copy ----------------------------------------------------------------------------------------
OVERWRITE = "%Warning:There is a file already existing with this name \nDo you want to over write? [confirm]"


def _copied(size: int) -> str:
    """IOS's closing line (the time is the simulator's own, not measured)."""
    return f"{size} bytes copied in 0.024 secs ({size * 41} bytes/sec)"


def _leaf(path: str) -> str:
    return path.rpartition("/")[2] or path


def copy_remote(router: Router, store: DatabaseStore, src: str, dst: str) -> Generator[Any, Any, str | None]:
    """``copy SRC DST`` when SRC or DST is on a TFTP or FTP server."""
    if is_remote(src) and is_remote(dst):
        # Invented wording (docs/sim-fidelity.md): the seed never copies server to server.
        return "%Error: copying between two remote hosts is not supported"
    if is_remote(dst):
        return (yield from _upload(router, store, src, RemoteUrl.parse(dst)))
    return (yield from _download(router, store, RemoteUrl.parse(src), dst))


def _upload(router: Router, store: DatabaseStore, src: str, url: RemoteUrl) -> Generator[Any, Any, str]:
    """Local file → server: the remote host and destination file questions, then the transfer."""
    answer = (yield Ask(f"Address or name of remote host [{url.host}]? ")).strip()
    url = url.with_host(answer or url.host)
    default = url.path or _leaf(src.partition(":")[2])
    answer = (yield Ask(f"Destination filename [{default}]? ")).strip()
    url = url.with_path(answer or default)
    try:
        data = store.read(src)
        yield from off_loop(router, lambda: store.write(_typed(url), data))
    except FileSystemError as exc:
        return str(exc)
    # Real captures: "!!" then the total for TFTP; "Writing startup-config.ftp !" for FTP.
    marks = f"Writing {url.path} !" if url.scheme == "ftp" else "!!"
    return f"{marks}\n{_copied(len(data))}"


def _download(router: Router, store: DatabaseStore, url: RemoteUrl, dst: str) -> Generator[Any, Any, str | None]:
    """Server → local file: host, source and destination questions, the overwrite check, the transfer."""
    answer = (yield Ask(f"Address or name of remote host [{url.host}]? ")).strip()
    url = url.with_host(answer or url.host)
    answer = (yield Ask(f"Source filename [{url.path}]? ")).strip()
    url = url.with_path(answer or url.path)
    fs_name, _, name = dst.partition(":")
    default = name.lstrip("/") or _leaf(url.path)
    answer = (yield Ask(f"Destination filename [{default}]? ")).strip()
    target = f"{fs_name}:{answer or default}"
    try:
        exists = store.fs.exists(target)
    except FileSystemError as exc:
        return str(exc)
    if exists:
        confirm = (yield Ask(OVERWRITE)).strip().lower()
        if confirm and not "yes".startswith(confirm) and confirm != "confirm":
            return None
    yield f"Accessing {url.shown}...\n"
    try:
        data = yield from off_loop(router, lambda: store.read(_typed(url)))
        store.fs.write(target, data)
    except FileSystemError as exc:
        return str(exc)
    return _loaded(router, store, url, len(data))


def _loaded(router: Router, store: DatabaseStore, url: RemoteUrl, size: int) -> str:
    """IOS's report of a file read from a server (TFTP: a real ISR capture; FTP: an ASR903 one)."""
    if url.scheme == "ftp":
        return f"Loading {url.path} !\n[OK - {size}/4096 bytes]\n\n{_copied(size)}"
    address = store.reach.resolve(url.host) if store.reach is not None else url.host
    hop = router.feature(Ip).lookup(address) if address else None
    via = f" (via {hop[0].name})" if hop is not None else ""
    return f"Loading {url.path} from {address}{via}: !\n[OK - {size} bytes]\n\n{_copied(size)}"


def _typed(url: RemoteUrl) -> str:
    """The URL with its credentials, for the transfer itself (never printed)."""
    if url.scheme == "ftp" and url.account is not None:
        user = urllib.parse.quote(url.account.username, safe="")
        password = urllib.parse.quote(url.account.password, safe="")
        return f"ftp://{user}:{password}@{url.host}/{url.path}"
    return f"{url.scheme}://{url.host}/{url.path}"
