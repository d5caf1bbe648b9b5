"""Connections as pyATS defines them: the model and its validation.

A pyATS device has named connections (``connections.cli``, ``connections.a`` …) and
``connections.defaults`` (``via``: which one to use; ``class``: the connection library). A
connection has a ``protocol`` (ssh or telnet), an ``ip``/``host`` and ``port``, optionally a
``proxy`` (a device name or a list of them: SSH jump hosts, or a terminal server when the
connection has a ``command`` such as CML's ``open /<lab>/<node>/0``), ``ssh_options`` (OpenSSH
command-line options), and ``credentials`` that override the device's and the testbed's.

pkilab resolves the connection a device is reached by into a :class:`ConnectionSpec`: the
proxy chain flattened outermost first, credentials merged, ``ssh_options`` parsed. Every key
pkilab does not act upon is refused with one line naming it, never ignored.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: Connection keys pkilab acts upon (anything else in a connection is refused).
CONNECTION_KEYS = (
    "protocol",
    "ip",
    "host",
    "port",
    "proxy",
    "command",
    "ssh_options",
    "credentials",
    "class",
    "arguments",
)
#: ``connections.defaults`` keys pkilab acts upon.
DEFAULTS_KEYS = ("class", "via")
#: unicon ``arguments`` pkilab passes on (both backends run them when given).
ARGUMENT_KEYS = ("init_exec_commands", "init_config_commands")
#: Credential names and their fields: login, enable, and the console line's own password.
CREDENTIAL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "default": ("username", "password"),
    "enable": ("password",),
    "line": ("username", "password"),
}
UNICON_CLASS = "unicon.Unicon"
#: The order a device's connections are tried in when no ``via`` names one.
PREFERRED = ("cli", "ssh", "telnet", "a", "vty", "console")
_SAFE_LINE_RE = re.compile(r"^[\x20-\x7e]*$")


class ConnectionError_(ValueError):
    """A connection field is wrong: ``field`` (relative to the device) and a one-line message."""

    def __init__(self, field: str, message: str, device: str | None = None):
        self.field = field
        self.device = device
        super().__init__(message)


@dataclass(frozen=True)
class Credentials:
    """Login, enable and console-line credentials of one connection (plain text; masked on output)."""

    username: str = ""
    password: str = field(default="", repr=False)  # never in a repr: tracebacks and pytest output show reprs
    enable: str = field(default="", repr=False)
    line_username: str = ""
    line_password: str = field(default="", repr=False)

    def secrets(self) -> tuple[str, ...]:
        """The values that must never be shown."""
        return tuple(s for s in (self.password, self.enable, self.line_password) if s)


@dataclass(frozen=True)
class SshOptions:
    """The OpenSSH options (``ssh_options``) pkilab honours, parsed.

    ``algorithms`` keeps OpenSSH's syntax per kind (``kex``, ``hostkey``, ``cipher``, ``mac``):
    ``+a,b`` adds, ``-a`` removes, a plain list replaces. ``raw`` is the string as written.
    """

    raw: str = ""
    strict_host_keys: str = "no"
    known_hosts: str | None = None
    connect_timeout: float | None = None
    keepalive: int | None = None
    pubkey: bool = False
    identity_files: tuple[str, ...] = ()
    algorithms: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Hop:
    """One proxy on the way to a device: its name and how it is reached (SSH, no proxy of its own)."""

    device: str
    connection: ConnectionSpec


@dataclass(frozen=True)
class ConnectionSpec:
    """How one device is reached.

    ``proxy`` is the flattened chain, outermost first: ``proxy[0]`` is reached directly over
    SSH and each next hop (then the device) through an SSH ``direct-tcpip`` channel of the one
    before. With ``command``, the last hop is a terminal server: pkilab opens a shell on it,
    sends the command, and is then on the device's console.
    """

    name: str
    protocol: str
    host: str = ""
    port: int | None = None
    proxy: tuple[Hop, ...] = ()
    command: str = ""
    ssh_options: SshOptions = field(default_factory=SshOptions)
    credentials: Credentials = field(default_factory=Credentials)
    unicon: bool = False
    init_exec_commands: tuple[str, ...] | None = None
    init_config_commands: tuple[str, ...] | None = None

    @property
    def console(self) -> bool:
        """True when login happens in-band (telnet, a terminal server): the console dialogs apply."""
        return self.protocol == "telnet" or bool(self.command)

    @property
    def terminal_server(self) -> str | None:
        """The terminal server the console is opened on, if any."""
        return self.proxy[-1].device if self.command and self.proxy else None

    def secrets(self) -> tuple[str, ...]:
        """Every secret on the way: the hops' passwords and this connection's."""
        return tuple(s for h in self.proxy for s in h.connection.secrets()) + self.credentials.secrets()

    def shifted(self, offset: int) -> ConnectionSpec:
        """A copy with every port (hops included) moved by ``offset``."""
        return replace(
            self,
            port=self.port + offset if self.port is not None else None,
            proxy=tuple(Hop(h.device, h.connection.shifted(offset)) for h in self.proxy),
        )

    def describe(self) -> str:
        """``ssh 127.0.0.1:2221`` or ``telnet via ts (open /lab/r1/0)``, for messages."""
        via = f" via {' > '.join(h.device for h in self.proxy)}" if self.proxy else ""
        target = f" ({self.command})" if self.command else f" {self.host}:{self.port}"
        return f"{self.protocol}{via}{target}"


def get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` for pyATS AttrDicts and objects alike; ``default`` when absent or None."""
    try:
        value = obj.get(key, default) if hasattr(obj, "get") else getattr(obj, key, default)
    except Exception:  # pyATS objects raise assorted errors for absent attributes
        return default
    return default if value is None else value


def plain(value: Any) -> str:
    """A pyATS SecretString or plain value as text."""
    return str(value.plaintext if hasattr(value, "plaintext") else value)


def select(dev: Any, via: str | None) -> tuple[str, Any]:
    """Return (name, raw connection) the device is reached by: ``via``, ``defaults.via`` or the usual names."""
    conns = get(dev, "connections", {}) or {}
    names = [n for n in conns if n != "defaults"]
    defaults = get(conns, "defaults", {}) or {}
    for key in defaults:
        if key not in DEFAULTS_KEYS:
            raise ConnectionError_(
                f"connections.defaults.{key}", f"not supported by pkilab ({_supported(DEFAULTS_KEYS)})"
            )
    wanted = via or get(defaults, "via")
    if wanted:
        if wanted not in names:
            raise ConnectionError_(
                "--via" if via else "connections.defaults.via",
                f"no connection named {wanted!r} (the device has {', '.join(names) or 'none'})",
            )
        return str(wanted), conns[wanted]
    for name in PREFERRED:
        if name in names:
            return name, conns[name]
    if len(names) == 1:
        return names[0], conns[names[0]]
    raise ConnectionError_(
        "connections",
        "no CLI connection (expected connections.cli with protocol, ip, port, or defaults.via naming one)"
        if not names
        else f"several connections ({', '.join(names)}) and no connections.defaults.via naming one",
    )


def class_of(dev: Any, name: str, raw: Any) -> str | None:
    """The connection class (``class``) of connection ``name``, or of the device's defaults."""
    defaults = get(get(dev, "connections", {}) or {}, "defaults", {}) or {}
    cls = get(raw, "class") or get(defaults, "class")
    if cls is None:
        return None
    if isinstance(cls, str):
        return cls
    # pyATS has imported the class: unicon.Unicon is unicon.adapters.topology.Unicon by then.
    module = str(getattr(cls, "__module__", ""))
    qualified = f"{module}.{getattr(cls, '__name__', '')}"
    return UNICON_CLASS if module.split(".")[0] == "unicon" and qualified.endswith(".Unicon") else qualified


def credentials(levels: Iterable[tuple[str, Any]]) -> Credentials:
    """Merge credentials from the nearest level outwards (connection, device, testbed), field by field.

    ``levels`` are (field prefix, credentials mapping) pairs.
    """
    found: dict[tuple[str, str], str] = {}
    for field_prefix, level in levels:
        for kind, entry in (level or {}).items():
            if kind not in CREDENTIAL_FIELDS:
                raise ConnectionError_(
                    f"{field_prefix}credentials.{kind}", f"not supported by pkilab ({_supported(CREDENTIAL_FIELDS)})"
                )
            for key, value in (entry or {}).items():
                if key not in CREDENTIAL_FIELDS[kind]:
                    raise ConnectionError_(
                        f"{field_prefix}credentials.{kind}.{key}",
                        f"not supported by pkilab ({_supported(CREDENTIAL_FIELDS[kind])})",
                    )
                if value is not None:
                    found.setdefault((kind, key), plain(value))
    creds = Credentials(
        username=found.get(("default", "username"), ""),
        password=found.get(("default", "password"), ""),
        enable=found.get(("enable", "password"), "") or found.get(("default", "password"), ""),
        line_username=found.get(("line", "username"), ""),
        line_password=found.get(("line", "password"), ""),
    )
    for label, value in (
        ("default.username", creds.username),
        ("default.password", creds.password),
        ("enable.password", creds.enable),
        ("line.username", creds.line_username),
        ("line.password", creds.line_password),
    ):
        if not _SAFE_LINE_RE.match(value) or " " in value:
            raise ConnectionError_(f"credentials.{label}", "must be printable ASCII without spaces")
    return creds


def parse_ssh_options(text: str, where: str) -> SshOptions:
    """Parse OpenSSH command-line options; refuse any pkilab does not honour, naming it."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ConnectionError_(where, f"cannot split {text!r}: {exc}") from None
    opts: dict[str, Any] = {"raw": text}
    algorithms: list[tuple[str, str]] = []
    identities: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-o", "-i") and i + 1 < len(words):
            flag, value, i = word, words[i + 1], i + 2
        elif word.startswith(("-o", "-i")) and len(word) > 2:
            flag, value, i = word[:2], word[2:], i + 1
        else:
            raise ConnectionError_(where, f"option {word!r} not supported by pkilab (use -o Key=Value or -i FILE)")
        if flag == "-i":
            identities.append(value)
            continue
        key, sep, val = value.partition("=")
        if not sep:
            key, _, val = value.partition(" ")
        _ssh_option(opts, algorithms, identities, key.strip().lower(), val.strip(), where)
    return SshOptions(**opts, algorithms=tuple(algorithms), identity_files=tuple(identities))


_ALGORITHM_KINDS = {"kexalgorithms": "kex", "hostkeyalgorithms": "hostkey", "ciphers": "cipher", "macs": "mac"}
_SSH_OPTIONS = (
    "StrictHostKeyChecking",
    "UserKnownHostsFile",
    "ConnectTimeout",
    "ServerAliveInterval",
    "PubkeyAuthentication",
    "IdentityFile",
    "KexAlgorithms",
    "HostKeyAlgorithms",
    "Ciphers",
    "MACs",
)


def _ssh_option(
    opts: dict[str, Any], algorithms: list[tuple[str, str]], identities: list[str], key: str, val: str, where: str
) -> None:
    def number(kind: Callable[[str], Any]) -> Any:
        try:
            n = kind(val)
        except ValueError:
            raise ConnectionError_(where, f"{key}: {val!r} is not a number") from None
        if n < 0:
            raise ConnectionError_(where, f"{key}: {val!r} is negative")
        return n

    if key == "stricthostkeychecking":
        if val.lower() not in ("yes", "no", "accept-new"):
            raise ConnectionError_(where, f"StrictHostKeyChecking must be yes, no or accept-new (got {val!r})")
        opts["strict_host_keys"] = val.lower()
    elif key == "userknownhostsfile":
        opts["known_hosts"] = val
    elif key == "connecttimeout":
        opts["connect_timeout"] = float(number(float))
    elif key == "serveraliveinterval":
        opts["keepalive"] = int(number(int))
    elif key == "pubkeyauthentication":
        if val.lower() not in ("yes", "no"):
            raise ConnectionError_(where, f"PubkeyAuthentication must be yes or no (got {val!r})")
        opts["pubkey"] = val.lower() == "yes"
    elif key == "identityfile":
        identities.append(val)
    elif key in _ALGORITHM_KINDS:
        if not re.fullmatch(r"[+\-]?[\w.@\-]+(,[\w.@\-]+)*", val):
            raise ConnectionError_(where, f"{key}: {val!r} is not an algorithm list")
        algorithms.append((_ALGORITHM_KINDS[key], val))
    else:
        raise ConnectionError_(where, f"option {key!r} not supported by pkilab ({_supported(_SSH_OPTIONS)})")


def arguments(raw: Any, where: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """(init_exec_commands, init_config_commands) from a connection's ``arguments``."""
    args = get(raw, "arguments", {}) or {}
    if not hasattr(args, "items"):
        raise ConnectionError_(f"{where}.arguments", "must be a mapping")
    out: dict[str, tuple[str, ...]] = {}
    for key, value in args.items():
        if key not in ARGUMENT_KEYS:
            raise ConnectionError_(f"{where}.arguments.{key}", f"not supported by pkilab ({_supported(ARGUMENT_KEYS)})")
        if not isinstance(value, list) or not all(isinstance(v, str) and _SAFE_LINE_RE.match(v) for v in value):
            raise ConnectionError_(f"{where}.arguments.{key}", "must be a list of single printable command lines")
        out[key] = tuple(value)
    return out.get("init_exec_commands"), out.get("init_config_commands")


def check_keys(raw: Any, where: str) -> None:
    """Refuse any connection key pkilab does not act upon."""
    for key in raw or {}:
        if key not in CONNECTION_KEYS:
            raise ConnectionError_(f"{where}.{key}", f"not supported by pkilab ({_supported(CONNECTION_KEYS)})")


def proxy_names(raw: Any, where: str) -> list[str]:
    """The proxy device names of a connection, in order (``proxy: NAME`` or a list)."""
    proxy = get(raw, "proxy")
    if proxy is None:
        return []
    items = proxy if isinstance(proxy, list) else [proxy]
    names: list[str] = []
    for i, item in enumerate(items):
        at = f"{where}.proxy" + (f"[{i}]" if isinstance(proxy, list) else "")
        if isinstance(item, str):
            names.append(item)
        elif hasattr(item, "items") and isinstance(get(item, "device"), str):
            extra = [k for k in item if k != "device"]
            if extra:
                raise ConnectionError_(f"{at}.{extra[0]}", "not supported by pkilab (a proxy entry names a device)")
            names.append(str(item["device"]))
        else:
            raise ConnectionError_(at, f"must name a device of the testbed (got {item!r})")
    return names


def _supported(keys: Iterable[str]) -> str:
    return "supported: " + ", ".join(keys)


class Resolver:
    """Builds each device's :class:`ConnectionSpec` from a loaded pyATS testbed, proxies included."""

    def __init__(self, tb: Any) -> None:
        self.tb = tb
        self._done: dict[str, ConnectionSpec] = {}

    def resolve(self, name: str, via: str | None = None, _seen: tuple[str, ...] = ()) -> ConnectionSpec:
        """The connection device ``name`` is reached by; raise :class:`ConnectionError_` naming the field."""
        if via is None and name in self._done:
            return self._done[name]
        dev = self.tb.devices[name]
        try:
            cname, raw = select(dev, via)
            spec = self._build(name, dev, cname, raw, (*_seen, name))
        except ConnectionError_ as exc:
            if exc.device is None:
                exc.device = name
            raise
        if via is None:
            self._done[name] = spec
        return spec

    def _build(self, name: str, dev: Any, cname: str, raw: Any, seen: tuple[str, ...]) -> ConnectionSpec:
        where = f"connections.{cname}"
        check_keys(raw, where)
        protocol = str(get(raw, "protocol", "") or "")
        if protocol not in ("ssh", "telnet"):
            raise ConnectionError_(f"{where}.protocol", f"protocol must be ssh or telnet (got {protocol!r})")
        command = get(raw, "command", "")
        if not isinstance(command, str) or not _SAFE_LINE_RE.match(command):
            raise ConnectionError_(f"{where}.command", "must be one printable command line")
        host = str(get(raw, "ip") or get(raw, "host") or "")
        hops = self._hops(raw, where, seen)
        if command:
            if not hops:
                raise ConnectionError_(
                    f"{where}.command", "a command needs a proxy (the terminal server to send it to)"
                )
            if host:
                raise ConnectionError_(
                    f"{where}.ip", "a console opened by a terminal server command has no address of its own"
                )
        elif not host:
            raise ConnectionError_(f"{where}.ip", "missing ip")
        port = get(raw, "port", None if command else (22 if protocol == "ssh" else 23))
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
            raise ConnectionError_(f"{where}.port", f"port must be an integer 1-65535 (got {port!r})")
        ssh_text = get(raw, "ssh_options", "")
        if ssh_text and protocol != "ssh":
            raise ConnectionError_(f"{where}.ssh_options", "only an ssh connection takes ssh_options")
        if not isinstance(ssh_text, str):
            raise ConnectionError_(f"{where}.ssh_options", "must be a string of OpenSSH options")
        cls = class_of(dev, cname, raw)
        if cls is not None and cls != UNICON_CLASS:
            raise ConnectionError_(f"{where}.class", f"only {UNICON_CLASS} is supported (got {cls!r})")
        init_exec, init_config = arguments(raw, where)
        levels = [
            (f"{where}.", getattr(get(raw, "credentials"), "local_creds", get(raw, "credentials"))),
            ("", getattr(get(dev, "credentials"), "local_creds", None)),
            ("testbed.", getattr(get(self.tb, "credentials"), "local_creds", None)),
        ]
        return ConnectionSpec(
            name=cname,
            protocol=protocol,
            host=host,
            port=port,
            proxy=hops,
            command=command,
            ssh_options=parse_ssh_options(ssh_text, f"{where}.ssh_options"),
            credentials=credentials(levels),
            unicon=cls == UNICON_CLASS,
            init_exec_commands=init_exec,
            init_config_commands=init_config,
        )

    def _hops(self, raw: Any, where: str, seen: tuple[str, ...]) -> tuple[Hop, ...]:
        hops: list[Hop] = []
        for proxy in proxy_names(raw, where):
            if proxy not in self.tb.devices:
                raise ConnectionError_(f"{where}.proxy", f"no device {proxy!r} in the testbed")
            if proxy in seen:
                raise ConnectionError_(f"{where}.proxy", f"proxy loop: {' > '.join((*seen, proxy))}")
            spec = self.resolve(proxy, None, seen)
            if spec.protocol != "ssh" or spec.command:
                raise ConnectionError_(
                    f"{where}.proxy",
                    f"proxy {proxy!r} must be reached over SSH (its connection {spec.name!r} is {spec.describe()})",
                )
            if not spec.credentials.username:
                raise ConnectionError_(
                    f"{where}.proxy", f"proxy {proxy!r} has no credentials.default.username to log in with"
                )
            hops.extend(spec.proxy)
            hops.append(Hop(proxy, replace(spec, proxy=())))
        return tuple(hops)
