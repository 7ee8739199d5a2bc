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
    result = _train(tiny_model, tokenizer, toy_data, epochs=4)
    assert result.best["accuracy"] > 0.9
    assert len(result.history.evals) == 4
    steps = result.history.steps_frame()
    assert steps["loss"].iloc[-1] < steps["loss"].iloc[0]
    assert {"step", "epoch", "loss", "lr", "seconds"} <= set(steps.columns)
    assert not result.interrupted and not result.stopped_early
    report = tl.evaluate(tiny_model, tokenizer, toy_data["test"])
    assert report.accuracy > 0.9


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


def test_frozen_encoder_only_trains_the_head(tiny_model, tokenizer, toy_data):
    tl.freeze(tiny_model)
    before = tiny_model.bert.encoder.layer[0].attention.self.query.weight.clone()
    head_before = tiny_model.classifier.weight.clone()
    _train(tiny_model, tokenizer, toy_data, epochs=1)
    assert torch.equal(before, tiny_model.bert.encoder.layer[0].attention.self.query.weight)
    assert not torch.equal(head_before, tiny_model.classifier.weight)


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
    with pytest.raises(ValueError, match="metric must be"):
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
