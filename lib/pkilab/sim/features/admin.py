"""Show version, running/startup configuration, copy/write/erase, reload, files, the log buffer."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from pkilab import catalog
from pkilab.sim.features.system import Logging, System
from pkilab.sim.features.transfer import DatabaseStore, TftpReach, copy_remote, is_remote
from pkilab.sim.filesys import FileSystemError
from pkilab.sim.interp import Ask, Ctx, SessionClosed
from pkilab.sim.router import Feature, handles


def _uptime(seconds: float) -> str:
    """IOS uptime wording: ``1 day, 2 hours, 3 minutes``."""
    minutes = int(seconds // 60)
    weeks, minutes = divmod(minutes, 7 * 24 * 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(weeks, "week"), (days, "day"), (hours, "hour")]
    words = [f"{n} {w}{'s' if n != 1 else ''}" for n, w in parts if n]
    words.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return ", ".join(words)


class Admin(Feature):
    """Configuration files, version, reload, file systems and the log buffer."""

    order = 1000  # renders the trailing lines of the running configuration

    def config_lines(self) -> list[str]:
        """The closing line of the running configuration."""
        return ["!", "end"]

    # ---- version -----------------------------------------------------------------------
    @handles(catalog.SHOW_VERSION)
    def show_version(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show version`` in the layout of the router's image (:mod:`pkilab.sim.images`)."""
        import datetime as dt

        r = self.router
        p = r.personality
        boot_utc = r.clock.now().timestamp() - r.uptime_seconds()
        boot_at = r.clock.format(dt.datetime.fromtimestamp(boot_utc, dt.UTC), msec=False)
        reloaded = bool(r.reloads)
        return p.render_version(
            {
                "hostname": r.hostname,
                "uptime": _uptime(r.uptime_seconds()),
                "returned": (f"reload at {boot_at}" if p.os == "ios" else "reload") if reloaded else "power-on",
                "reason": ("Reload Command" if p.os == "ios" else "reload") if reloaded else "Unknown reason",
                "reset": "s/w reset" if reloaded else "power-on",
                "image": p.image,
                "board": p.board_id(r.name),
                "interfaces": p.interface_summary([i.name for i in r.spec.interfaces]),
            }
        )

    # ---- configuration files -------------------------------------------------------------
    def render_config(self) -> str:
        """The running configuration text as ``write memory`` stores it."""
        return "\n".join(self.router.running_config()) + "\n"

    @handles(catalog.SHOW_RUNNING_CONFIG)
    def show_run(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show running-config``."""
        text = self.render_config()
        return f"Building configuration...\n\nCurrent configuration : {len(text)} bytes\n{text}"

    @handles(catalog.SHOW_STARTUP_CONFIG)
    def show_start(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show startup-config``."""
        data = self.router.fs.read_text("nvram:startup-config") or ""
        if not data.strip():
            return "startup-config is not present"
        nv = self.router.fs.by_name["nvram"]
        return f"Using {len(data)} out of {nv.size} bytes\n{data}"

    def save(self) -> None:
        """Write the running configuration (and private data) to NVRAM."""
        self.router.fs.write("nvram:startup-config", self.render_config().encode())
        for f in self.router.features.values():
            f.save_private()

    def modified(self) -> bool:
        """True when the running configuration differs from the startup configuration."""

        def body(text: str) -> list[str]:
            return [ln for ln in text.splitlines() if not ln.startswith("! Last configuration change")]

        saved = self.router.fs.read_text("nvram:startup-config") or ""
        return body(saved) != body(self.render_config())

    @handles(catalog.WRITE_MEMORY)
    def write_memory(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str]:
        """``write memory`` / ``copy running-config startup-config`` with IOS's dialog."""
        if args.get("copy"):
            answer = yield Ask("Destination filename [startup-config]? ")
            if answer.strip() and answer.strip() != "startup-config":
                return f"%Error opening nvram:{answer.strip()} (Permission denied)"
        yield "Building configuration...\n"
        self.save()
        return "[OK]"

    @handles(catalog.ERASE_STARTUP)
    def erase(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """Empty NVRAM after IOS's confirmation; the running configuration is untouched.

        The next boot then has no startup configuration: the console shows the initial
        configuration dialog (:mod:`pkilab.sim.console`).
        """
        answer = (
            yield Ask("Erasing the nvram filesystem will remove all configuration files! Continue? [confirm]")
        ).strip()
        if answer and not "yes".startswith(answer.lower()):
            return None
        self.router.fs.by_name["nvram"].files.clear()
        yield "[OK]\nErase of nvram: complete\n"
        self.router.feature(System).logmsg("%SYS-7-NV_BLOCK_INIT: Initialized the geometry of nvram")
        return None

    @handles(catalog.COPY)
    def copy_file(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, Any, str | None]:
        """``copy FS:FILE FS:FILE`` between local file systems, or to/from a TFTP or FTP server."""
        src, dst = _local_alias(args["src"]), _local_alias(args["dst"])
        if is_remote(src) or is_remote(dst):
            return (yield from copy_remote(self.router, self._store(), src, dst))
        default = dst.rpartition(":")[2].lstrip("/") or src.rpartition(":")[2].lstrip("/")
        answer = yield Ask(f"Destination filename [{default}]? ")
        name = answer.strip() or default
        fs_name = dst.partition(":")[0]
        try:
            data = self._store().read(src)
            self.router.fs.write(f"{fs_name}:{name}", data)
        except FileSystemError as exc:
            return str(exc)
        return f"{len(data)} bytes copied in 0.012 secs ({len(data) * 83} bytes/sec)"

    def _store(self) -> DatabaseStore:
        """Local file systems plus the test host's servers (see :mod:`pkilab.sim.features.transfer`)."""
        reach = TftpReach.of(self.router.feature(System).resolve, self.router.lab.testbed)
        return DatabaseStore(self.router.fs, reach)

    # ---- reload ------------------------------------------------------------------------
    @handles(catalog.RELOAD)
    def reload(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, None]:
        """``reload`` with the save and confirm dialogs; all sessions drop."""
        if self.modified():
            while True:
                answer = (yield Ask("\nSystem configuration has been modified. Save? [yes/no]: ")).strip().lower()
                if answer in ("y", "ye", "yes"):
                    yield "Building configuration...\n"
                    self.save()
                    yield "[OK]\n"
                    break
                if answer in ("n", "no"):
                    break
                yield "% Please answer 'yes' or 'no'.\n"
        answer = (yield Ask("Proceed with reload? [confirm]")).strip().lower()
        if answer and not "yes".startswith(answer) and answer != "confirm":
            return None
        yield "\n"
        self.router.lab.reload(self.router)
        raise SessionClosed()

    # ---- files -------------------------------------------------------------------------
    @handles(catalog.DIR)
    def dir(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``dir FS:``."""
        name = args.get("fs", "flash:").rstrip(":/").split(":")[0].lower()
        fs = self.router.fs.by_name.get(name)
        if fs is None:
            return f"%Error opening {args.get('fs')} (Invalid argument)"
        return fs.listing()

    @handles(catalog.MORE)
    def more(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``more FS:FILE``."""
        try:
            return self.router.fs.read(args["path"]).decode("utf-8", "replace")
        except FileSystemError as exc:
            return str(exc)

    @handles(catalog.DELETE)
    def delete(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, str | None]:
        """``delete FS:FILE`` with IOS's confirmations."""
        path = args["path"]
        if not args.get("/force"):
            name = path.partition(":")[2].lstrip("/")
            yield Ask(f"Delete filename [{name}]? ")
            answer = (yield Ask(f"Delete {path}? [confirm]")).strip().lower()
            if answer and not "yes".startswith(answer):
                return None
        try:
            self.router.fs.delete(path)
        except FileSystemError as exc:
            return str(exc)
        return None

    # ---- log buffer --------------------------------------------------------------------
    @handles(catalog.SHOW_LOGGING)
    def show_logging(self, ctx: Ctx, args: dict[str, Any]) -> str:
        """``show logging``: IOS's header then the buffer."""
        system = self.router.feature(System)
        log = system.log
        n = log.logged
        head = [
            "Syslog logging: enabled (0 messages dropped, 0 messages rate-limited, 0 flushes, 0 overruns, "
            "xml disabled, filtering disabled)",
            "",
            "No Active Message Discriminator.",
            "",
            "",
            "",
            "No Inactive Message Discriminator.",
            "",
            "",
            *_console_lines(log),
            f"    Monitor logging: level debugging, {log.monitor_logged} messages logged, xml disabled,",
            "                     filtering disabled",
            f"    Buffer logging:  level debugging, {n} messages logged, xml disabled,",
            "                    filtering disabled",
            "    Exception Logging: size (4096 bytes)",
            "    Count and timestamp logging messages: disabled",
            "    Persistent logging: disabled",
            "",
            "No active filter modules.",
            "",
            f"    Trap logging: level informational, {n} message lines logged",
            "        Logging Source-Interface:       VRF Name:",
            "",
            f"Log Buffer ({log.buffer_size} bytes):",
            "",
        ]
        body = [system._render_msg(m) for m in log.messages]
        return "\n".join(head + body) + "\n"

    @handles(catalog.CLEAR_LOGGING)
    def clear_logging(self, ctx: Ctx, args: dict[str, Any]) -> Generator[Any, str, None]:
        """``clear logging`` with its confirmation."""
        answer = (yield Ask("Clear logging buffer [confirm]")).strip().lower()
        if not answer or "yes".startswith(answer):
            self.router.feature(System).log.messages.clear()
        return None


def _console_lines(log: Logging) -> list[str]:
    """The ``Console logging`` lines of ``show logging`` (``disabled`` after ``no logging console``)."""
    if not log.console:
        return ["    Console logging: disabled"]
    return [
        f"    Console logging: level {log.console_level}, {log.logged} messages logged, xml disabled,",
        "                     filtering disabled",
    ]


def _local_alias(word: str) -> str:
    """``start`` (any abbreviation of ``startup-config``) names ``nvram:startup-config``."""
    if len(word) >= 4 and "startup-config".startswith(word.lower()):
        return "nvram:startup-config"
    return word
