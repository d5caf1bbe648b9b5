"""``pkilab report merge RUN… -o OUT``: merge runs, shards and pods into one certification report.

A RUN is a JUnit file, a directory holding ``junit.xml`` (a ``pkilab certify`` reports
directory) or, failing that, the ``*.xml`` files of a directory (CI artifacts). It may be
prefixed with a label, ``LABEL=PATH``; otherwise its label is derived from its path.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pkilab.errors import UserError
from pkilab.report.document import JUNIT_NAME, build_report
from pkilab.report.junit import enrich_junit, load_junit, merge_junit
from pkilab.report.masking import build_masker
from pkilab.report.write import write_reports

DEFAULT_TITLE = "pkilab certification matrix"


@dataclass(frozen=True)
class RunSource:
    """One JUnit file to merge and the label its results are shown under."""

    label: str
    path: Path


def register(subparsers: Any) -> None:
    """Add ``report merge`` to the ``pkilab`` command line."""
    from pkilab.cli import describe, require_action

    report = subparsers.add_parser(
        "report",
        help="merge and render JUnit reports",
        description="Merge and render the JUnit reports of certification runs.",
    )
    sub = report.add_subparsers(dest="report_command", title="actions", metavar="ACTION")
    merge = sub.add_parser(
        "merge",
        help="merge runs/shards/pods into a certification matrix (Markdown and HTML)",
        description=describe(__doc__),
    )
    merge.add_argument("runs", nargs="+", metavar="RUN", help="JUnit file or directory, optionally LABEL=PATH")
    merge.add_argument("-o", "--output", required=True, type=Path, metavar="OUT", help="output directory")
    merge.add_argument(
        "--testbed",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="testbed whose secrets are masked in the output (repeatable)",
    )
    merge.add_argument("--title", default=DEFAULT_TITLE, help="report title")
    merge.add_argument("--strict", action="store_true", help="exit 1 when a cell failed, errored or is flaky")
    merge.set_defaults(func=run_merge)
    require_action(report, sub)


def run_merge(args: argparse.Namespace) -> int:
    """Run ``pkilab report merge``; return the exit code."""
    sources = resolve_runs(args.runs)
    masker = build_masker(args.testbed)
    runs = []
    for source in sources:
        xml = enrich_junit(load_junit(source.path), masker, run=source.label)
        runs.append((source.label, str(source.path), xml))
    report = build_report(runs, title=args.title)
    merged = merge_junit((label, xml) for label, _, xml in runs)
    written = write_reports(report, args.output, masker, junit=merged)
    counts = report.matrix.counts()
    print(
        f"merged {len(runs)} run(s), {len(report.results)} result(s) into "
        f"{len(report.matrix.rows)} test(s) x {len(report.matrix.columns)} column(s): "
        + ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    )
    for path in written:
        print(f"  {path}")
    if args.strict and (counts["fail"] or counts["error"] or counts["flaky"]):
        return 1
    return 0


def resolve_runs(specs: Sequence[str]) -> list[RunSource]:
    """Turn RUN arguments into labelled JUnit files; labels are made unique.

    Raises:
        UserError: a RUN names no JUnit file.
    """
    sources: list[RunSource] = []
    used: set[str] = set()
    for spec in specs:
        label, path = _split_label(spec)
        for file in _junit_files(path):
            base = label or _label_for(file)
            name, n = base, 2
            while name in used:
                name, n = f"{base}-{n}", n + 1
            used.add(name)
            sources.append(RunSource(name, file))
    return sources


def _split_label(spec: str) -> tuple[str | None, Path]:
    label, sep, rest = spec.partition("=")
    if sep and label and "/" not in label and not Path(spec).exists():
        return label, Path(rest)
    return None, Path(spec)


def _junit_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        if (path / JUNIT_NAME).is_file():
            return [path / JUNIT_NAME]
        files = sorted(path.glob("*.xml"))
        if files:
            return files
        raise UserError(f"{path}: no {JUNIT_NAME} and no *.xml file in this directory")
    raise UserError(f"{path}: no such file or directory")


def _label_for(file: Path) -> str:
    # reports/junit.xml -> "reports"; artifacts/shard-2.xml -> "shard-2"
    if file.name == JUNIT_NAME and file.parent.name:
        return file.parent.name
    return file.stem
