"""The whole recipe in one call: load data, sample, seeded model, freeze, train, evaluate.

:func:`fine_tune` (what the command line, the panel and the lab run) only puts public
functions in order: ``load_text_dataset``, ``stratified_sample``, ``set_seed``,
``load_model``, ``freeze`` (or ``add_lora``), ``train``, ``evaluate``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from datasets import DatasetDict

from .config import TrainConfig, set_seed, split_label_names
from .data import LoadReport, check_every_class_trained, label_names_of, load_text_dataset
from .evaluation import EvaluationReport, evaluate, predict
from .lora import add_lora
from .models import freeze, load_model, load_tokenizer, random_model, unfreeze
from .record import data_record, model_record
from .sampling import stratified_sample
from .training import TrainingResult, train


@dataclass
class Run:
    """One finished run: its configuration, data, trained model, training and test results."""

    config: TrainConfig
    model: Any
    tokenizer: Any
    data: DatasetDict
    result: TrainingResult
    report: EvaluationReport | None
    #: What loading the data did (rows read, dropped and why); None when data= was given.
    load_report: LoadReport | None = None

    def predict(self, texts: Sequence[str]) -> pd.DataFrame:
        """Classify new texts at the length the model was trained with."""
        return predict(self.model, self.tokenizer, texts, max_length=self.config.max_length)

    def save(self, folder: str | Path, **kwargs: Any) -> Path:
        """Save the model, its tokenizer, the configuration and the scores to ``folder``."""
        from .persistence import save_model

        extras = {"training": self.result, "metrics": self.report, "load_report": self.load_report}
        return save_model(self.model, self.tokenizer, folder, **extras, **kwargs)


def load_data(
    config: TrainConfig, *, verbose: bool = True, split: bool = True
) -> tuple[DatasetDict, LoadReport]:
    """The dataset of ``config`` (read, split, sampled as it says) and its :class:`LoadReport`.

    ``split`` as in :func:`tlhelpers.load_text_dataset`.

    Example:
        >>> data, report = load_data(TrainConfig(dataset="bbc-news", n_per_class=16))
    """
    if config.dataset is None:
        raise ValueError("The configuration names no dataset: set dataset=... (or pass data=).")
    data, report = load_text_dataset(
        config.dataset,
        text_column=_column(config.text_column),
        label_column=_column(config.label_column),
        label_names=split_label_names(config.label_names),
        validation_size=config.validation_size,
        test_size=config.test_size,
        seed=config.seed,
        max_examples=config.max_examples if split else None,  # all: every row, nothing sampled
        header=config.header,
        sep={"tab": "\t", "\\t": "\t"}.get(config.sep, config.sep),
        quoting=config.quoting,
        encoding=config.encoding,
        drop_duplicates=config.drop_duplicates,
        conflicting_labels=config.conflicting_labels,
        verbose=verbose,
        return_report=True,
        split=split,
    )
    return (sample_splits(data, config) if split else data), report


def _column(name: str | int) -> str | int:
    # From the command line every value is text: "0" means the first column of a file.
    return int(name) if isinstance(name, str) and name.isdigit() else name


def sample_splits(data: DatasetDict, config: TrainConfig) -> DatasetDict:
    """Apply ``n_per_class`` to the training split and ``max_validation_examples`` to validation.

    The test split is never touched, so runs with different samples stay comparable.
    """
    data = DatasetDict(data)  # a new dict: the caller's splits are left as they were
    if config.n_per_class is not None:
        data["train"] = stratified_sample(
            data["train"], per_class=config.n_per_class, seed=config.seed
        )
    if config.max_validation_examples is not None:
        data["validation"] = stratified_sample(
            data["validation"], size=config.max_validation_examples, seed=config.seed
        )
    return data


def load_seeded_model(config: TrainConfig, labels: Sequence[str]):
    """The model of ``config``, its new head initialised from ``config.seed``, frozen as it says."""
    # Seed *before* loading: the new head's weights are drawn when the model is built.
    set_seed(config.seed)
    if config.pretrained:
        model, tokenizer = load_model(config.model, labels=labels)
    else:
        model, tokenizer = random_model(config.model, labels=labels), load_tokenizer(config.model)
    if config.train_last_layers is None:
        unfreeze(model)
    else:
        freeze(model, train_last_layers=config.train_last_layers)
    if config.lora_rank is not None:
        model = add_lora(model, rank=config.lora_rank, alpha=config.lora_alpha)
    return model, tokenizer


def fine_tune(
    config: TrainConfig,
    *,
    data: DatasetDict | None = None,
    callbacks: Sequence[Callable] = (),
    progress: bool = True,
    verbose: bool | None = None,
    evaluate_test: bool = True,
) -> Run:
    """Run the whole recipe that ``config`` describes and return the :class:`Run`.

    ``data``: a DatasetDict instead of ``config.dataset`` (still sampled as it says).
    ``callbacks`` and ``progress`` go to :func:`tlhelpers.train`; ``verbose`` prints the
    load report (default: with ``progress``).

    Example:
        >>> run = fine_tune(TrainConfig(dataset="tweet-sentiment", n_per_class=300, epochs=1))
        >>> run.report.summary()
        {'accuracy': 0.68, 'macro_f1': 0.67}
        >>> run.save("runs/tweets")
    """
    load_report = None
    if data is None:
        verbose = progress if verbose is None else verbose
        data, load_report = load_data(config, verbose=verbose)
    else:
        given = split_label_names(config.label_names)
        if given is not None and given != label_names_of(data):
            raise ValueError(
                f"label_names={config.label_names!r}, but the data given has the classes "
                f"{label_names_of(data)}: name them when loading the data, or leave "
                "label_names out."
            )
        data = sample_splits(data, config)
    # Before the model loads: a class with no training example would train silently and
    # never be predicted.
    check_every_class_trained(data, hint=_sampling_hint(config) if load_report else "")
    model, tokenizer = load_seeded_model(config, label_names_of(data))
    # train() is handed the data and model ready-made, so it gets the training fields only;
    # the result then records the whole config and where the data and model came from.
    training = TrainConfig(**config.settings("training"))
    result = train(model, tokenizer, data, training, callbacks=callbacks, progress=progress)
    result.config = config
    sampling = {name: getattr(config, name) for name in ("n_per_class", "max_validation_examples")}
    seen = {key: result.data_used[key] for key in ("rows", "sha256")}  # train() hashed `data`
    result.data_used = data_record(seen, config) if load_report else data_record(seen, **sampling)
    result.model_used = model_record(model, config)
    report = None
    # A stopped run skips the test: whoever stopped it wants it to end now.
    if evaluate_test and "test" in data and not result.interrupted:
        report = evaluate(model, tokenizer, data["test"], max_length=config.max_length)
    return Run(config, model, tokenizer, data, result, report, load_report)


def _sampling_hint(config: TrainConfig) -> str:
    """How the split that left a class out of training was made: the settings to change."""
    cut = f"max_examples={config.max_examples}, " if config.max_examples is not None else ""
    return (
        f" The data was split with {cut}validation_size={config.validation_size} and "
        f"test_size={config.test_size}: a class this rare can miss the train split."
    )
