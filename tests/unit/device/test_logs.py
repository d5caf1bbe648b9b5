"""Log messages a console prints among the CLI's output: after prompts, before echoes, inside outputs."""

import re

import pytest

from pkilab.device.logs import LOG_TAIL, drop_log_messages, log_prefix_length, shows_log

PROMPT = re.compile(r"(?:^|[\r\n])(r1[\w.\-]*(?:\([\w.\-]+\))?[#>])\s?" + LOG_TAIL + "$")
CONFIG_I = "*Dec  6 05:23:25.172: %SYS-5-CONFIG_I: Configured from console by console"
CSR = "Dec  6 05:23:25.172: %PKI-6-CSR_FINGERPRINT: \n CSR Fingerprint MD5 : 31A5  \n CSR Fingerprint SHA1: F240"


@pytest.mark.parametrize(
    "text",
    [
        "end\nr1#",
        f"end\nr1#\n{CONFIG_I}\n",
        f"end\nr1#\n\n{CONFIG_I}\n\n.Dec  6 05:23:26.001 UTC: %PKI-6-CS_ENABLED: Certificate server now enabled.\n",
        f"yes\nr1(config)#\n{CSR}\n",
        "r1#\n000042: %LINK-3-UPDOWN: Interface FastEthernet0/0, changed state to up\n",
    ],
)
def test_a_prompt_may_be_followed_by_log_messages(text: str) -> None:
    assert PROMPT.search(text)


@pytest.mark.parametrize(
    "text",
    [
        f"end\nr1#\n{CONFIG_I[:40]}",  # the rest of the line is on its way
        "end\nr1#\nsome output that is not a log message\n",
        f"{CONFIG_I}\n",
    ],
)
def test_a_prompt_is_not_found_where_output_or_half_a_message_follows(text: str) -> None:
    assert not PROMPT.search(text)


def test_messages_before_the_echo_are_measured_as_whole_lines() -> None:
    text = f"\n{CONFIG_I}\n\n{CSR}\nshow clock\n*05:23:26.001 UTC Sun Dec 6 2026\nr1#"
    assert text[log_prefix_length(text) :].startswith("show clock\n")
    assert log_prefix_length("show clock\n") == 0
    assert log_prefix_length(CONFIG_I[:30]) == 0


def test_single_line_messages_inside_an_output_are_dropped() -> None:
    ping = f"Sending 5, 100-byte ICMP Echos to 10.1.1.1:\n.\n\n{CONFIG_I}\n....\nSuccess rate is 80 percent (4/5)"
    assert (
        drop_log_messages(ping)
        == "Sending 5, 100-byte ICMP Echos to 10.1.1.1:\n.\n....\nSuccess rate is 80 percent (4/5)"
    )
    assert drop_log_messages(f"{CONFIG_I}\nfirst line") == "first line"
    # The messages IOS continues on more lines take them.
    assert drop_log_messages(f"ping\n.\n{CSR}\n....") == "ping\n.\n...."
    crl = "Dec  6 05:23:25.172: %PKI-3-CRL_FETCH_FAIL: CRL fetch for trustpoint ca failed\n Reason : No route."
    assert drop_log_messages(f"ping\n.{crl}\n....".replace(".Dec", ".\nDec")) == "ping\n.\n...."
    restart = "%SYS-5-RESTART: System restarted --\nCisco IOS Software, 7200 Software\nCompiled Wed 18-Jul-12"
    assert drop_log_messages(f"a\n{restart}\nb") == "a\nb"
    # An indented line after a one-line message may be output (a certificate's fields): it stays.
    assert drop_log_messages(f"Certificate\n{CONFIG_I}\n  Status: Available") == "Certificate\n  Status: Available"


@pytest.mark.parametrize(
    ("command", "shows"),
    [
        ("show logging", True),
        ("sh log", True),
        ("show logg | include CONFIG", True),
        ("show clock", False),
        ("s log", False),
        ("show lo", False),
        ("logging buffered", False),
    ],
)
def test_show_logging_is_recognised_in_any_abbreviation(command: str, shows: bool) -> None:
    assert shows_log(command) is shows
