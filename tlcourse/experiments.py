"""Experiments: measure the promises of transfer learning instead of taking them on trust.

Tutorials say that transfer learning (1) works with little labelled data, (2) cuts
training time and (3) generalises better. A :class:`TransferLab` checks each claim on one
dataset by training its methods on the *same* training sets, drawn from one pool:

- ``"fine-tuned"``: the pretrained encoder with a new head, trained until validation stops
  improving; with ``TrainConfig(train_last_layers=k, cache_frozen_layers=True)`` only the
  top ``k`` layers and the head learn, on cached outputs of the frozen lower layers
  ("fine-tune the top k layers", the affordable kind on a CPU);
- ``"frozen features"``: the pretrained encoder as a fixed text-to-vector function,
  plus logistic regression (no backpropagation through the encoder);
- ``"random init"``: the same architecture and training recipe, from random weights:
  what the pretraining is worth (give each transformer method its own learning rate,
  chosen on validation, with :meth:`TransferLab.choose_learning_rate`);
- ``"tf-idf"``: word and word-pair counts plus logistic regression (no pretraining at all);
- ``"full fine-tuning"``: every weight of the pretrained encoder learns (no cache);
- ``"LoRA"``: low-rank adapters in every layer learn over frozen pretrained weights
  (:func:`tlhelpers.add_lora`, with the ``peft`` library), the pooler and head in full.

Notebook 07 runs the first four live; the two slow ones (they backpropagate through every
layer) run in the recorded deep run, ``make lab-deep`` (``tools/lab_deep.py``).

Seeds draw different training sets from a pool larger than the largest size, so their
spread measures the luck of the draw. :mod:`tlcourse.lab_analysis` looks inside the
encoder (layer probes, embedding maps) and summarises the tables;
:func:`tlhelpers.compare_table` turns them into verdicts by the course's one noise rule.

Each text goes through the frozen encoder once (every layer in one pass) for every size
and seed, and top-layer fine-tuning shares the frozen lower layers' states between runs
(:func:`tlhelpers.layer_cache.shared_lower_layer_states`). The two transformer methods are
trained by :func:`tlhelpers.fine_tune`, from one :class:`tlhelpers.TrainConfig`.

Example:
    >>> data = tl.load_text_dataset("tweet-sentiment")
    >>> lab = TransferLab(data, name="tweets", config=tl.TrainConfig(max_length=64))
    >>> curves = lab.learning_curves(["frozen features", "tf-idf"], sizes=[8, 64], seeds=3)
    >>> tl.compare_table(curves)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from datasets import Dataset, DatasetDict, concatenate_datasets

from tlcourse.noise import NOISES, corrupt
from tlhelpers.baselines import TfidfBaseline
from tlhelpers.config import TrainConfig
from tlhelpers.data import label_names_of
from tlhelpers.evaluation import compute_metrics, predict_proba
from tlhelpers.features import extract_features, linear_probe
from tlhelpers.layer_cache import predict_proba_over_cache, shared_lower_layer_states
from tlhelpers.models import load_model
from tlhelpers.recipe import fine_tune
from tlhelpers.sampling import stratified_indices, stratified_sample

# How each transformer method departs from the lab's config (which is "fine-tuned"'s recipe).
TRANSFORMER_METHODS = {
    "fine-tuned": {},
    "random init": {"pretrained": False},
    "full fine-tuning": {"train_last_layers": None, "cache_frozen_layers": False},
    "LoRA": {"train_last_layers": None, "cache_frozen_layers": False, "lora_rank": 8},
}
METHODS = ("fine-tuned", "frozen features", "random init", "tf-idf", "full fine-tuning", "LoRA")

Predictor = Callable[[Sequence[str]], np.ndarray]  # texts -> class probabilities


@dataclass
class MethodRun:
    """One trained method of the lab: its scores and the classifier itself."""

    record: dict  # scores, train/test gap, training seconds (and steps for transformers)
    predictor: Predictor  # texts -> class probabilities
    model: object | None = None  # the trained transformer (transformer methods only)


def macro_f1(y_true: Sequence[int], probabilities: np.ndarray, num_labels: int) -> float:
    """Macro-F1 of the most probable class (:func:`tlhelpers.compute_metrics`'s definition)."""
    y_pred = np.asarray(probabilities).argmax(axis=1)
    return compute_metrics(list(y_true), y_pred, num_labels)["macro_f1"]


class TransferLab:
    """Train and score the methods of :data:`METHODS` on one dataset.

    Args:
        data: a DatasetDict from :func:`tlhelpers.load_text_dataset`.
        name: the dataset's name in tables and figures.
        config: how the two transformer methods train (model, ``lr``, ``batch_size``,
            ``max_length``, ``train_last_layers``, ``cache_frozen_layers``, and the stopping
            rule: ``patience`` validations without improvement, at most ``max_steps``
            optimizer steps). ``max_length`` applies to every transformer method, the frozen
            features included. The lab sets the seed, the data and ``pretrained``.
        pool_per_class: training examples per class drawn once; every training set of every
            size and seed is drawn from this pool, so its features are computed once.
        max_test_examples, max_validation_examples: sizes of the stratified test and
            validation subsets that every method is scored on (all of a split if smaller).
        gap_examples: how many of a run's training examples are scored for the train/test gap.
        steps_per_validation: a transformer run validates once per pass over its training
            set, but at least this many optimizer steps apart: a few-shot set is repeated
            until one pass is that long, so that patience means the same on every size.
        verbose: print one line per finished method.

    Example:
        >>> config = tl.TrainConfig(max_length=128, train_last_layers=1,
        ...                         cache_frozen_layers=True, patience=2, max_steps=150)
        >>> lab = TransferLab(data, name="bbc", config=config)
        >>> lab.run("tf-idf", n_per_class=8, seed=0).record["test_macro_f1"]
        0.71
    """

    def __init__(
        self,
        data: DatasetDict,
        *,
        name: str = "data",
        config: TrainConfig | None = None,
        pool_per_class: int = 512,
        max_test_examples: int = 1000,
        max_validation_examples: int = 500,
        gap_examples: int = 200,
        steps_per_validation: int = 10,
        verbose: bool = True,
    ):
        if not isinstance(data, DatasetDict) or not {"train", "validation", "test"} <= set(data):
            raise ValueError("TransferLab needs a DatasetDict with train/validation/test splits.")
        self.config = config or TrainConfig(
            lr=3e-4,
            batch_size=16,
            train_last_layers=1,
            cache_frozen_layers=True,
            patience=2,
            max_steps=150,
        )
        if self.config.patience is None or self.config.max_steps is None:
            raise ValueError(
                "The lab trains until validation stops improving: give the config a patience "
                "and a cap, e.g. config.replace(patience=2, max_steps=150)."
            )
        if steps_per_validation < 1:
            raise ValueError(
                f"steps_per_validation must be at least 1, not {steps_per_validation}."
            )
        self.name, self.max_length = name, self.config.max_length
        self.steps_per_validation = steps_per_validation
        self.gap_examples, self.verbose = gap_examples, verbose
        self.label_names = label_names_of(data)
        self.pool = stratified_sample(data["train"], per_class=pool_per_class, seed=0)
        self.pool_labels = np.asarray(self.pool["label"])
        self.validation = stratified_sample(
            data["validation"], size=max_validation_examples, seed=0
        )
        self.test = stratified_sample(data["test"], size=max_test_examples, seed=0)
        # The pretrained model serves as the frozen feature extractor (its head is unused).
        self.encoder, self.tokenizer = load_model(self.config.model, labels=self.label_names)
        self.layers = tuple(range(self.encoder.config.num_hidden_layers + 1))
        self._vectors: dict[str, np.ndarray] = {}  # text -> (layers, hidden) frozen features
        self._lower_states: dict = {}  # lower-layer states shared by the transformer runs
        self.seconds_per_text: float | None = None  # measured cost of one frozen forward pass
        self.kept: dict[str, list[MethodRun]] = {}  # method -> its runs at the largest size
        # A transformer method's own learning rate (see choose_learning_rate); else config.lr.
        self.learning_rates: dict[str, float] = {}
        self._precomputed = False

    def __repr__(self) -> str:
        return (
            f"TransferLab({self.name!r}: {len(self.label_names)} classes, pool "
            f"{len(self.pool)}, validation {len(self.validation)}, test {len(self.test)}, "
            f"max_length {self.max_length})"
        )

    @property
    def largest_size(self) -> int:
        """The most training examples per class the pool allows."""
        return int(np.bincount(self.pool_labels).min())

    def method_config(self, method: str, seed: int = 0) -> TrainConfig:
        """The config a transformer method trains with: the lab's, changed as
        :data:`TRANSFORMER_METHODS` says, with the method's learning rate and ``seed``.

        Example:
            >>> lab.method_config("LoRA").changed()["lora_rank"]
            8
        """
        if method not in TRANSFORMER_METHODS:
            raise ValueError(
                f"'{method}' is not a transformer method; choose from {list(TRANSFORMER_METHODS)}."
            )
        changes = TRANSFORMER_METHODS[method]
        return self.config.replace(
            **changes, seed=seed, lr=self.learning_rates.get(method, self.config.lr)
        )

    # Frozen features, computed once per text ---------------------------------------------

    def embed(self, texts: Sequence[str], layer: int = -1) -> np.ndarray:
        """Frozen pretrained features of ``texts`` at ``layer`` (0 = embeddings, -1 = last).

        Every layer of a text is computed in the same forward pass and kept, so a text
        costs one pass however many layers, sizes and seeds use it.

        Example:
            >>> lab.embed(["What a flight!"]).shape
            (1, 384)
        """
        texts = [str(t) for t in texts]
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            start = time.perf_counter()
            features = extract_features(
                self.encoder,
                self.tokenizer,
                missing,
                layers=self.layers,
                max_length=self.max_length,
            )
            if self.seconds_per_text is None:
                self.seconds_per_text = (time.perf_counter() - start) / len(missing)
            stacked = np.stack([features[layer] for layer in self.layers], axis=1)
            self._vectors.update(zip(missing, stacked, strict=True))
        return np.stack([self._vectors[t][layer] for t in texts])

    def precompute_features(self) -> float:
        """Embed the pool, validation and test sets in one pass; return the seconds it took."""
        start = time.perf_counter()
        if not self._precomputed:
            self.embed([*self.pool["text"], *self.validation["text"], *self.test["text"]])
            self._precomputed = True
        return time.perf_counter() - start

    # One run: one method, one training-set size, one seed --------------------------------

    def training_indices(self, n_per_class: int, seed: int) -> np.ndarray:
        """Pool rows of a training set: ``n_per_class`` of each class (the one sampler,
        :func:`tlhelpers.sampling.stratified_indices`).

        Sets are nested: for one seed, the 8-per-class set is inside the 32-per-class set,
        so a learning curve adds data rather than swapping it. A seed draws the same set
        for every method, so methods can be compared seed by seed (:func:`tlhelpers.compare`).
        """
        if not 1 <= n_per_class <= self.largest_size:
            raise ValueError(
                f"n_per_class={n_per_class} is outside 1..{self.largest_size} (the smallest "
                f"class in the pool); raise pool_per_class or use smaller sizes."
            )
        return stratified_indices(self.pool_labels, per_class=n_per_class, seed=seed)

    def check_seeds_vary(self, n_per_class: int, seeds: int) -> None:
        """Raise if ``seeds`` seeds at ``n_per_class`` would all draw the same training set.

        Seeds measure the luck of the draw only if they draw different examples.
        """
        if seeds > 1 and n_per_class >= self.largest_size:
            raise ValueError(
                f"At {n_per_class} per class every seed draws the whole pool ({self.largest_size}"
                f" per class), so the seeds would train on identical sets and show no spread; "
                f"make pool_per_class larger than the largest size (e.g. twice it)."
            )

    def run(self, method: str, n_per_class: int, seed: int = 0) -> MethodRun:
        """Train one method on one training set and score it on train, validation and test.

        Returns:
            A :class:`MethodRun`: the record (scores, the train/test gap, training seconds;
            for transformers also the optimizer steps, the best step and whether it stopped
            early) and the trained classifier as a function texts -> class probabilities.

        Example:
            >>> lab.run("frozen features", n_per_class=16, seed=0).record["test_macro_f1"]
            0.62
        """
        if method not in METHODS:
            raise ValueError(f"Unknown method '{method}'. Choose from {list(METHODS)}.")
        rows = self.training_indices(n_per_class, seed)
        train_set = self.pool.select(rows)
        record = {
            "dataset": self.name,
            "method": method,
            "n_per_class": n_per_class,
            "train_examples": len(rows),
            "seed": seed,
        }
        model = None
        with shared_lower_layer_states(self._lower_states):
            if method == "tf-idf":
                baseline = TfidfBaseline().fit(train_set)
                predictor, seconds = baseline.predict_proba, baseline.fit_seconds
                val_f1 = self._score(predictor, self.validation)
            elif method == "frozen features":
                predictor, seconds = self._fit_probe(train_set, seed)
                val_f1 = self._score(predictor, self.validation)
            else:
                config = self.method_config(method, seed)
                model, seconds, val_f1, steps = self._train_transformer(config, train_set)
                predictor = self._transformer_predictor(model, config)
                record.update(steps)
            record["train_seconds"] = seconds
            record["train_macro_f1"] = self._score(
                predictor, stratified_sample(train_set, size=self.gap_examples, seed=seed)
            )
            record["val_macro_f1"] = val_f1
            record["test_macro_f1"] = self._score(predictor, self.test)
        record["gap"] = record["train_macro_f1"] - record["test_macro_f1"]
        return MethodRun(record, predictor, model)

    def _score(self, predictor: Predictor, dataset: Dataset) -> float:
        return macro_f1(dataset["label"], predictor(dataset["text"]), len(self.label_names))

    def _fit_probe(self, train_set: Dataset, seed: int) -> tuple[Predictor, float]:
        self.precompute_features()  # no-op once the pool is embedded
        start = time.perf_counter()
        probe = linear_probe(seed=seed).fit(
            self.embed(train_set["text"]), np.asarray(train_set["label"])
        )
        # Training cost = one frozen forward pass per training text + fitting the probe.
        seconds = len(train_set) * self.seconds_per_text + time.perf_counter() - start
        return (lambda texts: probe.predict_proba(self.embed(texts))), seconds

    def _train_transformer(self, config: TrainConfig, train_set: Dataset):
        # A few-shot set is repeated so that one pass is at least steps_per_validation
        # steps: the run validates after each pass and stops after `patience` passes
        # without improvement, or at the cap of max_steps.
        batch_size = self.config.batch_size
        repeats = math.ceil(self.steps_per_validation * batch_size / len(train_set))
        repeated = concatenate_datasets([train_set] * max(1, repeats))
        steps_per_pass = math.ceil(len(repeated) / batch_size)
        config = config.replace(
            epochs=math.ceil(self.config.max_steps / steps_per_pass),
            log_every=steps_per_pass,
            eval_every=None,
            n_per_class=None,
            max_validation_examples=None,
        )
        data = DatasetDict(train=repeated, validation=self.validation)
        run = fine_tune(config, data=data, progress=False, evaluate_test=False)
        # Training time is what the whole run cost up to its last validation, validation
        # passes excluded: the run could not know that it would not improve further.
        last, best = run.result.history.evals[-1], run.result.best
        steps = dict(
            lr=config.lr,
            steps=last["step"],
            best_step=best["step"],
            stopped_early=run.result.stopped_early,
        )
        return run.model, last["train_seconds"], best["macro_f1"], steps

    def _transformer_predictor(self, model, config: TrainConfig) -> Predictor:
        top_layers_only = config.cache_frozen_layers and config.train_last_layers is not None

        def predictor(texts: Sequence[str]) -> np.ndarray:
            with shared_lower_layer_states(self._lower_states):
                if top_layers_only:  # the same numbers as predict_proba, faster
                    return predict_proba_over_cache(
                        model, self.tokenizer, texts, max_length=self.max_length
                    )
                return predict_proba(model, self.tokenizer, texts, max_length=self.max_length)

        return predictor

    def choose_learning_rate(
        self, method: str, grid: Sequence[float], n_per_class: int, seed: int = 0
    ) -> pd.DataFrame:
        """Give a transformer method its own learning rate: the best of ``grid`` on validation.

        One run per learning rate at ``n_per_class`` (seed ``seed``); the rate with the best
        validation macro-F1 is kept in ``lab.learning_rates[method]`` and used by every
        later run of that method. The test set is never looked at, so the choice does not
        flatter the test scores.

        Returns:
            One row per learning rate: method, lr, val_macro_f1, steps, best_step, chosen.

        Example:
            >>> lab.choose_learning_rate("random init", [1e-4, 3e-4, 1e-3], n_per_class=16)
        """
        if method not in TRANSFORMER_METHODS:
            raise ValueError(
                f"Only transformer methods ({', '.join(TRANSFORMER_METHODS)}) have a learning "
                f"rate, not '{method}'."
            )
        if not grid:
            raise ValueError("Give at least one learning rate to try, e.g. [1e-4, 3e-4, 1e-3].")
        self.training_indices(n_per_class, seed)  # checks the size before any work
        records = []
        for lr in grid:
            self.learning_rates[method] = float(lr)
            records.append(self.run(method, n_per_class, seed).record)
        table = pd.DataFrame(records)[["method", "lr", "val_macro_f1", "steps", "best_step"]]
        best = table["val_macro_f1"].idxmax()  # the first (smallest listed) rate on a tie
        self.learning_rates[method] = float(table.loc[best, "lr"])
        table["chosen"] = table.index == best
        return table

    # Promise 1 and 2: learning curves and training time ----------------------------------

    def learning_curves(
        self, methods: Sequence[str], sizes: Sequence[int], seeds: int = 3
    ) -> pd.DataFrame:
        """Run every method at every size (examples per class) with ``seeds`` seeds.

        The runs at the largest size (every seed) are kept in ``lab.kept`` for
        :meth:`robustness` and :meth:`embedding_map`.

        Returns:
            One row per run: dataset, method, n_per_class, train_examples, seed,
            train_seconds, train/val/test macro-F1, the train/test gap, and for the
            transformer methods steps, best_step and stopped_early.

        Example:
            >>> curves = lab.learning_curves(["tf-idf"], sizes=[8, 32, 128], seeds=5)
        """
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise ValueError(f"Unknown method(s) {unknown}. Choose from {list(METHODS)}.")
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {seeds}.")
        sizes = sorted(set(int(n) for n in sizes))
        if not sizes or sizes[0] < 1 or sizes[-1] > self.largest_size:
            raise ValueError(
                f"sizes must lie in 1..{self.largest_size} examples per class (the smallest "
                f"class in the pool), got {sizes}; raise pool_per_class or use smaller sizes."
            )
        self.check_seeds_vary(sizes[-1], seeds)
        records = []
        for method in methods:
            start, first = time.perf_counter(), len(records)
            self.kept[method] = []
            for n_per_class in sizes:
                for seed in range(seeds):
                    run = self.run(method, n_per_class, seed)
                    records.append(run.record)
                    if n_per_class == sizes[-1]:
                        self.kept[method].append(run)
            if self.verbose:
                # Wall clock and the training time the runs are charged differ: validation is
                # not charged, and frozen features are computed once beforehand but charged
                # to every run at the measured cost per text.
                charged = sum(record["train_seconds"] for record in records[first:])
                print(
                    f"{self.name}: {method}: {len(sizes) * seeds} runs, "
                    f"{time.perf_counter() - start:.0f} s wall clock, "
                    f"{charged:.0f} s charged as training time"
                )
        return pd.DataFrame(records)

    # Promise 3: robustness to noisy text -------------------------------------------------

    def robustness(
        self,
        noises: Sequence[str] = tuple(NOISES),
        methods: Sequence[str] | None = None,
        seed: int = 0,
    ) -> pd.DataFrame:
        """Test macro-F1 of the kept runs (see :meth:`learning_curves`) on noisy test texts.

        Every run sees the same corrupted texts (``seed`` picks the corruption); every kept
        seed of a method is scored, so a drop can be compared with the seed noise.

        Returns:
            One row per method, run seed and noise (``"clean"`` included), with the drop
            from that run's clean score.

        Example:
            >>> lab.robustness(["typos", "truncated"], methods=["fine-tuned", "tf-idf"])
        """
        if not self.kept:
            raise RuntimeError("Run learning_curves(...) first: robustness tests its kept runs.")
        methods = list(self.kept) if methods is None else list(methods)
        missing = [m for m in methods if m not in self.kept]
        if missing:
            raise ValueError(f"No kept runs for {missing}; learning_curves ran {list(self.kept)}.")
        texts, labels = list(self.test["text"]), list(self.test["label"])
        variants = {"clean": texts} | {kind: corrupt(texts, kind, seed=seed) for kind in noises}
        rows = []
        for method in methods:
            for kept in self.kept[method]:
                run = {
                    key: kept.record[key] for key in ("dataset", "method", "n_per_class", "seed")
                }
                for noise, noisy in variants.items():
                    score = macro_f1(labels, kept.predictor(noisy), len(self.label_names))
                    rows.append({**run, "noise": noise, "test_macro_f1": score})
        table = pd.DataFrame(rows)
        clean = table[table["noise"] == "clean"].set_index(["method", "seed"])["test_macro_f1"]
        keys = pd.MultiIndex.from_frame(table[["method", "seed"]])
        table["drop"] = clean.reindex(keys).to_numpy() - table["test_macro_f1"].to_numpy()
        return table

    def unchanged_inputs(self, noise: str, seed: int = 0) -> float:
        """Share of test texts whose transformer input (after truncation) the noise leaves as is.

        Truncation at ``max_length`` hides any change past that point: cutting a long
        article in half changes nothing a transformer reads if the first half is still
        longer than ``max_length`` tokens.

        Example:
            >>> lab.unchanged_inputs("truncated")
            0.93
        """
        texts = list(self.test["text"])
        noisy = corrupt(texts, noise, seed=seed)
        encode = self.tokenizer
        clean_ids = encode(texts, truncation=True, max_length=self.max_length)["input_ids"]
        noisy_ids = encode(noisy, truncation=True, max_length=self.max_length)["input_ids"]
        return float(np.mean([a == b for a, b in zip(clean_ids, noisy_ids, strict=True)]))
