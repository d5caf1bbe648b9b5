"""Property tests: random SA and certificate tables rendered in IOS layouts parse back exactly."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from pkilab.parsers import parse
from unit.parsers.test_parsers_fastpaths import certs_by_lines, detail_by_lines

ipv4 = st.tuples(*[st.integers(1, 254)] * 4).map(lambda t: ".".join(map(str, t)))
states = st.sampled_from(["QM_IDLE", "MM_NO_STATE", "MM_KEY_EXCH", "MM_SA_SETUP", "AG_INIT_EXCH"])


@dataclass(frozen=True)
class Sa:
    dst: str
    src: str
    state: str
    conn_id: int
    status: str


sas = st.builds(Sa, ipv4, ipv4, states, st.integers(0, 99999), st.sampled_from(["ACTIVE", "STDBY", "ACTIVE (deleted)"]))


def render_isakmp(rows: list[Sa], layout: str) -> str:
    slot = layout in ("12.4", "12.4T")
    head = "dst             src             state          conn-id " + ("slot " if slot else "") + "status"
    out = [] if layout == "12.4" else ["IPv4 Crypto ISAKMP SA"]
    out.append(head)
    for r in rows:
        out.append(f"{r.dst:<15} {r.src:<15} {r.state:<15}{r.conn_id:>6}" + ("    0" if slot else "") + f" {r.status}")
    if layout == "15.x":
        out += ["", "IPv6 Crypto ISAKMP SA", ""]
    return "\n".join(out) + "\n"


@settings(max_examples=60, deadline=None)
@given(st.lists(sas, max_size=8), st.sampled_from(["12.4", "12.4T", "15.x"]))
def test_isakmp_sa_roundtrip(rows: list[Sa], layout: str) -> None:
    got = parse("show crypto isakmp sa", render_isakmp(rows, layout)).sas
    assert [(s.dst, s.src, s.state, s.conn_id, s.status) for s in got] == [
        (r.dst, r.src, r.state, r.conn_id, r.status) for r in rows
    ]
    assert all(s.deleted == ("deleted" in (s.status or "")) for s in got)


@dataclass(frozen=True)
class DetailSa:
    cid: int
    local: str
    remote: str
    ivrf: str
    encr: str
    hash: str
    auth: str
    dh: int
    life: str
    cap: str
    conn: int


details = st.builds(
    DetailSa, st.integers(1, 99999), ipv4, ipv4, st.sampled_from(["", "RED", "vrf-1"]),
    st.sampled_from(["3des", "aes", "aes:256", "des"]), st.sampled_from(["sha", "md5", "sha256", "sha384"]),
    st.sampled_from(["psk", "rsig", "renc"]), st.sampled_from([1, 2, 5, 14, 16, 19, 24]),
    st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)).map(
        lambda t: "{:02d}:{:02d}:{:02d}".format(*t)),
    st.sampled_from(["", "D", "N", "DN", "DX"]), st.integers(1, 9999),
)  # fmt: skip

LEGEND_15 = (
    "Codes: C - IKE configuration mode, D - Dead Peer Detection\n"
    "       K - Keepalives, N - NAT-traversal\n"
    "       T - cTCP encapsulation, X - IKE Extended Authentication\n"
    "       psk - Preshared key, rsig - RSA signature\n"
    "       renc - RSA encryption\n"
)


def render_detail(rows: list[DetailSa], layout: str, trailing: bool) -> str:
    pad = "   " if trailing else ""
    if layout == "15.x":
        out = [
            LEGEND_15 + "IPv4 Crypto ISAKMP SA",
            "",
            "C-id  Local           Remote          I-VRF  Status Encr Hash   Auth DH Lifetime Cap.",
            "",
        ]
        for r in rows:
            out.append(
                f"{r.cid:<5} {r.local:<15} {r.remote:<15} {r.ivrf:<6} ACTIVE {r.encr:<4} {r.hash:<6} "
                f"{r.auth:<4} {r.dh:<2} {r.life} {r.cap}".rstrip()
                + pad
            )
            out += [f"       Engine-id:Conn-id =  SW:{r.conn}", ""]
        out += ["IPv6 Crypto ISAKMP SA", ""]
    else:
        out = [
            LEGEND_15.replace("T - cTCP encapsulation, ", ""),
            "C-id  Local           Remote          I-VRF    Encr Hash Auth DH Lifetime Cap.",
        ]
        for r in rows:
            out.append(
                f"{r.cid:<5} {r.local:<15} {r.remote:<15} {r.ivrf:<8} {r.encr:<4} {r.hash:<4} {r.auth:<4} "
                f"{r.dh:<2} {r.life} {r.cap}".rstrip()
                + pad
            )
            out.append(f"       Connection-id:Engine-id =  {r.conn}:1(software)")
    return "\n".join(out) + "\n"


@settings(max_examples=60, deadline=None)
@given(st.lists(details, max_size=8), st.sampled_from(["12.x", "15.x"]), st.booleans())
def test_isakmp_sa_detail_roundtrip(rows: list[DetailSa], layout: str, trailing: bool) -> None:
    text = render_detail(rows, layout, trailing)
    got = parse("sh cry isa sa det", text).sas
    assert got == detail_by_lines(text).sas  # the block fast path agrees with the line reader
    assert [(s.conn_id, s.local, s.remote, s.ivrf or "", s.encr, s.hash, s.auth, s.dh_group, s.lifetime,
             s.capabilities, s.engine_conn_id) for s in got] == [
        (r.cid, r.local, r.remote, r.ivrf, r.encr, r.hash, r.auth, r.dh, r.life, r.cap, r.conn) for r in rows
    ]  # fmt: skip
    assert all(s.status == ("ACTIVE" if layout == "15.x" else None) for s in got)


dn_value = (
    st.text(
        st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-_"),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)
dn = st.lists(
    st.tuples(st.sampled_from(["cn", "ou", "o", "l", "st", "c", "e"]), dn_value).map("=".join),
    min_size=1,
    max_size=6,
)
zones = st.sampled_from(["UTC", "GMT", "EST", "EDT", "MSK", "EET", "IST", "PDT"])
stamps = st.builds(
    lambda h, m, s, z, mon, d, y: f"{h:02d}:{m:02d}:{s:02d} {z} {mon} {d} {y}",
    st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), zones,
    st.sampled_from(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]),
    st.integers(1, 28), st.integers(1970, 2099),
)  # fmt: skip
trustpoint = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,15}", fullmatch=True)


@dataclass(frozen=True)
class Cert:
    section: str
    serial: str
    usage: str
    issuer: list[str]
    subject: list[str]
    hostname: str | None
    start: str
    end: str
    renew: str | None
    trustpoints: list[str]
    storage: str | None


certs = st.builds(
    Cert, st.sampled_from(["Certificate", "CA Certificate", "Router Self-Signed Certificate"]),
    st.from_regex(r"[0-9A-F]{2,20}", fullmatch=True),
    st.sampled_from(["General Purpose", "Signature", "Encryption"]),
    dn, dn, st.none() | st.from_regex(r"[a-z][a-z0-9-]{0,10}\.example\.com", fullmatch=True), stamps, stamps,
    st.none() | stamps, st.lists(trustpoint, min_size=1, max_size=3),
    st.none() | st.from_regex(r"nvram:[A-Za-z0-9]{1,8}#[0-9A-F]{1,4}(CA)?\.cer", fullmatch=True),
)  # fmt: skip


def render_cert(c: Cert, *, twelve: bool, trailing: bool, flat: bool) -> str:
    t = " " if trailing else ""
    i1, i2 = ("", "") if flat else ("  ", "    ")
    lines = [
        c.section,
        f"{i1}Status: Available",
        f"{i1}Certificate Serial Number{'' if twelve else ' (hex)'}: {c.serial}",
        f"{i1}Certificate Usage: {c.usage}",
        f"{i1}Issuer:{t}",
        *[i2 + x for x in c.issuer],
        f"{i1}Subject:{t}",
    ]
    if c.hostname:
        lines += [f"{i2}Name: {c.hostname}", f"{i2}hostname={c.hostname}"]
    lines += [i2 + x for x in c.subject]
    lines += [f"{i1}Validity Date:{t}", f"{i2}start date: {c.start}", f"{i2}end   date: {c.end}"]
    if c.renew:
        lines.append(f"{i2}renew date: {c.renew}")
    lines.append(f"{i1}Associated Trustpoints: {' '.join(c.trustpoints)}{t}")
    if c.storage:
        lines.append(f"{i1}Storage: {c.storage}")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(st.lists(certs, max_size=6), st.booleans(), st.booleans(), st.booleans())
def test_certificates_roundtrip(cs: list[Cert], twelve: bool, trailing: bool, flat: bool) -> None:
    text = "\n".join(render_cert(c, twelve=twelve, trailing=trailing, flat=flat) for c in cs)
    got = parse("show crypto ca certificates", text).certificates
    assert got == certs_by_lines(text).certificates  # the block fast path agrees with the line reader
    assert len(got) == len(cs)
    for g, c in zip(got, cs, strict=True):
        assert (g.section, g.status, g.serial, g.usage) == (c.section, "Available", c.serial, c.usage)
        assert list(g.issuer) == c.issuer
        assert list(g.subject) == ([f"hostname={c.hostname}"] if c.hostname else []) + c.subject
        assert (g.hostname, g.name) == (c.hostname, c.hostname)
        assert (g.start, g.end, g.renew) == (c.start, c.end, c.renew)
        assert g.start_at is not None and g.start_at.tzinfo is not None
        assert list(g.trustpoints) == c.trustpoints and g.storage == c.storage
