"""Router file systems (``nvram:``, ``flash:``) that survive reloads for the life of the lab.

NVRAM keeps IOS's fixed entries (startup-config, private-config, ifIndex-table,
persistent-data) with their high and low index numbers; other files get the next free
index, as the seed's ``dir nvram:`` listings show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pkilab.errors import PkilabError


class FileSystemError(PkilabError, OSError):
    """A file operation failed (no such file, no space, unknown file system)."""


@dataclass
class File:
    """One file: its index in ``dir`` output, permissions and content."""

    index: int
    perms: str
    data: bytes


@dataclass
class FileSystem:
    """One IOS file system."""

    name: str
    size: int
    files: dict[str, File] = field(default_factory=dict)
    next_index: int = 1
    show_date: bool = False
    _used: int = 0  # kept up to date by write/delete: a CA writes a file per certificate

    def used(self) -> int:
        """Bytes used by all files."""
        return self._used

    def write(self, path: str, data: bytes, perms: str = "-rw-", index: int | None = None) -> None:
        """Create or replace a file, keeping its index when it exists."""
        old = self.files.get(path)
        if self._used - (len(old.data) if old else 0) + len(data) > self.size:
            raise FileSystemError(f"%Error opening {self.name}:{path} (No space left on device)")
        self._used += len(data) - (len(old.data) if old else 0)
        if old is not None:
            old.data = data
            return
        if index is None:
            index = self.next_index
            self.next_index += 1
        self.files[path] = File(index, perms, data)

    def read(self, path: str) -> bytes:
        """Return a file's content or raise :class:`FileSystemError` as IOS words it."""
        f = self.files.get(path)
        if f is None:
            raise FileSystemError(f"%Error opening {self.name}:{path} (No such file or directory)")
        return f.data

    def delete(self, path: str) -> None:
        """Delete a file."""
        gone = self.files.pop(path, None)
        if gone is None:
            raise FileSystemError(f"%Error deleting {self.name}:{path} (No such file or directory)")
        self._used -= len(gone.data)

    def listing(self) -> str:
        """Render ``dir`` output as IOS 15 prints it."""
        lines = [f"Directory of {self.name}:/", ""]
        for path, f in sorted(self.files.items(), key=lambda kv: (kv[1].index < 100, kv[1].index)):
            date = "<no date>" if not self.show_date else ""
            lines.append(f"{f.index:>5}  {f.perms}  {len(f.data):>10}  {date:>24}  {path}")
        lines.append("")
        lines.append(f"{self.size} bytes total ({self.size - self.used()} bytes free)")
        return "\n".join(lines) + "\n"


class FileSystems:
    """The file systems of one router, by name (``nvram:``, ``flash:``)."""

    def __init__(self, router_name: str) -> None:
        self.router_name = router_name
        nvram = FileSystem("nvram", 262136)
        nvram.write("startup-config", b"", index=250)
        nvram.write("private-config", b"\x00" * 24, perms="----", index=251)
        nvram.write("ifIndex-table", b"", index=1)
        nvram.write("persistent-data", b"\x00" * 12, perms="----", index=2)
        nvram.next_index = 3
        flash = FileSystem("flash", 256 * 1024 * 1024, show_date=False)
        self.by_name = {"nvram": nvram, "flash": flash}

    def resolve(self, url: str) -> tuple[FileSystem, str]:
        """Split ``nvram:FILE`` / ``nvram:/FILE`` into (file system, path)."""
        fs_name, sep, path = url.partition(":")
        fs = self.by_name.get(fs_name.lower())
        if not sep or fs is None:
            raise FileSystemError(f"%Error opening {url} (Invalid argument)")
        return fs, path.lstrip("/")

    def read(self, url: str) -> bytes:
        """Read ``FS:PATH``."""
        fs, path = self.resolve(url)
        return fs.read(path)

    def read_text(self, url: str) -> str | None:
        """Read ``FS:PATH`` as text, or None when it does not exist."""
        try:
            return self.read(url).decode("utf-8", "replace")
        except FileSystemError:
            return None

    def write(self, url: str, data: bytes) -> None:
        """Write ``FS:PATH``."""
        fs, path = self.resolve(url)
        fs.write(path, data)

    def exists(self, url: str) -> bool:
        """Return True when ``FS:PATH`` exists."""
        try:
            fs, path = self.resolve(url)
        except FileSystemError:
            return False
        return path in fs.files

    def delete(self, url: str) -> None:
        """Delete ``FS:PATH``."""
        fs, path = self.resolve(url)
        fs.delete(path)
