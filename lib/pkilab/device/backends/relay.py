"""The unicon backend's relay: one device's access path as a terminal program.

unicon drives a terminal program (it spawns ``ssh``/``telnet`` on a pty and reads the
screen). pkilab's access paths — jump hosts chained by ``direct-tcpip``, terminal servers,
telnet consoles — live in Python, so unicon spawns this module instead:
``python -m pkilab.device.backends.relay SPECFILE``. It reads the connection (and its
secrets) from SPECFILE, a private file it deletes at once, opens the path with
:mod:`pkilab.device.backends.paths`, and copies bytes between its terminal and the device.
An SSH device is logged in here (the SSH protocol does it); consoles are logged in by unicon.
A failure is written to ``SPECFILE.err`` in one line for the backend to report.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pkilab.connections import ConnectionSpec, Credentials, Hop, SshOptions
from pkilab.device.backends.paths import connect_ssh, open_console, open_hops
from pkilab.device.backends.streams import ChannelStream, TelnetStream, send_raw
from pkilab.errors import DeviceError


def dump(device: str, c: ConnectionSpec, timeout: float) -> str:
    """The relay's spec file contents."""
    return json.dumps({"device": device, "timeout": timeout, "connection": asdict(c)})


def load_connection(d: dict[str, Any]) -> ConnectionSpec:
    """A :class:`ConnectionSpec` from its ``asdict`` form."""
    opts = dict(d["ssh_options"])
    opts["identity_files"] = tuple(opts["identity_files"])
    opts["algorithms"] = tuple(tuple(a) for a in opts["algorithms"])
    return ConnectionSpec(
        **{
            **d,
            "proxy": tuple(Hop(h["device"], load_connection(h["connection"])) for h in d["proxy"]),
            "ssh_options": SshOptions(**opts),
            "credentials": Credentials(**d["credentials"]),
            "init_exec_commands": _tuple(d["init_exec_commands"]),
            "init_config_commands": _tuple(d["init_config_commands"]),
        }
    )


def _tuple(v: list[str] | None) -> tuple[str, ...] | None:
    return None if v is None else tuple(v)


def open_path(device: str, c: ConnectionSpec, timeout: float) -> ChannelStream | TelnetStream:
    """The device's stream: a console, or an SSH shell logged in here."""
    if c.console:
        return open_console(device, c, timeout)
    clients, sock = open_hops(device, c, timeout) if c.proxy else ([], None)
    client = connect_ssh(device, "the device", c, sock, timeout)
    chan = client.invoke_shell(term="vt100", width=511, height=1000)
    return ChannelStream(chan, closers=[cl.close for cl in clients] + [client.close])


def _pump_in(stream: ChannelStream | TelnetStream) -> None:
    while True:
        try:
            data = os.read(0, 4096)
        except OSError:
            data = b""
        if not data:
            stream.close()
            return
        send_raw(stream, data)


def main(argv: list[str]) -> int:
    """Relay between this terminal and the device until either side closes."""
    spec_file = Path(argv[0])
    spec = json.loads(spec_file.read_text())
    spec_file.unlink()
    if os.isatty(0):
        import tty

        tty.setraw(0)  # unicon sees the device's echo, not the pty's
    try:
        stream = open_path(spec["device"], load_connection(spec["connection"]), float(spec["timeout"]))
    except DeviceError as exc:
        Path(f"{spec_file}.err").write_text(str(exc))
        return 2
    threading.Thread(target=_pump_in, args=(stream,), daemon=True).start()
    try:
        while True:
            try:
                text = stream.recv(0.5)
            except (EOFError, OSError):
                return 0
            if text:
                os.write(1, text.encode())
    finally:
        stream.close()


if __name__ == "__main__":  # pragma: no cover - run by unicon
    sys.exit(main(sys.argv[1:]))
