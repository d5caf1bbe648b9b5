"""The telnet codec: RFC 854 framing and option negotiation without loops, for a console server and a client."""

from pkilab.protocols.telnet import (
    AYT,
    CLIENT,
    CONSOLE_SERVER,
    DO,
    DONT,
    ECHO,
    IAC,
    IP,
    LINEMODE,
    NAWS,
    SB,
    SE,
    SGA,
    TTYPE,
    WILL,
    WONT,
    TelnetCodec,
)


def cmd(verb: int, option: int) -> bytes:
    return bytes((IAC, verb, option))


def test_console_server_opens_as_dynamips() -> None:
    codec = TelnetCodec(CONSOLE_SERVER)
    assert codec.opening() == cmd(DO, TTYPE) + cmd(WILL, ECHO) + cmd(WILL, SGA) + cmd(DONT, LINEMODE)


def test_acknowledging_our_offers_gets_no_reply() -> None:
    codec = TelnetCodec(CONSOLE_SERVER)
    codec.opening()
    out = codec.feed(cmd(DO, ECHO) + cmd(DO, SGA))
    assert out.reply == b"" and out.data == b""
    assert codec.echoing
    # asking again for what is already on is not answered either (no negotiation loop)
    assert codec.feed(cmd(DO, ECHO)).reply == b""


def test_refusals_are_honoured_and_acknowledged_once() -> None:
    codec = TelnetCodec(CONSOLE_SERVER)
    codec.opening()
    codec.feed(cmd(DO, ECHO))
    assert codec.feed(cmd(DONT, ECHO)).reply == cmd(WONT, ECHO)
    assert not codec.echoing
    assert codec.feed(cmd(DONT, ECHO)).reply == b""
    # refusing an offer still pending is not answered (it is the answer)
    codec2 = TelnetCodec(CONSOLE_SERVER)
    codec2.opening()
    assert codec2.feed(cmd(DONT, SGA)).reply == b""
    assert codec2.us[SGA] == "no"


def test_unknown_options_are_refused() -> None:
    codec = TelnetCodec(CONSOLE_SERVER)
    codec.opening()
    assert codec.feed(cmd(DO, 5)).reply == cmd(WONT, 5)
    assert codec.feed(cmd(WILL, 39)).reply == cmd(DONT, 39)
    assert codec.feed(cmd(WONT, 39)).reply == b""  # already off: nothing to say


def test_terminal_type_is_asked_for_and_an_xterm_gets_its_title() -> None:
    codec = TelnetCodec(CONSOLE_SERVER, title="ese-branch")
    codec.opening()
    out = codec.feed(cmd(WILL, TTYPE))
    assert out.reply == bytes((IAC, SB, TTYPE, 1, IAC, SE))
    out = codec.feed(bytes((IAC, SB, TTYPE, 0)) + b"XTERM" + bytes((IAC, SE)))
    assert codec.terminal_type == "XTERM"
    assert out.reply == b"\x1b]0;ese-branch\x07"


def test_window_size_is_accepted_and_read() -> None:
    codec = TelnetCodec(CONSOLE_SERVER)
    assert codec.feed(cmd(WILL, NAWS)).reply == cmd(DO, NAWS)
    codec.feed(bytes((IAC, SB, NAWS, 1, 255, 255, 0, 24, IAC, SE)))  # 511 x 24, its 0xFF doubled
    assert codec.window == (0x1FF, 24)


def test_data_framing() -> None:
    codec = TelnetCodec(CONSOLE_SERVER)
    assert codec.feed(b"ab\r\0cd\r\n").data == b"ab\rcd\r\n"  # CR NUL is a bare CR
    assert codec.feed(b"x" + bytes((IAC, IAC)) + b"y").data == b"x\xffy"
    assert codec.feed(bytes((IAC, IP))).data == b"\x03"
    assert codec.feed(bytes((IAC, AYT))).reply == b"\r\n[Yes]\r\n"
    assert TelnetCodec.encode(b"a\xffb") == b"a\xff\xffb"


def test_commands_split_across_reads() -> None:
    codec = TelnetCodec(CONSOLE_SERVER)
    parts = [bytes((IAC,)), bytes((DO,)), bytes((5,)) + b"h", b"i" + bytes((IAC,)), bytes((IAC,))]
    data, reply = bytearray(), bytearray()
    for part in parts:
        out = codec.feed(part)
        data += out.data
        reply += out.reply
    assert bytes(data) == b"hi\xff"
    assert bytes(reply) == cmd(WONT, 5)


def test_client_against_console_server_settles_in_one_round() -> None:
    server, client = TelnetCodec(CONSOLE_SERVER), TelnetCodec(CLIENT)
    to_client = server.opening()
    rounds = 0
    while to_client:
        rounds += 1
        to_server = bytes(client.feed(to_client).reply)
        to_client = bytes(server.feed(to_server).reply)
    assert rounds == 1
    assert server.echoing and client.him[ECHO] == "yes" and client.him[SGA] == "yes"
    assert client.log[:4] == ["<DO 24", ">WONT 24", "<WILL 1", ">DO 1"]


# ---- the client end (pkilab's console client, the jump host's telnet hop) ------------------------


def test_client_accepts_server_echo_and_sga_and_refuses_the_rest() -> None:
    codec = TelnetCodec(CLIENT)
    out = codec.feed(cmd(WILL, ECHO) + cmd(WILL, SGA) + cmd(DO, TTYPE) + cmd(DO, SGA) + b"Router>")
    assert out.data == b"Router>"
    assert out.reply == cmd(DO, ECHO) + cmd(DO, SGA) + cmd(WONT, TTYPE) + cmd(WILL, SGA)


def test_client_answers_each_request_once_so_acknowledgements_do_not_loop() -> None:
    codec = TelnetCodec(CLIENT)
    assert codec.feed(cmd(WILL, ECHO)).reply == cmd(DO, ECHO)
    assert codec.feed(cmd(WILL, ECHO)).reply == b""
    assert codec.feed(cmd(WONT, NAWS)).reply == b""  # never on: nothing to refuse


def test_client_commands_split_across_reads_and_subnegotiation_dropped() -> None:
    codec = TelnetCodec(CLIENT)
    parts = [codec.feed(bytes((ord("a"), IAC))), codec.feed(bytes((WILL,)))]
    parts.append(codec.feed(bytes((ECHO, ord("b"), IAC, SB, 99, 1, IAC, SE, ord("c")))))
    assert b"".join(bytes(p.data) for p in parts) == b"abc"
    assert b"".join(bytes(p.reply) for p in parts) == cmd(DO, ECHO)
