"""Streams over an SSH channel or a telnet byte stream (a socket or a jump host's channel)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from pkilab.protocols.telnet import CLIENT, TelnetCodec


class ChannelStream:
    """A paramiko channel (an SSH shell, a terminal server's console)."""

    def __init__(self, chan: Any, newline: str = "\n", closers: Sequence[Callable[[], Any]] = ()) -> None:
        self.chan = chan
        self.newline = newline
        self._closers = list(closers)
        self._open = True

    def send(self, text: str) -> None:
        """Write ``text``."""
        try:
            self.chan.sendall(text.replace("\n", self.newline).encode())
        except OSError as exc:
            self._open = False
            raise EOFError(str(exc) or "channel closed") from None

    def recv(self, timeout: float) -> str:
        """Read what arrives within ``timeout``."""
        self.chan.settimeout(max(timeout, 0.001))
        try:
            data = self.chan.recv(65535)
        except TimeoutError:
            return ""
        if not data:
            self._open = False
            raise EOFError("channel closed")
        return str(data.decode("utf-8", "replace"))

    def alive(self) -> bool:
        """True while the channel and its transport are open."""
        transport = self.chan.get_transport() if hasattr(self.chan, "get_transport") else None
        active = transport is None or transport.is_active()
        return self._open and not self.chan.closed and bool(active)

    def close(self) -> None:
        """Close the channel, then what it runs over (innermost first)."""
        self._open = False
        with contextlib.suppress(Exception):
            self.chan.close()
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):
                close()


class TelnetStream:
    """Telnet over a socket or a ``direct-tcpip`` channel: option negotiation answered, data passed on."""

    def __init__(self, raw: Any, closers: Sequence[Callable[[], Any]] = ()) -> None:
        self.raw = raw
        self.codec = TelnetCodec(CLIENT)
        self._closers = list(closers)
        self._open = True

    def send(self, text: str) -> None:
        """Write ``text`` with CR LF for Return (RFC 854's end of line)."""
        try:
            self.raw.sendall(self.codec.encode(text.replace("\n", "\r\n").encode("utf-8", "replace")))
        except OSError as exc:
            self._open = False
            raise EOFError(str(exc) or "connection closed") from None

    def recv(self, timeout: float) -> str:
        """Read what arrives within ``timeout``, negotiation answered and removed."""
        self.raw.settimeout(max(timeout, 0.001))
        try:
            chunk = self.raw.recv(65535)
        except TimeoutError:
            return ""
        if not chunk:
            self._open = False
            raise EOFError("connection closed")
        out = self.codec.feed(chunk)
        if out.reply:
            self.raw.sendall(bytes(out.reply))
        return out.data.replace(b"\x00", b"").decode("utf-8", "replace")

    def alive(self) -> bool:
        """True until the server closed the connection."""
        return self._open

    def close(self) -> None:
        """Close the connection, then the jump hosts it runs over."""
        self._open = False
        with contextlib.suppress(Exception):
            self.raw.close()
        for close in reversed(self._closers):
            with contextlib.suppress(Exception):
                close()


def send_raw(stream: ChannelStream | TelnetStream, data: bytes) -> None:
    """Write bytes as they are (a relay passes a terminal's keystrokes on untranslated)."""
    if isinstance(stream, TelnetStream):
        # A terminal's Return is a lone CR; telnet's end of line is CR LF (RFC 854).
        data = data.replace(b"\r\n", b"\r").replace(b"\r", b"\r\n")
        stream.raw.sendall(stream.codec.encode(data))
    else:
        stream.chan.sendall(data)
