"""The docs name only what exists: suite files, and every PKILAB_ environment variable the code reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_suite_file_the_docs_name_exists():
    named = {(doc.name, m) for doc in DOCS for m in re.findall(r"suites/(test_\w+\.py)", doc.read_text())}
    assert named, "the docs name no suite at all"
    missing = sorted(f"{doc}: suites/{name}" for doc, name in named if not (ROOT / "suites" / name).is_file())
    assert missing == []


def test_every_environment_variable_read_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    sources = [*(ROOT / "lib").rglob("*.py"), *(ROOT / "suites").glob("*.py")]
    read = {v for path in sources for v in re.findall(r"\b(PKILAB_[A-Z_]+)\b", path.read_text())}
    assert {"PKILAB_PORT_OFFSET", "PKILAB_UNICON_LOG"} <= read
    assert sorted(v for v in read if f"`{v}`" not in readme) == []
