"""The netmiko backend: netmiko logs in over SSH; consoles are pkilab's telnet and dialogs.

netmiko handles what it is good at — the SSH login (through the jump hosts' ``direct-tcpip``
channel when the connection has a ``proxy``), ``enable`` and terminal setup. Its telnet login
expects a VTY's Username/Password and knows nothing of console banners or IOS's setup dialogs,
so console paths (telnet, terminal server lines) get a :class:`TelnetStream` or the terminal
server's channel, and the session answers the console itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pkilab.device.backends import Link
from pkilab.device.backends.paths import disabled_algorithms, host_key_settings, open_console, open_hops
from pkilab.device.backends.streams import ChannelStream
from pkilab.errors import DeviceAuthenticationError, DeviceConnectionError, DeviceError

if TYPE_CHECKING:
    from pkilab.testbed import DeviceSpec


def open_link(spec: DeviceSpec, timeout: float) -> Link:
    """Open ``spec``'s connection; SSH devices come back logged in and in privileged exec."""
    c = spec.connection
    if c.console:
        return Link(open_console(spec.name, c, timeout))
    clients, sock = open_hops(spec.name, c, timeout) if c.proxy else ([], None)
    try:
        conn = _netmiko(spec, sock, timeout)
    except DeviceError:
        for client in reversed(clients):
            client.close()
        raise
    # Closed innermost first: netmiko's session, then the jump hosts from the nearest one out.
    stream = ChannelStream(conn.remote_conn, closers=[cl.close for cl in clients] + [conn.disconnect])
    return Link(stream, prompt=str(conn.base_prompt))


def _netmiko(spec: DeviceSpec, sock: Any, timeout: float) -> Any:
    from netmiko import ConnectHandler
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

    c = spec.connection
    opts = c.ssh_options
    limit = opts.connect_timeout or 10
    try:
        conn = ConnectHandler(
            device_type="cisco_ios",
            host=c.host,
            port=c.port or 22,
            username=c.credentials.username,
            password=c.credentials.password,
            secret=c.credentials.enable,
            sock=sock,
            timeout=timeout,
            conn_timeout=limit,
            auth_timeout=limit,
            banner_timeout=limit,
            fast_cli=True,
            allow_agent=False,
            use_keys=opts.pubkey or bool(opts.identity_files),
            key_file=opts.identity_files[0] if opts.identity_files else None,
            disabled_algorithms=disabled_algorithms(opts, spec.name),
            keepalive=opts.keepalive or 0,
            **host_key_settings(opts),
        )
        conn.enable()
    except NetmikoAuthenticationException:
        raise DeviceAuthenticationError(spec.name, "login refused (check credentials.default)") from None
    except NetmikoTimeoutException as exc:
        raise DeviceConnectionError(spec.name, f"cannot reach {c.describe()} ({_line(exc)})") from None
    except ValueError as exc:  # netmiko raises ValueError when enable fails
        raise DeviceAuthenticationError(spec.name, f"enable refused: {_line(exc)}") from None
    except (OSError, EOFError) as exc:
        raise DeviceConnectionError(spec.name, f"connection failed: {_line(exc)}") from None
    return conn


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
