"""Login block and login delay on a simulated router: configuration, show login, %SEC_LOGIN, quiet mode.

Time moves by stepping the router's clock (no sleeps): the feature measures its windows on it.
"""

import datetime as dt
import re

import pytest

from pkilab.sim.features.login import Login
from pkilab.sim.features.system import System
from pkilab.sim.router import Router
from unit.sim.simkit import Cli, OfflineLab


@pytest.fixture
def router(lab: OfflineLab) -> Router:
    return lab.routers["r1"]


def configure(cli: Cli, *lines: str) -> None:
    cli("configure terminal")
    for line in lines:
        out = cli(line)
        assert "%" not in out, f"{line!r}: {out}"
    cli("end")


def later(router: Router, seconds: float) -> None:
    router.clock.offset += dt.timedelta(seconds=seconds)


def logged(router: Router, mnemonic: str) -> list[str]:
    return [m.text for m in router.feature(System).log.messages if mnemonic in m.text]


def fail(router: Router, times: int, source: str = "192.0.2.7") -> None:
    for _ in range(times):
        router.feature(Login).record(False, "mallory", source)


def test_nothing_is_watched_or_delayed_by_default(cli: Cli, router: Router) -> None:
    login = router.feature(Login)
    assert cli("show login").splitlines()[:4] == [
        "     No login delay has been applied.",
        "     No Quiet-Mode access list has been configured.",
        "",
        "     Router NOT enabled to watch for login Attacks",
    ]
    fail(router, 30)
    assert login.admits("192.0.2.7") and login.pace() == 0
    assert logged(router, "SEC_LOGIN") == []


def test_login_commands_without_block_for_are_kept_but_do_nothing(cli: Cli, router: Router) -> None:
    configure(cli, "login delay 3", "login on-failure log", "login on-success log")
    run = cli("show running-config")
    assert "login delay 3\nlogin on-failure log\nlogin on-success log\n" in run
    login = router.feature(Login)
    fail(router, 5)
    login.record(True, "admin", "192.0.2.7")
    assert login.pace() == 0 and logged(router, "SEC_LOGIN") == []
    assert "No login delay has been applied." in cli("show login")


def test_block_for_renders_and_shows_the_policy(cli: Cli) -> None:
    configure(cli, "login block-for 100 attempts 16 within 100")
    assert "\nlogin block-for 100 attempts 16 within 100\n" in cli("show running-config")
    assert cli("show login").splitlines()[:-1] == [
        "     A default login delay of 1 seconds is applied.",
        "     No Quiet-Mode access list has been configured.",
        "",
        "     Router enabled to watch for login Attacks.",
        "     If more than 15 login failures occur in 100 seconds or less, logins will be disabled for 100 seconds.",
        "",
        "     Router presently in Normal-Mode.",
    ]


def test_failures_are_counted_in_a_watch_window(cli: Cli, router: Router) -> None:
    configure(cli, "login block-for 100 attempts 16 within 100")
    fail(router, 5)
    later(router, 5)
    show = cli("show login")
    assert "     Router presently in Watch-Mode, will remain in Watch-Mode for 95 seconds." in show
    assert "     Present login failure count 5." in show
    later(router, 96)  # the window is over: its failures no longer count
    fail(router, 1)
    assert "     Present login failure count 1." in cli("show login")


def test_attempts_failures_within_the_window_start_a_quiet_period(cli: Cli, router: Router) -> None:
    configure(cli, "login block-for 100 attempts 3 within 60", "login on-failure log")
    login = router.feature(Login)
    fail(router, 2)
    assert login.admits("192.0.2.7")
    later(router, 10)
    fail(router, 1)
    assert not login.admits("192.0.2.7") and not login.admits("127.0.0.1")
    failed = logged(router, "LOGIN_FAILED")
    assert len(failed) == 3
    assert re.fullmatch(
        r"%SEC_LOGIN-4-LOGIN_FAILED: Login failed \[user: mallory\] \[Source: 192\.0\.2\.7\] \[localport: 22\] "
        r"\[Reason: Login Authentication Failed\] at \d\d:\d\d:\d\d UTC \w{3} \w{3} \d{1,2} \d{4}",
        failed[0],
    )
    (quiet,) = logged(router, "QUIET_MODE_ON")
    assert quiet.startswith(
        "%SEC_LOGIN-1-QUIET_MODE_ON: Still timeleft for watching failures is 50 secs, [user: mallory] "
        "[Source: 192.0.2.7] [localport: 22] [Reason: Login Authentication Failed] [ACL: sl_def_acl] at "
    )
    later(router, 7)
    show = cli("show login")
    assert "     Router presently in Quiet-Mode, will remain in Quiet-Mode for 93 seconds." in show
    assert "     Denying logins from all sources." in show


def test_the_quiet_period_ends_on_the_routers_clock(cli: Cli, router: Router) -> None:
    configure(cli, "login block-for 30 attempts 2 within 60")
    login = router.feature(Login)
    fail(router, 2)
    login.tick(0.0)
    assert not login.admits("192.0.2.7") and logged(router, "QUIET_MODE_OFF") == []
    later(router, 31)
    login.tick(0.0)
    assert login.admits("192.0.2.7")
    (off,) = logged(router, "QUIET_MODE_OFF")
    assert off.startswith("%SEC_LOGIN-5-QUIET_MODE_OFF: Quiet Mode is OFF, because block period timed out at ")
    assert "Router presently in Normal-Mode." in cli("show login")
    fail(router, 1)
    assert login.admits("192.0.2.7"), "a new watch window starts from zero after a quiet period"


def test_quiet_mode_access_class_still_admits_what_it_permits(cli: Cli, router: Router) -> None:
    configure(
        cli,
        "ip access-list extended MGMT",
        "permit tcp host 127.0.0.1 any",
        "exit",
        "login block-for 60 attempts 1 within 60",
        "login quiet-mode access-class MGMT",
    )
    fail(router, 1, source="203.0.113.9")
    login = router.feature(Login)
    assert login.admits("127.0.0.1") and not login.admits("203.0.113.9")
    assert "[ACL: MGMT]" in logged(router, "QUIET_MODE_ON")[0]
    show = cli("show login")
    assert "     Quiet-Mode access list MGMT is applied." in show
    configure(cli, "no ip access-list extended MGMT")
    assert not login.admits("127.0.0.1"), "a missing access list permits nothing"


def test_login_delay_paces_every_attempt_on_the_routers_clock(cli: Cli, router: Router) -> None:
    configure(cli, "login block-for 60 attempts 5 within 60")
    login = router.feature(Login)
    # The router's clock runs on while the test does: waits are compared to a tenth of a second.
    assert [login.pace() for _ in range(3)] == pytest.approx([0.0, 1.0, 2.0], abs=0.1)  # the default delay
    later(router, 10)
    configure(cli, "login delay 4")
    assert [login.pace(), login.pace()] == pytest.approx([0.0, 4.0], abs=0.1)
    assert "     A login delay of 4 seconds is applied." in cli("show login")
    configure(cli, "no login delay")
    later(router, 10)
    assert [login.pace(), login.pace()] == pytest.approx([0.0, 1.0], abs=0.1)


def test_success_and_failure_logging_with_every(cli: Cli, router: Router) -> None:
    configure(cli, "login block-for 60 attempts 100 within 60", "login on-success log", "login on-failure log every 3")
    login = router.feature(Login)
    login.record(True, "admin", "127.0.0.1")
    (success,) = logged(router, "LOGIN_SUCCESS")
    assert re.fullmatch(
        r"%SEC_LOGIN-5-LOGIN_SUCCESS: Login Success \[user: admin\] \[Source: 127\.0\.0\.1\] \[localport: 22\] "
        r"at \d\d:\d\d:\d\d UTC \w{3} \w{3} \d{1,2} \d{4}",
        success,
    )
    fail(router, 7)
    assert len(logged(router, "LOGIN_FAILED")) == 2
    show = cli("show login")
    assert "     All successful login is logged.\n     All failed login is logged.\n" in show
    assert "login on-failure log every 3\nlogin on-success log\n" in cli("show running-config")


def test_no_block_for_ends_a_quiet_period_and_the_watching(cli: Cli, router: Router) -> None:
    configure(cli, "login block-for 300 attempts 1 within 60")
    fail(router, 1)
    login = router.feature(Login)
    assert not login.admits("192.0.2.7")
    configure(cli, "no login block-for")
    assert login.admits("192.0.2.7") and logged(router, "QUIET_MODE_OFF")
    assert "login block-for" not in cli("show running-config")
    assert "Router NOT enabled to watch for login Attacks" in cli("show login")


def test_login_settings_survive_a_save_and_boot(cli: Cli, router: Router) -> None:
    configure(cli, "login block-for 120 attempts 3 within 60", "login delay 2", "login quiet-mode access-class MGMT")
    cli("write memory")
    router.boot()
    login = router.feature(Login)
    assert login.block is not None
    assert (login.block.seconds, login.block.attempts, login.block.within) == (120, 3, 60)
    assert (login.delay, login.quiet_acl) == (2, "MGMT")
