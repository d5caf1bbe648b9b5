"""pkilab's Genie external-parser package: Genie's own lookup and schema check, no device.

``device.parse(command, output=TEXT)`` on a Genie device (no connection) with the seed's outputs;
every spelling the registry reads resolves, through Genie's lookup, to pkilab's class on ios and
iosxe; Genie's schema check (derived from the result dataclasses) passes on every corpus output
and refuses a dict that does not match.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from unit.parsers import parser_seed_outputs as seed
from unit.parsers.parser_corpus import corpus_command

pytest.importorskip("genie.libs.parser", reason="genie is not installed (pip install 'pkilab[genie]')")

from genie.libs.parser.utils import common
from genie.metaparser.util.exceptions import SchemaError
from genie.testbed import load as genie_load

import pkilab.genie
from pkilab.catalog.grammar import expand, param_of
from pkilab.errors import ParseError
from pkilab.genie._build import PkilabParser, classes_for, genie_commands, schema_of
from pkilab.parsers import UnknownCommandError, match_command, parse, registry
from pkilab.parsers.isakmp import IsakmpSaDetailTable

# The shared corpus sits beside the checkout (../shared/corpus), or beside the worktrees' parent.
CORPUS = next(
    (p / "shared" / "corpus" for p in Path(__file__).resolve().parents if (p / "shared" / "corpus").is_dir()),
    Path("shared/corpus"),
)
OSES = ("ios", "iosxe")

SEED = [
    ("show crypto isakmp sa detail", seed.ISAKMP_SA_DETAIL_PSK),
    ("show crypto isakmp sa detail", seed.ISAKMP_SA_DETAIL_HW),
    ("show crypto isakmp sa", seed.ISAKMP_SA_12X),
    ("show crypto engine connections active", seed.ENGINE_12X),
    ("show crypto ca certificates", seed.CA_CERTIFICATES),
    ("show crypto pki server", seed.PKI_SERVER_123T),
    ("crypto pki server ese-ios-ca info requests", seed.INFO_REQUESTS_PENDING),
    ("show crypto pki server ese-ios-ca requests", seed.INFO_REQUESTS_TERMINAL),
    ("crypto pki server ese-ios-ca info crl", seed.INFO_CRL_REVOKED),
    ("show crypto ca crls", seed.CA_CRLS),
    ("show crypto ca timers", seed.CA_TIMERS),
    ("show crypto key mypubkey rsa", seed.MYPUBKEY_RSA),
    ("dir nvram:", seed.DIR_NVRAM),
    ("more nvram:1.cnm", seed.MORE_CNM),
    ("show logging", seed.SHOW_LOG_BRANCH),
    ("show clock", seed.CLOCKS[0][0] + "\n"),
    ("ping ip 10.59.138.13 source e0/0 repeat 100", seed.PING_FAIL),
    ("crypto pki authenticate ese-ios-ca", seed.AUTHENTICATE_15X),
    ("crypto pki enroll ese-ios-ca", seed.ENROLL_SCEP),
    ("crypto pki server ese-ios-ca request pkcs10 terminal", seed.REQUEST_PKCS10),
    ("crypto pki server ese-ios-ca grant 3", seed.GRANT_TERMINAL),
    ("crypto pki import ese-ios-ca certificate", seed.IMPORT_OK),
]


def _genie_variants() -> dict[tuple[str, str, str], set[str]]:
    """(os, token, value) of every folder below ios/iosxe where Genie files its own parser of a
    command pkilab reads (on a device with that token, Genie's lookup goes there first), with the
    spellings concerned."""
    import genie.libs.parser

    table = json.loads((Path(genie.libs.parser.__path__[0]) / "parsers.json").read_text())
    found: dict[tuple[str, str, str], set[str]] = {}
    for spellings in genie_commands().values():
        for spelling in spellings:
            for os_name in OSES:
                folder = table.get(spelling, {}).get("folders", {}).get(os_name, {})
                for sub in folder.get("folders", {}).values():
                    for token, value in sub.get("tokens", {}).items():
                        found.setdefault((os_name, token, value), set()).add(spelling)
    return found


@pytest.fixture(scope="module")
def devices() -> Iterator[dict[str, Any]]:
    """Genie devices (never connected) per OS and per Genie platform variant; pkilab's package registered."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(pkilab.genie.ENV_VAR, raising=False)
        pkilab.genie.register()
        spec = {"type": "router", "connections": {"cli": {"protocol": "ssh", "ip": "127.0.0.1"}}}
        named = {os_name: {"os": os_name, **spec} for os_name in OSES}
        for os_name, token, value in _genie_variants():
            if token == "platform":  # revisions need no device: Genie prefers the newest already
                named[f"{os_name}-{value}"] = {"os": os_name, "platform": value, **spec}
        yield genie_load({"devices": named}).devices
    common.parser_data = None  # later Genie lookups in this process read Genie's own table again


_VALUES = ("x1", "10.0.0.1", "100", "GigabitEthernet1")  # a word, an address, a number, an interface


def _filled(spelling: str) -> str:
    """``spelling`` with a value of the right kind in each placeholder: the first the catalog takes."""
    holes = len(re.findall(r"\{[^}]*\}", spelling))
    for values in itertools.product(_VALUES, repeat=holes):
        text = spelling
        for value in values:
            text = re.sub(r"\{[^}]*\}", value, text, count=1)
        try:
            match_command(text)
        except UnknownCommandError:
            continue
        return text
    raise AssertionError(f"no values make {spelling!r} a command pkilab reads")


@pytest.mark.parametrize("os_name", OSES)
@pytest.mark.parametrize(("command", "text"), SEED, ids=[f"{c}-{i}" for i, (c, _) in enumerate(SEED)])
def test_device_parse_output_is_pkilabs_facts(devices: dict[str, Any], os_name: str, command: str, text: str) -> None:
    parsed = devices[os_name].parse(command, output=text)
    assert isinstance(parsed, dict)  # Genie hands back its QDict, a dict
    assert parsed == parse(command, text).to_dict()


def test_typed_gives_the_dataclass_of_the_same_output(devices: dict[str, Any]) -> None:
    device = devices["ios"]
    table = pkilab.genie.typed(device, "sh cry isa sa det", output=seed.ISAKMP_SA_DETAIL_RSIG)
    assert isinstance(table, IsakmpSaDetailTable) and table.sas[0].auth == "rsig"
    assert device.parse("show crypto isakmp sa detail", output=seed.ISAKMP_SA_DETAIL_RSIG) == table.to_dict()
    same = pkilab.genie.typed_as(
        IsakmpSaDetailTable, device, "show crypto isakmp sa detail", output=seed.ISAKMP_SA_DETAIL_RSIG
    )
    assert same == table
    with pytest.raises(ParseError, match="read as another type"):
        pkilab.genie.typed_as(IsakmpSaDetailTable, device, "show clock", output=seed.CLOCKS[0][0])
    with pytest.raises(UnknownCommandError):
        pkilab.genie.typed(device, "show cdp neighbors", output="")


def test_a_line_pkilab_does_not_understand_raises_parse_error(devices: dict[str, Any]) -> None:
    with pytest.raises(ParseError, match="unexpected line"):
        devices["iosxe"].parse("show crypto isakmp sa", output="this is no isakmp table\n")


def test_genie_picks_pkilabs_class_for_every_spelling(devices: dict[str, Any]) -> None:
    # Genie's lookup, not ours: a spelling that ties with one of Genie's own parsers, or a folder
    # of Genie's (a platform, a revision) that pkilab's package lacks, would go to Genie's class.
    variants = {f"{os_name}-{value}": spellings for (os_name, _, value), spellings in _genie_variants().items()}
    assert {"ios-cat6k", "iosxe-cat9k"} <= set(devices)
    wrong: dict[str, str] = {}
    for name, device in devices.items():
        for target, spellings in genie_commands().items():
            # on a platform device, only the spellings Genie files under that platform can differ
            for spelling in set(spellings) & variants.get(name, set(spellings)):
                cls, _ = common.get_parser(_filled(spelling), device)
                if getattr(cls, "pkilab_target", None) != target:
                    wrong[f"{name}: {spelling}"] = f"{cls.__module__}.{cls.__name__}"
    assert not wrong


def test_package_has_a_folder_for_every_genie_variant() -> None:
    import pkilab.genie.parsers as package

    root = Path(package.__file__).parent
    for os_name, token, value in _genie_variants():
        folder = root / os_name / (f"rv{value}" if token == "revision" else value)
        assert f'declare_token({token}="{value}")' in (folder / "__init__.py").read_text(), folder


def test_one_class_per_registry_parser_and_every_grammar_form_spelled() -> None:
    classes = classes_for("probe")
    assert sorted(c.pkilab_target for c in classes.values()) == sorted(c.name for c in registry.READERS)
    for cls in classes.values():
        assert cls.__doc__ and all(f"* {c}" in cls.__doc__ for c in cls.cli_command)
        for spelling in cls.cli_command:  # the registry reads each spelling as the class's command
            assert match_command(_filled(spelling)).name == cls.pkilab_target, spelling
    for command in registry.READERS:
        for form in command.forms:
            for tokens in expand(form):
                shape = " ".join("{}" if param_of(t) else t for t in tokens)
                assert shape in {re.sub(r"\{[^}]*\}", "{}", s) for s in genie_commands()[command.name]}, form


def test_class_attributes_point_at_the_registry(devices: dict[str, Any]) -> None:
    cls, kwargs = common.get_parser("show crypto pki server ese-ios-ca requests", devices["ios"])
    assert cls.__module__ == "pkilab.genie.parsers.ios.pkilab_parsers"
    assert cls.pkilab_result.__name__ == "ServerRequests"
    assert kwargs["command"] == "show crypto pki server ese-ios-ca requests"
    parser = cls(device=devices["ios"])
    typed = parser.typed(output=seed.INFO_REQUESTS_TERMINAL, **{k: v for k, v in kwargs.items() if k != "command"})
    assert typed == parse("crypto pki server ese-ios-ca info requests", seed.INFO_REQUESTS_TERMINAL)


def test_schema_check_refuses_facts_of_the_wrong_shape(devices: dict[str, Any]) -> None:
    cls, _ = common.get_parser("show crypto isakmp sa detail", devices["ios"])
    facts = parse("show crypto isakmp sa detail", seed.ISAKMP_SA_DETAIL_PSK).to_dict()
    wrong_type = json.loads(json.dumps(facts))
    wrong_type["sas"][0]["dh_group"] = "2"
    missing = json.loads(json.dumps(facts))
    del missing["sas"][0]["lifetime"]
    extra = json.loads(json.dumps(facts))
    extra["sas"][0]["invented"] = 1
    for bad in (wrong_type, missing, extra):
        # The base is whichever class Genie's lookup returned, known only at run time.
        class Faulted(cls):  # type: ignore[misc, valid-type]
            def cli(self, command: str | None = None, output: str | None = None, bad: Any = bad, **kwargs: str) -> Any:
                return bad

        with pytest.raises(Exception, match="schema checking failed") as failed:
            Faulted(device=devices["ios"]).parse(output=seed.ISAKMP_SA_DETAIL_PSK)
        assert isinstance(failed.value.__cause__ or failed.value.__context__, SchemaError)


def test_schema_of_maps_result_types() -> None:
    from genie.metaparser.util.schemaengine import Schema

    from pkilab.parsers.certificates import CertificateTable

    schema = schema_of(CertificateTable)
    cert = schema["certificates"].schema  # ListOf(...)
    assert cert["start_at"].schemas == (str, None)  # a derived fact (property), datetime as ISO text
    Schema(schema).validate(parse("show crypto ca certificates", seed.CA_CERTIFICATES).to_dict())
    with pytest.raises(TypeError, match="no Genie schema"):
        schema_of(set[int])


def _corpus() -> list[dict[str, object]]:
    index = CORPUS / "index.json"
    return json.loads(index.read_text()) if index.is_file() else []


@pytest.mark.skipif(not _corpus(), reason=f"shared corpus not found at {CORPUS}")
def test_schema_check_passes_on_every_corpus_output() -> None:
    classes = {c.pkilab_target: c for c in classes_for("corpus").values()}
    checked = 0
    for entry in _corpus():
        text = (CORPUS / str(entry["file"])).read_text(encoding="utf-8", errors="replace")
        try:
            expected = parse(corpus_command(str(entry["command"])), text).to_dict()
        except ParseError:
            continue  # the corpus test says which outputs pkilab refuses, and why
        parser = classes[match_command(corpus_command(str(entry["command"]))).name](device=None)
        assert parser.parse(output=text) == expected, entry["file"]
        checked += 1
    assert checked > 150


def test_pkilab_parser_needs_a_command_or_its_arguments() -> None:
    cls = classes_for("probe")["ShowCryptoPkiServerCertificates"]
    with pytest.raises(UnknownCommandError, match="give the command"):
        cls(device=None).typed()
    assert isinstance(cls(device=None), PkilabParser)
