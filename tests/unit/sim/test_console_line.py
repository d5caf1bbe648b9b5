"""What the console line reads of the configuration (line con 0, logging console), erase, and its states, offline.

The states are driven through :class:`ConsoleSession` directly (no sockets); the telnet, terminal
server and reload paths are in tests/integration/test_sim_console.py and friends.
"""

import pytest

from pkilab.sim import boot
from pkilab.sim.console import STATES, ConsoleSession
from pkilab.sim.features.lines import LinePolicy, Lines
from pkilab.sim.router import Router
from unit.sim.simkit import OfflineLab, make_spec


@pytest.fixture
def lab() -> OfflineLab:
    return OfflineLab(make_spec())


@pytest.fixture
def router(lab: OfflineLab) -> Router:
    return lab.routers["r1"]


class HeldLogs:
    """What ConsoleSession needs of its line: releasing held log messages."""

    def __init__(self) -> None:
        self.released = 0

    def release_logs(self) -> None:
        self.released += 1


def console(router: Router, state: str) -> ConsoleSession:
    session = ConsoleSession(router, line=HeldLogs())
    session.set_state(state)
    return session


def test_line_console_settings_render_and_drive_the_login(lab: OfflineLab, router: Router) -> None:
    cli = lab.cli()
    cli("configure terminal")
    assert cli("line con 0").endswith("r1(config-line)#")
    for line in ("password s3cret", "login", "privilege level 15", "exec-timeout 0 30"):
        assert "%" not in cli(line)
    cli("end")
    run = cli("show running-config")
    assert "line con 0\n exec-timeout 0 30\n privilege level 15\n password s3cret\n login\n" in run  # IOS's order
    lines = router.feature(Lines)
    assert lines.console() == LinePolicy(login="line", password="s3cret", privilege=15, exec_timeout=30)
    cli("configure terminal")
    cli("line console 0")
    cli("login local")
    cli("no exec-timeout")
    cli("no privilege")
    cli("end")
    assert lines.console() == LinePolicy(login="local", password="s3cret", privilege=1, exec_timeout=600.0)
    cli("configure terminal")
    cli("line console 0")
    cli("no login")
    cli("exec-timeout 0 0")
    cli("end")
    assert lines.console().login == "none" and lines.console().exec_timeout is None


def test_line_console_survives_write_and_reload(lab: OfflineLab, router: Router) -> None:
    cli = lab.cli()
    for line in ("configure terminal", "line console 0", "login local", "end", "write memory"):
        cli(line)
    router.boot()
    assert router.feature(Lines).console().login == "local"


def test_logging_console_levels(lab: OfflineLab, router: Router) -> None:
    cli = lab.cli()
    shows = router.feature(Lines).console_shows
    notice = "*Mar  1 00:00:01.000: %SYS-5-CONFIG_I: Configured from console by console"
    error = "*Mar  1 00:00:01.000: %PKI-3-CERTRETFAIL: Certificate enrollment failed."
    assert shows(notice) and shows(error)
    cli("configure terminal")
    cli("logging console errors")
    assert not shows(notice) and shows(error)
    assert "logging console errors" in cli("do show running-config")
    cli("no logging console")
    assert not shows(error)
    assert "no logging console" in cli("do show running-config")
    assert "% Invalid" in cli("logging console loud")
    cli("logging console")
    assert shows(notice)
    assert "logging console" not in cli("do show running-config")


@pytest.mark.parametrize("command", ["write erase", "erase startup-config", "erase nvram:"])
def test_erase_empties_nvram_after_confirmation(lab: OfflineLab, router: Router, command: str) -> None:
    cli = lab.cli()
    assert router.fs.exists("nvram:startup-config") or "[OK]" in cli("write memory")
    out = cli(command)
    assert out.endswith("Erasing the nvram filesystem will remove all configuration files! Continue? [confirm]")
    out = cli("")
    assert out.startswith("[OK]\nErase of nvram: complete\n")
    assert not router.fs.exists("nvram:startup-config")
    assert "r1" in cli("show running-config")  # the running configuration is untouched


def test_erase_can_be_declined(lab: OfflineLab, router: Router) -> None:
    cli = lab.cli()
    cli("write memory")
    cli("write erase")
    cli("n")
    assert router.fs.exists("nvram:startup-config")


def test_initial_configuration_dialog_states(router: Router) -> None:
    session = console(router, "setup")
    step = session.feed("maybe")
    assert step.output == boot.PLEASE_ANSWER + boot.SETUP_QUESTION and session.state == "setup"
    step = session.feed("no")
    assert step.output.endswith("Would you like to terminate autoinstall? [yes]: ")
    assert session.state == "autoinstall"
    step = session.feed("")
    assert "Press RETURN to get started!" in step.output and session.state == "idle" and not step.echo
    assert session.line.released == 1  # the log messages held during the dialog come out now


def test_setup_answered_yes_is_aborted_to_press_return(router: Router) -> None:
    session = console(router, "setup")
    step = session.feed("yes")
    assert step.output.endswith("Would you like to enter basic management setup? [yes/no]: ")
    step = session.feed("yes")
    assert "Configuration aborted, no changes made." in step.output and session.state == "idle"
    session = console(router, "autoinstall")
    assert "Press RETURN to get started!" in session.interrupt().output  # Ctrl-C leaves the dialog


def test_no_login_gives_the_exec_prompt_at_the_line_privilege(router: Router) -> None:
    session = console(router, "idle")
    step = session.feed("")
    assert step.output.endswith("r1>") and session.state == "exec"
    step = session.feed("exit")
    assert "r1 con0 is now available" in step.output and "Press RETURN to get started." in step.output
    assert session.state == "idle" and not step.echo


def test_line_password_three_tries(router: Router, lab: OfflineLab) -> None:
    cli = lab.cli()
    for line in ("configure terminal", "line console 0", "password s3cret", "login", "end"):
        cli(line)
    session = console(router, "idle")
    step = session.feed("")
    assert step.output == "User Access Verification\n\nPassword: " and not step.echo
    assert session.feed("wrong").output == "Password: "
    assert session.feed("s3cret").output.endswith("r1>")
    session.feed("exit")
    session.feed("")
    session.feed("a")
    session.feed("b")
    step = session.feed("c")
    assert step.output.startswith(boot.BAD_PASSWORDS) and session.state == "idle"


def test_login_local_checks_usernames(router: Router, lab: OfflineLab) -> None:
    cli = lab.cli()
    for line in ("configure terminal", "username ops privilege 15 secret ops-pw", "line console 0", "login local"):
        cli(line)
    cli("end")
    session = console(router, "idle")
    step = session.feed("")
    assert step.output.endswith("Username: ") and step.echo
    step = session.feed("ops")
    assert step.output == "Password: " and not step.echo
    step = session.feed("nope")
    assert step.output == boot.LOGIN_INVALID + "Username: "
    session.feed("ops")
    step = session.feed("ops-pw")
    assert step.output.endswith("r1#") and session.user == "ops"


def test_login_without_a_password_set(router: Router, lab: OfflineLab) -> None:
    cli = lab.cli()
    for line in ("configure terminal", "line console 0", "login", "end"):
        cli(line)
    session = console(router, "idle")
    assert session.feed("").output.startswith(boot.NO_PASSWORD_SET) and session.state == "idle"


def test_every_state_is_declared() -> None:
    handlers = {name[len("_on_") :].replace("_", "-") for name in dir(ConsoleSession) if name.startswith("_on_")}
    assert handlers == set(STATES)
