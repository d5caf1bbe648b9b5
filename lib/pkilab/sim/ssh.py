"""SSH adapter: an asyncssh server per router, feeding a :class:`CliSession` line by line.

The line discipline is :mod:`pkilab.sim.lineedit` (asyncssh's line editor is off) because IOS does
things a generic editor does not: ``?`` answers at once without Enter, Ctrl-Z ends configuration
mode, and password prompts must not echo. The input loop, its bounds and its yields to the shared
event loop are :class:`pkilab.sim.terminal.TerminalDriver`'s, which the console lines use too;
here are the SSH parts: flow control through the channel (reading pauses above
:data:`pkilab.sim.terminal.INBOX_HIGH` characters queued; commands wait while asyncssh's send
buffer is full), exec requests, and how a session ends.

A session ends as IOS ends it: the output is sent, the channel is closed, and once the client has
closed its side the connection is closed with an SSH disconnect, so clients see an orderly end and
never a reset. An exec request (``ssh router "show clock"``) runs the one command at the user's
privilege, sends its output without prompts, and ends the same way with exit status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from pkilab.sim._asyncssh import asyncssh
from pkilab.sim.features.login import Login
from pkilab.sim.features.system import System
from pkilab.sim.interp import CliSession
from pkilab.sim.terminal import TerminalDriver

if TYPE_CHECKING:
    from pkilab.sim.router import Router

#: How long a closing session waits for the client to close its side of the channel (seconds).
CLOSE_GRACE = 2.0


class CliChannel(TerminalDriver, asyncssh.SSHServerSession[str]):
    """One SSH session channel (shell or exec request) bound to a CLI session."""

    def __init__(self, router: Router, user: str, privilege: int) -> None:
        super().__init__(CliSession(router, privilege=privilege, user=user))
        self.router = router
        self.chan: Any = None

    # ---- asyncssh callbacks --------------------------------------------------------------
    def connection_made(self, chan: Any) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: Any, term_modes: Any) -> bool:
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command
        return True

    def session_started(self) -> None:
        self.router.lab.register_channel(self.router, self)
        self.router.feature(System).monitors.append(self._monitor)
        if self.command is not None:
            self.session.prompting = False
            self.editor.echo = False
        else:
            self._write("\n" + self.session.banner())
            self._flush()
        self.start()

    def data_received(self, data: str, datatype: Any) -> None:
        self.feed_input(data)

    def eof_received(self) -> bool:
        # Stay half-open: an exec request's client closes its input at once and still wants the output.
        self.end_input()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.end_input()
        self._writable.set()
        self._detach()
        self.chan = None

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # ---- the transport of the driver -----------------------------------------------------
    def _send(self, text: str) -> None:
        if self.chan is not None and not self.chan.is_closing():
            with contextlib.suppress(OSError):
                self.chan.write(text)

    def _pause_input(self) -> None:
        if self.chan is not None:
            self.chan.pause_reading()

    def _resume_input(self) -> None:
        if self.chan is not None:
            self.chan.resume_reading()

    def _detach(self) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.router.feature(System).monitors.remove(self._monitor)
        self.router.lab.unregister_channel(self.router, self)

    def _monitor(self, line: str) -> None:
        if self.session.monitor:
            self._write("\n" + line + "\n")
            self._flush()

    # ---- ending --------------------------------------------------------------------------
    async def drop(self) -> None:
        """End the session now (reload, lab stop), in the same orderly way as ``exit`` does.

        The channel is closed first and the client's close awaited before the SSH disconnect: a
        disconnect sent while the client's answer to the channel close is still arriving makes the
        kernel reset the connection, and the client may lose the disconnect message unread.
        """
        self.stop()
        await end_channel(self.chan, None)

    async def _hang_up(self, exit_status: int | None) -> None:
        """End the session: flush, then :func:`end_channel`."""
        self._flush()
        await end_channel(self.chan, exit_status)


async def end_channel(chan: Any, exit_status: int | None) -> None:
    """End an SSH session as IOS does: close the channel, let the client close its side, disconnect.

    ``exit_status`` (an exec request's, or a lab host's shell) is sent before the channel closes;
    the client gets :data:`CLOSE_GRACE` seconds to close its side, then an SSH disconnect message,
    so it never meets a TCP reset.
    """
    if chan is None:
        return
    with contextlib.suppress(Exception):
        if exit_status is None:
            chan.close()
        else:
            chan.exit(exit_status)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(chan.wait_closed(), CLOSE_GRACE)
    with contextlib.suppress(Exception):
        chan.get_extra_info("connection").disconnect(asyncssh.DISC_BY_APPLICATION, "Session closed")


class CliServer(asyncssh.SSHServer):
    """Password authentication against the router's ``username`` entries, under its login policy."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.user = ""
        self.privilege = 1
        self.source = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername")
        self.source = str(peer[0]) if peer else ""
        # A quiet period refuses the connection itself, as IOS's quiet-mode access list does.
        if self.router.up and not self.router.feature(Login).admits(self.source):
            conn.abort()

    def begin_auth(self, username: str) -> bool:
        self.user = username
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        if not self.router.up:
            return False
        login = self.router.feature(Login)
        wait = login.pace()
        if wait > 0:
            await asyncio.sleep(wait)
        if not self.router.up or not login.admits(self.source):
            return False
        check = self.router.feature(System).check_login
        # The password hash takes milliseconds of CPU: off the loop the other routers share.
        privilege = await asyncio.get_running_loop().run_in_executor(None, check, username, password)
        if not self.router.up:
            return False
        login.record(privilege is not None, username, self.source)
        if privilege is None:
            return False
        self.privilege = privilege
        return True

    def session_requested(self) -> CliChannel:
        return CliChannel(self.router, self.user, self.privilege)


async def start_server(router: Router, host: str, port: int, host_key: Any) -> Any:
    """Start the SSH server of ``router`` on ``host:port``."""
    return await asyncssh.create_server(
        lambda: CliServer(router),
        host,
        port,
        server_host_keys=[host_key],
        line_editor=False,
        keepalive_interval=0,
        reuse_address=True,
    )
