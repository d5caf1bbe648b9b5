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
}
