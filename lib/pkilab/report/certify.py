"""``pkilab certify``: run the certification suites, show live progress, write the reports.

The suites run in a pytest subprocess (so the pkilab plugin starts the simulated lab itself,
exactly as under plain pytest or CI) with ``--junitxml`` and the progress plugin. Once pytest
has finished, the JUnit file is enriched in place and ``results.json``, ``report.html`` and
``report.md`` are written next to it; a summary table is printed.

Exit codes: 0 every test passed, 1 a test failed or errored (or the run was cut short by
collection errors), 2 usage or testbed errors — the pkilab plugin reports a bad testbed as a
pytest usage error (pytest exit code 4), printed here as one line.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from pkilab.errors import TestbedError, UserError
from pkilab.report.document import (
    HTML_NAME,
    JUNIT_NAME,
    MARKDOWN_NAME,
    RESULTS_NAME,
    build_report,
    write_reports,
)
from pkilab.report.junit import enrich_junit, load_junit, properties, suites
from pkilab.report.masking import build_masker
from pkilab.report.model import PROP_TESTBED, PROP_TESTBED_FILE, RunMetadata, TestResult
from pkilab.secrets import Masker

DEFAULT_REPORTS = Path("reports")
DEFAULT_SUITES = "suites"
PROGRESS_PLUGIN = "pkilab.report.progress"
_FALLBACK_TESTBED = "testbeds/sim.yaml"

# pytest's exit codes (pytest.ExitCode), named here so the mapping reads as a table.
_PYTEST_OK, _PYTEST_FAILED, _PYTEST_INTERRUPTED, _PYTEST_INTERNAL, _PYTEST_USAGE, _PYTEST_NO_TESTS = range(6)
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# pytest's terminal reporter shows a pytest.exit() message as "!!! _pytest.outcomes.Exit: MSG !!!".
_EXIT_LINE = re.compile(r"^!+ _pytest\.outcomes\.Exit: (.*?) !+\s*$")


@dataclass(frozen=True)
class CertifyOptions:
    """What ``pkilab certify`` runs, and where it writes."""

    testbed: Path | None = None
    reports: Path = DEFAULT_REPORTS
    suites: tuple[str, ...] = (DEFAULT_SUITES,)
    workers: int | None = None
    pytest_args: tuple[str, ...] = ()
    title: str = "pkilab certification run"


def register(subparsers: Any) -> None:
    """Add ``certify`` to the ``pkilab`` command line."""
    parser = subparsers.add_parser(
        "certify",
        help="run the certification suites and write JUnit, results.json, HTML and Markdown reports",
        description=(__doc__ or "").split("\n\n")[0],
        usage=(
            "pkilab certify [--testbed FILE] [--reports DIR] [--suites PATH] [-n N] [--via NAME] "
            "[--backend netmiko|unicon] [-- PYTEST-ARGS...]"
        ),
    )
    parser.add_argument("--testbed", type=Path, metavar="FILE", help="pyATS testbed (default: the plugin's)")
    parser.add_argument(
        "--reports",
        type=Path,
        default=DEFAULT_REPORTS,
        metavar="DIR",
        help="reports directory (default: reports)",
    )
    parser.add_argument(
        "--suites",
        action="append",
        metavar="PATH",
        help="suite directory or file given to pytest (repeatable; default: suites)",
    )
    parser.add_argument(
        "-n", "--workers", type=int, metavar="N", help="run on N pytest-xdist workers with --dist loadgroup"
    )
    parser.add_argument("--title", default=CertifyOptions.title, help="report title")
    parser.add_argument("--via", metavar="NAME", help="connection every device is reached by (pytest --via)")
    parser.add_argument("--backend", choices=("netmiko", "unicon"), help="session library (pytest --backend)")
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
        suites=tuple(args.suites or (DEFAULT_SUITES,)),
        workers=args.workers,
        pytest_args=tuple(extra),
        title=args.title,
    )
    return certify(options)


def certify(options: CertifyOptions, out: IO[str] | None = None) -> int:
    """Run the suites as ``options`` say, write the reports and return the exit code.

    Raises:
        TestbedError: the testbed file is missing or is not YAML.
    """
    out = out or sys.stdout
    if options.testbed is not None and not options.testbed.is_file():
        raise TestbedError(str(options.testbed), "no such file")
    testbed = options.testbed or default_testbed()
    metadata = RunMetadata(suite=_testbed_properties(testbed)) if testbed else RunMetadata()
    masker = build_masker([testbed] if testbed else [])
    options.reports.mkdir(parents=True, exist_ok=True)
    for name in (JUNIT_NAME, RESULTS_NAME, HTML_NAME, MARKDOWN_NAME):
        # A stale report from an earlier run must never pass for this one's.
        (options.reports / name).unlink(missing_ok=True)
    command = pytest_command(options)
    print(f"pkilab certify: {' '.join(command[2:])}", file=out, flush=True)
    code, stderr, interrupted = _run(command, masker, out)
    if code == _PYTEST_USAGE:
        print(f"pkilab: error: {masker.mask(usage_error_line(stderr))}", file=sys.stderr)
        return EXIT_USAGE
    if stderr.strip():
        sys.stderr.write(masker.mask(stderr))
    junit = options.reports / JUNIT_NAME
    if not junit.is_file():
        print(f"pkilab: error: pytest exited with {code} and wrote no {junit}", file=sys.stderr)
        return EXIT_INTERRUPTED if interrupted else EXIT_FAILED
    results = write_run_reports(junit, options.reports, masker, metadata, options.title)
    print_summary(results, options.reports, out, masker)
    if interrupted:
        return EXIT_INTERRUPTED
    if code == _PYTEST_NO_TESTS:
        print(f"pkilab: error: no tests collected from {', '.join(options.suites)}", file=sys.stderr)
        return EXIT_USAGE
    failed = any(r.outcome in ("failed", "error") for r in results)
    return EXIT_OK if code == _PYTEST_OK and not failed else EXIT_FAILED


def default_testbed() -> Path | None:
    """Return the testbed the pkilab plugin uses when ``--testbed`` is not given, if it exists.

    ``certify`` reads it only for its secrets (to mask them) and its name; the plugin itself
    resolves the default again inside pytest.
    """
    try:
        from pkilab import plugin

        default = str(plugin.DEFAULT_TESTBED)
    except (ImportError, AttributeError):
        default = _FALLBACK_TESTBED
    path = Path(os.environ.get("PKILAB_TESTBED") or default)
    return path if path.is_file() else None


def pytest_command(options: CertifyOptions) -> list[str]:
    """Return the pytest command line of a certification run."""
    command = [sys.executable, "-m", "pytest", *options.suites]
    if options.testbed is not None:
        command += ["--testbed", str(options.testbed)]
    command += [
        f"--junitxml={options.reports / JUNIT_NAME}",
        "-o",
        "junit_family=xunit2",
        # Failed tests' output (where the plugin puts the device transcript) into system-out,
        # also when the suites run outside pkilab's own project (no pkilab ini then).
        "-o",
        "junit_logging=system-out",
        "-o",
        "junit_log_passing_tests=false",
        "-p",
        PROGRESS_PLUGIN,
        # The progress plugin prints one line per test; pytest's letters, percentages and
        # failure sections would interleave with it (failures are in the reports).
        "-q",
        "--no-header",
        "--no-summary",
        "-o",
        "console_output_style=classic",
    ]
    if options.workers is not None:
        command += ["-n", str(options.workers), "--dist", "loadgroup"]
    return command + list(options.pytest_args)


def _run(command: Sequence[str], masker: Masker, out: IO[str]) -> tuple[int, str, bool]:
    """Run pytest, relaying its stdout live (masked); return (exit code, stderr, interrupted).

    A ``pytest.exit`` message (how the plugin stops on a bad testbed) is printed by pytest's
    terminal reporter on stdout; it is held back and returned with stderr, to be reported as
    one line.
    """
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", env=env
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr = proc.stderr
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(stderr), daemon=True)
    reader.start()
    held: list[str] = []
    interrupted = False
    try:
        for line in proc.stdout:
            match = _EXIT_LINE.match(line)
            if match:
                held.append(f"Exit: {match.group(1)}\n")
                continue
            out.write(masker.mask(line))
            out.flush()
        code = proc.wait()
    except KeyboardInterrupt:
        # The terminal sent SIGINT to pytest too: let it finish its teardown and JUnit file.
        interrupted = True
        code = proc.wait()
    reader.join(timeout=10)
    return code, "".join(chunks + held), interrupted


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
    """Return the suite properties ``certify`` knows without the plugin: testbed name and file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        data = None  # build_masker reports an unreadable testbed with its reason
    name = path.stem
    if isinstance(data, dict) and isinstance(data.get("testbed"), dict):
        name = str(data["testbed"].get("name") or name)
    return {PROP_TESTBED: name, PROP_TESTBED_FILE: str(path)}


def write_run_reports(
    junit: Path, reports: Path, masker: Masker, metadata: RunMetadata, title: str
) -> list[TestResult]:
    """Enrich ``junit`` in place and write the other reports next to it; return the results."""
    xml = load_junit(junit)
    first_suite = next((properties(s) for s in suites(xml)), {})
    label = first_suite.get(PROP_TESTBED) or metadata.suite.get(PROP_TESTBED) or reports.name
    xml = enrich_junit(xml, masker, metadata, run=label)
    report = build_report([(label, str(junit), xml)], title=title)
    write_reports(report, reports, masker, junit=xml)
    return list(report.results)


def print_summary(results: Sequence[TestResult], reports: Path, out: IO[str], masker: Masker) -> None:
    """Print the per-module summary table, the failed tests and where the reports are."""
    rows: dict[str, dict[str, float]] = {}
    for r in results:
        row = rows.setdefault(
            r.nodeid.split("::")[0], dict.fromkeys(("passed", "failed", "error", "skipped", "time"), 0)
        )
        row[r.outcome] += 1
        row["time"] += r.duration
    width = max([len("Total"), len("Suite"), *(len(k) for k in rows)])
    header = f"{'Suite':<{width}}  {'Passed':>6} {'Failed':>6} {'Errors':>6} {'Skipped':>7} {'Time':>8}"
    lines = ["", "Summary", header, "-" * len(header)]
    total = dict.fromkeys(("passed", "failed", "error", "skipped", "time"), 0.0)
    for name, row in rows.items():
        lines.append(_summary_line(name, row, width))
        for key in total:
            total[key] += row[key]
    lines += ["-" * len(header), _summary_line("Total", total, width)]
    bad = [r for r in results if r.outcome in ("failed", "error")]
    if bad:
        lines += ["", "Failed:"]
        for r in bad:
            where = f" [{', '.join(r.devices)}]" if r.devices else ""
            first = (r.message or "").splitlines()[0] if r.message else ""
            lines.append(f"  {r.outcome.upper():<6} {r.nodeid}{where}  {first}")
    lines += [
        "",
        "Reports: " + ", ".join(str(reports / n) for n in (JUNIT_NAME, RESULTS_NAME, HTML_NAME, MARKDOWN_NAME)),
    ]
    print(masker.mask("\n".join(lines)), file=out, flush=True)


def _summary_line(name: str, row: dict[str, float], width: int) -> str:
    return (
        f"{name:<{width}}  {int(row['passed']):>6} {int(row['failed']):>6} {int(row['error']):>6} "
        f"{int(row['skipped']):>7} {row['time']:>7.1f}s"
    )
