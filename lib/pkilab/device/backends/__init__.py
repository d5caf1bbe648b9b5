"""Session backends: how a :class:`~pkilab.device.session.Session` gets a byte stream to a router.

A backend opens the device's connection (directly, through SSH jump hosts, or on a terminal
server's console), logs in where the protocol does, and hands the session a :class:`Stream`
and the router's hostname. The session's own logic — commands read to the prompt, dialogs,
configuration, console logins and reloads — is the same over every backend.

* ``netmiko`` (default): netmiko logs in over SSH (through the jump hosts' ``direct-tcpip``
  channels); console paths (telnet, terminal servers) are pkilab's own telnet codec and the
  console dialogs of :mod:`pkilab.device.modes`.
* ``unicon`` (``class: unicon.Unicon`` or ``--backend unicon``; the ``unicon`` extra): unicon's
  IOS plugin connects, answers the console dialogs and logs in, over a relay process that
  carries the same access paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pkilab.testbed import DeviceSpec


class Stream(Protocol):
    """A bidirectional text stream to a device's CLI."""

    def send(self, text: str) -> None:
        """Write ``text``; a newline stands for the Return key (the stream writes what the line wants)."""

    def recv(self, timeout: float) -> str:
        """Return what arrived within ``timeout`` ("" when nothing did); raise EOFError when closed."""

    def alive(self) -> bool:
        """True while the stream is open."""

    def close(self) -> None:
        """Close the stream and everything it runs over (jump hosts included)."""


@dataclass
class Link:
    """An open stream to a device.

    ``prompt`` is the router's hostname when the backend already logged in and entered
    privileged exec; empty when the session must do the console login itself.
    """

    stream: Stream
    prompt: str = ""


def open_link(spec: DeviceSpec, timeout: float, backend: str | None = None) -> Link:
    """Open ``spec``'s connection with ``backend`` (default: the testbed's choice for the device)."""
    chosen = backend or spec.backend
    if chosen == "unicon":
        from pkilab.device.backends.via_unicon import open_link as open_unicon

        return open_unicon(spec, timeout)
    from pkilab.device.backends.via_netmiko import open_link as open_netmiko

    return open_netmiko(spec, timeout)
