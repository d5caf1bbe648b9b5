"""Telnet (RFC 854) option negotiation and framing, sans-IO, for both ends of a connection.

Bytes from the peer go in (:meth:`TelnetCodec.feed`); the data they carry and the replies the
protocol owes come out. Rules of this module:

* Option negotiation follows RFC 854's rule against loops and RFC 1143's simplified Q method:
  an option is ``no``, ``yes`` or ``want`` (asked for, no answer yet) on each side; a request
  that would not change the state is not answered; a refusal of what we asked is not answered.
* :class:`Policy` is the data: which options this end performs itself (answers ``DO`` with
  ``WILL``), which it lets the peer perform (answers ``WILL`` with ``DO``) and what it sends on
  connect. Everything else is refused (``WONT``/``DONT``).
* A console server (:data:`CONSOLE_SERVER`) opens as dynamips' console does for a GNS3 router:
  ``DO TTYPE``, ``WILL ECHO``, ``WILL SUPPRESS-GO-AHEAD``, ``DONT LINEMODE`` (RFC 857, 858,
  1091, 1184); when the client agrees to send its terminal type it asks for it.
* Data: ``IAC IAC`` is a 0xFF byte; ``CR NUL`` is a bare CR (RFC 854's NVT rule); an ``IP``
  (interrupt process) command becomes Ctrl-C; sub-negotiations other than TTYPE and NAWS are
  skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
NOP, DM, BRK, IP, AO, AYT, EC, EL, GA = 241, 242, 243, 244, 245, 246, 247, 248, 249
ECHO, SGA, TTYPE, NAWS, LINEMODE = 1, 3, 24, 31, 34
TTYPE_IS, TTYPE_SEND = 0, 1

_VERB = {WILL: "WILL", WONT: "WONT", DO: "DO", DONT: "DONT"}


@dataclass(frozen=True)
class Policy:
    """What one end of a telnet connection agrees to."""

    local: frozenset[int]  # options this end performs (DO x -> WILL x)
    remote: frozenset[int]  # options the peer may perform (WILL x -> DO x)
    opening: tuple[tuple[int, int], ...] = ()  # (verb, option) sent on connect


CONSOLE_SERVER = Policy(
    local=frozenset({ECHO, SGA}),
    remote=frozenset({TTYPE, NAWS, SGA}),
    opening=((DO, TTYPE), (WILL, ECHO), (WILL, SGA), (DONT, LINEMODE)),
)
#: A plain client (``telnet HOST PORT`` on a host): lets the server echo and drop go-aheads.
CLIENT = Policy(local=frozenset({SGA}), remote=frozenset({ECHO, SGA}))


@dataclass
class Output:
    """What :meth:`TelnetCodec.feed` found: the peer's data and the bytes to send back."""

    data: bytearray = field(default_factory=bytearray)
    reply: bytearray = field(default_factory=bytearray)


class TelnetCodec:
    """One end of a telnet connection (sans-IO)."""

    def __init__(self, policy: Policy, title: str = "") -> None:
        self.policy = policy
        self.title = title  # set as the xterm title when the peer says it is an xterm or vt (as dynamips does)
        self.us: dict[int, str] = {}  # our side of each option: no / yes / want
        self.him: dict[int, str] = {}  # the peer's side
        self.terminal_type = ""
        self.window: tuple[int, int] | None = None
        self.log: list[str] = []  # negotiation seen, for tests and diagnostics ("<DO 1", ">WILL 1")
        self._state = "data"
        self._verb = 0
        self._sb: bytearray = bytearray()
        self._cr = False

    # ---- sending -----------------------------------------------------------------------
    def opening(self) -> bytes:
        """The negotiation this end starts with."""
        out = bytearray()
        for verb, option in self.policy.opening:
            if verb == WILL:
                self.us[option] = "want"
            elif verb == DO:
                self.him[option] = "want"
            self._send(out, verb, option)
        return bytes(out)

    @staticmethod
    def encode(data: bytes) -> bytes:
        """Frame data for the wire: a 0xFF byte is doubled."""
        return data.replace(b"\xff", b"\xff\xff")

    def _send(self, out: bytearray, verb: int, option: int) -> None:
        self.log.append(f">{_VERB[verb]} {option}")
        out += bytes((IAC, verb, option))

    @property
    def echoing(self) -> bool:
        """True when this end has agreed to echo (the peer then does not echo locally)."""
        return self.us.get(ECHO) == "yes"

    # ---- receiving ---------------------------------------------------------------------
    def feed(self, data: bytes) -> Output:
        """Process bytes from the peer."""
        out = Output()
        for byte in data:
            self._byte(byte, out)
        return out

    def _byte(self, b: int, out: Output) -> None:
        state = self._state
        if state == "data":
            if b == IAC:
                self._state = "iac"
            elif self._cr and b == 0:  # CR NUL: a bare carriage return
                pass
            else:
                out.data.append(b)
            self._cr = b == 13
        elif state == "iac":
            self._command(b, out)
        elif state == "verb":
            self._negotiate(self._verb, b, out)
            self._state = "data"
        elif state == "sb":
            if b == IAC:
                self._state = "sb-iac"
            else:
                self._sb.append(b)
        elif state == "sb-iac":
            if b == SE:
                self._subnegotiation(bytes(self._sb), out)
                self._sb.clear()
                self._state = "data"
            else:  # IAC IAC inside a sub-negotiation is a data 0xFF
                self._sb.append(b)
                self._state = "sb"

    def _command(self, b: int, out: Output) -> None:
        self._state = "data"
        if b == IAC:
            out.data.append(IAC)
        elif b in _VERB:
            self._verb = b
            self._state = "verb"
        elif b == SB:
            self._state = "sb"
        elif b == IP:
            out.data.append(3)
        elif b == AYT:
            out.reply += b"\r\n[Yes]\r\n"
        # NOP, DM, BRK, AO, EC, EL, GA: nothing for a console to do

    def _negotiate(self, verb: int, option: int, out: Output) -> None:
        self.log.append(f"<{_VERB[verb]} {option}")
        peer_side = verb in (WILL, WONT)  # WILL/WONT speak of the peer's side, DO/DONT of ours
        table = self.him if peer_side else self.us
        allowed = self.policy.remote if peer_side else self.policy.local
        agree, refuse = (DO, DONT) if peer_side else (WILL, WONT)
        state = table.get(option, "no")
        if verb in (WILL, DO):
            if state == "no":
                table[option] = "yes" if option in allowed else "no"
                self._send(out.reply, agree if option in allowed else refuse, option)
            elif state == "want":
                table[option] = "yes"  # the answer to our own request: nothing to say
            if verb == WILL and option == TTYPE and state != "yes" and table[option] == "yes":
                out.reply += bytes((IAC, SB, TTYPE, TTYPE_SEND, IAC, SE))
        else:
            if state == "yes":
                self._send(out.reply, refuse, option)
            table[option] = "no"

    def _subnegotiation(self, body: bytes, out: Output) -> None:
        if len(body) >= 2 and body[0] == TTYPE and body[1] == TTYPE_IS:
            self.terminal_type = body[2:].decode("ascii", "replace")
            if self.title and self.terminal_type[:1].lower() in ("x", "v"):
                out.reply += f"\x1b]0;{self.title}\x07".encode()
        elif len(body) == 5 and body[0] == NAWS:
            self.window = (body[1] << 8 | body[2], body[3] << 8 | body[4])
