"""The tuning panel's logic, without a browser: what a Train click does with the controls."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from tlhelpers import widgets  # noqa: E402
from tlhelpers.widgets import RunConfig, RunLog, TuningPanel, config_from_controls  # noqa: E402


def test_controls_become_a_checked_config():
    config = config_from_controls(
        {"lr": "3e-5", "epochs": 2.0, "batch_size": 16, "unfreeze_layers": 0},
        base=RunConfig(train_per_class=10),
    )
    assert config.lr == pytest.approx(3e-5)
    assert (config.epochs, config.batch_size, config.unfreeze_layers) == (2, 16, 0)
    assert config.train_per_class == 10  # kept from the base


@pytest.mark.parametrize(
    "values, message",
    [({"lr": 0}, "Learning rate"), ({"epochs": 0}, "epochs"), ({"speed": 1}, "Unknown settings")],
)
def test_impossible_controls_are_rejected(values, message):
    with pytest.raises(ValueError, match=message):
        config_from_controls(values)


def test_code_shows_the_settings():
    code = RunConfig(lr=3e-5, epochs=2, unfreeze_layers=2, dataset="bbc-news").to_code()
    assert "epochs=2" in code and "lr=3.0e-05" in code
    assert "train_last_layers=2" in code and "'bbc-news'" in code
    assert "tl.unfreeze(model)" in RunConfig(unfreeze_layers=6).to_code()  # MiniLM has 6
    compile(code, "<panel code>", "exec")  # the equivalent is valid Python


def test_run_log_numbers_rows():
    log = RunLog()
    assert "No runs yet" in log.to_html()
    log.add({"lr": 1e-4, "val_macro_f1": 0.5})
    log.add({"lr": 3e-5, "val_macro_f1": 0.6})
    assert list(log.frame().index) == [1, 2]
    assert "<table" in log.to_html()


def test_run_experiment_trains_with_the_config(tiny_model, tokenizer, toy_data):
    seen = {}

    def load_data(name, n_per_class, seed):
        seen["data"] = (name, n_per_class)
        return toy_data

    def load_model(name, labels):
        seen["labels"] = labels
        return tiny_model, tokenizer

    events = []
    config = RunConfig(lr=1e-3, epochs=1, batch_size=16, max_length=16, unfreeze_layers=0,
                       train_per_class=20, validation_size=12, max_steps=3)  # fmt: skip
    run = widgets.run_experiment(
        config, callbacks=[lambda event, _: events.append(event)],
        load_data=load_data, load_model_fn=load_model,
    )  # fmt: skip
    assert seen == {"data": ("tweet-sentiment", 20), "labels": ["negative", "neutral", "positive"]}
    row = run.row()
    assert row["lr"] == 1e-3 and row["unfreeze_layers"] == 0
    # unfreeze_layers=0: only the head and pooler learn
    assert row["trainable_params"] < sum(p.numel() for p in tiny_model.parameters()) / 2
    assert 0 <= row["val_macro_f1"] <= 1 and not math.isnan(row["val_accuracy"])
    assert events[-1] == "end" and "eval" in events


class FakeResult:
    def __init__(self, lr):
        self.best = {"accuracy": 0.5 + lr, "macro_f1": 0.4 + lr, "epoch": 1.0}
        self.settings = {"train_examples": 30, "trainable_parameters": 100}
        self.seconds = 1.0


def test_train_button_runs_the_controls_and_logs_the_run():
    received = []

    def fake_runner(config, callbacks):
        received.append(config)
        assert isinstance(callbacks[0], widgets.LivePlot)  # the live plot is wired in
        return widgets.Run(config, FakeResult(config.lr), model=None, tokenizer=None)

    panel = TuningPanel(defaults=RunConfig(train_per_class=10), runner=fake_runner)
    assert panel.button.description == "Train"
    panel.set(lr=1e-3, epochs=3, unfreeze_layers=2, dataset="bbc-news")
    assert "epochs=3" in panel.code.value  # the plain-Python view follows the controls
    panel.button.click()
    panel.set(lr=1e-2)
    panel.button.click()
    assert [c.lr for c in received] == pytest.approx([1e-3, 1e-2])
    assert received[0] == RunConfig(dataset="bbc-news", lr=received[0].lr, epochs=3,
                                    unfreeze_layers=2, train_per_class=10)  # fmt: skip
    frame = panel.log.frame()
    assert list(frame.index) == [1, 2]
    assert frame.loc[2, "val_macro_f1"] == pytest.approx(0.41)
    assert "Run 2 done" in panel.status.value and not panel.button.disabled


def test_a_failed_run_is_reported_not_raised():
    def broken_runner(config, callbacks):
        raise ValueError("max_length=999 is outside what this model can read")

    panel = TuningPanel(defaults=RunConfig(train_per_class=10), runner=broken_runner)
    assert panel.train() is None
    assert "max_length=999" in panel.status.value
    assert panel.log.frame().empty and not panel.button.disabled
