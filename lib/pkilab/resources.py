"""Where pkilab's own suites and example testbeds are, whatever the working directory.

An installed pkilab carries them inside its package (``pkilab/suites``, ``pkilab/testbeds``:
pyproject.toml maps the checkout's ``suites/`` and ``testbeds/`` there); a checkout, or an
editable install, has them next to ``lib/``. Nothing here depends on the working directory.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
SIM_TESTBED = "sim.yaml"


def _find(name: str) -> Path:
    """Return the directory ``name`` of the package, else of the checkout around it."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent.parent / name):
        if candidate.is_dir():
            return candidate
    return _PACKAGE / name  # neither: the caller reports the missing path


def suites_dir() -> Path:
    """Return the directory of pkilab's certification suites."""
    return _find("suites")


def testbeds_dir() -> Path:
    """Return the directory of pkilab's example testbeds (the simulated lab, a real-router template)."""
    return _find("testbeds")


def sim_testbed() -> Path:
    """Return the simulated lab's testbed: the default of ``--testbed``."""
    return testbeds_dir() / SIM_TESTBED
