"""netmiko's answers read as text, for the integration tests that drive the simulated lab with netmiko."""

from __future__ import annotations

from typing import Any


def as_text(answer: str | list[Any] | dict[str, Any]) -> str:
    """``answer`` of ``send_command`` (or ``send_command_timing``), the text it is.

    netmiko's annotation also allows the structures its TextFSM/Genie parsing returns; these tests
    never ask it to parse.
    """
    assert isinstance(answer, str), answer
    return answer
