"""Each image personality prints its show commands in the layout real routers of its IOS family print.

The simulator's output of every personality is compared with the real captures of the shared
corpus (``../shared/corpus``) of the same family (12.4T, 15.x, IOS-XE): column positions,
headers and field names, never values. Tables (``show crypto isakmp sa [detail]``, ``show crypto
engine connections active``) must have a capture's header line exactly and rows whose fields
line up under the header as in a capture; every other line is reduced to its labels (the text
before each ``:``, numbers and addresses masked) and must be a label some capture of the family
prints. Commands and families with no capture (``docs/sim-images.md``, "Layouts") are not compared.

The corpus's folder and file names live here, not in the library. The test skips when the corpus
is not there.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pkilab.sim.images import IOS_124T, IOS_152M, XE_179, Personality
from pkilab.testbed import DeviceSpec, InterfaceSpec
from unit.sim.simkit import OfflineLab, make_spec
from unit.sim.test_crypto_config import BRANCH, HEADEND
from unit.sim.test_crypto_tunnel import BRANCH_LOOPBACK, HQ_LOOPBACK, ping


def _corpus() -> Path | None:
    """``PKILAB_CORPUS``, else the first ``shared/corpus`` above this file."""
    if os.environ.get("PKILAB_CORPUS"):
        return Path(os.environ["PKILAB_CORPUS"])
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "corpus" / "index.json").is_file():
            return parent / "shared" / "corpus"
    return None


CORPUS = _corpus()
if CORPUS is None or not CORPUS.is_dir():
    pytest.skip("the shared corpus is not here (set PKILAB_CORPUS)", allow_module_level=True)

# (command, family) -> real captures of that family (corpus/INDEX.md); flattened, edited,
# truncated or filtered captures are left out.
_ISAKMP_15 = ["gh-id26626760930__Branch_B_15.x_ipv4_plus_empty_ipv6", "amarinjs-sitio__CA-TOR-R1_15.x_2rows"]
_DETAIL_15 = ["gh-id26626760930__Branch_B_15.x_psk_ipv6_empty", "gh-id20203085365__R15_dmvpn_rsig_2sa_trailing_spaces"]
_ENGINE_15 = ["gh-id36885225988__R1_gre_ipsec_sha384", "gh-id62993754304__R1_empty_after_dpd"]
CAPTURES: dict[tuple[str, str], tuple[str, list[str]]] = {
    ("show crypto isakmp sa", "12.4T"): (
        "show_crypto_isakmp_sa",
        ["gh-id56673587421__R1_12.4T_ipv4title_slot", "gh-id20204348857__Router0-customer_empty_slot_ipv6title"],
    ),
    ("show crypto isakmp sa", "15"): ("show_crypto_isakmp_sa", _ISAKMP_15),
    ("show crypto isakmp sa", "xe"): (
        "show_crypto_isakmp_sa",
        ["gh-id1456131183__CLIENT_csr1000v_ikev1_rsasig", "gh-id71413604881__RT02_iosxe_MM_NO_STATE_deleted"],
    ),
    ("show crypto isakmp sa detail", "15"): ("show_crypto_isakmp_sa_detail", _DETAIL_15),
    # IOS-XE prints the 15.x detail layout (corpus/INDEX.md groups them); its XE capture's IPv6 part is fabricated.
    ("show crypto isakmp sa detail", "xe"): ("show_crypto_isakmp_sa_detail", _DETAIL_15),
    ("show crypto ipsec sa", "12.4T"): (
        "show_crypto_ipsec_sa",
        ["gh-id48985223506__R1_12.4_gns3_cmap_3des_md5", "gh-id62855784685__CustomerA4_12.4_tunnel0_gre_transport"],
    ),
    ("show crypto ipsec sa", "15"): ("show_crypto_ipsec_sa", ["gh-id26626760930__Branch_B_15.x_cryptomap_aes_sha"]),
    ("show crypto ipsec sa", "xe"): (
        "show_crypto_ipsec_sa",
        [f"genieparser__iosxe__ShowCryptoIpsecSaInterface__golden_output{n}" for n in ("", "_2", "_3", "_4")],
    ),
    ("show crypto engine connections active", "12.4T"): (
        "show_crypto_engine_connections_active",
        ["gh-id55495390231__GIT-A_interface_column"],
    ),
    ("show crypto engine connections active", "15"): ("show_crypto_engine_connections_active", _ENGINE_15),
    ("show crypto engine connections active", "xe"): ("show_crypto_engine_connections_active", _ENGINE_15),
    ("show crypto pki server", "15"): (
        "show_crypto_pki_server",
        [
            "gh-id28453184466__R12_otus_utc",
            "gh-id55658884550__R14_laba",
            "gh-id43410940445__R15_named_MY-CS_unix_storage",
        ],
    ),
    ("show crypto pki server", "xe"): (
        "show_crypto_pki_server",
        ["gh-id44745045678__C8Kv1_iosxe_GMT_manual", "gh-id712489472__CA-ROOT_iosxe_cml_auto_flash"],
    ),
    ("show crypto pki certificates", "15"): (
        "show_crypto_pki_certificates",
        [
            "gh-id10028578880__R18_pending_after_cacert_storage",
            "gh-id12079466467__R15_pending_trailing_spaces",
            "gh-id23415068750__R28_pending_ip_serial_EET",
        ],
    ),
    ("show crypto pki certificates", "xe"): (
        "show_crypto_pki_certificates",
        ["gh-id1456131183__CLIENT_csr1000v_trailing_spaces_storage", "gh-id44745045678__C8Kv1_iosxe_DMVPN_tp_ipaddr"],
    ),
    ("show crypto key mypubkey rsa", "xe"): (
        "show_crypto_key_mypubkey_rsa",
        [
            "gh-id63364777717__vg400_iosxe17_4k_keypair_bits",
            "genieparser__iosxe__ShowCryptoKeyMypubkeyRsaKeyName__golden_output_1",
        ],
    ),
}
# The header of each table (the line the rows line up under).
HEADERS = {
    "show crypto isakmp sa": re.compile(r"^dst\s+src\s+state"),
    "show crypto isakmp sa detail": re.compile(r"^C-id\s+Local"),
    "show crypto engine connections active": re.compile(r"^\s*ID\s+(Interface|Type)"),
}
PERSONALITIES = {p.family: p for p in (IOS_124T, IOS_152M, XE_179)}

_ADDR = re.compile(r"\b\d+\.\d+\.\d+\.\d+\b")
_IFNAME = re.compile(r"\b(?:[A-Z][A-Za-z]*Ethernet|Tunnel|Loopback|Serial|Virtual-Access)[\d/.]+")
_NAMED = re.compile(r"^(Certificate Server) \S+:")  # a key that carries a name
_NUMBER = re.compile(r"\b(0x)?[0-9A-Fa-f]*\d[0-9A-Fa-f]*\b")
_COMMAND_ECHO = re.compile(r"^\S*[#>]\s*show ")


def _lines(text: str) -> list[str]:
    lines = [ln.rstrip() for ln in text.replace("\r", "").splitlines()]
    return [ln for ln in lines if ln.strip() and not _COMMAND_ECHO.match(ln)]


def labels(line: str) -> str:
    """A line reduced to its layout: indentation, the keys before each ``:``, masked values."""
    indent = line[: len(line) - len(line.lstrip())]
    parts = []
    for part in _NAMED.sub(r"\1 V:", _IFNAME.sub("IF", line.strip())).split(", "):
        key, colon, _ = part.partition(":")
        if colon and not key.strip().isdigit():
            parts.append(f"{key}:")
        else:
            masked = _NUMBER.sub("N", _ADDR.sub("A", re.sub(r"=\S+", "=V", part)))
            parts.append(re.sub(r"N(?: N)+", "N", masked))  # hex dumps: any number of words
    return indent + ", ".join(parts)


@dataclasses.dataclass(frozen=True)
class Table:
    """A table's header and, per row, which header column each field lines up with."""

    header: str
    rows: frozenset[tuple[tuple[str, str], ...]]
    others: frozenset[str]


def _columns(header: str) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in re.finditer(r"\S+", header)]


def _alignment(header: str, row: str) -> tuple[tuple[str, str], ...] | None:
    """(column, L|R|I|O) for each field of ``row``: at a column's start, at its end, inside it, or overlapping it."""
    columns = _columns(header)
    out = []
    for m in re.finditer(r"\S+(?: \(\S+\))?", row):
        hit = next((f"{name}:L" for name, start, _ in columns if m.start() == start), None)
        hit = hit or next((f"{name}:R" for name, _, end in columns if m.end() == end), None)
        hit = hit or next((f"{name}:I" for name, start, end in columns if start < m.start() and m.end() < end), None)
        hit = hit or next((f"{name}:O" for name, start, end in columns if m.start() < end and start < m.end()), None)
        if hit is None:
            return None
        name, _, side = hit.rpartition(":")
        out.append((name, side))
    return tuple(out)


def table(text: str, command: str) -> Table:
    """Split a table output into its header, the alignments of its rows, and its other lines' labels."""
    header, rows, others = "", set(), set()
    for line in _lines(text):
        if HEADERS[command].match(line):
            header = line
            continue
        aligned = _alignment(header, line) if header else None
        if aligned is not None and line[:1] != "\t" and not line.startswith("       "):
            rows.add(aligned)
        else:
            others.add(labels(line))
    return Table(header, frozenset(rows), frozenset(others))


# ---- the simulator's output, per personality --------------------------------------------------
def _spec(p: Personality, name: str, addr: str, config: list[str]) -> DeviceSpec:
    spec = make_spec(name, addr, "outside", config)
    assert spec.sim is not None
    outside, lan = ("GigabitEthernet1", "GigabitEthernet2") if p.os == "iosxe" else ("FastEthernet0/0", "Ethernet0/0")
    return dataclasses.replace(
        spec,
        os=p.os,
        platform=p.platform,
        interfaces=(InterfaceSpec(outside, ipaddress.IPv4Interface(addr), "outside"), InterfaceSpec(lan, None, None)),
        sim=dataclasses.replace(spec.sim, image=p.image),
    )


def _for(p: Personality, text: str) -> list[str]:
    return [ln.replace("FastEthernet0/0", "GigabitEthernet1") if p.os == "iosxe" else ln for ln in text.splitlines()]


def _outputs(p: Personality) -> dict[str, str]:
    """Every compared command's output from a two-router lab of personality ``p`` with the seed's tunnel up."""
    lab = OfflineLab(
        _spec(p, "he", "66.66.66.1/24", _for(p, HEADEND) + HQ_LOOPBACK),
        _spec(p, "br", "66.66.66.2/24", _for(p, BRANCH) + BRANCH_LOOPBACK),
    )
    ping(lab, 1)
    assert ping(lab, 2) == [], "the tunnel is up"
    br = lab.cli("br")
    on_ca = ("show crypto pki server", "show crypto pki certificates", "show crypto key mypubkey rsa")
    out = {cmd: br(cmd).rsplit("\n", 1)[0] for cmd in {c for c, _ in CAPTURES} if cmd not in on_ca}
    he = lab.cli("he")
    he("clock set 12:00:00 1 Feb 2026")
    for line in ("configure terminal", "ip http server", "crypto pki server ese-ios-ca", "no shutdown", "yes", "end"):
        he(line)
    he("write memory")
    for cmd in on_ca:
        out[cmd] = he(cmd).rsplit("\n", 1)[0]
    return out


@pytest.fixture(scope="module")
def outputs() -> dict[str, dict[str, str]]:
    return {family: _outputs(p) for family, p in PERSONALITIES.items()}


def _captures(folder: str, stems: list[str]) -> Iterator[tuple[str, str]]:
    assert CORPUS is not None
    for stem in stems:
        path = CORPUS / folder / f"{stem}.txt"
        assert path.is_file(), f"corpus capture {path} is gone (update CAPTURES)"
        yield stem, path.read_text(errors="replace")


@pytest.mark.parametrize(("command", "family"), sorted(CAPTURES), ids=[f"{c}@{f}" for c, f in sorted(CAPTURES)])
def test_layout_matches_the_family_captures(outputs: dict[str, dict[str, str]], command: str, family: str) -> None:
    folder, stems = CAPTURES[(command, family)]
    mine = outputs[family][command]
    real = dict(_captures(folder, stems))
    if command in HEADERS:
        sim = table(mine, command)
        tables = [table(text, command) for text in real.values()]
        assert sim.header in {t.header for t in tables}, f"{family} header {sim.header!r} is no capture's"
        assert sim.rows, f"{family}: the simulator printed no rows for {command}"
        # How the captures with this header align each column (a column they leave blank: as its header).
        sides: dict[str, set[str]] = {}
        for t in tables:
            for row in t.rows if t.header == sim.header else ():
                for column, side in row:
                    sides.setdefault(column, set()).add(side)
        misaligned = [
            (column, side) for row in sim.rows for column, side in row if side not in sides.get(column, {"L"})
        ]
        assert not misaligned, f"{family}: fields aligned unlike any capture's: {misaligned}"
        known = set().union(*(t.others for t in tables))
        unknown = sorted(sim.others - known)
    else:
        known = {labels(ln) for text in real.values() for ln in _lines(text)}
        unknown = sorted({labels(ln) for ln in _lines(mine)} - known)
    assert not unknown, f"{family} {command}: lines no {family} capture prints: {unknown}"


def test_layouts_differ_where_the_families_do(outputs: dict[str, dict[str, str]]) -> None:
    """The comparison can fail: each family's output is refused by another family's captures."""
    for command in ("show crypto isakmp sa", "show crypto ipsec sa"):
        folder, stems = CAPTURES[(command, "15")]
        known = {labels(ln) for _, text in _captures(folder, stems) for ln in _lines(text)}
        if command in HEADERS:
            headers = {table(text, command).header for _, text in _captures(folder, stems)}
            assert table(outputs["12.4T"][command], command).header not in headers
        else:
            assert {labels(ln) for ln in _lines(outputs["12.4T"][command])} - known


@pytest.mark.parametrize("family", sorted(PERSONALITIES))
def test_ipsec_conn_ids_as_each_family_numbers_them(outputs: dict[str, dict[str, str]], family: str) -> None:
    """12.4/15.x: ``conn id: 1, flow_id: SW:1`` and engine IPsec ids 1, 2 (public 12.4 captures, index ids
    48989335557 and 63061101272, and the corpus's 12.4/15.x captures); IOS-XE: ``conn id: 2001, flow_id: CSR:1``."""
    pairs = re.findall(r"conn id: (\d+), flow_id: \w+:(\d+)", outputs[family]["show crypto ipsec sa"])
    assert pairs
    base = 2000 if family == "xe" else 0
    assert all(int(conn) == int(flow) + base for conn, flow in pairs), pairs
    engine = outputs[family]["show crypto engine connections active"]
    ipsec_ids = sorted(int(ln.split()[0]) for ln in engine.splitlines() if "IPsec" in ln)
    assert ipsec_ids == sorted(int(conn) for conn, _ in pairs), engine
