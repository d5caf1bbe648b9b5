"""The simulated terminal's line discipline (sans-IO): lines, control keys, help, the line bound."""

from pkilab.sim.lineedit import BELL, MAX_LINE, Key, LineEditor


def feed_all(editor: LineEditor, data: str) -> tuple[str, list[tuple[Key, str]]]:
    """Feed everything; return (echo, events)."""
    echo: list[str] = []
    events: list[tuple[Key, str]] = []
    pos = 0
    while pos < len(data):
        fed = editor.feed(data, pos)
        pos += fed.consumed
        echo.append(fed.echo)
        if fed.event is not None:
            events.append((fed.event.key, fed.event.line))
    return "".join(echo), events


def test_cr_lf_and_crlf_each_end_one_line() -> None:
    echo, events = feed_all(LineEditor(), "show clock\r\nshow version\rshow run\n")
    assert events == [(Key.ENTER, "show clock"), (Key.ENTER, "show version"), (Key.ENTER, "show run")]
    assert echo == "show clockshow versionshow run"


def test_feed_stops_at_the_first_event_so_echo_can_change_before_the_rest() -> None:
    editor = LineEditor()
    fed = editor.feed("enable\rsecret\r")
    assert fed.event is not None
    assert (fed.event.key, fed.event.line, fed.consumed) == (Key.ENTER, "enable", len("enable\r"))
    editor.echo = False  # the adapter saw "Password: "
    fed = editor.feed("enable\rsecret\r", fed.consumed)
    assert fed.event is not None and fed.event.line == "secret" and fed.echo == ""


def test_control_keys() -> None:
    echo, events = feed_all(LineEditor(), "abc\x7f\x7fx\x01\r")
    assert events == [(Key.ENTER, "ax")]
    assert echo == "abc\b \b\b \bx"
    _, events = feed_all(LineEditor(), "conf t\x03")
    assert events == [(Key.INTERRUPT, "")]
    _, events = feed_all(LineEditor(), "hostname r9\x1a")
    assert events == [(Key.CTRL_Z, "hostname r9")]


def test_question_mark_asks_for_help_at_once_and_keeps_the_line() -> None:
    editor = LineEditor()
    fed = editor.feed("show ?")
    assert fed.event is not None
    assert (fed.event.key, fed.event.line) == (Key.HELP, "show ")
    fed = editor.feed("clock\r")
    assert fed.event is not None and fed.event.line == "show clock"


def test_question_mark_is_text_when_help_is_off_or_echo_is_off() -> None:
    editor = LineEditor()
    editor.help = False
    assert feed_all(editor, "what?\r")[1] == [(Key.ENTER, "what?")]
    editor = LineEditor()
    editor.echo = False  # a password may contain "?"
    assert feed_all(editor, "pa?ss\r") == ("", [(Key.ENTER, "pa?ss")])


def test_a_line_is_bounded_and_what_overflows_rings_the_bell_once_per_feed() -> None:
    editor = LineEditor()
    huge = "x" * (MAX_LINE * 100)
    fed = editor.feed(huge)
    assert fed.event is None and fed.consumed == len(huge)
    assert fed.echo == "x" * MAX_LINE + BELL
    fed = editor.feed("yyy\r")
    assert fed.echo == BELL  # nothing more fits; Enter still ends the line
    assert fed.event is not None and fed.event.line == "x" * MAX_LINE
    event = editor.feed("ok\r").event
    assert event is not None and event.line == "ok"  # the next line starts empty


def test_backspace_makes_room_again_at_the_bound() -> None:
    editor = LineEditor(limit=4)
    echo, events = feed_all(editor, "abcdef\x7fz\r")
    assert events == [(Key.ENTER, "abcz")]
    assert echo == "abcd" + BELL + "\b \bz"
