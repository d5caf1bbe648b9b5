"""Writing a report's files: the JUnit XML, ``results.json`` and the two renderings, masked.

Apart from :mod:`pkilab.report.document` (the report and its JSON) so that the renderers, which
read the document's types, and the document do not import each other.
"""

from __future__ import annotations

import json
from pathlib import Path

from junitparser import JUnitXml

from pkilab.report.document import HTML_NAME, JUNIT_NAME, MARKDOWN_NAME, RESULTS_NAME, Report, results_document
from pkilab.report.junit import write_junit
from pkilab.report.render_html import render_html
from pkilab.report.render_md import render_markdown
from pkilab.secrets import Masker


def write_reports(report: Report, out_dir: Path, masker: Masker, junit: JUnitXml | None = None) -> list[Path]:
    """Write ``results.json``, ``report.html``, ``report.md`` (and ``junit.xml``) into ``out_dir``.

    Returns:
        The paths written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if junit is not None:
        write_junit(junit, out_dir / JUNIT_NAME)
        written.append(out_dir / JUNIT_NAME)
    texts = {
        RESULTS_NAME: json.dumps(results_document(report), indent=2, ensure_ascii=False) + "\n",
        HTML_NAME: render_html(report),
        MARKDOWN_NAME: render_markdown(report),
    }
    for name, text in texts.items():
        path = out_dir / name
        path.write_text(masker.mask(text), encoding="utf-8")
        written.append(path)
    return written
