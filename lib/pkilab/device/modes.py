"""The IOS mode graph, shared by the device driver and the simulator.

Rules of this table:

* Every mode has a prompt suffix. The prompt is ``<hostname><suffix>``; in configuration modes
  IOS shows at most :data:`CONFIG_HOSTNAME_MAX` characters of the hostname.
* Every mode but ``user`` has a parent. ``exit`` goes to the parent (from ``user`` and
  ``privileged`` it closes the session); ``end`` and Ctrl-Z go from any configuration mode to
  ``privileged``.
* The command that enters a mode is the command catalog's (``catalog.INTERFACE``,
  ``catalog.CRYPTO_PKI_TRUSTPOINT`` …), not repeated here.
* :data:`FAILURES` are the strings IOS prints when it rejects a line. The driver treats output
  containing one as a rejected command; the simulator prints them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONFIG_HOSTNAME_MAX = 20


@dataclass(frozen=True)
class Mode:
    """One node of the mode graph."""

    name: str
    suffix: str
    parent: str | None
    config: bool = False


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("user", ">", None),
        Mode("privileged", "#", "user"),
        Mode("config", "(config)#", "privileged", config=True),
        Mode("config-if", "(config-if)#", "config", config=True),
        Mode("config-line", "(config-line)#", "config", config=True),
        Mode("config-ext-nacl", "(config-ext-nacl)#", "config", config=True),
        Mode("ca-trustpoint", "(ca-trustpoint)#", "config", config=True),
        Mode("config-cert-chain", "(config-cert-chain)#", "config", config=True),
        Mode("cs-server", "(cs-server)#", "config", config=True),
        Mode("config-isakmp", "(config-isakmp)#", "config", config=True),
        Mode("cfg-crypto-trans", "(cfg-crypto-trans)#", "config", config=True),
        Mode("config-crypto-map", "(config-crypto-map)#", "config", config=True),
    )
}

FAILURES: tuple[str, ...] = (
    "% Invalid input detected at '^' marker.",
    "% Incomplete command.",
    "% Ambiguous command:",
    "% Unknown command or computer name",
    "% Unrecognized command",
)

#: Matches any IOS prompt at the end of the output: hostname, optional mode, then > or #.
PROMPT_RE = re.compile(r"(?m)^(?P<host>[A-Za-z0-9][\w.\-]*)(?P<mode>\([\w.\-]+\))?(?P<term>[>#])\s?$")


def prompt(hostname: str, mode: str) -> str:
    """Return the prompt a router named ``hostname`` shows in ``mode``."""
    m = MODES[mode]
    host = hostname[:CONFIG_HOSTNAME_MAX] if m.config else hostname
    return f"{host}{m.suffix}"


def mode_of_prompt(text: str) -> str | None:
    """Return the mode name whose suffix ends ``text`` (a prompt), or None."""
    best: str | None = None
    for m in MODES.values():
        if text.endswith(m.suffix) and (best is None or len(m.suffix) > len(MODES[best].suffix)):
            best = m.name
    return best


def path_to_privileged(mode: str) -> list[str]:
    """Return the modes from ``mode`` up to ``privileged`` (exclusive), nearest first."""
    path: list[str] = []
    current: str | None = mode
    while current is not None and current not in ("privileged", "user"):
        path.append(current)
        current = MODES[current].parent
    return path


def is_failure(output: str) -> bool:
    """Return True when ``output`` holds one of IOS's rejection strings."""
    return any(f in output for f in FAILURES)


# ---- what a console shows before the exec prompt ------------------------------------------
# A console (a telnet port of GNS3/CML, a terminal server line) has no SSH login: the router
# prints what it prints — a banner asking for RETURN, IOS's setup dialogs on a router booted
# without a startup configuration, a login when its line asks for one — and the client answers.
# The prompts are IOS's as unicon's generic plugin matches them (unicon.plugins.generic
# service_patterns: press_return, setup_dialog, autoinstall_dialog) and IOS login prompts.

#: Placeholders a :class:`ConsoleStep` reply may be: the driver substitutes the credential.
USERNAME = "{username}"
PASSWORD = "{password}"


@dataclass(frozen=True)
class ConsoleStep:
    """One thing a console can ask before the exec prompt, and the line pkilab answers with.

    ``pattern`` matches the end of the output. ``boot`` marks what a router prints when it has
    finished booting (a reload on a console waits for one of these).
    """

    name: str
    pattern: str
    reply: str
    boot: bool = False


CONSOLE_STEPS: tuple[ConsoleStep, ...] = (
    ConsoleStep("press-return", r"Press RETURN to get started[.!]*\s*", "", boot=True),
    ConsoleStep(
        "initial-configuration-dialog",
        r"Would you like to enter the initial configuration dialog\? \[yes/no\]:\s*",
        "no",
        boot=True,
    ),
    ConsoleStep("terminate-autoinstall", r"Would you like to terminate autoinstall\? ?\[yes\]:\s*", "yes", boot=True),
    ConsoleStep("username", r"(?:Username|User Name|login):\s*", USERNAME),
    ConsoleStep("password", r"Password:\s*", PASSWORD),
)

#: What IOS prints when a console login fails (then asks again).
LOGIN_FAILURES: tuple[str, ...] = ("% Login invalid", "% Bad passwords", "% Authentication failed", "% Access denied")
