"""The one exception root of pkilab.

Every error pkilab raises derives from :class:`PkilabError`. Subclasses also inherit the
matching builtin (``TimeoutError``, ``ValueError``, ``ConnectionError``…) so callers that
only know the builtins still catch them. User errors (a bad testbed, a bad value) carry a
one-line message naming what and where; the CLI prints that line and exits non-zero
without a traceback.
"""

from __future__ import annotations


class PkilabError(Exception):
    """Root of every pkilab error."""


class UserError(PkilabError):
    """An error caused by the user's input; reported as one line, exit code 2."""


class TestbedError(UserError, ValueError):
    """A testbed file is missing, unreadable or invalid.

    The message names the file, the device (when there is one) and the field.
    """

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, path: str, message: str, device: str | None = None, field: str | None = None):
        self.path = path
        self.device = device
        self.field = field
        where = path
        if device:
            where += f": device {device!r}"
        if field:
            where += f": {field}"
        super().__init__(f"{where}: {message}")


class ConfigValueError(UserError, ValueError):
    """A value would not make a safe IOS configuration line (newline, injection, range)."""


class ParseError(PkilabError, ValueError):
    """A parser met a line it does not understand; the message quotes the line."""

    def __init__(self, parser: str, line: str, lineno: int | None = None, reason: str = "unexpected line"):
        self.parser = parser
        self.line = line
        self.lineno = lineno
        at = f" (line {lineno})" if lineno is not None else ""
        super().__init__(f"{parser}: {reason}{at}: {line!r}")


class DeviceError(PkilabError):
    """Something went wrong while talking to a device."""

    def __init__(self, device: str, message: str):
        self.device = device
        super().__init__(f"{device}: {message}")


class DeviceConnectionError(DeviceError, ConnectionError):
    """The device could not be reached or the connection dropped."""


class DeviceAuthenticationError(DeviceError, PermissionError):
    """The device refused the credentials (login or enable)."""


class DeviceTimeoutError(DeviceError, TimeoutError):
    """The device did not answer with the expected prompt in time."""


class UnexpectedPromptError(DeviceError):
    """The device answered with a prompt the dialog did not expect."""


class CommandError(DeviceError):
    """The device rejected a command (``% Invalid input``, ``% Incomplete command`` …)."""

    def __init__(self, device: str, command: str, output: str):
        self.command = command
        self.output = output
        first = next((ln.strip() for ln in output.splitlines() if ln.strip().startswith("%")), output.strip())
        super().__init__(device, f"command {command!r} rejected: {first}")


class WaitTimeoutError(PkilabError, TimeoutError):
    """A polled condition did not become true before its deadline."""


class SimError(PkilabError):
    """The simulated lab could not start or run."""


class PkiError(PkilabError, ValueError):
    """X.509 material is malformed or does not check out (bad CSR, wrong passphrase, bad DN)."""


class ScepError(PkilabError, ValueError):
    """A SCEP message is malformed or fails its checks.

    ``fail_info`` names the SCEP failInfo a server answers with (``badMessageCheck``,
    ``badRequest`` …), or is ``None`` when the bytes are too broken to answer in SCEP at all.
    """

    def __init__(self, message: str, fail_info: str | None = None):
        self.fail_info = fail_info
        super().__init__(message)
