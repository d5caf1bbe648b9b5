"""The run log: what a certification run collected, started and finished, line by line.

The progress plugin (:mod:`pkilab.report.progress`) appends one JSON object per line to the file
``pkilab certify`` names with ``--pkilab-run-log``, flushed as it goes, so that the log survives
whatever ends the run — a Ctrl-C, a SIGTERM, a SIGKILL after the grace period. ``certify``
reads it back to say which tests never ran and which were cut short, and to write the reports
even when pytest wrote no JUnit file.

Events: ``{"suite": {property: value}}`` (the testbed name and file and the lab plan, as the run
loaded them: :func:`pkilab.plugin.suite_facts`), ``{"collected": [ids]}``, ``{"started": id}``,
``{"finished": id, "outcome": …, "duration": …, "message": …}``, ``{"interrupted": "SIGTERM"}``, ``{"exitstatus": n}``.
Node ids are kept without pytest-xdist's ``@group`` suffix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pkilab.report.model import Outcome, split_xdist_group

RUN_LOG_OPTION = "--pkilab-run-log"  # the progress plugin's option naming the log file

# The progress plugin's outcome words, as JUnit records them (xfail is a skip; a strict xpass fails).
OUTCOME_OF_WORD: dict[str, Outcome] = {
    "PASSED": "passed",
    "FAILED": "failed",
    "ERROR": "error",
    "SKIPPED": "skipped",
    "XFAIL": "skipped",
    "XPASS": "failed",
}


@dataclass(frozen=True)
class Finished:
    """A test whose teardown was reported."""

    outcome: Outcome
    duration: float
    message: str = ""


@dataclass
class RunLog:
    """What the log says about a run."""

    collected: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    finished: dict[str, Finished] = field(default_factory=dict)
    interrupted: str | None = None
    exitstatus: int | None = None
    suite: dict[str, str] = field(default_factory=dict)

    def not_started(self) -> list[str]:
        """Return the collected tests that never started, in collection order."""
        begun = set(self.started) | set(self.finished)
        return [t for t in self.collected if t not in begun]

    def cut_short(self) -> list[str]:
        """Return the tests that started and never finished (the interrupt landed in them)."""
        return [t for t in dict.fromkeys(self.started) if t not in self.finished]


class RunLogWriter:
    """Appends events to the log file (one JSON object per line, flushed at once)."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("a", encoding="utf-8")

    def write(self, **event: Any) -> None:
        """Append one event."""
        if not self._file.closed:
            self._file.write(json.dumps(event, ensure_ascii=False) + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the file; later events are dropped."""
        self._file.close()


def node_id(raw: str) -> str:
    """Return a node id as the log keeps it (without the xdist group suffix)."""
    return split_xdist_group(raw)[0]


def read_run_log(path: Path) -> RunLog:
    """Read the log at ``path``; a missing file or a torn last line reads as what it holds."""
    log = RunLog()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return log
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line being written when the process was killed
        if not isinstance(event, dict):
            continue
        _apply(log, event)
    return log


def _apply(log: RunLog, event: dict[str, Any]) -> None:
    if "suite" in event and isinstance(event["suite"], dict):
        log.suite = {str(k): str(v) for k, v in event["suite"].items()}
    elif "collected" in event:
        log.collected = [str(i) for i in event["collected"]]
    elif "started" in event:
        log.started.append(str(event["started"]))
    elif "finished" in event:
        outcome = OUTCOME_OF_WORD.get(str(event.get("outcome")), "passed")
        log.finished[str(event["finished"])] = Finished(
            outcome, float(event.get("duration") or 0.0), str(event.get("message") or "")
        )
    elif "interrupted" in event:
        log.interrupted = log.interrupted or str(event["interrupted"])
    elif "exitstatus" in event:
        log.exitstatus = int(event["exitstatus"])
