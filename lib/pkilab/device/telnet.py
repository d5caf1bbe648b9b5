"""A sans-IO telnet codec (RFC 854/855) for console ports: bytes in, data and replies out.

A console server (GNS3, a terminal server's telnet line, the simulated lab's consoles) opens
with option negotiation. A client that ignores it sees stray bytes and, worse, may leave the
server waiting for an answer. This codec answers the way a plain console client does: it lets
the server echo and suppress go-ahead (RFC 857, 858) and refuses every other option; it
drops subnegotiations; it unescapes ``IAC IAC`` in data and escapes 0xFF on the way out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA = 1, 3
#: Options the server may enable on its side (WILL): it echoes, it suppresses go-ahead.
ACCEPT_WILL = frozenset({ECHO, SGA})
#: Options we agree to enable on our side (DO): suppress go-ahead only.
ACCEPT_DO = frozenset({SGA})


@dataclass
class TelnetCodec:
    """Split a telnet byte stream into data and the negotiation replies owed to the server."""

    _state: str = "data"
    _option_verb: int = 0
    _answered: set[tuple[int, int]] = field(default_factory=set)

    def feed(self, raw: bytes) -> tuple[bytes, bytes]:
        """Return (data for the application, bytes to send back to the server)."""
        data = bytearray()
        reply = bytearray()
        for b in raw:
            if self._state == "data":
                if b == IAC:
                    self._state = "iac"
                else:
                    data.append(b)
            elif self._state == "iac":
                if b == IAC:
                    data.append(IAC)
                    self._state = "data"
                elif b in (DO, DONT, WILL, WONT):
                    self._option_verb = b
                    self._state = "option"
                elif b == SB:
                    self._state = "sb"
                else:  # NOP, GA, AYT…: nothing to do
                    self._state = "data"
            elif self._state == "option":
                reply += self._answer(self._option_verb, b)
                self._state = "data"
            elif self._state == "sb":
                self._state = "sb-iac" if b == IAC else "sb"
            elif self._state == "sb-iac":
                self._state = "data" if b == SE else "sb"
        return bytes(data), bytes(reply)

    def _answer(self, verb: int, option: int) -> bytes:
        if verb == WILL:
            answer = DO if option in ACCEPT_WILL else DONT
        elif verb == DO:
            answer = WILL if option in ACCEPT_DO else WONT
        elif verb == WONT:
            answer = DONT
        else:
            answer = WONT
        # Answer each (verb, option) once: answering an acknowledgement again would loop (RFC 854).
        if (verb, option) in self._answered:
            return b""
        self._answered.add((verb, option))
        return bytes((IAC, answer, option))

    @staticmethod
    def encode(text: str) -> bytes:
        """Application text to telnet bytes (0xFF doubled)."""
        return text.encode("utf-8", "replace").replace(b"\xff", b"\xff\xff")
