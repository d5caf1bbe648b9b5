"""What a load run measured and whether every branch did what it should (``results.json``).

Counts (``RESULT_COUNTS``):

* ``branches``: virtual branches started; ``enrolled``: certificates obtained over SCEP (0 with psk);
* ``up``: branches whose first tunnel came up; ``traffic_ok``: branches whose echoes came back through it;
* ``revoked``: branches whose certificates were revoked; ``refused``: those the headend then refused;
* ``failed``: branches that did not end where they should (not passing traffic, or a revoked
  branch let in again, or not refused).

Timings: ``handshakes_per_s`` (first tunnels completed per second, from the first main mode
message to the last tunnel), ``keygen_p50_ms`` (key pair generation), ``enroll_p50_ms`` and
``enroll_p99_ms`` (SCEP request to certificate), ``handshake_p50_ms``, ``handshake_p90_ms``,
``handshake_p99_ms`` and ``handshake_max_ms`` (first main mode message to the installed ESP SAs).

The branch side against the raw ceiling (:mod:`pkilab.load.ceiling`, None when no handshake
completed):

* ``branch_cpu_ms_per_handshake``: the loop thread's CPU inside the branches' IKE work (starting
  main mode, IKE packets received, IKE timers; :class:`pkilab.load.fleet.IkeCpu`) divided by the
  tunnels the branches brought up (every installed quick mode). The work of refused and failed
  attempts is in the CPU but not in the count, so it is charged to the handshakes that completed;
* ``ceiling_ms_per_handshake``: one handshake's branch-side public-key work of the run's crypto,
  timed alone in the same process at the end of the run (median of chunks);
  ``ceiling_kept_ms_per_handshake``: the same with the key objects kept instead of loaded;
* ``ceiling_share_pct``: 100 * ceiling ms / branch ms, the branch side's rate as a share of the
  ceiling's.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pkilab.load.branch import VirtualBranch
from pkilab.load.ceiling import CeilingTiming, comparison
from pkilab.load.fleet import Fleet
from pkilab.load.lab import HeadendView
from pkilab.load.states import EXPECTED, Phase

RESULTS_NAME = "results.json"
RESULT_COUNTS = ("branches", "enrolled", "up", "traffic_ok", "revoked", "refused", "failed")


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000.0, 2)


@dataclass(frozen=True)
class Latencies:
    """Per-branch durations in seconds (only branches that got that far)."""

    keygen: tuple[float, ...]
    enroll: tuple[float, ...]
    handshake: tuple[float, ...]

    @classmethod
    def of(cls, branches: Sequence[VirtualBranch]) -> Latencies:
        """Collect the durations from the branches' milestones."""

        def spans(pairs: list[tuple[float | None, float | None]]) -> tuple[float, ...]:
            return tuple(b - a for a, b in pairs if a is not None and b is not None)

        return cls(
            keygen=tuple(b.at.keygen for b in branches if b.at.keygen is not None),
            enroll=spans([(b.at.enroll_sent, b.at.enrolled) for b in branches]),
            handshake=spans([(b.at.initiated, b.at.up) for b in branches]),
        )


@dataclass
class Outcome:
    """The run's figures and verdict."""

    counts: dict[str, int]
    timings: dict[str, float | None]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every branch did what it should and the headend agrees."""
        return not self.problems


def outcome(
    fleet: Fleet,
    revoked: Sequence[VirtualBranch],
    view: HeadendView | None,
    notes: Sequence[str],
    ceiling: CeilingTiming | None = None,
) -> Outcome:
    """Count, time and judge a finished run (``ceiling``: the raw ceiling timed after it, if it was)."""
    branches = fleet.branches
    chosen = {b.index for b in revoked}
    wrong = [b for b in branches if b.phase is not EXPECTED[b.index in chosen]]
    lat = Latencies.of(branches)
    ups = [b.at.up for b in branches if b.at.up is not None]
    starts = [t for b in branches if (t := b.at.initiated) is not None]
    window = (max(ups) - min(starts)) if ups and starts else 0.0
    counts = {
        "branches": len(branches),
        "enrolled": sum(1 for b in branches if b.at.enrolled is not None),
        "up": len(ups),
        "traffic_ok": sum(1 for b in branches if b.at.traffic is not None),
        "revoked": len(revoked),
        "refused": sum(1 for b in revoked if b.phase is Phase.REFUSED),
        "failed": len(wrong),
    }
    timings = {
        "handshakes_per_s": round(len(ups) / window, 2) if window > 0 else None,
        "keygen_p50_ms": _ms(percentile(lat.keygen, 50)),
        "enroll_p50_ms": _ms(percentile(lat.enroll, 50)),
        "enroll_p99_ms": _ms(percentile(lat.enroll, 99)),
        "handshake_p50_ms": _ms(percentile(lat.handshake, 50)),
        "handshake_p90_ms": _ms(percentile(lat.handshake, 90)),
        "handshake_p99_ms": _ms(percentile(lat.handshake, 99)),
        "handshake_max_ms": _ms(max(lat.handshake, default=None)),
        **comparison(fleet.ike.seconds, fleet.counts.handshakes, ceiling),
    }
    result = Outcome(counts, timings)
    for b in wrong[:20]:
        want = EXPECTED[b.index in chosen].value
        result.problems.append(
            f"{b.name} ({b.address}): {b.phase.value}, not {want}{': ' + b.reason if b.reason else ''}"
        )
    if len(wrong) > 20:
        result.problems.append(f"… and {len(wrong) - 20} more branches not where they should be")
    result.problems += list(notes)
    if view is not None:
        result.problems += _disagreements(view, branches, chosen)
    return result


def _disagreements(view: HeadendView, branches: Sequence[VirtualBranch], chosen: set[int]) -> list[str]:
    """Where the headend's own view differs from what the branches saw."""
    passing = sum(1 for b in branches if b.phase is Phase.PASSING)
    refused = {b.address for b in branches if b.index in chosen}
    out = []
    if view.isakmp_up != passing:
        out.append(f"headend: show crypto isakmp sa has {view.isakmp_up} QM_IDLE SAs with branches, expected {passing}")
    if view.sessions_up != passing:
        out.append(f"headend: show crypto session has {view.sessions_up} UP-ACTIVE branch sessions, expected {passing}")
    unlogged = sorted(refused - view.refused_logged)
    if unlogged:
        out.append(f"headend: no IKMP_INVAL_CERT logged for {len(unlogged)} revoked branch(es), e.g. {unlogged[0]}")
    return out


def branch_rows(branches: Sequence[VirtualBranch], chosen: set[int]) -> list[dict[str, Any]]:
    """One JSON row per branch: where it ended and how long each step took."""
    rows = []
    for b in branches:
        at = b.at
        rows.append(
            {
                "name": b.name,
                "address": b.address,
                "lan": b.lan,
                "revoked": b.index in chosen,
                "phase": b.phase.value,
                "reason": b.reason or None,
                "serial": f"{b.cert.serial_number:X}" if b.cert is not None else None,
                "enroll_ms": _ms(at.enrolled - at.enroll_sent) if at.enrolled and at.enroll_sent else None,
                "handshake_ms": _ms(at.up - at.initiated) if at.up and at.initiated else None,
                "handshakes": b.handshakes,
                "echoes": [b.echoes_sent, b.echoes_answered],
                "refusals": b.refusals[:5],
                "errors": b.errors[:5],
            }
        )
    return rows


def write(out: Path, document: dict[str, Any]) -> Path:
    """Write ``results.json`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / RESULTS_NAME
    path.write_text(json.dumps(document, indent=1, default=_json_default) + "\n")
    return path


def _json_default(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[call-overload]
    raise TypeError(f"{type(value).__name__} is not JSON")
