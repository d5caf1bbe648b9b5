"""Every real output of ``../shared/corpus`` parses, and its key facts match the source's own parse.

Each ``*.txt`` is parsed with the command of its folder (``corpus/index.json``). Where the
source ships an expected parse (genieparser ``.expected.py``, ntc-templates ``.yml``), the
values of the keys listed below for that folder must all be found among the values pkilab
extracted. The two libraries name and nest facts their own way, so the comparison is by value:
a value matches when it equals one of pkilab's values, or is contained in one (Genie prints
``(none)`` as ``none``), or starts with one (Genie keeps ``0x9F8(2552)`` where pkilab keeps
the SPI ``0x9F8``). Counts are compared where the expected parse lists records.

Files the corpus index flags as fabricated or edited are parsed like the others; where their
expected parse cannot agree with a faithful parser, the difference is listed in ``TOLERATED``.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pkilab import catalog
from pkilab.errors import ParseError
from pkilab.parsers import match_command, parse
from unit.parsers.parser_corpus import corpus_command, corpus_dir

_FOUND = corpus_dir()
if _FOUND is None:
    pytest.skip("shared corpus not found (../shared/corpus, or PKILAB_CORPUS)", allow_module_level=True)
CORPUS: Path = _FOUND

INDEX: list[dict[str, Any]] = json.loads((CORPUS / "index.json").read_text())

# folder -> expected-parse keys whose values pkilab must reproduce
GENIE_KEYS: dict[str, set[str]] = {
    "show_logging_other": {"logs", "log_buffer_bytes"},
    "show_crypto_isakmp_sa": {
        "destination",
        "source",
        "session_state",
        "conn_id",
        "dst",
        "src",
        "state",
        "slot",
    },
    "show_crypto_isakmp_sa_detail": {
        "c_id",
        "local_ip",
        "remote_ip",
        "ivrf",
        "status",
        "encr_algo",
        "hash_algo",
        "auth_type",
        "dh_group",
        "lifetime",
        "capabilities",
        "engine_id",
        "conn_id",
    },
    "show_crypto_ipsec_sa": {
        "crypto_map_tag",
        "local_addr",
        "peer_ip",
        "port",
        "pkts_encaps",
        "pkts_decaps",
        "pkts_encrypt",
        "pkts_decrypt",
        "pkts_digest",
        "pkts_verify",
        "local_crypto_endpt",
        "remote_crypto_endpt",
        "plaintext_mtu",
        "path_mtu",
        "ip_mtu_idb",
        "current_outbound_spi",
        "transform",
        "flow_id",
        "sibling_flags",
        "iv_size",
        "addr",
        "mask",
        "send_errors",
        "recv_errors",
        "ipsecv6_policy_name",
    },
    "show_crypto_pki_certificates": {
        "serial_number_in_hex",
        "status",
        "usage",
        "start_date",
        "end_date",
        "storage",
        "cn",
        "name",
        "crl_distribution_points",
    },
    "show_crypto_pki_certificates_verbose": {
        "serial",
        "status",
        "usage",
        "start_date",
        "end_date",
        "fingerprint_md5",
        "fingerprint_sha1",
        "signature_algorithm",
        "key_label",
        "cert_install_time",
        "key_usage_hex",
        "subject_key_id",
        "authority_key_id",
        "common_name",
        "key_usage_1",
        "key_usage_2",
    },
    "show_crypto_pki_server": {
        "status",
        "state",
        "issuer",
        "fingerprint",
        "ra_fingerprint",
        "grant_mode",
        "last_serial_num",
        "primary_storage",
        "ca_expiry_timer",
        "crl_next_update_timer",
        "auto_rollover_timer",
    },
    "crypto_pki_server_info_requests": {"fingerprint", "state", "subject_name"},
    "crypto_pki_server_info_crl": {
        "issuer",
        "this_update",
        "next_update",
        "number_of_crl_entries",
        "crl_size_bytes",
        "serial_number_in_hex",
        "revocation_date",
    },
    "show_crypto_pki_crls": {
        "last_update",
        "next_update",
        "crl_downloaded_at",
        "crl_der_size",
        "current_size",
        "maximum_size",
        "retrieved_from",
    },
    "show_crypto_pki_trustpoints": {"serial_number_in_hex", "cn", "o"},
    "show_crypto_pki_trustpoints_status": {"md5", "sha1", "last_enroll"},
    "show_crypto_key_mypubkey_rsa": {"key_name", "usage", "storage_device", "keypairgen_time"},
    "show_crypto_key_mypubkey_ec": {"key_name", "usage", "storage_device", "keypairgen_time"},
    "show_crypto_key_mypubkey_all": {"key_name", "usage", "storage_device", "keypairgen_time"},
    "show_crypto_session": {
        "peer_ip",
        "peer_port",
        "session_status",
        "profile",
        "session_id",
        "local_ip",
        "remote_ip",
        "sa_status",
        "active_sas",
        "origin",
        "user_name",
        "group",
        "assigned_address",
    },
    "show_crypto_session_detail": {
        "peer_ip",
        "peer_port",
        "session_status",
        "profile",
        "session_id",
        "local_ip",
        "remote_ip",
        "sa_status",
        "active_sas",
        "origin",
        "capabilities",
        "conn_id",
        "phase1_id",
        "desc",
        "fvrf",
        "ivrf",
        "uptime",
        "inbound_pkts_decrypted",
        "outbound_pkts_encrypted",
    },
    "show_crypto_eli": {"hardware_encryption", "state", "name", "active", "max", "failed", "created"},
    "show_clock": {"time", "timezone", "day_of_week", "month", "day", "year"},
    "show_ntp_status": {"stratum", "refid", "precision", "resolution", "poll", "last_update"},
    "show_ntp_associations": {"stratum", "poll", "reach", "delay", "offset"},
    "show_ntp_associations_detail": {"address", "stratum", "reach", "assoc_name", "version", "precision"},
    "dir_other": {"index", "permissions", "size", "last_modified_date", "bytes_total", "bytes_free"},
    "show_crypto_pki_timers": {
        "renew_timer",
        "renew_timer_iso",
        "session_cleanup",
        "session_cleanup_iso",
        "trustpool_timer",
        "trustpool_timer_iso",
        "poll_timer",
        "shadow_timer",
    },
}

NTC_KEYS: dict[str, set[str]] = {
    "show_logging_other": {"facility", "severity", "mnemonic", "time", "message"},
    "show_clock": {"time", "timezone", "month", "day", "year"},
    "show_logging": {"facility", "severity", "mnemonic", "time"},
    "show_crypto_pki_certificates": {
        "certificate_type",
        "status",
        "serial_number",
        "certificate_usage",
        "issuer_cn",
        "issuer_ou",
        "issuer_o",
        "issuer_l",
        "issuer_st",
        "subject_name",
        "subject_hostname",
        "start_date",
        "end_date",
        "renew_date",
        "associated_trustpoints",
        "storage",
        "crl_distribution_point",
    },
    "show_crypto_session_detail": {
        "interface",
        "session_status",
        "peer",
        "port",
        "fvrf",
        "ivrf",
        "phase1_id",
        "session_id",
        "local_ip",
        "remote_ip",
        "capabilities",
        "conn_id",
        "lifetime",
        "active_sa",
        "origin",
        "uptime",
    },
    "show_crypto_ipsec_sa_detail": {
        "interface",
        "crypto_map_tag",
        "local_addr",
        "current_peer",
        "port",
        "pkts_encaps",
        "pkts_decaps",
        "local_ident_addr",
        "remote_ident_addr",
        "local_crypto_endpoint",
        "remote_crypto_endpoint",
        "current_outbound_spi",
    },
    "dir_other": {"id", "permissions", "size", "date_time", "name", "total_size", "total_free"},
}


def _sum_sections(expected: Any, top: str) -> int:
    return sum(len(v) for v in expected[top].values())


# folder -> (records in the expected parse, records in pkilab's), compared when Genie ships one
COUNTS: dict[str, tuple[Any, Any]] = {
    "show_crypto_isakmp_sa": (lambda e: _sum_sections(e, "isakmp_stats"), lambda r: len(r.sas)),
    "show_crypto_isakmp_sa_detail": (lambda e: _sum_sections(e, "isakmp_stats"), lambda r: len(r.sas)),
    "crypto_pki_server_info_requests": (lambda e: _sum_sections(e, "request"), lambda r: len(r.requests)),
    "show_crypto_key_mypubkey_rsa": (lambda e: len(e["keys"]), lambda r: len(r.keys)),
    "show_crypto_key_mypubkey_ec": (lambda e: len(e["keys"]), lambda r: len(r.keys)),
    "show_crypto_key_mypubkey_all": (lambda e: len(e["keys"]), lambda r: len(r.keys)),
    "show_crypto_pki_trustpoints": (lambda e: len(e["trustpoints"]), lambda r: len(r.trustpoints)),
    "show_crypto_pki_server": (lambda e: len(e["server"]), lambda r: len(r.servers)),
}

# (file stem, key, expected value) pairs a faithful parse cannot reproduce, with the reason.
TOLERATED: dict[tuple[str, str, str], str] = {}

# Genie/ntc keys whose values are not printed verbatim in the output (derived or renamed).
_NOT_VERBATIM = {"true", "false", "none", "ipv4", "ipv6"}


def _leaves(obj: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, str(k))
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _leaves(v, key)
    else:
        yield key, obj


def _ours(result: Any) -> set[str]:
    return {" ".join(str(v).split()).lower() for _, v in _leaves(result.to_dict()) if v is not None and v != ""}


def _found(value: Any, ours: set[str]) -> bool:
    want = " ".join(str(value).split()).lower()  # Genie lower-cases some values ('granted')
    if not want or want.lower() in _NOT_VERBATIM:
        return True
    if want in ours or any(want in o for o in ours) or any(len(o) >= 3 and want.startswith(o) for o in ours):
        return True
    unit = re.fullmatch(r"(-?[\d.]+) ?(?:bytes|seconds|sec|sec ago|msec|ms|hz|bit)", want)  # pkilab keeps the number
    return unit is not None and unit.group(1) in ours


def _check(expected: Any, keys: set[str], ours: set[str], stem: str) -> list[str]:
    missing = []
    for key, value in _leaves(expected):
        wrong = key in keys and not isinstance(value, bool) and not _found(value, ours)
        if wrong and (stem, key, str(value)) not in TOLERATED:
            missing.append(f"{key}={value!r}")
    return missing


def _cases() -> list[Any]:
    return [pytest.param(entry, id=entry["file"]) for entry in INDEX]


@pytest.mark.parametrize("entry", _cases())
def test_corpus_file(entry: dict[str, Any]) -> None:
    path = CORPUS / entry["file"]
    folder = entry["command"]
    result = parse(corpus_command(folder), path.read_text(encoding="utf-8", errors="replace"))
    facts = result.to_dict()
    assert facts, "empty result"
    ours = _ours(result)
    stem = path.name.removesuffix(".txt")
    for exp in entry.get("expected") or []:
        exp_path = path.parent / exp
        if exp.endswith(".expected.py"):
            expected = runpy.run_path(str(exp_path))["expected_output"]
            keys = GENIE_KEYS.get(folder, set())
        elif exp.endswith(".yml"):
            expected = yaml.safe_load(exp_path.read_text())["parsed_sample"]
            keys = NTC_KEYS.get(folder, set())
        else:
            continue
        missing = _check(expected, keys, ours, stem)
        assert not missing, f"{exp}: values not found in pkilab's parse: {missing[:8]}"
        if exp.endswith(".expected.py") and folder in COUNTS:
            count_expected, count_ours = COUNTS[folder]
            assert count_ours(result) == count_expected(expected), f"{exp}: record count differs"


def test_every_folder_resolves_to_a_parser() -> None:
    folders = {entry["command"] for entry in INDEX}
    targets = {folder: match_command(corpus_command(folder)) for folder in folders}
    assert targets["show_crypto_isakmp_sa_detail"] is catalog.SHOW_CRYPTO_ISAKMP_SA_DETAIL
    assert targets["crypto_pki_server_info_crl"] is catalog.SHOW_CRYPTO_PKI_SERVER_CRL
    assert len(folders) == len(targets) == 30


def _parse_file(rel: str) -> Any:
    entry = next(e for e in INDEX if e["file"] == rel)
    return parse(corpus_command(entry["command"]), (CORPUS / rel).read_text(encoding="utf-8", errors="replace"))


def test_fabricated_engine_id_is_unknown_not_invented() -> None:
    # genieparser's IPv6 section prints 'Engine-id:Conn-id =  ????' (INDEX.md: fabricated)
    r = _parse_file(
        "show_crypto_isakmp_sa_detail/genieparser__iosxe__ShowCryptoIsakmpSaDetail__golden_output_isakmp.txt"
    )
    last = r.sas[-1]
    assert (last.family, last.conn_id, last.engine_id, last.engine_conn_id) == ("IPv6", 29494, None, None)


def test_stitched_timer_capture_keeps_the_stray_line() -> None:
    # INDEX.md: a stray 'SESSION CLEANUP' line after three blank lines; it stays in the last section
    r = _parse_file("show_crypto_pki_timers/genieparser__iosxe__ShowCryptoPkiTimerDetail__golden_output_2.txt")
    assert r.timers[-1].label == "SESSION CLEANUP" and r.timers[-1].section == "CS Timers"


def test_flattened_captures_parse_by_content() -> None:
    flat = _parse_file("show_crypto_ipsec_sa_detail/genieparser__iosxe__ShowCryptoIpsecSaDetail__golden_output.txt")
    assert flat.flows and all(f.peer for f in flat.flows)
    pager = _parse_file(
        "show_crypto_pki_certificates/gh-id21591510299__R27_otus_more_pager_interleaved_syslog_FLATTENED.txt"
    )
    assert [c.section for c in pager.certificates] == ["Certificate", "CA Certificate"]
    assert pager.interleaved_log == ("*Feb 27 10:19:24.994: %SYS-5-CONFIG_I: Configured from console by console",)


def test_the_value_check_catches_a_wrong_fact() -> None:
    rel = "show_crypto_isakmp_sa_detail/genieparser__iosxe__ShowCryptoIsakmpSaDetail__golden_output_isakmp_no_ipv6"
    result = _parse_file(rel + ".txt")
    expected = runpy.run_path(str(CORPUS / (rel + ".expected.py")))["expected_output"]
    keys = GENIE_KEYS["show_crypto_isakmp_sa_detail"]
    assert _check(expected, keys, _ours(result), "x") == []
    wrong = dataclasses.replace(result, sas=tuple(dataclasses.replace(sa, dh_group=5) for sa in result.sas))
    assert _check(expected, keys, _ours(wrong), "x") == ["dh_group=16", "dh_group=16"]


def test_damaged_outputs_fail_only_with_parse_error() -> None:
    # A parser meeting something it does not know must say so with ParseError, not crash.
    rnd = random.Random(3)
    junk = ["x", "1", "12 34", "Status:", "Issuer:", "cn=", ":", "  Engine-id:Conn-id =  SW:", "Certificate"]
    junk += ["interface:", "spi: 0x", "#pkts encaps:", "Key name:", "Peer:", "Trustpoint X:", "|", "dst"]
    junk += ["1001 1.1.1.1", "Directory of x", "Log Buffer (10 bytes):", "Serial Number: 0x", "CRL Issuer Name:"]
    refused = 0
    for entry in INDEX:
        lines = (CORPUS / entry["file"]).read_text(encoding="utf-8", errors="replace").split("\n")
        for _ in range(5):
            damaged = list(lines)
            i = rnd.randrange(len(damaged))
            op = rnd.randrange(3)
            if op == 0:
                damaged.insert(i, rnd.choice(junk))
            elif op == 1:
                damaged[i] = damaged[i][: rnd.randrange(len(damaged[i]) + 1)]
            else:
                words = damaged[i].split()
                rnd.shuffle(words)
                damaged[i] = " ".join(words)
            try:
                parse(corpus_command(entry["command"]), "\n".join(damaged))
            except ParseError:
                refused += 1
    assert refused > 100  # the strict parsers noticed much of the damage (lenient ones: logging, dialogs)
