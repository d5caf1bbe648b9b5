"""The docs name only what exists: suite files, and the PKILAB_ environment variables the code reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
VARIABLE = re.compile(r"\b(PKILAB_[A-Z_]+)\b")


def test_every_suite_file_the_docs_name_exists() -> None:
    named = {(doc.name, m) for doc in DOCS for m in re.findall(r"suites/(test_\w+\.py)", doc.read_text())}
    assert named, "the docs name no suite at all"
    missing = sorted(f"{doc}: suites/{name}" for doc, name in named if not (ROOT / "suites" / name).is_file())
    assert missing == []


def _read_by_the_code() -> set[str]:
    sources = [*(ROOT / "lib").rglob("*.py"), *(ROOT / "suites").glob("*.py"), *(ROOT / "testbeds").glob("*.yaml")]
    return {v for path in sources for v in VARIABLE.findall(path.read_text())}


def test_every_environment_variable_read_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    read = _read_by_the_code()
    assert {"PKILAB_PORT_OFFSET", "PKILAB_UNICON_LOG"} <= read
    assert sorted(v for v in read if f"`{v}`" not in readme) == []


def test_the_readme_documents_no_variable_the_code_does_not_read() -> None:
    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `PKILAB_")]
    documented = {v for row in rows for v in VARIABLE.findall(row.split("|")[1])}
    assert documented, "the README's environment table is gone"
    assert sorted(documented - _read_by_the_code()) == []
