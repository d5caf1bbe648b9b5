"""The raw ceiling does each crypto profile's public-key work, and the run's figures set it against the branches'."""

from __future__ import annotations

from collections import Counter

import pytest

from pkilab.load.ceiling import COMPARISON_FIELDS, Ceiling, CeilingTiming, comparison, time_ceiling


class Counted(Ceiling):
    """A ceiling that counts its operations on the way through."""

    def __init__(self, group: int, modulus: int | None) -> None:
        super().__init__(group, modulus)
        self.done: Counter[str] = Counter()

    def sign(self) -> None:
        self.done["sign"] += 1
        super().sign()

    def verify_peer(self, persistent: bool) -> None:
        self.done["verify"] += 1
        super().verify_peer(persistent)

    def verify_certificate(self) -> None:
        self.done["verify"] += 1
        super().verify_certificate()

    def exchange(self, persistent: bool) -> None:
        self.done["dh"] += 1
        super().exchange(persistent)


@pytest.mark.parametrize(
    ("group", "modulus", "engine"),
    [(14, 2048, "OpenSSL"), (5, 1024, "OpenSSL"), (2, 1024, "Python pow"), (1, 1024, "Python pow")],
)
@pytest.mark.parametrize("psk", [False, True], ids=["rsig", "psk"])
def test_each_profile_does_its_handshakes_work_and_psk_no_rsa(group: int, modulus: int, engine: str, psk: bool) -> None:
    ceiling = Counted(group, None if psk else modulus)
    assert ceiling.cpu(3) > 0 and ceiling.cpu(2, persistent=True) > 0
    rsa = {} if psk else {"sign": 5, "verify": 10}  # one signature and two verifications a handshake
    assert ceiling.done == Counter({"dh": 5, **rsa})
    assert engine in ceiling.work and f"group {group}" in ceiling.work
    assert ("RSA" in ceiling.work) is not psk


def test_a_pre_shared_key_ceiling_has_no_rsa_to_run() -> None:
    ceiling = Ceiling.for_run(2048, 14, psk=True)
    assert ceiling.modulus is None and ceiling.rsa is None
    with pytest.raises(AssertionError):
        ceiling.sign()
    assert Ceiling.for_run(1024, 2, psk=False).modulus == 1024


def test_the_ceiling_checks_real_signatures() -> None:
    from cryptography.exceptions import InvalidSignature

    ceiling = Ceiling(2, 1024)
    assert ceiling.rsa is not None
    ceiling.verify_peer(False)
    ceiling.rsa.digest = bytes(32)  # no longer what the headend signed
    with pytest.raises(InvalidSignature):
        ceiling.verify_peer(False)


def test_timing_takes_as_many_handshakes_as_the_run_did_capped_by_the_budget() -> None:
    ceiling = Ceiling(2, 1024)
    timing = time_ceiling(ceiling, 7)
    assert timing.reps == 7 and timing.ms > 0 and timing.kept_ms > 0 and timing.work == ceiling.work
    assert time_ceiling(ceiling, 1000, budget=1e-9).reps == 1  # the cap: no time for more than one


def test_comparison_fields_are_consistent_and_none_without_handshakes() -> None:
    timing = CeilingTiming(0.9, 0.85, 100, "work")
    got = comparison(0.36, 200, timing)  # 1.8 ms of IKE CPU a handshake
    assert got == {
        "branch_cpu_ms_per_handshake": 1.8,
        "ceiling_ms_per_handshake": 0.9,
        "ceiling_kept_ms_per_handshake": 0.85,
        "ceiling_share_pct": 50.0,
    }
    assert tuple(got) == COMPARISON_FIELDS
    for empty in (comparison(0.0, 0, timing), comparison(0.36, 200, None)):
        assert empty == dict.fromkeys(COMPARISON_FIELDS)
