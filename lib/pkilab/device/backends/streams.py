"""Streams over an SSH channel or a telnet byte stream (a socket or a jump host's channel)."""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from pkilab.protocols.telnet import CLIENT, TelnetCodec


class _Stream(abc.ABC):
    """Text over a socket-like object (``sendall``, ``recv``, ``settimeout``, ``close``).

    Subclasses say how text becomes bytes and back; ``closers`` close what the object runs over
    (jump hosts), innermost last in the list and first to close.
    """

    def __init__(self, raw: Any, closers: Sequence[Callable[[], Any]] = ()) -> None:
        self.raw = raw
        self._closers = list(closers)
        self._open = True

    @abc.abstractmethod
    def _encode(self, text: str) -> bytes:
        """Text to send as the bytes the other end reads."""

    @abc.abstractmethod
    def _decode(self, chunk: bytes) -> str:
        """Bytes received as text."""

    def send(self, text: str) -> None:
        """Write ``text``."""
        try:
            self.raw.sendall(self._encode(text))
        except OSError as exc:
            self._open = False
            raise EOFError(str(exc) or "connection closed") from None

    def recv(self, timeout: float) -> str:
        """Read what arrives within ``timeout`` ("" when nothing did); EOFError once closed."""
        self.raw.settimeout(max(timeout, 0.001))
        try:
            chunk = self.raw.recv(65535)
        except TimeoutError:
            return ""
        if not chunk:
            self._open = False
            raise EOFError("connection closed")
        return self._decode(chunk)

    def alive(self) -> bool:
        """True until the other end closed the connection."""
        return self._open

    def close(self) -> None:
        """Close the connection, then what it runs over (innermost first)."""
        self._open = False
        with contextlib.suppress(Exception):
            self.raw.close()
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):
                close()


class ChannelStream(_Stream):
    """A paramiko channel (an SSH shell, a terminal server's console)."""

    def __init__(self, chan: Any, newline: str = "\n", closers: Sequence[Callable[[], Any]] = ()) -> None:
        super().__init__(chan, closers)
        self.newline = newline

    @property
    def chan(self) -> Any:
        """The paramiko channel."""
        return self.raw

    def _encode(self, text: str) -> bytes:
        return text.replace("\n", self.newline).encode()

    def _decode(self, chunk: bytes) -> str:
        return chunk.decode("utf-8", "replace")

    def alive(self) -> bool:
        """True while the channel and its transport are open."""
        transport = self.raw.get_transport() if hasattr(self.raw, "get_transport") else None
        active = transport is None or transport.is_active()
        return self._open and not self.raw.closed and bool(active)


class TelnetStream(_Stream):
    """Telnet over a socket or a ``direct-tcpip`` channel: option negotiation answered, data passed on."""

    def __init__(self, raw: Any, closers: Sequence[Callable[[], Any]] = ()) -> None:
        super().__init__(raw, closers)
        self.codec = TelnetCodec(CLIENT)

    def _encode(self, text: str) -> bytes:
        # CR LF for Return (RFC 854's end of line), 0xFF doubled.
        return self.codec.encode(text.replace("\n", "\r\n").encode("utf-8", "replace"))

    def _decode(self, chunk: bytes) -> str:
        out = self.codec.feed(chunk)
        if out.reply:
            self.raw.sendall(bytes(out.reply))
        return out.data.replace(b"\x00", b"").decode("utf-8", "replace")


def send_raw(stream: ChannelStream | TelnetStream, data: bytes) -> None:
    """Write bytes as they are (a relay passes a terminal's keystrokes on untranslated)."""
    if isinstance(stream, TelnetStream):
        # A terminal's Return is a lone CR; telnet's end of line is CR LF (RFC 854).
        data = data.replace(b"\r\n", b"\r").replace(b"\r", b"\r\n")
        stream.raw.sendall(stream.codec.encode(data))
    else:
        stream.raw.sendall(data)
