"""Experiments: measure the promises of transfer learning instead of taking them on trust.

Tutorials say that transfer learning (1) works with little labelled data, (2) cuts
training time and (3) generalises better. A :class:`TransferLab` checks each claim on one
dataset by training four methods on the *same* training sets, drawn from one pool:

- ``"fine-tuned"``: the pretrained encoder with a new head, trained until validation stops
  improving; with ``TrainConfig(train_last_layers=k, cache_frozen_layers=True)`` only the
  top ``k`` layers and the head learn, on cached outputs of the frozen lower layers
  ("fine-tune the top k layers", the affordable kind on a CPU);
- ``"frozen features"``: the pretrained encoder as a fixed text-to-vector function,
  plus logistic regression (no backpropagation through the encoder);
- ``"random init"``: the same architecture and training recipe, from random weights:
  what the pretraining is worth;
- ``"tf-idf"``: word and word-pair counts plus logistic regression (no pretraining at all).

It also looks inside the encoder: a linear probe on each layer's frozen features (where
the task's information lives) and a 2-D map of test embeddings before and after
fine-tuning (what fine-tuning changes). :func:`tlhelpers.compare_table` turns a table of
runs into verdicts by the course's one noise rule (:mod:`tlhelpers.verdicts`).

Costs are kept down the way a practitioner would: each text goes through the frozen
encoder once (every layer in one pass) and the vectors are reused for every training-set
size and seed; the lower-layer states that top-layer fine-tuning trains on are computed
once per text and shared by every run with the same frozen weights
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
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score

from .baselines import TfidfBaseline
from .config import TrainConfig
from .data import label_names_of, sample_per_class
from .evaluation import compute_metrics, predict_proba
from .features import extract_features, linear_probe
from .layer_cache import predict_proba_over_cache, shared_lower_layer_states
from .models import load_model
from .noise import NOISES, corrupt
from .recipe import fine_tune, stratified_subset

METHODS = ("fine-tuned", "frozen features", "random init", "tf-idf")

Predictor = Callable[[Sequence[str]], np.ndarray]  # texts -> class probabilities


@dataclass
class MethodRun:
    """One trained method of the lab: its scores and the classifier itself."""

    record: dict  # scores, train/test gap, training seconds (and steps for transformers)
    predictor: Predictor  # texts -> class probabilities
    model: object | None = None  # the trained transformer (transformer methods only)


@dataclass
class EmbeddingMap:
    """Test-set embeddings before and after fine-tuning, projected to 2-D."""

    points: pd.DataFrame  # columns x, y, label, stage ("before" / "after")
    silhouette: dict[str, float]  # class separation in the full space, per stage (-1..1)
    projection: str


def macro_f1(y_true: Sequence[int], probabilities: np.ndarray, num_labels: int) -> float:
    """Macro-F1 of the most probable class (:func:`tlhelpers.compute_metrics`'s definition)."""
    y_pred = np.asarray(probabilities).argmax(axis=1)
    return compute_metrics(list(y_true), y_pred, num_labels)["macro_f1"]


class TransferLab:
    """Train and score the four methods of :data:`METHODS` on one dataset.

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
            lr=3e-4, batch_size=16, train_last_layers=1, cache_frozen_layers=True, patience=2,
            max_steps=150,
        )  # fmt: skip
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
        self.pool = sample_per_class(data["train"], pool_per_class, seed=0)
        self.pool_labels = np.asarray(self.pool["label"])
        self.validation = stratified_subset(data["validation"], max_validation_examples, seed=0)
        self.test = stratified_subset(data["test"], max_test_examples, seed=0)
        # The pretrained model serves as the frozen feature extractor (its head is unused).
        self.encoder, self.tokenizer = load_model(self.config.model, labels=self.label_names)
        self.layers = tuple(range(self.encoder.config.num_hidden_layers + 1))
        self._vectors: dict[str, np.ndarray] = {}  # text -> (layers, hidden) frozen features
        self._lower_states: dict = {}  # lower-layer states shared by the transformer runs
        self.seconds_per_text: float | None = None  # measured cost of one frozen forward pass
        self.kept: dict[str, list[MethodRun]] = {}  # method -> its runs at the largest size
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

    @property
    def top_layers_only(self) -> bool:
        """True when the transformer methods train their top layers over cached lower ones."""
        return self.config.cache_frozen_layers and self.config.train_last_layers is not None

    # ----------------------------------------------------------------------------------
    # Frozen features, computed once per text
    # ----------------------------------------------------------------------------------

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

    # ----------------------------------------------------------------------------------
    # One run: one method, one training-set size, one seed
    # ----------------------------------------------------------------------------------

    def training_indices(self, n_per_class: int, seed: int) -> np.ndarray:
        """Pool rows of a training set: ``n_per_class`` of each class.

        Sets are nested: for one seed, the 8-per-class set is inside the 32-per-class set,
        so a learning curve adds data rather than swapping it. A seed draws the same set
        for every method, so methods can be compared seed by seed (:func:`tlhelpers.compare`).
        """
        if not 1 <= n_per_class <= self.largest_size:
            raise ValueError(
                f"n_per_class={n_per_class} is outside 1..{self.largest_size} (the smallest "
                f"class in the pool); raise pool_per_class or use smaller sizes."
            )
        rng = np.random.default_rng(seed)
        rows = []
        for label in range(len(self.label_names)):
            members = np.flatnonzero(self.pool_labels == label)
            rows.extend(rng.permutation(members)[:n_per_class])
        return np.sort(np.array(rows))

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
        record = {"dataset": self.name, "method": method, "n_per_class": n_per_class,
                  "train_examples": len(rows), "seed": seed}  # fmt: skip
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
                model, seconds, val_f1, steps = self._train_transformer(method, train_set, seed)
                predictor = self._transformer_predictor(model)
                record.update(steps)
            record["train_seconds"] = seconds
            record["train_macro_f1"] = self._score(
                predictor, stratified_subset(train_set, self.gap_examples, seed=seed)
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

    def _train_transformer(self, method: str, train_set: Dataset, seed: int):
        # A few-shot set is repeated so that one pass is at least steps_per_validation
        # steps: the run validates after each pass and stops after `patience` passes
        # without improvement, or at the cap of max_steps.
        batch_size = self.config.batch_size
        repeats = math.ceil(self.steps_per_validation * batch_size / len(train_set))
        repeated = concatenate_datasets([train_set] * max(1, repeats))
        steps_per_pass = math.ceil(len(repeated) / batch_size)
        config = self.config.replace(
            seed=seed, pretrained=method == "fine-tuned",
            epochs=math.ceil(self.config.max_steps / steps_per_pass),
            log_every=steps_per_pass, eval_every=None, n_per_class=None,
            max_validation_examples=None,
        )  # fmt: skip
        run = fine_tune(
            config, data=DatasetDict(train=repeated, validation=self.validation),
            progress=False, evaluate_test=False,
        )  # fmt: skip
        # Training time is what the whole run cost up to its last validation, validation
        # passes excluded: the run could not know that it would not improve further.
        history = run.result.history.evals
        steps = {"steps": history[-1]["step"], "best_step": run.result.best["step"],
                 "stopped_early": run.result.stopped_early}  # fmt: skip
        return run.model, history[-1]["train_seconds"], run.result.best["macro_f1"], steps

    def _transformer_predictor(self, model) -> Predictor:
        def predictor(texts: Sequence[str]) -> np.ndarray:
            with shared_lower_layer_states(self._lower_states):
                if self.top_layers_only:  # the same numbers as predict_proba, faster
                    return predict_proba_over_cache(
                        model, self.tokenizer, texts, max_length=self.max_length
                    )
                return predict_proba(model, self.tokenizer, texts, max_length=self.max_length)

        return predictor

    # ----------------------------------------------------------------------------------
    # Promise 1 and 2: learning curves and training time
    # ----------------------------------------------------------------------------------

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
        records = []
        for method in methods:
            start = time.perf_counter()
            self.kept[method] = []
            for n_per_class in sizes:
                for seed in range(seeds):
                    run = self.run(method, n_per_class, seed)
                    records.append(run.record)
                    if n_per_class == sizes[-1]:
                        self.kept[method].append(run)
            if self.verbose:
                print(
                    f"{self.name}: {method}: {len(sizes) * seeds} runs in "
                    f"{time.perf_counter() - start:.0f} s"
                )
        return pd.DataFrame(records)

    # ----------------------------------------------------------------------------------
    # Promise 3: robustness to noisy text
    # ----------------------------------------------------------------------------------

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
                for noise, noisy in variants.items():
                    score = macro_f1(labels, kept.predictor(noisy), len(self.label_names))
                    rows.append({
                        "dataset": self.name, "method": method,
                        "n_per_class": kept.record["n_per_class"], "seed": kept.record["seed"],
                        "noise": noise, "test_macro_f1": score,
                    })  # fmt: skip
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

    # ----------------------------------------------------------------------------------
    # Inside the encoder: which layers transfer, and what fine-tuning changes
    # ----------------------------------------------------------------------------------

    def layer_probe(self, n_per_class: int, seeds: int = 3) -> pd.DataFrame:
        """Test macro-F1 of a linear probe on each layer's frozen features.

        Layer 0 is the token embeddings (before any attention), the last layer is what
        "frozen features" uses. One forward pass serves every layer.

        Example:
            >>> probe = lab.layer_probe(n_per_class=128, seeds=3)
            >>> tl.compare_table(probe, among="layer", within=("dataset",))
        """
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {seeds}.")
        self.training_indices(n_per_class, 0)  # checks the size before any work
        self.precompute_features()
        rows = []
        for seed in range(seeds):
            train_set = self.pool.select(self.training_indices(n_per_class, seed))
            for layer in self.layers:
                probe = linear_probe(seed=seed).fit(
                    self.embed(train_set["text"], layer), np.asarray(train_set["label"])
                )
                probabilities = probe.predict_proba(self.embed(self.test["text"], layer))
                score = macro_f1(self.test["label"], probabilities, len(self.label_names))
                rows.append({"dataset": self.name, "layer": layer, "seed": seed,
                             "n_per_class": n_per_class, "test_macro_f1": score})  # fmt: skip
        return pd.DataFrame(rows)

    def embedding_map(self, projection: str = "pca", seed: int = 0) -> EmbeddingMap:
        """Test-set embeddings (mean-pooled last layer) before and after fine-tuning, in 2-D.

        "Before" is the pretrained encoder, "after" the encoder of the kept fine-tuned run
        with seed ``seed``. The silhouette score (cosine, in the full space) measures how
        well the classes separate: 1 = tight, distinct clusters, 0 = overlapping (see
        :func:`silhouette_band`).

        Example:
            >>> picture = lab.embedding_map("pca")
            >>> picture.silhouette
            {'before': 0.02, 'after': 0.31}
        """
        if projection not in ("pca", "tsne"):
            raise ValueError(f"projection must be 'pca' or 'tsne', got '{projection}'.")
        if not self.kept.get("fine-tuned"):
            raise RuntimeError("Run learning_curves(['fine-tuned'], ...) first.")
        runs = {run.record["seed"]: run for run in self.kept["fine-tuned"]}
        if seed not in runs:
            raise ValueError(f"No kept fine-tuned run with seed {seed}; kept: {sorted(runs)}.")
        texts, labels = list(self.test["text"]), np.asarray(list(self.test["label"]))
        stages = {
            "before": self.embed(texts),
            "after": extract_features(
                runs[seed].model, self.tokenizer, texts, max_length=self.max_length
            ),
        }
        frames, silhouette = [], {}
        for stage, vectors in stages.items():
            silhouette[stage] = float(silhouette_score(vectors, labels, metric="cosine"))
            if projection == "pca":
                xy = PCA(n_components=2, random_state=seed).fit_transform(vectors)
            else:
                tsne = TSNE(perplexity=min(30.0, (len(texts) - 1) / 3), random_state=seed)
                xy = tsne.fit_transform(vectors)
            frames.append(pd.DataFrame({
                "x": xy[:, 0], "y": xy[:, 1], "stage": stage,
                "label": [self.label_names[i] for i in labels],
            }))  # fmt: skip
        return EmbeddingMap(pd.concat(frames, ignore_index=True), silhouette, projection)


# --------------------------------------------------------------------------------------
# Summaries the notebook turns into sentences
# --------------------------------------------------------------------------------------


def summarise(curves: pd.DataFrame, metric: str = "test_macro_f1") -> pd.DataFrame:
    """Mean and standard deviation of ``metric`` over seeds, per dataset, method and size.

    Example:
        >>> summarise(curves).loc[("tweets", "tf-idf")]
    """
    if metric not in curves.columns:
        raise ValueError(f"No column '{metric}'; the curves have {list(curves.columns)}.")
    grouped = curves.groupby(["dataset", "method", "n_per_class"])[metric]
    table = grouped.agg(["mean", "std", "count"])
    table["std"] = table["std"].fillna(0.0)  # one seed: no spread
    return table


def silhouette_band(value: float) -> str:
    """Words for a silhouette score, from Kaufman and Rousseeuw's rule of thumb.

    Example:
        >>> silhouette_band(0.04)
        'no substantial structure'
    """
    if value > 0.70:
        return "strong structure"
    if value > 0.50:
        return "reasonable structure"
    if value > 0.25:
        return "weak structure"
    return "no substantial structure"


def time_to_quality(curves: pd.DataFrame, target: float) -> pd.DataFrame:
    """Per dataset and method: the least training time that reached ``target`` validation macro-F1.

    A method "reaches" the target at a training-set size when its mean validation
    macro-F1 over seeds is at least ``target``; its time is the mean training seconds there.
    Methods that never reach it get NaN.

    Example:
        >>> time_to_quality(curves, target=0.6)
    """
    means = curves.groupby(["dataset", "method", "n_per_class"])[
        ["train_seconds", "val_macro_f1"]
    ].mean()
    rows = []
    for (dataset, method), group in means.groupby(level=["dataset", "method"]):
        reached = group[group["val_macro_f1"] >= target]
        fastest = reached.sort_values("train_seconds").head(1)
        found = len(fastest) > 0
        rows.append({
            "dataset": dataset, "method": method, "target": target,
            "seconds": float(fastest["train_seconds"].iloc[0]) if found else math.nan,
            "n_per_class": int(fastest.index.get_level_values("n_per_class")[0]) if found else None,
            "best_val_macro_f1": float(group["val_macro_f1"].max()),
        })  # fmt: skip
    return pd.DataFrame(rows).set_index(["dataset", "method"])
