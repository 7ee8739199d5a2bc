"""The transfer-learning lab: noise, sampling, timing, the four methods and the lab figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import tlhelpers as tl
from tlhelpers import experiments, lab_plots
from tlhelpers.experiments import METHODS, TransferLab, summarise, time_to_quality
from tlhelpers.noise import NOISES, corrupt
from tlhelpers.recipe import stratified_subset

TEXT = "the captain said our flight was delayed again because of the weather"


# ---- noise ---------------------------------------------------------------------------


def test_noise_is_seeded_and_changes_text():
    for kind in ("typos", "dropped words"):
        once = corrupt([TEXT] * 20, kind, seed=1)
        assert once == corrupt([TEXT] * 20, kind, seed=1)
        assert once != corrupt([TEXT] * 20, kind, seed=2)
        assert any(noisy != TEXT for noisy in once)


def test_typos_keep_words_and_dropping_keeps_order():
    for noisy in corrupt([TEXT] * 20, "typos", seed=0, rate=0.5):
        assert len(noisy.split()) == len(TEXT.split())
    for noisy in corrupt([TEXT] * 20, "dropped words", seed=0, rate=0.5):
        words = noisy.split()
        assert 1 <= len(words) < len(TEXT.split())
        remaining = iter(TEXT.split())
        assert all(word in remaining for word in words)  # a subsequence of the original
    assert corrupt(["one"], "dropped words", rate=0.99) == ["one"]


def test_truncation_keeps_the_first_half():
    assert corrupt([TEXT], "truncated") == [" ".join(TEXT.split()[:6])]
    assert corrupt(["hello"], "truncated") == ["hello"]


def test_noise_rejects_bad_input():
    with pytest.raises(ValueError, match="Unknown noise"):
        corrupt([TEXT], "lower-case")
    with pytest.raises(TypeError):
        corrupt(TEXT, "typos")


# ---- sampling, timing and summaries --------------------------------------------------


def test_stratified_subset_keeps_class_shares(toy_data):
    data = toy_data["train"]
    subset = stratified_subset(data, 60, seed=0)
    assert len(subset) == 60
    assert np.bincount(subset["label"]).tolist() == [20, 20, 20]
    assert len(stratified_subset(data, 10_000)) == len(data)
    with pytest.raises(ValueError):
        stratified_subset(data, 0)


def _curves() -> pd.DataFrame:
    rows = []
    for method, base, seconds in (("tf-idf", 0.5, 1.0), ("fine-tuned", 0.7, 50.0)):
        for n in (8, 32):
            for seed in (0, 1):
                score = base + (0.1 if n == 32 else 0.0) + 0.02 * seed
                rows.append({
                    "dataset": "toy", "method": method, "n_per_class": n, "seed": seed,
                    "train_seconds": seconds * n, "val_macro_f1": score,
                    "test_macro_f1": score, "gap": 1 - score,
                })  # fmt: skip
    return pd.DataFrame(rows)


def test_summarise_and_time_to_quality():
    table = summarise(_curves())
    assert table.loc[("toy", "tf-idf", 32), "mean"] == pytest.approx(0.61)
    assert table.loc[("toy", "tf-idf", 32), "std"] == pytest.approx(0.02 / math.sqrt(2))
    assert table.loc[("toy", "tf-idf", 32), "count"] == 2
    quality = time_to_quality(_curves(), target=0.6)
    assert quality.loc[("toy", "tf-idf"), "n_per_class"] == 32
    assert quality.loc[("toy", "tf-idf"), "seconds"] == pytest.approx(32.0)
    assert quality.loc[("toy", "fine-tuned"), "seconds"] == pytest.approx(400.0)  # 8 per class
    assert math.isnan(time_to_quality(_curves(), target=0.95).loc[("toy", "tf-idf"), "seconds"])


# ---- the lab on toy data with a tiny random model ------------------------------------


@pytest.fixture
def lab(toy_data, tiny_model_folder):
    return TransferLab(
        toy_data,
        name="toy",
        config=tl.TrainConfig(model=tiny_model_folder, batch_size=8, max_length=16, lr=1e-4),
        pool_per_class=20,
        max_test_examples=30,
        max_validation_examples=15,
        gap_examples=12,
        min_steps=3,
        min_epochs=1,
        verbose=False,
    )


def test_transformer_runs_go_through_fine_tune_with_the_labs_settings(lab, monkeypatch):
    seen = []
    real = experiments.fine_tune

    def spy(config, **kwargs):
        seen.append((config, len(kwargs["data"]["train"])))
        return real(config, **kwargs)

    monkeypatch.setattr(experiments, "fine_tune", spy)
    lab.run("random init", n_per_class=4, seed=3)
    config, train_size = seen[0]
    assert config.seed == 3 and config.pretrained is False and config.max_length == 16
    assert train_size >= 3 * 8  # repeated up to min_steps batches of 8


def test_training_sets_are_balanced_nested_and_seeded(lab):
    small, large = lab.training_indices(4, seed=0), lab.training_indices(8, seed=0)
    assert set(small) <= set(large)
    assert np.bincount(lab.pool_labels[large]).tolist() == [8, 8, 8]
    assert not np.array_equal(large, lab.training_indices(8, seed=1))
    with pytest.raises(ValueError, match="outside"):
        lab.training_indices(lab.largest_size + 1, seed=0)


def test_learning_curves_of_all_four_methods(lab):
    curves = pd.concat([
        lab.learning_curves(["tf-idf", "frozen features"], sizes=[8, 2], seeds=2),
        lab.learning_curves(["fine-tuned", "random init"], sizes=[4], seeds=1),
    ])  # fmt: skip
    assert len(curves) == 2 * 2 * 2 + 2
    assert set(curves["method"]) == set(METHODS)
    for column in ("train_macro_f1", "val_macro_f1", "test_macro_f1"):
        assert curves[column].between(0, 1).all()
    assert (curves["train_seconds"] > 0).all()
    assert np.allclose(curves["gap"], curves["train_macro_f1"] - curves["test_macro_f1"])
    # The toy label is one word of the text: TF-IDF needs only a few examples to be perfect.
    assert curves.query("method == 'tf-idf' and n_per_class == 8")["test_macro_f1"].min() == 1.0
    # The largest size's first seed is kept for the robustness test and the embedding map.
    assert lab.kept["tf-idf"].record["n_per_class"] == 8
    assert lab.kept["fine-tuned"].model is not None and lab.kept["tf-idf"].model is None

    table = lab.robustness()
    assert set(table["noise"]) == {"clean", *NOISES}
    assert len(table) == len(METHODS) * (len(NOISES) + 1)
    assert (table.query("noise == 'clean'")["drop"] == 0).all()

    picture = lab.embedding_map("pca")
    assert len(picture.points) == 2 * len(lab.test)
    assert set(picture.points["stage"]) == {"before", "after"}
    assert set(picture.silhouette) == {"before", "after"}
    assert all(-1 <= value <= 1 for value in picture.silhouette.values())

    for figure in (
        lab_plots.plot_learning_curves(curves),
        lab_plots.plot_time_to_quality(curves, targets={"toy": 0.5}),
        lab_plots.plot_generalisation_gap(curves),
        lab_plots.plot_robustness(table),
        lab_plots.plot_embedding_maps({"toy": picture}),
    ):
        assert isinstance(figure, Figure)
        assert figure._suptitle is not None and figure._suptitle.get_text()
        assert all(ax.get_xlabel() and ax.get_ylabel() for ax in figure.axes)


def test_learning_curve_shading_spans_the_seeds():
    figure = lab_plots.plot_learning_curves(_curves())
    ax = figure.axes[0]
    band = ax.collections[0].get_paths()[0].vertices  # the tf-idf band
    assert band[:, 1].max() - band[:, 1].min() > 0.1 + 0.02  # spread around a rising line


def test_layer_probe_covers_every_layer(lab):
    table = lab.layer_probe(n_per_class=8, seeds=2)
    assert sorted(table["layer"].unique()) == [0, 1, 2]  # embeddings + the tiny model's 2 layers
    assert len(table) == 3 * 2
    assert table["test_macro_f1"].between(0, 1).all()
    figure = lab_plots.plot_layer_probe(table)
    assert figure.axes[0].get_title() and figure.axes[0].get_xlabel()


def test_frozen_features_are_computed_once_per_text(lab):
    lab.precompute_features()
    cached = len(lab._vectors)
    lab.learning_curves(["frozen features"], sizes=[4, 8], seeds=2)
    assert len(lab._vectors) == cached
    assert lab.seconds_per_text > 0


def test_lab_rejects_bad_requests_before_work(lab, toy_data):
    with pytest.raises(ValueError, match="Unknown method"):
        lab.learning_curves(["svm"], sizes=[4])
    with pytest.raises(ValueError, match="sizes"):
        lab.learning_curves(["tf-idf"], sizes=[4, 1000])
    with pytest.raises(RuntimeError, match="learning_curves"):
        lab.robustness()
    with pytest.raises(RuntimeError, match="fine-tuned"):
        lab.embedding_map()
    with pytest.raises(ValueError, match="projection"):
        lab.embedding_map("umap")
    with pytest.raises(ValueError, match="DatasetDict"):
        TransferLab(toy_data["train"])
