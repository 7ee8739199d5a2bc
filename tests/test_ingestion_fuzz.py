"""Property-based tests: files written the way real tools write them lose nothing on loading.

Hypothesis invents small datasets whose texts hold quotes, commas, tabs, line breaks (LF,
CR, CRLF), Unicode separators and byte-order marks, plus rows with an empty text, a missing
label, a repeated text or a text labelled two ways. Each dataset is written with the
standard library (``csv``, ``json``, or plain ``"\\t".join`` for unquoted TSV) in UTF-8 (with
or without BOM), latin-1 or cp1252, and loaded with :func:`tlhelpers.load_text_dataset`.

The property, checked against a separate, straightforward implementation of the documented
rules (:func:`_expected`): every row written is either in one of the three splits, byte for
byte with its label, or counted in the report under the reason it was dropped.

The default run is short; ``pytest -m slow tests/test_ingestion_fuzz.py`` runs a long one.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tlhelpers as tl

# database=None: no .hypothesis folder in the repository; deadline=None: a load takes tens
# of milliseconds, more on a busy CI machine, and that is not what is tested here.
QUICK = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LONG = settings(QUICK, max_examples=1500)

ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "cp1252"]
# Characters that break naive readers: quoting, separators, line ends, "missing" look-alikes,
# Unicode line/paragraph separators (str.splitlines() cuts at them), BOM, NUL.
TRICKY = [
    '"', "'", '""', ",", ";", "\t", "\n", "\r", "\r\n", " ", "\\", "#", "NA", "null",
    "\x00", "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u2028", "\u2029", "\ufeff", "é", "€",
    "😀",
]  # fmt: skip
STRING_LABELS = ["pos", "neg", "a,b", 'q"uote', "über"]
INTEGER_LABELS = [0, 1, 2]


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def _texts(encoding: str, forbidden: str = "") -> st.SearchStrategy[str]:
    """Texts made of characters the encoding can write, with tricky pieces mixed in."""
    pieces = [p for p in TRICKY if _encodable(p, encoding) and not set(p) & set(forbidden)]
    chars = st.characters(codec=encoding, exclude_categories=("Cs",), exclude_characters=forbidden)
    return st.lists(st.one_of(st.sampled_from(pieces), chars), max_size=12).map("".join)


@st.composite
def _datasets(draw, *, encoding: str, forbidden: str = ""):
    """Rows (text, label); None stands for a missing value. 20+ distinct usable texts, then
    up to 8 problem rows, in random order."""
    labels = draw(st.sampled_from([STRING_LABELS, INTEGER_LABELS]))
    labels = [y for y in labels if isinstance(y, int) or not set(str(y)) & set(forbidden)]
    labels = [y for y in labels if _encodable(str(y), encoding)]
    texts = draw(
        st.lists(
            _texts(encoding, forbidden).filter(str.strip), min_size=20, max_size=40, unique=True
        )
    )
    rows: list[tuple[Any, Any]] = [(t, draw(st.sampled_from(labels))) for t in texts]
    blank = st.sampled_from(["", " ", "\xa0 "] if "\n" in forbidden else ["", " ", "\n", "\r\n"])
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["empty", "no label", "repeat", "conflict", "no text"]))
        text, label = draw(st.sampled_from(rows[: len(texts)]))
        if kind == "empty":
            rows.append((draw(blank.filter(lambda b: _encodable(b, encoding))), label))
        elif kind == "no label":
            rows.append((draw(_texts(encoding, forbidden)), None))
        elif kind == "repeat":
            rows.append((text, label))
        elif kind == "conflict":
            rows.append((text, draw(st.sampled_from([y for y in labels if y != label]))))
        else:  # JSON says null; CSV and TSV can only write an empty field
            rows.append((None, label))
    return draw(st.permutations(rows))


def _expected(rows, *, null_text_is_missing: bool) -> tuple[Counter, dict[str, int]]:
    """The documented rules, written out plainly: kept (text, label name) pairs and the
    number of rows dropped per reason."""
    dropped: Counter = Counter()
    usable = []
    for text, label in rows:
        if text is None and null_text_is_missing:
            dropped["missing text"] += 1
        elif not (text or "").strip():
            dropped["empty text"] += 1
        elif label is None:
            dropped["missing label"] += 1
        else:
            usable.append((text, str(label)))
    labels_of = defaultdict(set)
    for text, label in usable:
        labels_of[text].add(label)
    kept: Counter = Counter()
    for text, label in usable:
        if len(labels_of[text]) > 1:
            dropped["conflicting labels"] += 1
        elif kept[(text, label)]:
            dropped["duplicate"] += 1
        else:
            kept[(text, label)] += 1
    return kept, dict(dropped)


def _load_and_check(path: Path, rows, *, null_text_is_missing=False, **options) -> int:
    data, report = tl.load_text_dataset(path, return_report=True, verbose=False, **options)
    kept: Counter = Counter()
    for split in data.values():
        names = split.features["label"].names
        kept.update((t, names[y]) for t, y in zip(split["text"], split["label"], strict=True))
    expected_kept, expected_dropped = _expected(rows, null_text_is_missing=null_text_is_missing)
    assert report.rows_read == len(rows)
    assert kept == expected_kept  # every kept text byte for byte, with its label
    assert report.dropped == expected_dropped
    assert report.rows_kept + sum(report.dropped.values()) == len(rows)
    _record(len(rows), len(rows) - report.rows_kept - sum(report.dropped.values()))
    return len(rows)


# Totals over a session, printed at the end (pytest -s) for the record.
TOTALS = {"files": 0, "rows": 0, "rows lost": 0}


def _record(rows: int, lost: int) -> None:
    TOTALS["files"] += 1
    TOTALS["rows"] += rows
    TOTALS["rows lost"] += lost


@pytest.fixture(scope="module", autouse=True)
def _print_totals():
    yield
    print(f"\ningestion fuzz: {TOTALS}")


def _cell(value) -> str:
    return "" if value is None else str(value)


def _layout(with_header: bool, label_first: bool, rows) -> tuple[list[list[str]], dict]:
    """The file's lines as fields (a header row or not, text or label first), and the
    options that load it: a file without a header row names its columns by position."""
    order = (1, 0) if label_first else (0, 1)
    lines = [[_cell(row[i]) for i in order] for row in rows]
    if with_header:
        return [[("text", "label")[i] for i in order], *lines], {}
    return lines, {"header": None, "text_column": order.index(0), "label_column": order.index(1)}


def _write(path: Path, content: str, encoding: str) -> None:
    # A UTF-8 file that starts with U+FEFF cannot be told from one with a byte-order mark:
    # UTF-8 files are read as utf-8-sig (documented), so such content is left out here.
    # (Written as utf-8-sig, the file has a real BOM first, and the text keeps its U+FEFF.)
    assume(not (encoding == "utf-8" and content.startswith("\ufeff")))
    path.write_bytes(content.encode(encoding))


def _load_encoding(encoding: str) -> dict[str, str]:
    # A UTF-8 file with BOM is loaded with the default encoding: the BOM must not show up.
    return {} if encoding.startswith("utf-8") else {"encoding": encoding}


# --------------------------------------------------------------------------------------
# One test per way of writing a file
# --------------------------------------------------------------------------------------


@st.composite
def _csv_case(draw):
    encoding = draw(st.sampled_from(ENCODINGS))
    rows = draw(_datasets(encoding=encoding))
    lines, options = _layout(draw(st.booleans()), draw(st.booleans()), rows)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\r\n", "\n"])))
    writer.writerows(lines)
    return encoding, rows, buffer.getvalue(), options


def _check_delimited(tmp_path_factory, case, suffix: str) -> None:
    encoding, rows, content, options = case
    path = tmp_path_factory.mktemp("delimited") / f"data{suffix}"
    _write(path, content, encoding)
    _load_and_check(path, rows, **options, **_load_encoding(encoding))


@st.composite
def _tsv_case(draw):
    """Unquoted TSV, as most tools and the IANA format write it: no tab or line end in a
    field, quotes are plain characters."""
    encoding = draw(st.sampled_from(ENCODINGS))
    rows = draw(_datasets(encoding=encoding, forbidden="\t\r\n"))
    lines, options = _layout(draw(st.booleans()), draw(st.booleans()), rows)
    end = draw(st.sampled_from(["\r\n", "\n"]))
    return encoding, rows, "".join("\t".join(line) + end for line in lines), options


@st.composite
def _excel_tab_case(draw):
    """TSV written by csv.writer's excel-tab dialect (and Excel): fields with tabs, line
    ends or quotes are quoted, so it is loaded with quoting="minimal"."""
    encoding = draw(st.sampled_from(ENCODINGS))
    rows = draw(_datasets(encoding=encoding))
    lines, options = _layout(draw(st.booleans()), draw(st.booleans()), rows)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, dialect="excel-tab").writerows(lines)
    return encoding, rows, buffer.getvalue(), {**options, "quoting": "minimal"}


@st.composite
def _json_case(draw, lines: bool):
    encoding = draw(st.sampled_from(ENCODINGS))
    rows = draw(_datasets(encoding=encoding))
    ascii_only = draw(st.booleans())
    records = []
    for text, label in rows:
        record = {}
        # A missing value is either null or an absent key; both mean "missing".
        if text is not None or draw(st.booleans()):
            record["text"] = text
        if label is not None or draw(st.booleans()):
            record["label"] = label
        records.append(record)
    if lines:
        end = draw(st.sampled_from(["\n", "\r\n"]))
        content = "".join(json.dumps(r, ensure_ascii=ascii_only) + end for r in records)
    elif draw(st.booleans()):
        content = json.dumps(
            records, ensure_ascii=ascii_only, indent=draw(st.sampled_from([None, 2]))
        )
    else:  # a dict of columns
        columns = {
            "text": [r.get("text") for r in records],
            "label": [r.get("label") for r in records],
        }
        content = json.dumps(columns, ensure_ascii=ascii_only)
    return encoding, rows, content


def _check_json(tmp_path_factory, case, suffix):
    encoding, rows, content = case
    path = tmp_path_factory.mktemp("json") / f"data{suffix}"
    _write(path, content, encoding)
    _load_and_check(path, rows, null_text_is_missing=True, **_load_encoding(encoding))


@QUICK
@given(case=_csv_case())
def test_csv_files_lose_nothing(tmp_path_factory, case):
    _check_delimited(tmp_path_factory, case, ".csv")


@QUICK
@given(case=_tsv_case())
def test_unquoted_tsv_files_lose_nothing(tmp_path_factory, case):
    _check_delimited(tmp_path_factory, case, ".tsv")


@QUICK
@given(case=_excel_tab_case())
def test_quoted_tsv_files_lose_nothing(tmp_path_factory, case):
    _check_delimited(tmp_path_factory, case, ".tsv")


@QUICK
@given(case=_json_case(lines=False))
def test_json_files_lose_nothing(tmp_path_factory, case):
    _check_json(tmp_path_factory, case, ".json")


@QUICK
@given(case=_json_case(lines=True))
def test_json_lines_files_lose_nothing(tmp_path_factory, case):
    _check_json(tmp_path_factory, case, ".jsonl")


@pytest.mark.slow
@LONG
@given(data=st.data())
def test_every_format_loses_nothing_long_run(tmp_path_factory, data):
    kind = data.draw(st.sampled_from(["csv", "tsv", "excel-tab", "json", "jsonl"]))
    if kind == "csv":
        _check_delimited(tmp_path_factory, data.draw(_csv_case()), ".csv")
    elif kind == "tsv":
        _check_delimited(tmp_path_factory, data.draw(_tsv_case()), ".tsv")
    elif kind == "excel-tab":
        _check_delimited(tmp_path_factory, data.draw(_excel_tab_case()), ".tsv")
    else:
        case = data.draw(_json_case(lines=kind == "jsonl"))
        _check_json(tmp_path_factory, case, f".{kind}")
