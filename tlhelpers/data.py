"""Text-classification data: one call from any source to train/validation/test.

:func:`load_text_dataset` returns a ``datasets.DatasetDict`` (``text`` and a ``ClassLabel``
``label``) from any source, texts byte for byte, and reports what it read and dropped.
:func:`check_texts` guards the other way in: texts to classify.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import datasets
import numpy as np
import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Value

from .cleaning import LoadReport, Table, _describe_dropped, _is_missing, clean_rows
from .files import BUILTIN_DATASETS, FILE_TYPES, FileOptions, is_file_source, read_file
from .sampling import SEED, stratified_indices, stratified_sample

Source = str | Path | pd.DataFrame | dict | tuple


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
    quoting: str | None = None,
    encoding: str | None = None,
    drop_duplicates: bool | None = None,
    conflicting_labels: Literal["drop", "first", "error"] = "drop",
    verbose: bool = True,
    return_report: bool = False,
    split: bool = True,
) -> DatasetDict | tuple[DatasetDict, LoadReport]:
    """Load labelled texts from any source as train/validation/test splits.

    Hugging Face: ``datasets.load_dataset(...)`` then ``train_test_split(stratify_by_column=...)``.

    Args:
        source: a built-in name (``"tweet-sentiment"``), a Hub dataset id, a CSV/TSV/JSON/
            JSONL/Parquet file, a DataFrame, a dict of columns or ``(texts, labels)``.
        text_column, label_column: by name, or by position (0 = the first column).
        label_names: one name per label value, for the values in sorted order.
        n_per_class: keep at most this many *training* examples per class (few-shot).
        max_examples: subsample the whole dataset (stratified) before splitting.
        header, sep, quoting, encoding: how to read a file (as in pandas; ``quoting`` is
            ``"minimal"``, or ``"none"``, the default for TSV: quotes are part of the text).
        drop_duplicates: drop repeated texts (default: on, except for dicts and tuples).
        conflicting_labels: a text with different labels: ``"drop"`` every copy, keep the
            ``"first"``, or raise an ``"error"``.
        return_report: also return the :class:`LoadReport`: ``data, report = ...``.
        split: ``False`` keeps every cleaned row in one split ``"all"`` (to score a file).

    Rows without a text or label are dropped and reported, like repeated and conflicting
    texts. Labels compare as stripped text, so ``1``, ``1.0`` and ``"1"`` are one label.

    Example:
        >>> data = load_text_dataset("tweet-sentiment")
        tweet-sentiment: 38,158 rows read, 37,182 kept (train 29,746, validation 3,718, test 3,718).
        Dropped 609 with conflicting labels (48 texts), 367 duplicates.
        Labels: 0 'negative' (15,954), 1 'neutral' (14,421), 2 'positive' (6,807).
    """
    options = FileOptions(header, sep, quoting, encoding)
    for name, value in (("validation_size", validation_size), ("test_size", test_size)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must be a fraction between 0 and 1, got {value}.")
    if validation_size + test_size >= 1:
        raise ValueError(
            f"validation_size + test_size = {validation_size + test_size} leaves no training "
            "data; choose fractions that add up to less than 1 (e.g. 0.1 and 0.1)."
        )
    if conflicting_labels not in ("drop", "first", "error"):
        raise ValueError(
            f"conflicting_labels must be 'drop', 'first' or 'error', got {conflicting_labels!r}."
        )
    if options.given() and not is_file_source(source, options):
        raise ValueError(
            f"{', '.join(options.given())} only apply when the source is a CSV/TSV/JSON/"
            "Parquet file."
        )
    with _no_progress_bars():
        table = _read_source(source, text_column, label_column, options)
        # A classifier is trained on split data; scoring a file of one class is fine.
        frame, names, report = clean_rows(
            table, label_names, drop_duplicates, conflicting_labels, two_classes=split
        )
        if not split:
            if n_per_class is not None or max_examples is not None:
                raise ValueError(
                    "n_per_class and max_examples sample splits; split=False has none."
                )
            splits = {"all": frame}
        elif table.presplit:
            splits = _use_given_splits(frame, validation_size, test_size, seed)
        else:
            if max_examples is not None and max_examples < len(frame):
                keep = stratified_indices(frame["label"].to_numpy(), size=max_examples, seed=seed)
                report.left_out["max_examples"] = len(frame) - len(keep)
                frame = frame.iloc[keep]
            splits = _split(frame, validation_size, test_size, seed)
        data = DatasetDict({split: _to_dataset(part, names) for split, part in splits.items()})
        if table.presplit:  # the Hub's own train split may lack a class of its test split
            check_every_class_trained(data)
        if n_per_class is not None:
            before = len(data["train"])
            data["train"] = stratified_sample(data["train"], per_class=n_per_class, seed=seed)
            report.left_out["n_per_class"] = before - len(data["train"])
    for name, part in data.items():
        if len(part) == 0:
            dropped = f", after dropping {_describe_dropped(report)}" if report.dropped else ""
            raise ValueError(
                f"The {name} split is empty ({len(frame)} examples in all{dropped}). "
                "Provide more data or change validation_size / test_size."
            )
    report.count_splits(data)
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


def _read_source(source: Source, text_column, label_column, options: FileOptions) -> Table:
    if isinstance(source, str) and source in BUILTIN_DATASETS:
        reader, label_names = BUILTIN_DATASETS[source]
        return Table(reader(), source, source, label_names=label_names)
    if isinstance(source, pd.DataFrame):
        return Table(source, "DataFrame", "DataFrame", text_column, label_column)
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError("A tuple source must be (texts, labels).")
        texts, labels = list(source[0]), list(source[1])
        if len(texts) != len(labels):
            raise ValueError(f"(texts, labels): {len(texts)} texts but {len(labels)} labels.")
        frame = pd.DataFrame({"text": texts, "label": labels}, dtype=object)
        # Toy data typed in by hand repeats texts on purpose: keep them by default.
        return Table(frame, "(texts, labels)", "(texts, labels)", drop_duplicates=False)
    if isinstance(source, dict):
        frame = pd.DataFrame({key: list(values) for key, values in source.items()}, dtype=object)
        return Table(frame, "dict", "dict", text_column, label_column, drop_duplicates=False)
    if is_file_source(source, options):
        path = Path(source)
        frame, read_with = read_file(path, options)
        return Table(frame, path.name, str(path), text_column, label_column, read_with=read_with)
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
        return Table(frame, source, source, text_column, label_column, presplit=True)
    raise TypeError(
        f"Unsupported source of type {type(source).__name__}. Pass a built-in name "
        f"({', '.join(BUILTIN_DATASETS)}), a Hub id, a file path, a DataFrame, "
        "a dict of columns or a (texts, labels) tuple."
    )


def _to_dataset(frame: pd.DataFrame, names: Sequence[str]) -> Dataset:
    frame = frame.drop(columns=["_row", "_split"], errors="ignore")
    dataset = Dataset.from_pandas(frame, preserve_index=False)
    features = dataset.features.copy()
    features["text"] = Value("string")
    features["label"] = ClassLabel(names=list(names))
    return dataset.cast(features)


def _load_hub_dataset(name: str) -> dict[str, pd.DataFrame]:
    from huggingface_hub import constants

    try:
        loaded = datasets.load_dataset(name)
    except Exception as error:  # the Hub raises several types (ConnectionError, OSError, ...)
        why = (
            "it is not in the local Hugging Face cache (HF_HUB_OFFLINE=1 is set, so nothing is "
            "downloaded)"
            if constants.HF_HUB_OFFLINE
            else "it could not be downloaded"
        )
        raise ValueError(
            f"Unknown dataset '{name}': it is not a built-in name, not a file, and {why}. "
            f"Built-in datasets that work offline: {', '.join(BUILTIN_DATASETS)}. "
            f"Original error: {type(error).__name__}: {error}"
        ) from error
    return {split: part.to_pandas() for split, part in loaded.items()}


def _split_off(frame: pd.DataFrame, size: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the rest, a stratified ``size`` of the rows), both in their original order."""
    held = frame.index[stratified_indices(frame["label"].to_numpy(), size=size, seed=seed)]
    return frame.drop(index=held).reset_index(drop=True), frame.loc[held].reset_index(drop=True)


def _split(frame: pd.DataFrame, validation_size: float, test_size: float, seed: int):
    rest, test = _split_off(frame.reset_index(drop=True), test_size, seed)
    train, validation = _split_off(rest, validation_size / (1 - test_size), seed)
    return {"train": train, "validation": validation, "test": test}


def _use_given_splits(frame: pd.DataFrame, validation_size, test_size, seed: int):
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
    extra = sorted(set(parts) - {"train", "validation", "test"})
    if extra:
        # e.g. IMDb's "unsupervised" split: it has no usable labels for this task.
        raise ValueError(
            f"The dataset has splits {extra} besides train/validation/test; load it with "
            "datasets.load_dataset, keep the splits you want and pass a DataFrame."
        )
    return {"train": train, "validation": parts["validation"], "test": parts["test"]}


def check_every_class_trained(data: DatasetDict, *, hint: str = "") -> None:
    """Raise unless every class has a training example (naming where it does appear, then ``hint``).

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


def check_texts(texts: str | Iterable[Any], *, what: str = "texts") -> list[str]:
    """``texts`` (one string, or an iterable of them) as a list of strings, or raise.

    A tokenizer would classify ``None`` and ``NaN`` as the strings "None" and "nan"; the
    error names the bad entries, calling the texts ``what``.

    Example:
        >>> check_texts(["ok", None, float("nan")])
        Traceback (most recent call last):
        ValueError: texts must be strings, but 2 of 3 are not: texts[1] is None, ...
    """
    if isinstance(texts, str):
        return [str(texts)]
    raw = isinstance(texts, (bytes, bytearray))
    if raw or not isinstance(texts, Iterable):
        decode = " (decode bytes first, e.g. data.decode('utf-8'))" if raw else ""
        raise TypeError(
            f"{what} must be a string or a list of strings, got {type(texts).__name__}{decode}."
        )
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
