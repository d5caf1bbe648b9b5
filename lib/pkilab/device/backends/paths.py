"""Access paths: SSH jump hosts chained by ``direct-tcpip``, terminal servers, telnet consoles.

Every hop is a paramiko SSH client honouring its connection's ``ssh_options``. The device is
then reached through the last hop's ``direct-tcpip`` channel (SSH or telnet to its address),
or, when its connection has a ``command``, on the last hop's shell: the terminal server is
sent the command (CML: ``open /<lab>/<node>/0``) and the shell becomes the device's console.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from typing import Any

from pkilab.connections import ConnectionSpec, Hop, SshOptions
from pkilab.device.backends.streams import ChannelStream, TelnetStream
from pkilab.errors import DeviceAuthenticationError, DeviceConnectionError, DeviceError

_PARAMIKO_LISTS = {
    "kex": "_preferred_kex",
    "hostkey": "_preferred_keys",
    "cipher": "_preferred_ciphers",
    "mac": "_preferred_macs",
}
_DISABLED_KEYS = {"kex": "kex", "hostkey": "keys", "cipher": "ciphers", "mac": "macs"}
#: A shell prompt on a terminal server or jump host: what ends its output before the command.
_SHELL_PROMPT_RE = re.compile(r"[>$#%:]\s*$")


def disabled_algorithms(options: SshOptions, device: str) -> dict[str, list[str]]:
    """Paramiko's ``disabled_algorithms`` for ``KexAlgorithms``/``HostKeyAlgorithms``/``Ciphers``/``MACs``.

    OpenSSH's ``+a`` asks for an algorithm paramiko must already offer (it cannot add one);
    ``-a`` removes; a plain list keeps only those.
    """
    import paramiko

    disabled: dict[str, list[str]] = {}
    for kind, value in options.algorithms:
        offered = list(getattr(paramiko.Transport, _PARAMIKO_LISTS[kind]))
        names = value.lstrip("+-").split(",")
        unknown = [n for n in names if n not in offered and not value.startswith("-")]
        if unknown:
            raise DeviceConnectionError(
                device, f"ssh_options: this SSH client (paramiko) does not offer {kind} algorithm {unknown[0]!r}"
            )
        if value.startswith("-"):
            off = names
        elif value.startswith("+"):
            off = []
        else:
            off = [a for a in offered if a not in names]
        disabled.setdefault(_DISABLED_KEYS[kind], []).extend(off)
    return disabled


def host_key_settings(options: SshOptions) -> dict[str, Any]:
    """Netmiko's host-key arguments for ``StrictHostKeyChecking``/``UserKnownHostsFile``."""
    if options.strict_host_keys == "no":
        return {"ssh_strict": False, "system_host_keys": False}
    settings: dict[str, Any] = {"ssh_strict": options.strict_host_keys == "yes", "system_host_keys": True}
    if options.known_hosts:
        settings.update(alt_host_keys=True, alt_key_file=options.known_hosts, system_host_keys=False)
    return settings


def connect_ssh(device: str, hop: str, c: ConnectionSpec, sock: Any, timeout: float) -> Any:
    """A logged-in paramiko client to ``c`` (over ``sock`` when a jump host carries it)."""
    import paramiko

    opts = c.ssh_options
    client = paramiko.SSHClient()
    if opts.strict_host_keys == "no":
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    else:
        client.load_host_keys(opts.known_hosts) if opts.known_hosts else client.load_system_host_keys()
        reject = opts.strict_host_keys == "yes"
        client.set_missing_host_key_policy(paramiko.RejectPolicy() if reject else paramiko.AutoAddPolicy())
    limit = opts.connect_timeout or min(timeout, 10.0)
    try:
        client.connect(
            c.host,
            c.port or 22,
            username=c.credentials.username,
            password=c.credentials.password or None,
            sock=sock,
            timeout=limit,
            banner_timeout=limit,
            auth_timeout=limit,
            allow_agent=False,
            look_for_keys=opts.pubkey,
            key_filename=list(opts.identity_files) or None,
            disabled_algorithms=disabled_algorithms(opts, device),
        )
    except paramiko.AuthenticationException:
        client.close()
        raise DeviceAuthenticationError(device, f"{hop} refused the login (check its credentials)") from None
    except (OSError, EOFError, paramiko.SSHException) as exc:
        client.close()
        raise DeviceConnectionError(device, f"cannot reach {hop} at {c.host}:{c.port or 22} ({_line(exc)})") from None
    if opts.keepalive:
        client.get_transport().set_keepalive(opts.keepalive)
    return client


def open_hops(device: str, c: ConnectionSpec, timeout: float) -> tuple[list[Any], Any]:
    """Log in to every hop; return (clients, a ``direct-tcpip`` channel to the device or None)."""
    clients: list[Any] = []
    sock: Any = None
    targets: list[tuple[str, str, int]] = [(h.device, h.connection.host, h.connection.port or 22) for h in c.proxy[1:]]
    if not c.command:
        targets.append((device, c.host, c.port or 0))
    try:
        for i, hop in enumerate(c.proxy):
            clients.append(connect_ssh(device, f"proxy {hop.device!r}", hop.connection, sock, timeout))
            if i < len(targets):
                sock = _forward(device, hop, clients[-1], targets[i])
    except DeviceError:
        for client in reversed(clients):
            client.close()
        raise
    return clients, sock


def _forward(device: str, hop: Hop, client: Any, target: tuple[str, str, int]) -> Any:
    name, host, port = target
    try:
        return client.get_transport().open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=10)
    except Exception as exc:  # paramiko's ChannelException, SSHException, EOFError
        raise DeviceConnectionError(
            device, f"proxy {hop.device!r} cannot forward to {name} at {host}:{port} ({_line(exc)})"
        ) from None


def open_console(device: str, c: ConnectionSpec, timeout: float) -> ChannelStream | TelnetStream:
    """A stream to a console: telnet (direct or through jump hosts), or a terminal server's line."""
    clients, sock = open_hops(device, c, timeout)
    closers = [cl.close for cl in clients]
    if c.command:
        return _terminal_server(device, c, clients[-1], closers, timeout)
    if sock is None:
        try:
            sock = socket.create_connection((c.host, c.port or 23), timeout=min(timeout, 10.0))
        except OSError as exc:
            raise DeviceConnectionError(device, f"cannot reach {c.host}:{c.port} ({_line(exc)})") from None
    if c.protocol == "ssh":  # an SSH device behind jump hosts, for a backend that logs in itself
        return ChannelStream(sock, closers=closers)
    return TelnetStream(sock, closers=closers)


def _terminal_server(device: str, c: ConnectionSpec, client: Any, closers: list[Any], timeout: float) -> ChannelStream:
    """Open a shell on the terminal server, wait for its prompt, send the console command."""
    ts = c.proxy[-1].device
    try:
        chan = client.invoke_shell(term="vt100", width=511, height=1000)
    except Exception as exc:  # paramiko's SSHException, EOFError
        for close in closers:
            close()
        raise DeviceConnectionError(device, f"terminal server {ts!r} gave no shell ({_line(exc)})") from None
    stream = ChannelStream(chan, newline="\r", closers=closers)
    seen = ""
    deadline = time.monotonic() + min(timeout, 15.0)
    with contextlib.suppress(EOFError):
        while not _SHELL_PROMPT_RE.search(seen) and time.monotonic() < deadline:
            seen += stream.recv(deadline - time.monotonic())
    if not _SHELL_PROMPT_RE.search(seen):
        stream.close()
        raise DeviceConnectionError(device, f"terminal server {ts!r} showed no prompt; last output: {seen[-80:]!r}")
    stream.send(c.command + "\n")
    return stream


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
