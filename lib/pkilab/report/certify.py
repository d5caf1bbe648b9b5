"""``pkilab certify``: run the certification suites, show live progress, write the reports.

The suites — pkilab's own, shipped with it, unless --suites names others — run in a pytest
subprocess, so that the pkilab plugin starts the simulated lab itself, exactly as under plain
pytest or CI. Once pytest has finished, the JUnit file is enriched in place and results.json,
report.html and report.md are written next to it (default: ./reports, in the current
directory); a summary table is printed. An interrupted run (Ctrl-C, SIGINT, SIGTERM, SIGHUP)
unwinds, stops its lab and still writes every report, marked interrupted, with the tests that
did not run.

Exit codes: 0 every test passed; 1 a test failed or errored (or collection errors cut the run
short); 2 usage or testbed errors (the pkilab plugin reports a bad testbed as a pytest usage
error, printed here as one line); 128+N interrupted by signal N: 130 SIGINT (Ctrl-C), 143
SIGTERM, 129 SIGHUP.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from junitparser import JUnitXml

from pkilab.errors import TestbedError, UserError
from pkilab.junitprops import PROP_TESTBED, PROP_TESTBED_FILE
from pkilab.preflight import EXIT_PREFLIGHT
from pkilab.report.document import (
    HTML_NAME,
    JUNIT_NAME,
    MARKDOWN_NAME,
    RESULTS_NAME,
    build_report,
)
from pkilab.report.incomplete import junit_from_log, mark_interrupted
from pkilab.report.junit import enrich_junit, load_junit, properties, suites
from pkilab.report.masking import build_masker
from pkilab.report.model import OUTCOME_LABELS, OUTCOMES, RunMetadata, TestResult
from pkilab.report.runlog import RUN_LOG_OPTION, RunLog, read_run_log
from pkilab.report.runner import PytestRun, run_pytest
from pkilab.report.write import write_reports
from pkilab.resources import suites_dir
from pkilab.secrets import Masker
from pkilab.yamlsafe import load_file

DEFAULT_REPORTS = Path("reports")
PROGRESS_PLUGIN = "pkilab.report.progress"
PORT_OFFSET_ENV = "PKILAB_PORT_OFFSET"

# pytest's exit codes (pytest.ExitCode), named here so the mapping reads as a table.
_PYTEST_OK, _PYTEST_FAILED, _PYTEST_INTERRUPTED, _PYTEST_INTERNAL, _PYTEST_USAGE, _PYTEST_NO_TESTS = range(6)
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_SIGNAL_BASE = 128  # + the signal number, as a shell reports a process a signal ended


@dataclass(frozen=True)
class CertifyOptions:
    """What ``pkilab certify`` runs, and where it writes (``suites`` empty: pkilab's own)."""

    testbed: Path | None = None
    reports: Path = DEFAULT_REPORTS
    suites: tuple[str, ...] = ()
    workers: int | None = None
    pytest_args: tuple[str, ...] = ()
    title: str = "pkilab certification run"
    port_base: int | None = None
    verbose: bool = False


def register(subparsers: Any) -> None:
    """Add ``certify`` to the ``pkilab`` command line."""
    from pkilab.cli import describe

    parser = subparsers.add_parser(
        "certify",
        help="run the certification suites and write JUnit, results.json, HTML and Markdown reports",
        description=describe(__doc__),
        epilog=describe(__doc__, "Exit codes:"),
        usage="pkilab certify [--testbed FILE] [--reports DIR] [--suites PATH] [-n N] [--port-base N] [--via NAME] "
        "[--backend netmiko|unicon] [-v] [-- PYTEST-ARGS...]",
    )
    parser.add_argument(
        "--testbed",
        type=Path,
        metavar="FILE",
        help="pyATS testbed (default: $PKILAB_TESTBED, else pkilab's simulated lab)",
    )
    parser.add_argument(
        "--reports",
        type=Path,
        default=DEFAULT_REPORTS,
        metavar="DIR",
        help="reports directory (default: ./reports, in the current directory)",
    )
    parser.add_argument(
        "--suites",
        action="append",
        metavar="PATH",
        help=f"suite directory or file given to pytest (repeatable; default: pkilab's own, {suites_dir()})",
    )
    parser.add_argument(
        "-n", "--workers", type=int, metavar="N", help="run on N pytest-xdist workers with --dist loadgroup"
    )
    parser.add_argument(
        "--port-base",
        type=int,
        metavar="N",
        help="simulated lab: its ports start at N (each xdist worker's lab 100 higher than the last)",
    )
    parser.add_argument("--title", default=CertifyOptions.title, help="report title")
    parser.add_argument("--via", metavar="NAME", help="connection every device is reached by (pytest --via)")
    parser.add_argument("--backend", choices=("netmiko", "unicon"), help="session library (pytest --backend)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the pytest command line first")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: passed to pytest as is")
    parser.set_defaults(func=run_certify)


def run_certify(args: argparse.Namespace) -> int:
    """Run ``pkilab certify`` from parsed arguments; return the exit code."""
    extra = list(args.pytest_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    elif extra:
        raise UserError(f"unexpected argument {extra[0]!r} (pytest arguments go after --)")
    for option in ("via", "backend"):  # passed on to the pkilab pytest plugin
        if getattr(args, option, None):
            extra = [f"--{option}", getattr(args, option), *extra]
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be at least 1, not {args.workers}")
    options = CertifyOptions(
        testbed=args.testbed,
        reports=args.reports,
        suites=tuple(args.suites or ()),
        workers=args.workers,
        pytest_args=tuple(extra),
        title=args.title,
        port_base=args.port_base,
        verbose=args.verbose,
    )
    return certify(options)


def certify(options: CertifyOptions, out: IO[str] | None = None) -> int:
    """Run the suites as ``options`` say, write the reports and return the exit code.

    Raises:
        TestbedError: the testbed file is missing or is not YAML.
        UserError: a suite path or --port-base is wrong.
    """
    out = out or sys.stdout
    if options.testbed is not None and not options.testbed.is_file():
        raise TestbedError(str(options.testbed), "no such file")
    for suite in options.suites or (str(suites_dir()),):
        if not Path(suite.split("::")[0]).exists():
            raise UserError(f"{suite}: no such suite file or directory")
    testbed = options.testbed or default_testbed()
    masker = build_masker([testbed] if testbed else [])
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if options.port_base is not None:
        env[PORT_OFFSET_ENV] = str(_port_offset(testbed, options.port_base))
    options.reports.mkdir(parents=True, exist_ok=True)
    for name in (JUNIT_NAME, RESULTS_NAME, HTML_NAME, MARKDOWN_NAME):
        # A stale report from an earlier run must never pass for this one's.
        (options.reports / name).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="pkilab-certify-") as tmp:
        log_path = Path(tmp) / "run.jsonl"
        command = pytest_command(options, log_path)
        if options.verbose:
            print(f"pkilab certify: {' '.join(command[2:])}", file=out, flush=True)
        run = run_pytest(command, masker, out, env)
        log = read_run_log(log_path)
    # The lab plan comes from the run itself (its log): loading the testbed here again would double the start-up.
    metadata = RunMetadata(suite={**(_testbed_properties(testbed) if testbed else {}), **log.suite})
    return _conclude(options, run, log, masker, metadata, out)


def _conclude(
    options: CertifyOptions, run: PytestRun, log: RunLog, masker: Masker, metadata: RunMetadata, out: IO[str]
) -> int:
    """Write the reports of a finished (or interrupted) pytest run; return the exit code."""
    interrupted = run.received.name if run.received else log.interrupted
    if run.code == _PYTEST_USAGE and not interrupted:
        print(f"pkilab: error: {masker.mask(usage_error_line(run.stderr))}", file=sys.stderr)
        return EXIT_USAGE
    if run.code == EXIT_PREFLIGHT and "pre-flight:" in run.stderr:
        # The lab could not be reached or identified: no test ran, none failed.
        print(f"pkilab: error: {masker.mask(usage_error_line(run.stderr))}", file=sys.stderr)
        return EXIT_PREFLIGHT
    if run.stderr.strip():
        sys.stderr.write(masker.mask(run.stderr))
    junit = options.reports / JUNIT_NAME
    if junit.is_file():
        xml = load_junit(junit)
    elif interrupted or log.finished:
        xml = junit_from_log(log)  # pytest was killed before it wrote its own
    else:
        print(f"pkilab: error: pytest exited with {run.code} and wrote no {junit}", file=sys.stderr)
        return EXIT_FAILED
    results = write_run_reports(xml, options.reports, masker, metadata, options.title, log, interrupted)
    print_summary(results, options.reports, out, masker, interrupted)
    if interrupted:
        return EXIT_SIGNAL_BASE + _signal_number(interrupted)
    if run.code == _PYTEST_NO_TESTS:
        where = ", ".join(options.suites) or str(suites_dir())
        print(f"pkilab: error: no tests collected from {where}", file=sys.stderr)
        return EXIT_USAGE
    failed = any(r.outcome in ("failed", "error") for r in results)
    return EXIT_OK if run.code == _PYTEST_OK and not failed else EXIT_FAILED


def _signal_number(name: str) -> int:
    try:
        return int(signal.Signals[name])
    except KeyError:
        return int(signal.SIGINT)


def default_testbed() -> Path | None:
    """Return the testbed the pkilab plugin uses when ``--testbed`` is not given, if it exists.

    ``certify`` reads it only for its secrets (to mask them) and its name; the plugin itself
    resolves the default again inside pytest.
    """
    from pkilab.plugin import DEFAULT_TESTBED

    path = Path(os.environ.get("PKILAB_TESTBED") or DEFAULT_TESTBED)
    return path if path.is_file() else None


def _port_offset(testbed: Path | None, base: int) -> int:
    from pkilab.sim.cli import port_offset
    from pkilab.testbed import load

    if testbed is None:
        raise UserError("--port-base: no testbed (give --testbed)")
    return port_offset(load(testbed), base)


def pytest_command(options: CertifyOptions, run_log: Path) -> list[str]:
    """Return the pytest command line of a certification run."""
    own = not options.suites
    command = [sys.executable, "-m", "pytest", *(options.suites or (str(suites_dir()),))]
    if own:
        # Node ids read suites/test_….py wherever pkilab is installed, and whatever the directory.
        command += ["--rootdir", str(suites_dir().parent)]
    if options.testbed is not None:
        command += ["--testbed", str(options.testbed)]
    command += [
        f"--junitxml={options.reports / JUNIT_NAME}",
        # The project's pytest settings, for suites run outside pkilab's checkout (no ini file).
        "-p",
        "no:cacheprovider",
        "--strict-markers",
        "-o",
        "xfail_strict=true",
        "-o",
        "junit_family=xunit2",
        # Failed tests' output (where the plugin puts the device transcript) into system-out.
        "-o",
        "junit_logging=system-out",
        "-o",
        "junit_log_passing_tests=false",
        "-p",
        PROGRESS_PLUGIN,
        f"{RUN_LOG_OPTION}={run_log}",
        # The progress plugin prints one line per test and the warnings; pytest's letters,
        # percentages and failure sections would interleave with it (failures are in the reports).
        "-q",
        "--no-header",
        "--no-summary",
        "-o",
        "console_output_style=classic",
    ]
    if options.workers is not None:
        command += ["-n", str(options.workers), "--dist", "loadgroup"]
    return command + list(options.pytest_args)


def usage_error_line(stderr: str) -> str:
    """Return the one line saying what pytest (or the pkilab plugin) rejected.

    The plugin stops a run on a bad testbed with ``pytest.exit(…, returncode=4)``, which pytest
    prints as ``Exit: pkilab: testbed error: …``; pytest's own usage errors are ``ERROR: …``
    lines, argparse's ``…: error: …``.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Exit: "):
            return line[len("Exit: ") :].removeprefix("pkilab: ")
    for line in lines:
        if ": error: " in line and not line.startswith("ERROR: usage:"):
            return line.split(": error: ", 1)[1]
    for line in lines:
        if line.startswith("ERROR:") and not line.startswith("ERROR: usage:"):
            return line[len("ERROR:") :].strip()
    return lines[-1] if lines else "pytest rejected its arguments"


def _testbed_properties(path: Path) -> dict[str, str]:
    """Return the suite properties ``certify`` knows without the plugin: testbed name and file.

    A fallback for a run that stopped before its plugin logged its own (:attr:`RunLog.suite`).
    """
    try:
        data = load_file(path)
    except TestbedError:
        data = None  # build_masker reports an unreadable testbed with its reason
    name = path.stem
    if isinstance(data, dict) and isinstance(data.get("testbed"), dict):
        name = str(data["testbed"].get("name") or name)
    return {PROP_TESTBED: name, PROP_TESTBED_FILE: str(path)}


def write_run_reports(
    xml: JUnitXml,
    reports: Path,
    masker: Masker,
    metadata: RunMetadata,
    title: str,
    log: RunLog | None = None,
    interrupted: str | None = None,
) -> list[TestResult]:
    """Enrich ``xml`` (marked interrupted when it was), write every report into ``reports``; return the results."""
    first_suite = next((properties(s) for s in suites(xml)), {})
    label = first_suite.get(PROP_TESTBED) or metadata.suite.get(PROP_TESTBED) or reports.name
    xml = enrich_junit(xml, masker, metadata, run=label)
    if interrupted:
        xml = mark_interrupted(xml, log or RunLog(), interrupted)
    report = build_report([(label, str(reports / JUNIT_NAME), xml)], title=title)
    write_reports(report, reports, masker, junit=xml)
    return list(report.results)


def print_summary(
    results: Sequence[TestResult], reports: Path, out: IO[str], masker: Masker, interrupted: str | None = None
) -> None:
    """Print the per-module summary table, the failed and not-run tests and where the reports are."""
    shown = [o for o in OUTCOMES if o != "notrun" or any(r.outcome == o for r in results)]
    rows: dict[str, dict[str, float]] = {}
    for r in results:
        row = rows.setdefault(r.nodeid.split("::")[0], dict.fromkeys((*OUTCOMES, "time"), 0.0))
        row[r.outcome] += 1
        row["time"] += r.duration
    width = max([len("Total"), len("Suite"), *(len(k) for k in rows)])
    heads = [OUTCOME_LABELS[o].capitalize() for o in shown]
    header = f"{'Suite':<{width}}  " + " ".join(f"{h:>7}" for h in heads) + f" {'Time':>8}"
    lines = ["", "Summary", header, "-" * len(header)]
    total = dict.fromkeys((*OUTCOMES, "time"), 0.0)
    for name, row in rows.items():
        lines.append(_summary_line(name, row, width, shown))
        for key in total:
            total[key] += row[key]
    lines += ["-" * len(header), _summary_line("Total", total, width, shown)]
    bad = [r for r in results if r.outcome in ("failed", "error")]
    if bad:
        lines += ["", "Failed:"]
        for r in bad:
            where = f" [{', '.join(r.devices)}]" if r.devices else ""
            first = (r.message or "").splitlines()[0] if r.message else ""
            lines.append(f"  {r.outcome.upper():<6} {r.nodeid}{where}  {first}")
    if interrupted:
        not_run = [r for r in results if r.outcome == "notrun"]
        lines += ["", f"INTERRUPTED ({interrupted}): {len(not_run)} of {len(results)} tests did not run or finish:"]
        lines += [f"  NOT RUN {r.nodeid}" for r in not_run]
    lines += [
        "",
        "Reports: " + ", ".join(str(reports / n) for n in (JUNIT_NAME, RESULTS_NAME, HTML_NAME, MARKDOWN_NAME)),
    ]
    print(masker.mask("\n".join(lines)), file=out, flush=True)


def _summary_line(name: str, row: dict[str, float], width: int, shown: Sequence[str]) -> str:
    return f"{name:<{width}}  " + " ".join(f"{int(row[o]):>7}" for o in shown) + f" {row['time']:>7.1f}s"
