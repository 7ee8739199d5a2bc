"""tlhelpers.train on a tiny random BERT: learning, history, seeding, stopping, errors."""

from __future__ import annotations

import pytest
import torch

import tlhelpers as tl
from tlhelpers.training import parameter_groups


def _train(model, tokenizer, data, **kwargs):
    options = {"epochs": 3, "lr": 3e-3, "batch_size": 16, "max_length": 32, "progress": False}
    return tl.train(model, tokenizer, data, **{**options, **kwargs})


def test_tiny_model_learns_the_toy_task(tiny_model, tokenizer, toy_data):
    # 8 epochs, not 4: after 4 (the learning rate decaying to 0) the validation loss was
    # still ~0.48 with two classes on the decision boundary, so whether one validation
    # crossed it was a coin flip that float32 won and bf16/fp16 on a GPU lost. After 8 it
    # is ~0.05 in every precision: the test asserts learning, not luck.
    result = _train(tiny_model, tokenizer, toy_data, epochs=8)
    assert result.best["accuracy"] == 1.0 and result.history.evals[-1]["loss"] < 0.2
    assert len(result.history.evals) == 8
    steps = result.history.steps_frame()
    assert steps["loss"].iloc[-1] < steps["loss"].iloc[0]
    assert {"step", "epoch", "loss", "lr", "seconds"} <= set(steps.columns)
    assert not result.interrupted and not result.stopped_early
    report = tl.evaluate(tiny_model, tokenizer, toy_data["test"])
    assert report.accuracy > 0.9
    assert [e["step"] for e in result.history.evals] == [15 * (i + 1) for i in range(8)]


def test_same_seed_same_result(tokenizer, toy_data):
    runs = []
    for _ in range(2):
        tl.set_seed(0)
        model = tl.random_model("minilm", labels=toy_data["train"].features["label"].names)
        tl.freeze(model, train_last_layers=1)
        runs.append(_train(model, tokenizer, toy_data, epochs=1, seed=7).best)
    assert runs[0]["loss"] == runs[1]["loss"] and runs[0]["macro_f1"] == runs[1]["macro_f1"]


def test_interrupt_keeps_best_weights(tiny_model, tokenizer, toy_data):
    saved = {}

    def stop_in_second_epoch(event, history):
        if event == "eval" and len(history.evals) == 1:
            saved.update({k: v.clone() for k, v in tiny_model.state_dict().items()})
        if event == "step" and history.steps[-1]["epoch"] > 1.5:
            raise KeyboardInterrupt

    result = _train(tiny_model, tokenizer, toy_data, callbacks=[stop_in_second_epoch], log_every=1)
    assert result.interrupted
    assert result.best["epoch"] == 1.0
    for name, value in tiny_model.state_dict().items():
        assert torch.equal(value, saved[name]), name


def test_early_stopping_with_patience(tiny_model, tokenizer, toy_data):
    # lr=0 is refused, so use a rate too small to improve anything: no gains, stop early.
    result = _train(tiny_model, tokenizer, toy_data, epochs=10, lr=1e-12, patience=1, metric="loss")
    assert result.stopped_early
    assert len(result.history.evals) < 10


@pytest.mark.parametrize("patience", [0, 1, 2])
def test_patience_counts_like_early_stopping_callback(patience, tiny_model, tokenizer, toy_data):
    # A rate too small to change any prediction: accuracy never improves after the first
    # validation, so the run stops at the patience-th miss (0 counts as 1), as Hugging
    # Face's EarlyStoppingCallback(early_stopping_patience=N) does.
    result = _train(tiny_model, tokenizer, toy_data, epochs=10, lr=1e-12, patience=patience,
                    metric="accuracy")  # fmt: skip
    assert result.stopped_early
    assert len(result.history.evals) == 1 + max(1, patience)
    assert result.best["step"] == result.history.evals[0]["step"]


def test_frozen_encoder_only_trains_the_head(tiny_model, tokenizer, toy_data):
    tl.freeze(tiny_model)
    before = tiny_model.bert.encoder.layer[0].attention.self.query.weight.clone()
    head_before = tiny_model.classifier.weight.clone()
    _train(tiny_model, tokenizer, toy_data, epochs=1)
    # .cpu(): on a GPU machine the trained model stays on the GPU
    assert torch.equal(before, tiny_model.bert.encoder.layer[0].attention.self.query.weight.cpu())
    assert not torch.equal(head_before, tiny_model.classifier.weight.cpu())


def test_dropout_is_restored_after_training(tiny_model, tokenizer, toy_data):
    _train(tiny_model, tokenizer, toy_data, epochs=1, dropout=0.0)
    assert tiny_model.bert.encoder.layer[0].output.dropout.p == 0.1


def test_callbacks_and_eval_every(tiny_model, tokenizer, toy_data):
    events = []
    result = _train(
        tiny_model,
        tokenizer,
        toy_data,
        epochs=1,
        eval_every=5,
        callbacks=[lambda e, h: events.append(e)],
    )
    assert events.count("eval") == len(result.history.evals) >= 3
    assert events[-1] == "end" and "step" in events


def test_head_size_that_does_not_match_the_labels(tiny_model, tokenizer):
    data = tl.load_text_dataset((["good", "bad"] * 20, ["pos", "neg"] * 20))
    with pytest.raises(ValueError, match="head has 3 outputs .* data has 2 labels"):
        _train(tiny_model, tokenizer, data)


def test_bad_settings_fail_before_training(tiny_model, tokenizer, toy_data):
    with pytest.raises(ValueError, match="max_length=600 is outside"):
        _train(tiny_model, tokenizer, toy_data, max_length=600)
    with pytest.raises(ValueError, match="metric must be one of"):
        _train(tiny_model, tokenizer, toy_data, metric="f1")
    with pytest.raises(ValueError, match="needs a DatasetDict"):
        _train(tiny_model, tokenizer, toy_data["train"])
    tl.freeze(tiny_model)
    for p in tiny_model.parameters():
        p.requires_grad = False
    with pytest.raises(ValueError, match="no trainable parameters"):
        _train(tiny_model, tokenizer, toy_data)


def test_layer_wise_learning_rates(tiny_model):
    groups = parameter_groups(tiny_model, lr=1e-3, weight_decay=0.01, layer_lr_decay=0.5)
    rates = sorted({g["lr"] for g in groups})
    assert rates == pytest.approx([2.5e-4, 5e-4, 1e-3])  # embeddings, layer 1, layer 2 + head
    assert all(g["weight_decay"] == 0 for g in groups if any(p.ndim < 2 for p in g["params"]))


def test_learning_rate_schedule_warms_up_then_decays():
    factor = tl.learning_rate_schedule(total_steps=100, warmup_steps=10)
    assert [factor(s) for s in (0, 5, 10, 55, 100)] == pytest.approx([0, 0.5, 1, 0.5, 0])


def test_schedule_is_transformers_linear_schedule():
    from transformers import get_scheduler

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    theirs = get_scheduler("linear", optimizer, num_warmup_steps=7, num_training_steps=50)
    ours = tl.learning_rate_schedule(total_steps=50, warmup_steps=7)
    for step in range(51):
        assert theirs.lr_lambdas[0](step) == pytest.approx(ours(step))


def test_max_steps_on_an_eval_every_step_validates_once(tiny_model, tokenizer, toy_data):
    # 240 training texts / 16 = 15 steps an epoch; stop at step 10, validate every 5.
    result = _train(
        tiny_model, tokenizer, toy_data, epochs=3, max_steps=10, eval_every=5, patience=0
    )
    assert [e["step"] for e in result.history.evals] == [5, 10]
    assert all(e["train_loss"] > 0 for e in result.history.evals)
    assert not result.stopped_early  # reaching max_steps is a normal end, whatever patience
    # ... and an epoch end that is also an eval_every step validates once too
    result = _train(tiny_model, tokenizer, toy_data, epochs=2, eval_every=5)
    assert [e["step"] for e in result.history.evals] == [5, 10, 15, 20, 25, 30]


def test_training_on_pre_tokenized_data(tiny_model, tokenizer, toy_data):
    tokenized = tl.tokenize_dataset(toy_data, tokenizer, max_length=16)
    assert "input_ids" in tokenized["train"].column_names
    result = _train(tiny_model, tokenizer, tokenized, epochs=8)
    assert result.best["accuracy"] == 1.0


class BestTracker:
    """A callback that copies the trainable weights whenever validation improves."""

    def __init__(self, model):
        self.model, self.best, self.saved = model, -1.0, None

    def __call__(self, event, history):
        if event == "eval" and history.evals[-1]["macro_f1"] > self.best:
            self.best = history.evals[-1]["macro_f1"]
            params = [p for p in self.model.parameters() if p.requires_grad]
            self.saved = [(p, p.detach().clone()) for p in params]


def _stop_after_first_validation(event, history):
    if event == "step" and history.evals:
        raise KeyboardInterrupt


@pytest.mark.parametrize(
    "ending, options",
    [
        ("finished", {"epochs": 3, "lr": 1e-2}),
        ("early stop", {"epochs": 10, "lr": 1e-12, "patience": 1, "metric": "loss"}),
        ("interrupted", {"epochs": 3, "log_every": 1}),
        ("cached, finished", {"epochs": 3, "lr": 1e-2, "cache_frozen_layers": True}),
        ("cached, interrupted", {"epochs": 3, "log_every": 1, "cache_frozen_layers": True}),
    ],
)
def test_best_weights_and_dropout_are_restored_on_every_path(
    ending, options, tiny_model, tokenizer, toy_data
):
    if "cached" in ending:
        tl.freeze(tiny_model, train_last_layers=1)
    tracker = BestTracker(tiny_model)
    callbacks = [tracker] + ([_stop_after_first_validation] if "interrupted" in ending else [])
    result = _train(tiny_model, tokenizer, toy_data, callbacks=callbacks, eval_every=5,
                    **options)  # fmt: skip
    assert result.interrupted == ("interrupted" in ending)
    assert result.stopped_early == (ending == "early stop")
    assert result.best["macro_f1"] == tracker.best
    for parameter, value in tracker.saved:
        assert torch.equal(parameter, value)
    assert all(m.p == 0.1 for m in tiny_model.modules() if isinstance(m, torch.nn.Dropout))
    assert len(tiny_model.bert.encoder.layer) == 2  # the cached path put every layer back
    assert not tiny_model.training


def test_cached_top_layers_train_like_the_full_model(tokenizer, toy_data):
    from distributed_worker import tiny_model

    results = []
    for cached in (False, True):
        model = tl.freeze(tiny_model(), train_last_layers=1)
        # Full precision: under bf16 (the default on a GPU) the two paths round differently.
        result = _train(model, tokenizer, toy_data, epochs=2, cache_frozen_layers=cached,
                        mixed_precision="no")  # fmt: skip
        results.append((result, model))
    (full, full_model), (cached, cached_model) = results
    assert cached.best["loss"] == pytest.approx(full.best["loss"], abs=1e-4)
    for a, b in zip(full_model.parameters(), cached_model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-4)


def test_cache_needs_frozen_lower_layers(tiny_model, tokenizer, toy_data):
    with pytest.raises(ValueError, match="cache_frozen_layers needs frozen"):
        _train(tiny_model, tokenizer, toy_data, cache_frozen_layers=True)


def test_interrupt_before_any_validation_keeps_no_best(tiny_model, tokenizer, toy_data, caplog):
    def stop_at_step_2(event, history):
        if event == "step" and history.steps[-1]["step"] == 2:
            raise KeyboardInterrupt

    result = _train(tiny_model, tokenizer, toy_data, callbacks=[stop_at_step_2], log_every=1)
    assert result.interrupted and result.best is None and result.history.evals == []
    assert result.stop_signal is None  # a callback's KeyboardInterrupt is no signal
    assert "before the first validation" in caplog.text


def test_sigterm_stops_after_the_step_and_keeps_the_best(tiny_model, tokenizer, toy_data):
    import os
    import signal

    def terminate_after_first_validation(event, history):
        if event == "step" and history.evals and history.steps[-1]["step"] == 17:
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    result = _train(tiny_model, tokenizer, toy_data, callbacks=[terminate_after_first_validation],
                    log_every=1)  # fmt: skip
    assert result.interrupted and result.stop_signal == "SIGTERM"
    assert result.history.steps[-1]["step"] == 17  # it finished that step and stopped
    assert result.best["step"] == 15
    assert signal.getsignal(signal.SIGTERM) is previous  # the handler is put back


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["bf16", "fp16", "auto"])
def test_cuda_mixed_precision_learns_the_toy_task(precision, tiny_model, tokenizer, toy_data):
    result = _train(tiny_model, tokenizer, toy_data, epochs=8, mixed_precision=precision)
    assert result.best["accuracy"] == 1.0 and result.history.evals[-1]["loss"] < 0.2
    assert next(tiny_model.parameters()).device.type == "cuda"
    assert tl.evaluate(tiny_model, tokenizer, toy_data["test"]).accuracy == 1.0
