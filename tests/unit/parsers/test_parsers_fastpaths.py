"""The fast block paths (isakmp detail, certificates) give exactly what the line readers give."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from pkilab.parsers.certificates import CertificateTable, _LineReader, parse_certificates
from pkilab.parsers.isakmp import IsakmpSaDetailTable, _DetailReader, parse_isakmp_sa_detail
from unit.parsers import parser_seed_outputs as seed

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
# bench/ is a folder of scripts outside mypy's path: its module is imported by name.
bench = importlib.import_module("parsers")


def certs_by_lines(text: str) -> CertificateTable:
    reader = _LineReader()
    for no, raw in enumerate(text.split("\n"), 1):
        reader.feed(raw, no)
    reader.flush()
    return CertificateTable(tuple(reader.certs), tuple(reader.interleaved))


def detail_by_lines(text: str) -> IsakmpSaDetailTable:
    reader = _DetailReader()
    for no, raw in enumerate(text.split("\n"), 1):
        reader.line(no, raw)
    reader.finish()
    return IsakmpSaDetailTable(tuple(reader.sas))


@pytest.mark.parametrize("text", [seed.CA_CERTIFICATES, bench.certificates_text(50)])
def test_certificate_fast_path_matches_line_reader(text: str) -> None:
    assert parse_certificates(text) == certs_by_lines(text)


@pytest.mark.parametrize("text", [seed.ISAKMP_SA_DETAIL_PSK, seed.ISAKMP_SA_DETAIL_HW, bench.isakmp_detail_text(200)])
def test_isakmp_fast_path_matches_line_reader(text: str) -> None:
    assert parse_isakmp_sa_detail(text) == detail_by_lines(text)


def test_bench_inputs_take_the_fast_paths() -> None:
    # the bench must measure the code users run on 15.x output, not a fallback
    from pkilab.parsers import certificates, isakmp

    text = bench.certificates_text(5)
    assert all(certificates._CERT_BLOCK.fullmatch(b) for b in text.split("\n\n") if b)
    sas = isakmp.parse_isakmp_sa_detail(bench.isakmp_detail_text(5)).sas
    assert len(sas) == 5 and all(sa.engine_id == "SW" for sa in sas)
