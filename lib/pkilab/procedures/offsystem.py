"""The seed's "Using TFTP/HTTP Server for Off-System Storage of CA Files", device side.

The host side (the TFTP/HTTP server and its pre-created files) is :mod:`pkilab.hostsrv`.
"""

from __future__ import annotations

from pkilab.config import values as v
from pkilab.device.session import Answer, Session
from pkilab.parsers import parse_as
from pkilab.parsers.server import CrlList
from pkilab.procedures.pki import REAL, ProcedureError, export_pem

SERVER_NAME = "pkilab-hostsrv"  # the seed's "harry.cisco.com": an ``ip host`` name for the file server


def ca_files(ca_name: str, serials: int = 3) -> list[str]:
    """The files the seed's step 1 pre-creates (``touch``) for the CA ``ca_name``."""
    return [f"{n}.cnm" for n in range(1, serials + 1)] + [
        f"{ca_name}#6101CA.cer",
        f"{ca_name}.crl",
        f"{ca_name}.prv",
        f"{ca_name}.pub",
        f"{ca_name}.ser",
        "startup-confg",
    ]


def host_line(address: str, name: str = SERVER_NAME) -> str:
    """``ip host NAME ADDRESS``: how the routers reach the file server (seed step 2b)."""
    return f"ip host {v.word(name, 'hostsrv.name')} {v.ipv4(address, 'hostsrv.address')}"


def copy_to_tftp(session: Session, source: str, url: str, timeout: float = REAL.transfer) -> str:
    """``copy SOURCE tftp://HOST/PATH`` accepting the proposed host and file name (seed step 5).

    ``timeout``: as long as IOS's TFTP client may take with its retries (``Deadlines.transfer``).
    """
    return session.dialog(
        f"copy {v.word(source, 'source')} {v.url(url, 'destination')}",
        [Answer(r"Address or name of remote host \[[^\]]*\]\?", ""), Answer(r"Destination filename \[[^\]]*\]\?", "")],
        timeout=timeout,
        check=False,
    )


def router_certificate_pem(session: Session, trustpoint: str, passphrase: str) -> str:
    """The router certificate of ``trustpoint`` as PEM: the one after ``% Certificate:`` in the export."""
    import re

    out = export_pem(session, trustpoint, passphrase)
    match = re.search(r"% Certificate:\s*(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----)", out, re.S)
    if match is None:
        raise ProcedureError(f"{session.name}: no router certificate in the export of {trustpoint}")
    return match.group(1)


def crl_request(session: Session, trustpoint: str, timeout: float = REAL.transfer) -> str:
    """``crypto pki crl request NAME``: fetch the CRL now (the certificate's CDP, else SCEP GetCRL).

    The prompt comes back when the fetch has succeeded or failed, which with IOS's HTTP timeouts
    and retries can take longer than a session's usual wait (``Deadlines.transfer``).
    """
    return session.run(f"crypto pki crl request {v.word(trustpoint, 'trustpoint.name')}", timeout=timeout)


def crls(session: Session) -> CrlList:
    """``show crypto pki crls``, parsed."""
    return parse_as(CrlList, "show crypto pki crls", session.run("show crypto pki crls"))
