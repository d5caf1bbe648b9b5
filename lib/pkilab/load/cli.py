"""``pkilab load``: virtual branches on this host enroll, tunnel, pass traffic, get revoked and refused.

N branches, each with its own key pair and address, enroll with the testbed's CA over SCEP,
bring up IKEv1 main mode (RSA signatures or a pre-shared key) and quick mode to the testbed's
headend, and ping the host behind it through the tunnel; with --revoke, that share of them is
revoked on the CA, the headend fetches the CRL and clears their SAs, and they must be refused
while the others stay up. A simulated testbed's lab is started here. Results go to
OUT/results.json and OUT/report.html (docs/load.md).

Exit codes: 0 every branch did what it should, 1 some did not, 2 usage or testbed errors,
3 the lab could not be reached or would not do a step of the run (e.g. fetch the CRL).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from pkilab.errors import PkilabError, UserError
from pkilab.load import INFLIGHT

DEFAULT_OUT = Path("reports/load")


def register(sub: Any) -> None:
    """Add ``load`` to the ``pkilab`` command line."""
    p = sub.add_parser(
        "load",
        help="scale-test the headend and CA with virtual branches from this host (docs/load.md)",
        description=(__doc__ or "").split("\n\n")[1].replace("\n", " "),
    )
    p.add_argument("--testbed", type=Path, required=True, metavar="FILE", help="pyATS testbed")
    p.add_argument("--branches", type=int, required=True, metavar="N", help="virtual branches to start")
    p.add_argument(
        "--rate", type=float, default=0.0, metavar="R", help="branches started per second (default: no limit)"
    )
    p.add_argument("--auth", choices=("rsig", "psk"), default="rsig", help="IKE authentication (default rsig)")
    p.add_argument(
        "--grant", choices=("auto", "otp"), default="auto", help="CA grants every request, or one-time passwords"
    )
    p.add_argument("--revoke", type=float, default=0.0, metavar="PCT", help="percent of branches to revoke")
    p.add_argument("--duration", type=float, default=0.0, metavar="S", help="hold the tunnels with traffic S seconds")
    at_once = f"handshakes negotiating at once (default {INFLIGHT})"
    p.add_argument("--inflight", type=int, default=INFLIGHT, metavar="N", help=at_once)
    p.add_argument(
        "--attach",
        metavar="HOST:PORT",
        help="use a simulated lab already running elsewhere through its link port (pkilab sim up --link-port)",
    )
    p.add_argument("--plan", type=Path, default=None, metavar="FILE", help="lab plan settings overriding the testbed's")
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help=f"results directory (default {DEFAULT_OUT})"
    )
    p.set_defaults(func=run_load)


def _check(args: argparse.Namespace) -> None:
    checks = (
        (args.branches >= 1, f"--branches must be at least 1, not {args.branches}"),
        (args.rate >= 0, f"--rate must not be negative, not {args.rate:g}"),
        (0 <= args.revoke <= 100, f"--revoke is a percentage 0-100, not {args.revoke:g}"),
        (args.duration >= 0, f"--duration must not be negative, not {args.duration:g}"),
        (args.inflight >= 1, f"--inflight must be at least 1, not {args.inflight}"),
    )
    for ok, message in checks:
        if not ok:
            raise UserError(message)


def _attach(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--attach {text!r}: expected HOST:PORT of a link port, e.g. 127.0.0.1:7500")
    return host, int(port)


def run_load(args: argparse.Namespace) -> int:
    """Run ``pkilab load``; return the exit code."""
    from pkilab.load import report, results
    from pkilab.load.progress import Progress
    from pkilab.load.run import EXIT_FAILED, EXIT_OK, EXIT_PREFLIGHT, LoadOptions, PreflightError, execute
    from pkilab.plan import LabPlan, load_plan_file
    from pkilab.sim.faults import FAULTS
    from pkilab.testbed import load

    _check(args)
    # The simulated lab's SSH server may still echo to a session this command just closed; asyncio's
    # "socket.send() raised exception." about it is noise here.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    if not args.testbed.is_file():
        raise UserError(f"{args.testbed}: no such testbed file")
    testbed = load(args.testbed, known_faults=FAULTS)
    plan = LabPlan.from_testbed(testbed, load_plan_file(args.plan) if args.plan else None)
    options = LoadOptions(args.branches, args.rate, args.auth, args.grant, args.revoke, args.duration, args.inflight)
    for name in (results.RESULTS_NAME, report.REPORT_NAME):
        (args.out / name).unlink(missing_ok=True)  # a stale report must never pass for this run's
    progress = Progress(args.branches, sys.stderr, sys.stderr.isatty())
    try:
        run = execute(plan, testbed, options, lambda f: progress.update(f.counts if f else None), _attach(args.attach))
    except UserError:
        raise
    except (PreflightError, PkilabError) as exc:
        # The lab could not be reached, or went away, or would not do a step (lab trouble, not a
        # branch that failed): one line; the lab was put back as it was found.
        progress.finish()
        print(f"pkilab: error: {exc}", file=sys.stderr)
        return EXIT_PREFLIGHT
    finally:
        progress.finish()
    doc = run.document()
    path = results.write(args.out, doc)
    page = report.write(args.out, doc)
    summary = " ".join(f"{k}={doc[k]}" for k in results.RESULT_COUNTS)
    timing = (
        f"handshakes/s={doc['handshakes_per_s']} enroll_p50={doc['enroll_p50_ms']}ms "
        f"handshake_p50={doc['handshake_p50_ms']}ms p99={doc['handshake_p99_ms']}ms "
        f"branch_cpu={doc['branch_cpu_ms_per_handshake']}ms/handshake ceiling={doc['ceiling_ms_per_handshake']}ms "
        f"share={doc['ceiling_share_pct']}%"
    )
    print(f"pkilab load: {'PASS' if run.result.ok else 'FAIL'} {summary} {timing}")
    for problem in run.result.problems:
        print(f"  {problem}")
    print(f"results: {path}  report: {page}")
    return EXIT_OK if run.result.ok else EXIT_FAILED
