"""Helpers that notebooks define in their own cells, run here on inputs with a known answer.

A helper defined in a notebook is checked by nbval only through the outputs of the run that
was committed; a wrong committed output (notebook 02's load report once printed one row twice
and lost another) passes nbval for ever. These tests exec the defining cell and check it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from pathlib import Path

import nbformat
from transformers.utils import logging as hf_logging

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"


def cell_defining(notebook: str, name: str) -> dict:
    """Exec the one code cell of ``notebook`` that defines ``name``; return its namespace."""
    cells = [
        cell.source
        for cell in nbformat.read(NOTEBOOK_DIR / notebook, as_version=4).cells
        if cell.cell_type == "code" and re.search(rf"^def {name}\b", cell.source, re.M)
    ]
    assert len(cells) == 1, f"{notebook}: {len(cells)} cells define {name}"
    namespace = {
        "contextlib": contextlib,
        "io": io,
        "logging": logging,
        "re": re,
        "hf_logging": hf_logging,
    }  # the imports of the notebook's first cell that the helper uses
    exec(cells[0], namespace)  # noqa: S102 - the course's own notebook code
    return namespace


# Two load reports in one log, as transformers writes them (colour codes, padding, a folder);
# the second report lists its keys in another order.
TWO_REPORTS = """\
\x1b[1mBertForSequenceClassification LOAD REPORT\x1b[0m from: /tmp/abc/saved
Key               | Status   |
------------------+----------+--------
classifier.weight | MISMATCH | Reinit due to size mismatch - ckpt: torch.Size([3, 768]) vs model:torch.Size([2, 768])
classifier.bias   | MISMATCH | Reinit due to size mismatch - ckpt: torch.Size([3]) vs model:torch.Size([2])

Notes:
- MISMATCH: ...

BertForSequenceClassification LOAD REPORT from: /tmp/abc/saved
Key               | Status   |
------------------+----------+--------
classifier.bias   | MISMATCH | Reinit due to size mismatch - ckpt: torch.Size([3]) vs model:torch.Size([2])
classifier.weight | MISMATCH | Reinit due to size mismatch - ckpt: torch.Size([3, 768]) vs model:torch.Size([2, 768])
"""  # noqa: E501


def test_02_readable_sorts_each_reports_rows_within_that_report():
    readable = cell_defining("02_replacing_the_head.ipynb", "readable")["readable"]
    text = readable(io.StringIO(TWO_REPORTS), "/tmp/abc/saved", "<saved folder>")
    first, second = text.split("\n\nBertForSequenceClassification")
    for report in (first, second):
        rows = [line.split(" | ")[0].strip() for line in report.splitlines() if " | " in line]
        assert rows == ["Key", "classifier.bias", "classifier.weight"], report
    assert "torch.Size([3, 768]) vs model:torch.Size([2, 768])" in first
    assert "\x1b" not in text and "/tmp/abc" not in text and "<saved folder>" in text
