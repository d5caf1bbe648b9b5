"""The command catalog is a contract: the simulator plays every command, and what a router prints is
what the parsers read, on the lab the testbed names (every image personality: this module also
runs on testbeds/sim-124.yaml and sim-xe.yaml, from tests/integration/test_image_labs.py).

* Without a lab: every catalog command has one simulator handler, every reader is a catalog
  command's, and every form of a command pkilab reads, with arguments of the right kind, is
  matched back to that command.
* On the live lab, built as the seed builds it (CA, SCEP enrollment, the RSA-signature tunnel up):
  every command pkilab reads is typed in every form its syntax expands to, with the lab's own
  arguments, on the CA, the headend and the branch, and its output is read by the command's reader
  (the CA server's commands and ``more`` on the CA only); the exec dialogs (authenticate, enroll,
  ``request pkcs10``, grant, import, ping) are run by the procedures, which read them with the same
  readers, in a cut-and-paste enrollment of a trustpoint of the test's own.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pkilab import catalog
from pkilab.catalog import Command
from pkilab.catalog.grammar import expand, param_of
from pkilab.device.session import Session
from pkilab.errors import ParseError
from pkilab.fixtures import SessionPool
from pkilab.parsers import parse, parse_as
from pkilab.parsers.isakmp import IsakmpSaTable
from pkilab.parsers.registry import READERS, match_command
from pkilab.plan import LabPlan
from pkilab.procedures import pki, scenario, vpn
from pkilab.sim.features import FEATURES
from pkilab.sim.router import GrammarSet, install_features

pytestmark = [pytest.mark.roles("ca", "headend", "branch"), pytest.mark.destructive]

# The exec dialogs: run by the procedures (their answers are the seed's), not typed bare.
DIALOGS = {
    catalog.CRYPTO_PKI_AUTHENTICATE,
    catalog.CRYPTO_PKI_ENROLL,
    catalog.CRYPTO_PKI_SERVER_REQUEST_PKCS10,
    catalog.CRYPTO_PKI_SERVER_GRANT,
    catalog.CRYPTO_PKI_IMPORT,
    catalog.PING,
}
CONTRACT_TP = "contract-tp"


# ---- without a lab ------------------------------------------------------------------------------
def test_every_catalog_command_has_one_simulator_handler() -> None:
    install_features(FEATURES)
    handled = GrammarSet.handlers()
    assert [c.name for c in catalog.CATALOG if c not in handled] == []
    assert set(handled) <= set(catalog.CATALOG)
    assert len({c.name for c in catalog.CATALOG}) == len(catalog.CATALOG)


def test_every_reader_reads_a_catalog_command_into_a_frozen_dataclass() -> None:
    for command, reader in READERS.items():
        assert command in catalog.CATALOG, command
        result = typing.get_type_hints(reader)["return"]
        assert dataclasses.is_dataclass(result), (command, result)
        assert result.__dataclass_params__.frozen, (command, result)  # type: ignore[union-attr]  # no public API says "frozen"


_KINDS = {"WORD": "x1", "LINE": "x1", "A.B.C.D": "10.0.0.1", "IF": "GigabitEthernet1", "HEX": "1F"}


def _example(token: str) -> str:
    param = param_of(token)
    if param is None:
        return token
    return str(param.lo) if param.kind == "RANGE" else _KINDS[param.kind]


@pytest.mark.parametrize("command", list(READERS), ids=lambda c: c.name)
def test_every_form_is_matched_back_to_its_command(command: Command) -> None:
    for form in command.forms:
        for tokens in expand(form):
            line = " ".join(_example(t) for t in tokens)
            assert match_command(line) is command, line


# ---- on the live lab ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(sessions: SessionPool, plan: LabPlan) -> Iterator[scenario.SeedLab]:
    """The seed's lab on this testbed, left as found afterwards."""
    with scenario.seed_lab(plan, sessions.get) as lab:
        yield lab


def _values(session: Session, plan: LabPlan, on_ca: bool) -> dict[tuple[str, str], str]:
    """The lab's own argument for each (command name, parameter name) a reader command takes."""
    peers = [sa.dst if sa.dst != _own_address(plan, session) else sa.src for sa in _isakmp(session).sas]
    peer = peers[0] if peers else plan.ca.address
    keys = parse("show crypto key mypubkey rsa", session.run("show crypto key mypubkey rsa")).keys
    cnm = [f.name for f in parse("dir nvram:", session.run("dir nvram:")).files if f.name.endswith(".cnm")]
    router = _router(plan, session.name)
    values = {
        ("SHOW_CRYPTO_PKI_CERTIFICATES", "name"): plan.ca.trustpoint,
        ("SHOW_CRYPTO_PKI_TRUSTPOINTS", "name"): plan.ca.trustpoint,
        ("SHOW_CRYPTO_PKI_TRUSTPOINTS_STATUS", "name"): plan.ca.trustpoint,
        ("SHOW_CRYPTO_KEY_MYPUBKEY", "label"): keys[0].name if keys else "none",
        ("SHOW_CRYPTO_IPSEC_SA", "address"): peer,
        ("SHOW_CRYPTO_IPSEC_SA", "interface"): router.outside_if or plan.ca.interface,
        ("SHOW_CRYPTO_IPSEC_SA", "tag"): _map_name(session),
        ("SHOW_CRYPTO_SESSION", "remote"): peer,
        ("DIR", "fs"): "nvram:",
    }
    if on_ca:
        for name in ("SERVER", "SERVER_CERTIFICATES", "SERVER_CRL", "SERVER_REQUESTS"):
            values[(f"SHOW_CRYPTO_PKI_{name}", "name")] = plan.ca.server
        values[("MORE", "path")] = f"nvram:{cnm[0]}" if cnm else "nvram:1.cnm"
    return values


def _own_address(plan: LabPlan, session: Session) -> str:
    router = _router(plan, session.name)
    return str(router.outside.ip) if router.outside is not None else plan.ca.address


def _router(plan: LabPlan, name: str) -> Any:
    for router in (plan.headend, *plan.branches):
        if router.name == name:
            return router
    return dataclasses.replace(plan.headend, name=name, outside_if=None, outside=None)


def _isakmp(session: Session) -> IsakmpSaTable:
    return parse_as(IsakmpSaTable, "show crypto isakmp sa", session.run("show crypto isakmp sa"))


def _map_name(session: Session) -> str:
    table = parse("show crypto ipsec sa", session.run("show crypto ipsec sa"))
    names = [f.crypto_map for f in table.flows if f.crypto_map]
    return names[0] if names else "none"


def _lines(command: Command, values: dict[tuple[str, str], str]) -> Iterator[str]:
    """Every form of ``command`` with the lab's arguments; forms with an argument the lab has none for are left out."""
    for form in command.forms:
        for tokens in expand(form):
            words = []
            for token in tokens:
                param = param_of(token)
                if param is None:
                    words.append(token)
                elif (command.name, param.name) in values:
                    words.append(values[(command.name, param.name)])
                else:
                    break
            else:
                yield " ".join(words)


def _typed(session: Session, line: str, reader: Callable[[str], Any], failures: list[str]) -> Any:
    output = session.run(line)
    try:
        return reader(output)
    except Exception as exc:  # every failure is reported with its command and router
        failures.append(f"{session.name}: {line!r}: {type(exc).__name__}: {exc}")
        return None


def _empty(reader: Callable[[str], Any]) -> Any:
    """What ``reader`` makes of no output (None where it refuses it)."""
    try:
        return reader("")
    except ParseError:
        return None


def test_every_command_pkilab_reads_is_rendered_and_read_back(
    built: scenario.SeedLab, sessions: SessionPool, plan: LabPlan
) -> None:
    ca = plan.ca.device
    failures: list[str] = []
    typed: dict[Command, int] = {}
    filled: dict[Command, bool] = {}
    for name in dict.fromkeys((ca, plan.headend.name, plan.branch.name)):
        session = sessions.get(name)
        values = _values(session, plan, on_ca=name == ca)
        for command, reader in READERS.items():
            if command in DIALOGS or (name != ca and command.name.startswith(("SHOW_CRYPTO_PKI_SERVER", "MORE"))):
                continue
            for line in _lines(command, values):
                assert match_command(line) is command, line
                result = _typed(session, line, reader, failures)
                typed[command] = typed.get(command, 0) + 1
                if result is not None and result != _empty(reader):
                    filled[command] = True
    assert not failures, "\n".join(failures)
    shows = [c for c in READERS if c not in DIALOGS]
    assert [c.name for c in shows if c not in typed] == [], "commands never typed"
    assert [c.name for c in shows if not filled.get(c)] == [], "commands that printed nothing on any router"


def test_every_dialog_pkilab_reads_is_run_and_read_back(
    built: scenario.SeedLab, sessions: SessionPool, plan: LabPlan
) -> None:
    """A cut-and-paste enrollment of the test's own trustpoint on the branch, and a ping through the tunnel."""
    ca, br = sessions.get(plan.ca.device), sessions.get(plan.branch.name)
    # The seed lab's own restore (the module fixture) removes the trustpoint, its key and files.
    ca_pem = pki.export_ca_pem(ca, plan.ca.server, plan.ca.passphrase)
    pki.configure_trustpoint(
        br,
        pki.TrustpointSettings.from_plan(plan, name=CONTRACT_TP, enrollment_url=None, terminal=True, revocation="none"),
    )
    assert pki.authenticate(br, CONTRACT_TP, pasted_pem=ca_pem).accepted  # CRYPTO_PKI_AUTHENTICATE
    request = pki.terminal_request(br, CONTRACT_TP)  # CRYPTO_PKI_ENROLL
    request_id = pki.submit_terminal_request(ca, plan.ca.server, request)  # ..._REQUEST_PKCS10
    granted = pki.grant_terminal(ca, plan.ca.server, request_id)  # CRYPTO_PKI_SERVER_GRANT
    assert pki.import_certificate(br, CONTRACT_TP, granted).success  # CRYPTO_PKI_IMPORT
    assert plan.branch.inside_if is not None
    result = vpn.ping(br, plan.target, plan.branch.inside_if, repeat=5)  # PING
    assert result.sent == 5 and result.received >= 4, result
