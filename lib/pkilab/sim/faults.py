"""Fault switches: ways a simulated router can be told to deviate from IOS, one behaviour each.

Set per device in the testbed as ``custom.sim.faults: [NAME, …]``. They exist only to prove
that the certification suites catch the deviation; ``pkilab sim faults`` lists them.
"""

from __future__ import annotations

#: name -> what it breaks. Each entry is implemented where the behaviour lives.
FAULTS: dict[str, str] = {
    "clock-ignores-ntp": "the router never synchronizes its clock from NTP (stays unauthoritative)",
    "wrong-ca-fingerprint": "crypto pki authenticate shows a fingerprint that is not the CA certificate's",
    "no-renew-date": "show crypto pki certificates omits the renew date set by auto-enroll",
    "ca-starts-without-clock": "the certificate server starts although the clock is not authoritative",
    "revoked-serial-off-crl": "the certificate server leaves revoked serials off the CRL it publishes",
    "reused-otp-accepted": "the certificate server accepts a one-time enrollment password again",
    "serial-reset-on-restore": "a restored certificate server restarts its serial numbers at 1",
    "ignore-crl": "the router accepts a revoked peer certificate (never consults the CRL)",
    "accept-expired-certificates": "the router accepts peer certificates outside their validity dates",
    "psk-survives-removal": "a removed crypto isakmp key keeps authenticating its peer",
    "crl-fetch-failure-admits": "under revocation-check crl, a peer whose CRL cannot be fetched is admitted "
    "(as if crl none)",
    "isakmp-sa-misprinted": 'show crypto isakmp sa prints each SA\'s state in words no IOS prints ("QM idle")',
}
