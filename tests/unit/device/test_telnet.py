"""The telnet codec: option negotiation answered as a console client does, data passed through."""

from pkilab.device.telnet import DO, DONT, ECHO, IAC, SB, SE, SGA, WILL, WONT, TelnetCodec

NAWS, TTYPE = 31, 24


def test_accepts_server_echo_and_sga_refuses_the_rest():
    codec = TelnetCodec()
    data, reply = codec.feed(bytes((IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, TTYPE, IAC, DO, SGA)) + b"Router>")
    assert data == b"Router>"
    assert reply == bytes((IAC, DO, ECHO, IAC, DO, SGA, IAC, WONT, TTYPE, IAC, WILL, SGA))


def test_answers_each_request_once_so_acknowledgements_do_not_loop():
    codec = TelnetCodec()
    assert codec.feed(bytes((IAC, WILL, ECHO)))[1] == bytes((IAC, DO, ECHO))
    assert codec.feed(bytes((IAC, WILL, ECHO)))[1] == b""
    assert codec.feed(bytes((IAC, WONT, NAWS)))[1] == bytes((IAC, DONT, NAWS))


def test_commands_split_across_reads_and_subnegotiation_dropped():
    codec = TelnetCodec()
    d1, r1 = codec.feed(bytes((ord("a"), IAC)))
    d2, r2 = codec.feed(bytes((WILL,)))
    d3, r3 = codec.feed(bytes((ECHO, ord("b"), IAC, SB, TTYPE, 1, IAC, SE, ord("c"))))
    assert d1 + d2 + d3 == b"abc"
    assert r1 + r2 + r3 == bytes((IAC, DO, ECHO))


def test_doubled_iac_is_a_0xff_data_byte():
    codec = TelnetCodec()
    assert codec.feed(bytes((ord("x"), IAC, IAC, ord("y"))))[0] == b"x\xffy"
