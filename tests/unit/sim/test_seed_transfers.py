"""The seed's backup and restore copies, typed as the seed types them, against the host's real servers.

"copy nvram:ese-ios-ca.prv ftp://username:password@FTPservername/pathname/ese-ios-ca.prv" (backup over
FTP) and "Enter copy tftp: nvram: until all the backed up files are returned" (restore), on an offline
simulated router whose ``custom.hostsrv`` is a real TFTP/FTP server pair on loopback.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from pkilab.errors import TestbedError
from pkilab.ftpsrv import FtpCredentials, FtpError, ftp_read, ftp_write
from pkilab.hostsrv import HostServers, HostServerSpec, spec_from_testbed
from pkilab.secrets import Masker
from pkilab.sim.router import Router
from unit.sim.simkit import Cli, OfflineLab, make_spec

LOCAL = "127.0.0.1"
ACCOUNT = FtpCredentials("backup", "ftp-Secret-42")
URL_CREDS = f"{ACCOUNT.username}:{ACCOUNT.password}"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[HostServers]:
    spec = HostServerSpec(LOCAL, 0, 0, None, 0, ACCOUNT)
    with HostServers(spec, tmp_path / "root") as hs:
        hs.precreate("certs", ["ese-ios-ca.ser"])
        yield hs


def _router(servers: HostServers, account: FtpCredentials = ACCOUNT) -> tuple[Router, Cli]:
    bound = servers.bound_spec()
    hostsrv: dict[str, str | int] = {"address": LOCAL, "tftp_port": bound.tftp_port, "http_port": bound.http_port}
    if bound.ftp_port is not None:
        hostsrv.update(ftp_port=bound.ftp_port, ftp_username=account.username, ftp_password=account.password)
    lab = OfflineLab(make_spec("ese-ios-ca", "10.59.138.12/24", role="ca"), hostsrv=hostsrv, domain="ese.cisco.com")
    router = lab.routers["ese-ios-ca"]
    router.fs.write("nvram:ese-ios-ca.prv", b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nxyz\n")
    router.fs.write("nvram:ese-ios-ca.ser", b"db_ver = 1\nserial = 0x5\n")
    cli = lab.cli("ese-ios-ca")
    for line in ("configure terminal", f"ip host FTPservername {LOCAL}", "end"):
        cli(line)
    return router, cli


def test_ftp_server_round_trip_and_refusals(servers: HostServers) -> None:
    assert servers.ftp is not None
    port = servers.ftp.port
    ftp_write(LOCAL, port, "certs/x.bin", bytes(range(256)) * 40, ACCOUNT)  # binary mode: bytes unchanged
    assert ftp_read(LOCAL, port, "certs/x.bin", ACCOUNT) == bytes(range(256)) * 40
    assert [(t.op, t.filename) for t in servers.ftp.transfers] == [("write", "certs/x.bin"), ("read", "certs/x.bin")]
    with pytest.raises(FtpError) as missing:
        ftp_read(LOCAL, port, "certs/none", ACCOUNT)
    assert missing.value.code == 550
    with pytest.raises(FtpError) as refused:
        ftp_read(LOCAL, port, "certs/x.bin", FtpCredentials("backup", "wrong"))
    assert refused.value.code == 530 and "wrong" not in str(refused.value)
    assert "ftp-Secret-42" not in repr(ACCOUNT) + repr(servers.bound_spec())


def test_testbed_ftp_settings_are_checked() -> None:
    class Tb:
        path = "lab.yaml"

        def __init__(self, hostsrv: dict[str, object]) -> None:
            self.extra = {"hostsrv": hostsrv}

    spec = spec_from_testbed(Tb({"address": LOCAL}))
    assert spec is not None and spec.ftp_port is None
    spec = spec_from_testbed(Tb({"address": LOCAL, "ftp_port": 2121, "ftp_username": "u", "ftp_password": "pw1"}))
    assert spec is not None
    assert (spec.ftp_port, spec.ftp_account) == (2121, FtpCredentials("u", "pw1"))
    for bad, what in (
        ({"ftp_port": 2121}, "needs ftp_username and ftp_password"),
        ({"ftp_port": 0, "ftp_username": "u", "ftp_password": "p"}, "ftp_port"),
        ({"ftp_username": "u", "ftp_password": "p"}, "without ftp_port"),
    ):
        with pytest.raises(TestbedError, match=what):
            spec_from_testbed(Tb({"address": LOCAL, **bad}))


def test_backup_over_ftp_as_the_seed_types_it(servers: HostServers) -> None:
    _, cli = _router(servers)
    command = f"copy nvram:ese-ios-ca.prv ftp://{URL_CREDS}@FTPservername/certs/ese-ios-ca.prv"
    assert cli(command).endswith("Address or name of remote host [FTPservername]? ")
    assert cli("").endswith("Destination filename [certs/ese-ios-ca.prv]? ")
    out = cli("")
    assert out.splitlines()[:2] == ["Writing certs/ese-ios-ca.prv !", "42 bytes copied in 0.024 secs (1722 bytes/sec)"]
    assert (servers.root / "certs" / "ese-ios-ca.prv").read_bytes().startswith(b"-----BEGIN ENCRYPTED")
    # A wrong password: IOS's error, the URL shown without its credentials.
    cli("copy nvram:ese-ios-ca.prv ftp://backup:not-it@FTPservername/certs/ese-ios-ca.prv")
    cli("")
    error = cli("").splitlines()[0]
    assert error == "%Error opening ftp://*:*@FTPservername/certs/ese-ios-ca.prv (Permission denied)"
    # The transcript of the seed's command masks the password.
    assert ACCOUNT.password not in Masker().mask(command) and "ftp://backup:********@" in Masker().mask(command)


def test_restore_with_copy_tftp_nvram_interactive(servers: HostServers) -> None:
    router, cli = _router(servers)
    cli("copy nvram:ese-ios-ca.ser tftp://FTPservername/certs/ese-ios-ca.ser")
    cli("")
    assert "bytes copied" in cli("")
    cli("delete /force nvram:ese-ios-ca.ser")
    assert not router.fs.exists("nvram:ese-ios-ca.ser")
    assert cli("copy tftp: nvram:").endswith("Address or name of remote host []? ")
    assert cli("FTPservername").endswith("Source filename []? ")
    assert cli("certs/ese-ios-ca.ser").endswith("Destination filename [ese-ios-ca.ser]? ")
    out = cli("").splitlines()
    assert out[:4] == [
        "Accessing tftp://FTPservername/certs/ese-ios-ca.ser...",
        "Loading certs/ese-ios-ca.ser from 127.0.0.1: !",
        "[OK - 24 bytes]",
        "",
    ]
    assert out[4] == "24 bytes copied in 0.024 secs (984 bytes/sec)"
    assert router.fs.read("nvram:ese-ios-ca.ser") == b"db_ver = 1\nserial = 0x5\n"
    # Again: the copy in NVRAM is there now, and the seed says "DO overwrite".
    cli("copy tftp: nvram:")
    cli("FTPservername")
    cli("certs/ese-ios-ca.ser")
    assert cli("").endswith("Do you want to over write? [confirm]")
    assert "bytes copied" in cli("")


def test_restore_over_ftp_names_the_url_without_credentials(servers: HostServers) -> None:
    router, cli = _router(servers)
    (servers.root / "certs" / "ese-ios-ca.crl").write_bytes(b"\x30\x03\x02\x01\x01")
    cli(f"copy ftp://{URL_CREDS}@FTPservername/certs/ese-ios-ca.crl nvram:")
    cli("")
    assert cli("").endswith("Destination filename [ese-ios-ca.crl]? ")
    out = cli("")
    assert out.splitlines()[:3] == [
        "Accessing ftp://*:*@FTPservername/certs/ese-ios-ca.crl...",
        "Loading certs/ese-ios-ca.crl !",
        "[OK - 5/4096 bytes]",
    ]
    assert ACCOUNT.password not in out
    assert router.fs.read("nvram:ese-ios-ca.crl") == b"\x30\x03\x02\x01\x01"
    cli(f"copy ftp://{URL_CREDS}@FTPservername/certs/missing nvram:")
    cli("")
    cli("")
    assert "%Error opening ftp://*:*@FTPservername/certs/missing (No such file or directory)" in cli("")


def test_ftp_without_a_server_times_out(tmp_path: Path) -> None:
    with HostServers(HostServerSpec(LOCAL, 0, 0), tmp_path / "root") as hs:  # TFTP and HTTP only
        assert hs.ftp is None
        _, cli = _router(hs)
        cli(f"copy nvram:ese-ios-ca.prv ftp://{URL_CREDS}@FTPservername/x")
        cli("")
        assert cli("").startswith("%Error opening ftp://*:*@FTPservername/x (Timed out)")


def test_the_seed_backup_line_verbatim(tmp_path: Path) -> None:
    """The seed's own line, with its placeholders as the account, host name and folder."""
    seed_account = FtpCredentials("username", "password")
    spec = HostServerSpec(LOCAL, 0, 0, None, 0, seed_account)
    with HostServers(spec, tmp_path / "root") as hs:
        (hs.root / "pathname").mkdir()
        _, cli = _router(hs, seed_account)
        cli("copy nvram:ese-ios-ca.prv ftp://username:password@FTPservername/pathname/ese-ios-ca.prv")
        cli("")
        assert cli("").startswith("Writing pathname/ese-ios-ca.prv !")
        assert (hs.root / "pathname" / "ese-ios-ca.prv").is_file()
        assert hs.ftp is not None
        assert [(t.op, t.filename) for t in hs.ftp.transfers] == [("write", "pathname/ese-ios-ca.prv")]
