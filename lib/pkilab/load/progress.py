"""Live progress of a load run: a bar redrawn in place on a terminal, a line every few seconds elsewhere."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO

from pkilab.load.fleet import Counts

BAR = 24
PLAIN_EVERY = 5.0  # seconds between lines when the output is not a terminal


@dataclass
class Progress:
    """Prints enrolled / up / refused / failed and their rate per second."""

    total: int
    stream: TextIO
    tty: bool
    _last: tuple[float, int, int] = (0.0, 0, 0)
    _printed: float = 0.0
    _start: float = field(default_factory=time.monotonic)
    _dirty: bool = False

    def update(self, counts: Counts | None) -> None:
        """Show the counts now (at most every :data:`PLAIN_EVERY` seconds without a terminal)."""
        if counts is None:
            return
        now = time.monotonic()
        if not self.tty and now - self._printed < PLAIN_EVERY:
            return
        line = self.line(counts, now)
        self._printed = now
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self._dirty = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def line(self, counts: Counts, now: float) -> str:
        """``[#####-----] 512/1000 up  enrolled 600 (+40/s)  up 512 (+35/s)  refused 0  failed 0  12 s``."""
        then, enrolled, up = self._last
        span = max(now - then, 1e-6) if then else max(now - self._start, 1e-6)
        rates = ((counts.enrolled - enrolled) / span, (counts.handshakes - up) / span)
        self._last = (now, counts.enrolled, counts.handshakes)
        done = min(counts.up + counts.refused + counts.failed, self.total)
        filled = round(BAR * done / self.total) if self.total else BAR
        bar = "#" * filled + "-" * (BAR - filled)
        return (
            f"[{bar}] {counts.up}/{self.total} up  enrolled {counts.enrolled} (+{rates[0]:.0f}/s)  "
            f"handshakes {counts.handshakes} (+{rates[1]:.0f}/s)  refused {counts.refused}  failed {counts.failed}  "
            f"{now - self._start:.0f} s"
        )

    def finish(self) -> None:
        """End the in-place line."""
        if self._dirty:
            self.stream.write("\n")
            self.stream.flush()
            self._dirty = False
