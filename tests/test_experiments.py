"""The transfer-learning lab: noise, sampling, timing, the four methods and the lab figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from figure_checks import figure_problems
from matplotlib.figure import Figure

import tlhelpers as tl
from tlcourse import experiments, lab_analysis, lab_plots
from tlcourse.experiments import TRANSFORMER_METHODS, TransferLab
from tlcourse.lab_analysis import (
    embedding_map,
    layer_probe,
    silhouette_band,
    summarise,
    time_to_quality,
)
from tlcourse.noise import NOISES, corrupt
from tlhelpers.features import linear_probe
from tlhelpers.layer_cache import predict_proba_over_cache, shared_lower_layer_states
from tlhelpers.sampling import stratified_sample

LIVE = ("fine-tuned", "frozen features", "random init", "tf-idf")  # the methods 07 runs live
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


def test_silhouette_bands():
    assert silhouette_band(0.036) == "no substantial structure"
    assert silhouette_band(0.3) == "weak structure"
    assert silhouette_band(0.6) == "reasonable structure"
    assert silhouette_band(0.9) == "strong structure"


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
        config=tl.TrainConfig(
            model=tiny_model_folder,
            batch_size=8,
            max_length=16,
            lr=1e-3,
            patience=1,
            max_steps=12,
            train_last_layers=1,
            cache_frozen_layers=True,
        ),  # fmt: skip
        pool_per_class=20,
        max_test_examples=30,
        max_validation_examples=15,
        gap_examples=12,
        steps_per_validation=3,
        verbose=False,
    )


def test_transformer_runs_go_through_fine_tune_with_the_labs_settings(lab, monkeypatch):
    seen = []
    real = experiments.fine_tune

    def spy(config, **kwargs):
        seen.append((config, len(kwargs["data"]["train"])))
        return real(config, **kwargs)

    monkeypatch.setattr(experiments, "fine_tune", spy)
    record = lab.run("random init", n_per_class=4, seed=3).record
    config, train_size = seen[0]
    assert config.seed == 3 and config.pretrained is False and config.max_length == 16
    assert config.patience == 1 and config.max_steps == 12 and config.train_last_layers == 1
    assert train_size >= 3 * 8  # repeated up to steps_per_validation batches of 8
    assert 3 <= record["steps"] <= 12 and 1 <= record["best_step"] <= record["steps"]


def test_the_lab_needs_a_stopping_rule(toy_data, tiny_model_folder):
    with pytest.raises(ValueError, match="patience"):
        TransferLab(toy_data, config=tl.TrainConfig(model=tiny_model_folder, max_steps=10))
    with pytest.raises(ValueError, match="patience"):
        TransferLab(toy_data, config=tl.TrainConfig(model=tiny_model_folder, patience=2))


def test_cached_predictions_equal_predict_proba_and_are_shared(tiny_model, tokenizer):
    tl.freeze(tiny_model, train_last_layers=1)
    texts = [f"the flight number {i} was okay today" for i in range(12)]
    expected = tl.predict_proba(tiny_model, tokenizer, texts, max_length=16)
    with shared_lower_layer_states() as store:
        got = predict_proba_over_cache(tiny_model, tokenizer, texts, max_length=16)
        (states,) = store.values()  # one set of frozen weights
        assert len(states) == len(set(texts))
        predict_proba_over_cache(tiny_model, tokenizer, texts[:3], max_length=16)
        assert len(states) == len(set(texts))  # nothing new to compute
    np.testing.assert_allclose(got, expected, atol=1e-5)
    tl.unfreeze(tiny_model)
    with pytest.raises(ValueError, match="frozen"):
        predict_proba_over_cache(tiny_model, tokenizer, texts, max_length=16)


def test_training_sets_are_balanced_nested_and_seeded(lab):
    small, large = lab.training_indices(4, seed=0), lab.training_indices(8, seed=0)
    assert set(small) <= set(large)
    assert np.bincount(lab.pool_labels[large]).tolist() == [8, 8, 8]
    assert not np.array_equal(large, lab.training_indices(8, seed=1))
    with pytest.raises(ValueError, match="outside"):
        lab.training_indices(lab.largest_size + 1, seed=0)


def test_full_fine_tuning_and_lora_train_what_they_say(lab):
    # The two methods of the deep run: every weight learns, or only adapters (and the head).
    full, lora = lab.method_config("full fine-tuning"), lab.method_config("LoRA", seed=3)
    assert full.train_last_layers is None and not full.cache_frozen_layers
    assert lora.lora_rank == 8 and lora.seed == 3 and lora.train_last_layers is None
    assert lab.method_config("random init").pretrained is False
    assert lab.method_config("fine-tuned") == lab.config.replace(seed=0)
    with pytest.raises(ValueError, match="not a transformer method"):
        lab.method_config("tf-idf")
    lab.learning_rates["LoRA"] = 3e-3
    curves = lab.learning_curves(["full fine-tuning", "LoRA"], sizes=[4], seeds=2)
    assert curves["method"].tolist() == ["full fine-tuning"] * 2 + ["LoRA"] * 2
    assert curves["lr"].tolist() == [lab.config.lr] * 2 + [3e-3] * 2
    assert (curves["steps"] >= curves["best_step"]).all() and (curves["steps"] <= 12).all()
    full_model, lora_model = lab.kept["full fine-tuning"][0].model, lab.kept["LoRA"][0].model
    assert all(p.requires_grad for p in full_model.parameters())
    assert tl.is_lora(lora_model) and not tl.is_lora(full_model)
    # Each kept predictor is the kept model, scored on the whole stack (no cache).
    for method in ("full fine-tuning", "LoRA"):
        run = lab.kept[method][1]
        expected = tl.predict_proba(run.model, lab.tokenizer, lab.test["text"], max_length=16)
        np.testing.assert_allclose(run.predictor(lab.test["text"]), expected, atol=1e-6)
    assert set(TRANSFORMER_METHODS) == {"fine-tuned", "random init", "full fine-tuning", "LoRA"}


def test_learning_curves_of_all_four_methods(lab):
    # The test labels are rotated (0 -> 1 -> 2 -> 0): a classifier that learned the toy task
    # scores 1 on validation and 0 on test, so a score taken from the wrong split shows.
    lab.test = lab.test.map(lambda row: {"label": (row["label"] + 1) % 3})
    curves = pd.concat([
        lab.learning_curves(["tf-idf", "frozen features"], sizes=[8, 2], seeds=2),
        lab.learning_curves(["fine-tuned", "random init"], sizes=[4], seeds=1),
    ])  # fmt: skip
    assert len(curves) == 2 * 2 * 2 + 2
    assert set(curves["method"]) == set(LIVE)
    assert curves["n_per_class"].tolist()[:4] == [2, 2, 8, 8]  # sizes run smallest first
    assert (curves["train_examples"] == 3 * curves["n_per_class"]).all()
    # The toy label is one word of the text: TF-IDF needs only a few examples to be perfect
    # on validation and on its own training set, and so always wrong on the rotated test.
    tfidf = curves.query("method == 'tf-idf' and n_per_class == 8")
    assert (tfidf["val_macro_f1"] == 1.0).all() and (tfidf["train_macro_f1"] == 1.0).all()
    assert (tfidf["test_macro_f1"] == 0.0).all() and (tfidf["gap"] == 1.0).all()
    # Every seed of the largest size is kept for the robustness test and the embedding map.
    assert [run.record["n_per_class"] for run in lab.kept["tf-idf"]] == [8, 8]
    assert [run.record["seed"] for run in lab.kept["tf-idf"]] == [0, 1]
    assert lab.kept["fine-tuned"][0].model is not None and lab.kept["tf-idf"][0].model is None
    transformer = curves[curves["method"].isin(["fine-tuned", "random init"])]
    assert (transformer["steps"] <= 12).all() and (transformer["best_step"] >= 1).all()
    assert (transformer["lr"] == lab.config.lr).all()  # no learning rate chosen: the config's

    # Each score is the kept classifier's score on its own split: recompute them.
    labels = len(lab.label_names)
    for method in LIVE:
        run = lab.kept[method][0]
        seed = run.record["seed"]
        train_set = lab.pool.select(lab.training_indices(run.record["n_per_class"], seed))
        scored = stratified_sample(train_set, size=lab.gap_examples, seed=seed)
        for split, data in (("train", scored), ("test", lab.test)):
            expected = experiments.macro_f1(data["label"], run.predictor(data["text"]), labels)
            assert run.record[f"{split}_macro_f1"] == pytest.approx(expected), (method, split)
        # For the transformers "val" is the best validation of training: the kept weights
        # must be those best ones, so scoring them on validation gives the same number.
        on_validation = run.predictor(lab.validation["text"])
        expected = experiments.macro_f1(lab.validation["label"], on_validation, labels)
        assert run.record["val_macro_f1"] == pytest.approx(expected, abs=1e-6), method
    # A frozen-features run pays one frozen forward pass per training text, plus the fit.
    probe_runs = curves[curves["method"] == "frozen features"]
    assert (
        probe_runs["train_seconds"] >= probe_runs["train_examples"] * lab.seconds_per_text
    ).all()

    table = lab.robustness()
    assert set(table["noise"]) == {"clean", *NOISES}
    assert len(table) == (2 * 2 + 2) * (len(NOISES) + 1)  # one row per kept run and noise
    assert (table.query("noise == 'clean'")["drop"] == 0).all()
    some = lab.robustness(["typos"], methods=["tf-idf"])
    assert set(some["method"]) == {"tf-idf"} and set(some["noise"]) == {"clean", "typos"}
    with pytest.raises(ValueError, match="No kept runs"):
        lab.robustness(methods=["svm"])
    assert lab.unchanged_inputs("truncated") < 1.0  # toy texts are shorter than max_length
    assert lab.unchanged_inputs("truncated") >= 0.0

    picture = embedding_map(lab, "pca")
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
        lab_plots.plot_layer_probe(layer_probe(lab, n_per_class=8, seeds=2)),
    ):
        assert isinstance(figure, Figure)
        assert figure_problems(figure) == []  # titles, labels, score axes from 0, legends


def test_lab_figures_pass_the_figure_check_on_a_real_sized_table():
    # Five sizes, four methods and three seeds, the notebook's shape, with overlapping lines.
    rng = np.random.default_rng(0)
    rows = []
    for dataset in ("tweets", "bbc"):
        for method, base in (("fine-tuned", 0.6), ("frozen features", 0.55), ("random init", 0.2),
                             ("tf-idf", 0.5)):  # fmt: skip
            for n in (8, 16, 32, 64, 128):
                for seed in range(3):
                    score = min(1.0, base + 0.05 * math.log2(n / 8) + rng.normal(0, 0.02))
                    rows.append({
                        "dataset": dataset, "method": method, "n_per_class": n, "seed": seed,
                        "train_seconds": 0.1 + n * (10 if "init" in method or "tuned" in method
                                                    else 0.01),
                        "val_macro_f1": score, "test_macro_f1": score, "gap": 0.9 - score,
                    })  # fmt: skip
    curves = pd.DataFrame(rows)
    noise_rows = [
        {"dataset": d, "method": m, "n_per_class": 128, "seed": s, "noise": k,
         "test_macro_f1": 0.5, "drop": rng.normal(0.01, 0.005) if k != "clean" else 0.0}
        for d in ("tweets", "bbc") for m in ("fine-tuned", "frozen features", "tf-idf")
        for s in range(3) for k in ("clean", *NOISES)
    ]  # fmt: skip
    for figure in (
        lab_plots.plot_learning_curves(curves),
        lab_plots.plot_time_to_quality(curves, targets={"tweets": 0.6, "bbc": 0.7}),
        lab_plots.plot_generalisation_gap(curves),
        lab_plots.plot_robustness(pd.DataFrame(noise_rows)),
    ):
        assert figure_problems(figure) == []
    assert figure.axes[0].get_ylim()[1] >= 0.2  # small drops drawn on a 0.2-tall axis


@pytest.mark.parametrize("low, high", [(0.002, 0.009), (0.0031, 0.0042), (0.01, 0.011),
                                       (1, 9.9), (0.003, 40), (0.5, 3000)])  # fmt: skip
def test_time_to_quality_ticks_stay_readable_on_any_time_range(low, high):
    # Training times are measured, so the axis range differs run to run; a narrow range once
    # made matplotlib label every minor tick, and they overlapped.
    seconds = np.geomspace(low, high, 5)
    table = pd.DataFrame([
        {"dataset": "toy", "method": method, "n_per_class": n, "seed": seed,
         "train_seconds": seconds[i] * (1 + 0.01 * seed), "val_macro_f1": 0.3 + 0.1 * i}
        for method in ("fine-tuned", "tf-idf") for i, n in enumerate([8, 16, 32, 64, 128])
        for seed in range(3)
    ])  # fmt: skip
    figure = lab_plots.plot_time_to_quality(table, targets={"toy": 0.5})
    assert figure_problems(figure) == []
    ticks = figure.axes[0].get_xticks()
    assert len(ticks) >= 2 and len(set(ticks)) == len(ticks)


def test_learning_curve_error_bars_span_the_seeds():
    figure = lab_plots.plot_learning_curves(_curves())
    ax = figure.axes[0]
    bars = ax.collections[0].get_segments()  # the first method's error bars, one per size
    assert len(bars) == 2
    for bar in bars:  # +- one standard deviation of two seeds 0.02 apart
        assert bar[1][1] - bar[0][1] == pytest.approx(2 * 0.02 / math.sqrt(2))
    assert ax.get_ylim()[0] == 0  # a score axis from 0
    assert ax.get_legend() is None and len(figure.legends) == 1  # the legend is outside


def test_layer_probe_covers_every_layer(lab, monkeypatch):
    texts = list(lab.test["text"][:5])
    # Each layer's vectors are its own (a lab that ignored `layer` would return one for all).
    assert not np.allclose(lab.embed(texts, 0), lab.embed(texts, -1))
    fitted, real_probe = [], lab_analysis.linear_probe

    class Recording:  # the real probe, remembering what it was fitted on
        def __init__(self, **kwargs):
            self.probe = real_probe(**kwargs)

        def fit(self, features, labels):
            fitted.append(np.asarray(features))
            self.probe.fit(features, labels)
            return self

        def predict_proba(self, features):
            return self.probe.predict_proba(features)

    monkeypatch.setattr(lab_analysis, "linear_probe", Recording)
    table = layer_probe(lab, n_per_class=8, seeds=2)
    assert sorted(table["layer"].unique()) == [0, 1, 2]  # embeddings + the tiny model's 2 layers
    assert len(table) == 3 * 2 and set(table["seed"]) == {0, 1}
    # Each probe was fitted on its own layer's vectors of its own seed's training set.
    for features, (seed, layer) in zip(fitted, [(s, k) for s in (0, 1) for k in (0, 1, 2)],
                                       strict=True):  # fmt: skip
        train_set = lab.pool.select(lab.training_indices(8, seed))
        np.testing.assert_allclose(features, lab.embed(train_set["text"], layer))
    # A row is the probe of that layer on that seed's training set: recompute one.
    train_set = lab.pool.select(lab.training_indices(8, 1))
    probe = linear_probe(seed=1).fit(lab.embed(train_set["text"], 0), train_set["label"])
    expected = experiments.macro_f1(
        lab.test["label"], probe.predict_proba(lab.embed(lab.test["text"], 0)), 3
    )
    row = table.query("layer == 0 and seed == 1")["test_macro_f1"].item()
    assert row == pytest.approx(expected)
    figure = lab_plots.plot_layer_probe(table)
    assert figure_problems(figure) == []


def test_frozen_features_are_computed_once_per_text(lab, monkeypatch):
    passed = []
    real = experiments.extract_features

    def counting(model, tokenizer, texts, **kwargs):
        passed.extend(texts)
        return real(model, tokenizer, texts, **kwargs)

    monkeypatch.setattr(experiments, "extract_features", counting)
    lab.precompute_features()
    every_text = {*lab.pool["text"], *lab.validation["text"], *lab.test["text"]}
    assert sorted(passed) == sorted(every_text)  # each distinct text once, all layers at once
    lab.learning_curves(["frozen features"], sizes=[4, 8], seeds=2)
    layer_probe(lab, n_per_class=8, seeds=2)
    assert len(passed) == len(every_text)  # nothing computed again
    assert lab.precompute_features() < 0.1  # a second call has nothing to do


def test_seeds_must_draw_different_training_sets(lab):
    # At a size equal to the pool every seed would draw the whole pool: identical sets.
    with pytest.raises(ValueError, match="pool_per_class larger"):
        lab.learning_curves(["tf-idf"], sizes=[lab.largest_size], seeds=2)
    with pytest.raises(ValueError, match="pool_per_class larger"):
        layer_probe(lab, n_per_class=lab.largest_size, seeds=2)
    one = lab.learning_curves(["tf-idf"], sizes=[lab.largest_size], seeds=1)  # one seed is fine
    assert len(one) == 1


def test_choose_learning_rate_keeps_the_best_on_validation(lab, monkeypatch):
    scores = {1e-4: 0.5, 1e-3: 0.8, 1e-2: 0.7}
    real_run = lab.run

    def fake_run(method, n_per_class, seed=0):
        run = real_run("tf-idf", n_per_class, seed)  # cheap; only the record matters here
        lr = lab.learning_rates[method]
        run.record.update(method=method, lr=lr, val_macro_f1=scores[lr], steps=3, best_step=2)
        return run

    monkeypatch.setattr(lab, "run", fake_run)
    table = lab.choose_learning_rate("random init", list(scores), n_per_class=4)
    assert table["lr"].tolist() == list(scores)
    assert table.loc[table["chosen"], "lr"].item() == 1e-3
    assert lab.learning_rates == {"random init": 1e-3}
    with pytest.raises(ValueError, match="learning rate"):
        lab.choose_learning_rate("tf-idf", [1e-3], n_per_class=4)
    with pytest.raises(ValueError, match="at least one"):
        lab.choose_learning_rate("fine-tuned", [], n_per_class=4)


def test_a_chosen_learning_rate_reaches_training(lab, monkeypatch):
    seen = []
    real = experiments.fine_tune
    spy = lambda config, **kw: seen.append(config.lr) or real(config, **kw)  # noqa: E731
    monkeypatch.setattr(experiments, "fine_tune", spy)
    lab.learning_rates["random init"] = 5e-3
    assert lab.run("random init", n_per_class=4, seed=0).record["lr"] == 5e-3
    lab.run("fine-tuned", n_per_class=4, seed=0)
    assert seen == [5e-3, lab.config.lr]  # the other method keeps the config's rate


def test_lab_rejects_bad_requests_before_work(lab, toy_data):
    with pytest.raises(ValueError, match="Unknown method"):
        lab.learning_curves(["svm"], sizes=[4])
    with pytest.raises(ValueError, match="sizes"):
        lab.learning_curves(["tf-idf"], sizes=[4, 1000])
    with pytest.raises(RuntimeError, match="learning_curves"):
        lab.robustness()
    with pytest.raises(RuntimeError, match="fine-tuned"):
        embedding_map(lab)
    with pytest.raises(ValueError, match="projection"):
        embedding_map(lab, "umap")
    with pytest.raises(ValueError, match="steps_per_validation"):
        TransferLab(toy_data, config=lab.config, steps_per_validation=0)
    with pytest.raises(ValueError, match="DatasetDict"):
        TransferLab(toy_data["train"])


def test_learning_curves_say_wall_clock_and_charged_training_time(lab, capsys, monkeypatch):
    # Frozen features are computed once beforehand, so their runs take ~0 s of wall clock,
    # yet each is charged its forward passes: the printout gives both, never one as the other.
    monkeypatch.setattr(lab, "verbose", True)
    curves = lab.learning_curves(["frozen features"], sizes=[4], seeds=2)
    printed = capsys.readouterr().out
    charged = curves["train_seconds"].sum()
    assert f"{lab.name}: frozen features: 2 runs, " in printed
    assert f"s wall clock, {charged:.0f} s charged as training time" in printed
