"""The tuning panel's logic, without a browser: what a Train click does with the controls."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import tlhelpers as tl  # noqa: E402
from tlcourse import widgets  # noqa: E402
from tlcourse.widgets import RunLog, TuningPanel, config_from_controls  # noqa: E402


def test_controls_become_a_checked_config():
    config = config_from_controls(
        {"lr": "3e-5", "epochs": 2.0, "batch_size": 16, "train_last_layers": 0},
        base=tl.TrainConfig(n_per_class=10),
    )
    assert config.lr == pytest.approx(3e-5)
    assert (config.epochs, config.batch_size, config.train_last_layers) == (2, 16, 0)
    assert config.n_per_class == 10  # kept from the base
    assert config_from_controls({"train_last_layers": None}).train_last_layers is None


@pytest.mark.parametrize(
    "values, message",
    [({"lr": 0}, "lr must be"), ({"epochs": 0}, "epochs"), ({"speed": 1}, "Unknown setting")],
)
def test_impossible_controls_are_rejected(values, message):
    with pytest.raises(ValueError, match=message):
        config_from_controls(values)


def test_code_shows_the_config_and_the_recipe_call():
    panel = TuningPanel(defaults=tl.TrainConfig(n_per_class=10))
    panel.set(lr=3e-5, epochs=2, train_last_layers=2, dataset="bbc-news")
    code = panel.config().to_code()
    assert "epochs=2" in code and "lr=3e-05" in code and "train_last_layers=2" in code
    assert "dataset='bbc-news'" in code and "run = tl.fine_tune(config)" in code
    assert "epochs=2" in panel.code.value  # the view follows the controls
    compile(code, "<panel code>", "exec")


def test_layer_choices_name_every_option():
    choices = dict(widgets.layer_choices("minilm"))
    assert choices["head only"] == 0 and choices["top 6"] == 6
    assert choices["all + embeddings"] is None


def test_run_log_numbers_rows():
    log = RunLog()
    assert "No runs yet" in log.to_html()
    log.add({"lr": 1e-4, "val_macro_f1": 0.5})
    log.add({"lr": 3e-5, "val_macro_f1": 0.6})
    assert list(log.frame().index) == [1, 2]
    assert "<table" in log.to_html()


class FakeResult:
    def __init__(self, lr):
        self.best = {"accuracy": 0.5 + lr, "macro_f1": 0.4 + lr, "epoch": 1.0}
        self.train_examples, self.trainable_parameters, self.seconds = 30, 100, 1.0


def test_train_button_runs_the_controls_and_logs_the_run():
    received = []

    def fake_runner(config, callbacks, progress):
        received.append(config)
        assert isinstance(callbacks[0], widgets.LivePlot)  # the live plot is wired in
        return tl.Run(config, None, None, None, FakeResult(config.lr), None)

    panel = TuningPanel(defaults=tl.TrainConfig(n_per_class=10), runner=fake_runner)
    assert panel.button.description == "Train"
    panel.set(lr=1e-3, epochs=3, train_last_layers=2, dataset="bbc-news")
    panel.button.click()
    panel.set(lr=1e-2)
    panel.button.click()
    assert [c.lr for c in received] == pytest.approx([1e-3, 1e-2])
    assert received[0] == tl.TrainConfig(dataset="bbc-news", lr=received[0].lr, epochs=3,
                                         train_last_layers=2, n_per_class=10)  # fmt: skip
    frame = panel.log.frame()
    assert list(frame.index) == [1, 2]
    assert frame.loc[2, "val_macro_f1"] == pytest.approx(0.41)
    assert frame.loc[1, "train_last_layers"] == 2
    assert "Run 2 done" in panel.status.value and not panel.button.disabled


def test_a_failed_run_is_reported_not_raised():
    def broken_runner(config, callbacks, progress):
        raise ValueError("max_length=999 is outside what this model can read")

    panel = TuningPanel(defaults=tl.TrainConfig(n_per_class=10), runner=broken_runner)
    assert panel.train() is None
    assert "max_length=999" in panel.status.value
    assert panel.log.frame().empty and not panel.button.disabled


def test_seed_and_layer_cache_are_controls():
    panel = TuningPanel(defaults=tl.TrainConfig(n_per_class=10, train_last_layers=2))
    panel.set(seed=7, cache_frozen_layers=True)
    config = panel.config()
    assert (config.seed, config.cache_frozen_layers) == (7, True)
    assert "seed=7" in panel.code.value and "cache_frozen_layers=True" in panel.code.value


@pytest.mark.parametrize("layers, trained", [(None, "every layer"), (6, "all 6 layers")])
def test_caching_with_nothing_frozen_is_refused_at_once(layers, trained):
    values = {"train_last_layers": layers, "cache_frozen_layers": True}
    with pytest.raises(ValueError, match=f"{trained} would learn: untick 'cache frozen layers'"):
        config_from_controls(values)
    assert config_from_controls({**values, "train_last_layers": 5}).cache_frozen_layers

    ran = []
    panel = TuningPanel(
        defaults=tl.TrainConfig(n_per_class=10), runner=lambda *a, **k: ran.append(a)
    )
    panel.set(**values)
    assert "untick" in panel.code.value  # the code view says so before any click
    assert panel.train() is None and not ran and "untick" in panel.status.value


def test_saved_output_reads_as_a_sentence_not_a_widget_dump():
    panel = TuningPanel(defaults=tl.TrainConfig(n_per_class=10))
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # live where a kernel runs
    assert bundle["text/plain"].startswith("TuningPanel(9 controls, 0 runs so far)")
    assert "VBox" not in bundle["text/plain"]


def test_the_runs_table_is_html_that_follows_the_log():
    panel = TuningPanel(
        defaults=tl.TrainConfig(n_per_class=10),
        runner=lambda config, callbacks, progress: tl.Run(
            config, None, None, None, FakeResult(config.lr), None
        ),
    )
    assert "No runs yet" in panel.table.value
    panel.train()
    assert "<table" in panel.table.value and "0.4" in panel.table.value


def test_train_per_class_none_means_every_text_in_the_panel():
    # A number box holds no None: the panel shows "all" as 0 and turns it back into None,
    # so a panel built from TrainConfig's defaults describes TrainConfig's defaults.
    panel = TuningPanel(defaults=tl.TrainConfig())
    assert panel.controls["n_per_class"].value == 0
    assert panel.config() == tl.TrainConfig()
    assert "n_per_class" not in panel.config().to_code()
    panel.set(n_per_class=25)
    assert panel.config().n_per_class == 25
    panel.set(n_per_class=None)
    assert panel.config().n_per_class is None and panel.controls["n_per_class"].value == 0


def test_the_status_line_reports_the_whole_click(monkeypatch):
    clock = iter([100.0, 127.0])  # the click starts at 100 s and ends at 127 s
    monkeypatch.setattr(widgets.time, "perf_counter", lambda: next(clock))

    def runner(config, callbacks, progress):  # 9 s of training within the 27 s
        result = FakeResult(config.lr)
        result.seconds = 9.0
        return tl.Run(config, None, None, None, result, None)

    panel = TuningPanel(defaults=tl.TrainConfig(n_per_class=10), runner=runner)
    panel.train()
    assert "27 s in all (training 9 s" in panel.status.value
    assert panel.log.frame().loc[1, "click_seconds"] == 27.0
