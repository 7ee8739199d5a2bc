"""Cleaning: from a table read from any source to clean (text, label) rows.

:func:`clean_rows` picks the columns, drops the rows it cannot use and reads the labels;
texts are never changed, and every dropped row is recorded by reason in a :class:`LoadReport`.
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from datasets import DatasetDict

# Why a row can be dropped; these are the keys of LoadReport.dropped.
MISSING_TEXT = "missing text"  # None/NaN, or no such key in a JSON record
EMPTY_TEXT = "empty text"  # "" or only whitespace (a blank line in a CSV/TSV file)
MISSING_LABEL = "missing label"  # None/NaN, an empty cell or only whitespace
CONFLICT = "conflicting labels"  # the same text also appears with another label
DUPLICATE = "duplicate"  # the same text (and label) appeared earlier

_REASON_PHRASES = {
    MISSING_TEXT: "{n:,} with no text",
    EMPTY_TEXT: "{n:,} with empty text",
    MISSING_LABEL: "{n:,} with no label",
    CONFLICT: "{n:,} with conflicting labels ({texts})",
    DUPLICATE: "{n:,} duplicate{s}",
}


@dataclass
class Table:
    """A source read into a DataFrame, with what cleaning and splitting need to know."""

    frame: pd.DataFrame
    name: str  # for the report: a file by its name
    where: str  # for error messages: a file by its whole path
    text_column: str | int = "text"
    label_column: str | int = "label"
    label_names: Sequence[str] | None = None  # the built-in datasets' class order
    read_with: dict[str, Any] = field(default_factory=dict)
    drop_duplicates: bool = True  # the default for this kind of source
    presplit: bool = False  # a Hub dataset with its own splits (column "_split")


@dataclass
class LoadReport:
    """What :func:`load_text_dataset` did, so that no row disappears without a word.

    Every row read is accounted for:
    ``rows_read == rows_kept + sum(dropped.values()) + sum(left_out.values())``.

    Example:
        >>> data, report = load_text_dataset("reviews.csv", return_report=True)
        >>> report.dropped                  # reason -> number of rows
        {'empty text': 2, 'duplicate': 41}
        >>> report.dropped_rows["empty text"]   # their positions (0 = first data row)
        [17, 230]
        >>> print(report)                   # the summary that was printed
    """

    source: str
    #: How a file was read: sep, quoting, header, encoding (empty for other sources).
    read_with: dict[str, Any] = field(default_factory=dict)
    rows_read: int = 0
    #: Rows dropped, by reason (see MISSING_TEXT, EMPTY_TEXT, ... above).
    dropped: dict[str, int] = field(default_factory=dict)
    #: The dropped rows' positions in the source (0 = first data row), by reason.
    dropped_rows: dict[str, list[int]] = field(default_factory=dict)
    #: Distinct texts that appeared with more than one label.
    conflicting_texts: int = 0
    #: Repeated texts left in the data because drop_duplicates=False.
    duplicates_kept: int = 0
    #: Rows left out on purpose by max_examples / n_per_class (not errors in the data).
    left_out: dict[str, int] = field(default_factory=dict)
    split_sizes: dict[str, int] = field(default_factory=dict)
    label_names: list[str] = field(default_factory=list)
    #: Each label as found in the data (its text) -> the id it was given.
    label_mapping: dict[str, int] = field(default_factory=dict)
    #: Examples per class over the three splits, by label name.
    label_counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_kept(self) -> int:
        return sum(self.split_sizes.values())

    def summary(self) -> str:
        """One to three short lines: counts, what was dropped and why, the labels."""
        how = f" ({_describe_read(self.read_with)})" if self.read_with else ""
        sizes = ", ".join(f"{name} {n:,}" for name, n in self.split_sizes.items())
        lines = [
            f"{self.source}{how}: {self.rows_read:,} rows read, {self.rows_kept:,} kept ({sizes})."
        ]
        changes = []
        if self.dropped:
            changes.append("dropped " + _describe_dropped(self))
        for option, n in self.left_out.items():  # max_examples, then n_per_class
            rows = " training rows" if option == "n_per_class" else ""
            changes.append(f"{option} left out {n:,}{rows}")
        if self.duplicates_kept:
            repeated = _plural(self.duplicates_kept, "repeated text")
            changes.append(f"kept {repeated} (drop_duplicates=False)")
        changes += self.notes
        if changes:
            text = "; ".join(changes)
            lines.append(text[0].upper() + text[1:] + ".")
        classes = [
            f"{i} {name!r} ({self.label_counts.get(name, 0):,})"
            for i, name in enumerate(self.label_names)
        ]
        if len(classes) > 8:
            classes = [*classes[:7], f"... {len(classes)} classes"]
        lines.append("Labels: " + ", ".join(classes) + ".")
        return "\n".join(lines)

    __str__ = summary

    def count_splits(self, data: DatasetDict) -> None:
        """Record the splits' sizes and examples per class; check that no row went missing."""
        self.split_sizes = {name: len(part) for name, part in data.items()}
        labels = [np.asarray(part["label"], dtype=int) for part in data.values()]
        counts = np.bincount(np.concatenate(labels), minlength=len(self.label_names))
        self.label_counts = dict(zip(self.label_names, counts.tolist(), strict=True))
        empty = [n for n, count in self.label_counts.items() if count == 0]
        if empty:
            self.notes.append(f"no examples of {', '.join(map(repr, empty[:5]))}")
        # "Nothing lost": a bookkeeping slip here would be a silent loss, so it is an error.
        accounted = self.rows_kept + sum(self.dropped.values()) + sum(self.left_out.values())
        if accounted != self.rows_read:
            raise RuntimeError(
                f"Internal error in tlhelpers.data: {self.rows_read} rows read but "
                f"{accounted} accounted for. Please report this bug. {self}"
            )

    def _drop(self, frame: pd.DataFrame, mask: pd.Series | np.ndarray, reason: str):
        """Remove the rows where ``mask`` is true, and record them under ``reason``."""
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.dropped[reason] = self.dropped.get(reason, 0) + int(mask.sum())
            rows = frame.loc[mask, "_row"].astype(int).tolist()
            self.dropped_rows.setdefault(reason, []).extend(rows)
        return frame.loc[~mask]


def _describe_dropped(report: LoadReport) -> str:
    return ", ".join(
        _REASON_PHRASES[reason].format(
            n=n, s="" if n == 1 else "s", texts=_plural(report.conflicting_texts, "text")
        )
        for reason, n in report.dropped.items()
    )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _describe_read(read_with: dict[str, Any]) -> str:
    """How a file was read, in the words of the options that change it."""
    sep = read_with.get("sep")
    if sep is None:  # JSON or Parquet
        parts = [read_with["format"]]
    else:
        kind = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}.get(sep)
        quoting = "none" if read_with["quoting"] == csv.QUOTE_NONE else "minimal"
        parts = [f"{kind}-separated" if kind else f"sep={sep!r}", f'quoting="{quoting}"']
        if read_with["header"] != 0:
            parts.append(f"header={read_with['header']}")
    if read_with.get("encoding") not in (None, "utf-8"):
        parts.append(f'encoding="{read_with["encoding"]}"')
    if "mixed line ends" in read_with:
        parts.append(f"mixed line ends: {read_with['mixed line ends']}")
    return ", ".join(parts)


def clean_rows(
    table: Table,
    label_names: Sequence[str] | None,
    drop_duplicates: bool | None,
    conflicting: str,
    two_classes: bool,
) -> tuple[pd.DataFrame, list[str], LoadReport]:
    """Clean rows (labels as class ids), the class names, and the report of every row dropped."""
    report = LoadReport(source=table.name, read_with=table.read_with, rows_read=len(table.frame))
    frame = _select_columns(table)
    if table.read_with.get("header", 0) is None:
        _check_first_row(frame, report)
    frame = _drop_unusable_rows(frame, report, table.where)
    frame["label"] = _label_texts(frame["label"], report)
    if drop_duplicates is None:
        drop_duplicates = table.drop_duplicates
    frame = _handle_repeats(frame, report, drop_duplicates, conflicting)
    if len(frame) == 0:
        raise ValueError(
            f"{table.where}: the dataset is empty: all {report.rows_read:,} rows were dropped "
            f"({_describe_dropped(report)})."
        )
    values = frame["label"].unique()
    if two_classes and len(values) == 1:
        dropped = f" after dropping {_describe_dropped(report)}" if report.dropped else ""
        raise ValueError(
            f"{table.where}: every row has the same label, {values[0]!r} (label_column="
            f"{table.label_column!r}, {_plural(len(frame), 'row')} kept{dropped}): a classifier "
            "needs at least two classes. Check that label_column names the column of the "
            "labels, or add examples of the other classes."
        )
    label_names = label_names or table.label_names
    frame["label"], names = _label_ids(frame["label"], label_names, report, table.label_column)
    return frame, names, report


def _select_columns(table: Table) -> pd.DataFrame:
    """The text and label columns renamed ``text``/``label``, other columns kept."""
    frame, text_column, label_column = table.frame, table.text_column, table.label_column
    columns = list(frame.columns)
    text, label = _find_column(columns, text_column), _find_column(columns, label_column)
    missing = [c for c, found in ((text_column, text), (label_column, label)) if found is None]
    if missing:
        raise ValueError(_missing_columns(table, missing))
    if text == label:
        raise ValueError(f"text_column and label_column both name column {text!r}.")
    out = pd.DataFrame({"text": frame[text].to_numpy(), "label": frame[label].to_numpy()})
    for column in columns:
        # Other columns (e.g. the tweets' annotator confidence) come along; one that is
        # itself called "text" or "label" would collide with the chosen ones.
        if column not in (text, label) and str(column) not in ("text", "label", "_row"):
            out[str(column)] = frame[column].to_numpy()
    # Position in the source, so that the report can say which rows it dropped.
    out["_row"] = frame["_row"].to_numpy() if "_row" in columns else np.arange(len(out))
    return out


def _find_column(columns: list, wanted: str | int) -> Any:
    if wanted in columns:
        return wanted
    if isinstance(wanted, int) and not isinstance(wanted, bool) and 0 <= wanted < len(columns):
        return columns[wanted]  # by position
    return None


def _missing_columns(table: Table, missing: list) -> str:
    frame, name, read_with = table.frame, table.where, table.read_with
    columns = list(frame.columns)
    message = f"{name}: column(s) {missing} not found. The data has columns {columns}"
    text_at, label_at = _guess_text_and_label(frame)
    header_row = read_with.get("header") is not None  # a file's first row named the columns
    evidence = _header_looks_like_data(frame) if header_row else []
    if evidence:
        first = [str(c)[:40] for c in columns]
        return (
            f"{name}: column(s) {missing} not found, and this file seems to have no header "
            f"row: its first row {first} looks like data ({'; '.join(evidence)}). Pass "
            f"header=None and text_column={text_at}, label_column={label_at} (columns are "
            "then numbered from 0)."
        )
    if read_with.get("header", 0) is None:
        return (
            f"{message}. With header=None the columns are numbered: pass text_column=<number>"
            f" and label_column=<number> (column {text_at} looks like the text, column "
            f"{label_at} like the label)."
        )
    if len(columns) == 1 and read_with:
        found = [s for s in ("\t", ";", "|", ",") if s in str(columns[0])]
        if found:
            return f"{message}. It looks separated by {found[0]!r}: pass sep={found[0]!r}."
    lowered = {str(c).strip().lower(): c for c in columns}
    close = [
        lowered[m]
        for want in missing
        for m in difflib.get_close_matches(str(want).strip().lower(), list(lowered), n=1)
    ]
    hint = f" (did you mean {close}?)" if close else ""
    return f"{message}; pass text_column=... and label_column=... to name the right ones{hint}."


def _header_looks_like_data(frame: pd.DataFrame) -> list[str]:
    """Reasons to think the 'column names' of a file are really its first data row."""
    evidence = []
    for position, column in enumerate(frame.columns):
        name = str(column)
        same = int((frame.iloc[:, position].astype(str) == name).sum()) if name else 0
        if same:  # a real column name ("label") is rarely also a value in its column
            evidence.append(
                f"{name[:30]!r} is also the value of {same:,} rows in column {position}"
            )
        elif len(name) >= 40 or len(name.split()) >= 5:
            evidence.append(f"{name[:30] + '...'!r} reads like a text, not a column name")
    return evidence


def _check_first_row(frame: pd.DataFrame, report: LoadReport) -> None:
    """Note a first row that looks like column names although header=None was given."""
    labels = frame["label"].astype(str)
    counts = labels.value_counts()
    first = labels.iloc[0] if len(labels) else ""
    # A label seen only in row 0, in a column where every other label repeats: a header.
    if len(labels) >= 10 and counts[first] == 1 and (counts.drop(first) >= 2).all():
        text = str(frame["text"].iloc[0])[:30]
        report.notes.append(
            f"row 0 ({text!r}, {first!r}) looks like column names: if so, pass header=0"
        )


def _guess_text_and_label(frame: pd.DataFrame) -> tuple[int, int]:
    """Positions of the likely text (longest values) and label (fewest distinct) columns."""
    if frame.shape[1] < 2:
        return 0, 1
    sample = frame.head(1000).astype(str)
    lengths = [sample.iloc[:, i].str.len().mean() for i in range(frame.shape[1])]
    text_at = int(np.argmax(lengths))
    others = [i for i in range(frame.shape[1]) if i != text_at]
    label_at = min(others, key=lambda i: sample.iloc[:, i].nunique())
    return text_at, label_at


def _is_missing(value: Any) -> bool:
    """None, NaN, pd.NA or NaT: a value that is not there."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _drop_unusable_rows(frame: pd.DataFrame, report: LoadReport, name: str) -> pd.DataFrame:
    """Drop rows with no text or no label (recorded by reason); refuse non-string texts."""
    if len(frame) == 0:
        raise ValueError(f"{name}: the dataset is empty: it has no rows.")
    frame = report._drop(frame, [_is_missing(t) for t in frame["text"]], MISSING_TEXT)
    texts = frame["text"].tolist()
    wrong = [
        (row, t) for row, t in zip(frame["_row"], texts, strict=True) if not isinstance(t, str)
    ]
    if wrong:
        shown = ", ".join(f"row {row}: {type(t).__name__} {t!r:.30}" for row, t in wrong[:3])
        raise ValueError(
            f"{name}: texts must be strings, but {len(wrong):,} are not ({shown}). If these "
            "values are meant as text, convert the column first, e.g. frame[col].astype(str)."
        )
    frame = report._drop(frame, [not t.strip() for t in texts], EMPTY_TEXT)
    labels = frame["label"].tolist()
    no_label = [_is_missing(v) or (isinstance(v, str) and not v.strip()) for v in labels]
    return report._drop(frame, no_label, MISSING_LABEL)


_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_INTEGRAL = re.compile(r"-?[0-9]+(\.0*)?")  # 1 or 1.0, as files written from floats say


def _label_text(value: Any) -> str:
    """A label as text: 1, 1.0 and "1" are all "1"; surrounding spaces do not count."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        # A number column with one blank cell is float (1.0); the labels were integers.
        return str(int(value))
    return str(value).strip()


def _label_texts(labels: pd.Series, report: LoadReport) -> pd.Series:
    values = labels.tolist()
    texts = [_label_text(v) for v in values]
    numbers = any(isinstance(v, (int, float, np.number)) for v in values)
    if numbers and any(isinstance(v, str) for v in values):
        report.notes.append("labels mix numbers and strings: compared as text (1 and '1' are one)")
    padded = sorted({v for v in values if isinstance(v, str) and v != v.strip()})
    if padded:
        report.notes.append(f"spaces around labels ignored ({padded[0]!r})")
    if any("." in t for t in texts) and all(_INTEGRAL.fullmatch(t) for t in texts):
        # A file written from a number column with a blank cell says 0.0 and 1.0.
        report.notes.append("labels such as '1.0' read as integers")
        texts = [str(int(t.split(".")[0])) for t in texts]
    return pd.Series(texts, index=labels.index, dtype=object)


def _label_ids(
    labels: pd.Series, label_names: Sequence[str] | None, report: LoadReport, column: Any
) -> tuple[list[int], list[str]]:
    """Class ids for label texts (numbered in numeric order for integers, else by
    ``label_names`` or sorted), and the class names; the mapping goes into the report."""
    values = sorted(set(labels))
    integers = all(_INTEGER.fullmatch(v) for v in values)
    if integers:
        values = sorted(values, key=int)
    names = list(values)  # named by themselves (integers by their numbers)
    if label_names is not None:
        names = [str(n) for n in label_names]
        if not integers:
            unknown = sorted(set(values) - set(names))
            if unknown:
                raise ValueError(
                    f"Labels {unknown[:10]} are not in label_names {names}. "
                    "Fix the data or add them to label_names."
                )
        if len(names) != len(values):
            shown = ", ".join(values[:10]) + (" ..." if len(values) > 10 else "")
            raise ValueError(
                f"label_names gives {_plural(len(names), 'name')} {names}, but "
                f"label_column={column!r} holds {_plural(len(values), 'value')}: {shown}. "
                "Give one name per value, in the order of the sorted values."
            )
    if integers and [int(v) for v in values] != list(range(len(values))):
        # e.g. ratings 1..5 or -1/0/1: ids in numeric order
        ids = "named in order" if label_names is not None else f"get ids 0..{len(values) - 1}"
        report.notes.append(f"integer labels {values[0]}..{values[-1]} {ids}")
    # names holds each value once (checked above): a value's id is its place there.
    mapping = (
        {v: i for i, v in enumerate(values)} if integers else {v: names.index(v) for v in values}
    )
    report.label_names, report.label_mapping = names, mapping
    return [mapping[v] for v in labels], names


def _handle_repeats(
    frame: pd.DataFrame, report: LoadReport, drop_duplicates: bool, conflicting: str
) -> pd.DataFrame:
    """Resolve texts that appear with different labels, then drop repeated texts."""
    # The first occurrence is kept: Hub splits are stacked test first, so a repeat stays there.
    per_text = frame.groupby("text", sort=False)["label"].nunique()
    clashing = per_text.index[per_text > 1]
    report.conflicting_texts = len(clashing)
    if len(clashing) and conflicting == "error":
        shown = "; ".join(
            f"{t[:40]!r}: {sorted(set(frame.loc[frame['text'] == t, 'label']))}"
            for t in clashing[:3]
        )
        raise ValueError(
            f"{report.source}: {len(clashing):,} texts appear with different labels ({shown}). "
            "Fix them, or pass conflicting_labels='drop' (drop every copy) or 'first'."
        )
    in_clash = frame["text"].isin(clashing)
    if conflicting == "first":
        first_label = frame.groupby("text", sort=False)["label"].transform("first")
        in_clash &= frame["label"] != first_label
    frame = report._drop(frame, in_clash, CONFLICT)
    repeated = frame.duplicated("text")
    if drop_duplicates:
        return report._drop(frame, repeated, DUPLICATE)
    report.duplicates_kept = int(repeated.sum())
    return frame
