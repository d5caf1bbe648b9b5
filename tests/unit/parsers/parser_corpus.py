"""Where the shared corpus of real IOS outputs is, for the tests that read it.

``PKILAB_CORPUS`` names it; otherwise it is the first ``shared/corpus`` (with its
``index.json``) in a folder above this file: ``../shared/corpus`` of a checkout, and of a
worktree kept one level deeper. Tests skip when there is none; corpus files are read in place,
never copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path


def corpus_dir() -> Path | None:
    """Return the corpus folder, or ``None`` when it is not on this machine."""
    named = os.environ.get("PKILAB_CORPUS")
    here = Path(__file__).resolve()
    candidates = [Path(named)] if named else [parent / "shared" / "corpus" for parent in here.parents]
    return next((c for c in candidates if (c / "index.json").is_file()), None)
