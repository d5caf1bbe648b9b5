"""Pre-flight: before the first test, every device is reached, logged into and identified.

A lab that is not there is infrastructure trouble, not a router that misbehaved: the run stops
with one line naming the device and the cause (``pkilab certify`` exit code 3) and no test is
reported as failed. What counts as the same platform is deliberately loose, since ``show version``
names the chassis (``7206VXR``, ``C8000V``) where a testbed names the family (``c7200``, ``c8000v``):
the first three characters after any leading ``c``/``cisco`` must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pkilab.device.session import Session
from pkilab.errors import DeviceAuthenticationError, DeviceError, ParseError
from pkilab.parsers import parse_as
from pkilab.parsers.system import Version
from pkilab.testbed import DeviceSpec

EXIT_PREFLIGHT = 3
"""The exit code of a run stopped by pre-flight (``pkilab certify`` and pytest alike)."""


@dataclass(frozen=True)
class PreflightFailure:
    """Why a device cannot be certified."""

    device: str
    cause: str

    def line(self) -> str:
        """The one line printed for it."""
        return f"pre-flight: device {self.device!r}: {self.cause}"


def platform_matches(expected: str, shown: str) -> bool:
    """True when ``show version``'s chassis belongs to the testbed's platform (see the module doc)."""

    def core(name: str) -> str:
        text = name.lower().removeprefix("cisco").strip()
        return text[1:] if text.startswith("c") and text[1:2].isdigit() else text

    a, b = core(expected), core(shown)
    return bool(a) and bool(b) and a[:3] == b[:3]


def check_device(spec: DeviceSpec, connect: Callable[[str], Session]) -> PreflightFailure | None:
    """Reach, log into and identify one device; return why it failed, or None."""
    try:
        session = connect(spec.name)
        version = parse_as(Version, "show version", session.run("show version"))
    except DeviceAuthenticationError as exc:
        return PreflightFailure(spec.name, f"login refused: {exc}")
    except (DeviceError, OSError, EOFError) as exc:
        return PreflightFailure(spec.name, f"unreachable: {exc}")
    except ParseError as exc:
        return PreflightFailure(spec.name, f"not an IOS device (show version: {exc})")
    if spec.platform and version.platform and not platform_matches(spec.platform, version.platform):
        return PreflightFailure(
            spec.name, f"is a {version.platform}, not the {spec.platform} the testbed says (show version)"
        )
    return None


def check_lab(devices: tuple[DeviceSpec, ...], connect: Callable[[str], Session]) -> PreflightFailure | None:
    """Check every device in file order; the first failure, or None when all answered."""
    for spec in devices:
        failure = check_device(spec, connect)
        if failure is not None:
            return failure
    return None
