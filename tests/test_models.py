"""tlhelpers.models: loading, head replacement done right, freezing, counting."""

from __future__ import annotations

import pytest
import torch

import tlhelpers as tl


def _batch(n=16, classes=3):
    torch.manual_seed(0)
    return {
        "input_ids": torch.randint(1000, 2000, (n, 12)),
        "attention_mask": torch.ones(n, 12, dtype=torch.long),
        "labels": torch.randint(0, classes, (n,)),
    }


def test_seed_one_liner_breaks_the_loss_and_replace_head_fixes_it():
    model = tl.random_model("minilm", labels=2)
    model.classifier = torch.nn.Linear(384, 3)  # the seed's step, alone
    with pytest.raises(ValueError, match="Expected input batch_size \\(24\\)"):
        model(**_batch(16, 3))

    model = tl.random_model("minilm", labels=2)
    tl.replace_head(model, ["negative", "neutral", "positive"])
    output = model(**_batch(16, 3))
    assert output.logits.shape == (16, 3) and torch.isfinite(output.loss)
    assert model.config.num_labels == 3
    assert model.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    assert model.config.label2id["positive"] == 2


def test_mlp_head_variant_trains():
    model = tl.random_model("minilm", labels=2)
    tl.replace_head(model, 4, hidden_units=64)
    assert isinstance(model.classifier, torch.nn.Sequential)
    output = model(**_batch(8, 4))
    output.loss.backward()
    assert model.classifier[0].weight.grad is not None


def test_load_embedded_model_with_labels():
    model, tokenizer = tl.load_model("minilm", labels=["neg", "pos"])
    assert model.config.id2label == {0: "neg", 1: "pos"}
    assert model.classifier.out_features == 2
    assert tl.count_parameters(model)["total"] == pytest.approx(22.7e6, rel=0.01)
    assert tokenizer("hello")["input_ids"][0] == tokenizer.cls_token_id


def test_missing_and_duplicate_labels():
    with pytest.raises(ValueError, match="Say which classes"):
        tl.load_model("minilm")
    with pytest.raises(ValueError, match="unique"):
        tl.load_model("minilm", labels=["a", "a"])


def test_unknown_model_offline_names_the_embedded_one(monkeypatch):
    # huggingface_hub reads HF_HUB_OFFLINE once, at import: set the constant it reads (the
    # environment variable set now would change nothing), and check the message says so.
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ValueError, match="Models that work offline: 'minilm'") as raised:
        tl.load_model("no-such-org/no-such-model-xyz", labels=2)
    assert "offline (HF_HUB_OFFLINE=1) and it is not in the local cache" in str(raised.value)


def test_freeze_and_count():
    model = tl.random_model("minilm", labels=3)
    tl.freeze(model)
    counts = tl.count_parameters(model)
    head_and_pooler = 384 * 3 + 3 + 384 * 384 + 384
    assert counts["trainable"] == head_and_pooler
    tl.freeze(model, train_last_layers=2)
    layer = sum(p.numel() for p in model.bert.encoder.layer[-1].parameters())
    assert tl.count_parameters(model)["trainable"] == head_and_pooler + 2 * layer
    assert not any(p.requires_grad for p in model.bert.encoder.layer[0].parameters())
    tl.unfreeze(model)
    assert tl.count_parameters(model)["trainable_share"] == 1.0
    with pytest.raises(ValueError, match="between 0 and 6"):
        tl.freeze(model, train_last_layers=7)


def test_catalog_lists_offline_availability():
    table = tl.catalog()
    assert table.loc["minilm", "offline"]
    assert {"bert-base", "distilbert", "roberta-base"} <= set(table.index)


@pytest.mark.parametrize("name", ["distilbert", "roberta-base"])
def test_replace_head_on_other_architectures(name):
    model = tl.random_model(name, labels=2)
    tl.replace_head(model, ["a", "b", "c", "d", "e"])
    output = model(**_batch(4, 5))
    assert output.logits.shape == (4, 5)


def test_set_dropout_reaches_attention():
    model = tl.random_model("minilm", labels=2)
    tl.set_dropout(model, 0.0)
    assert model.bert.encoder.layer[0].attention.self.dropout.p == 0.0
    model.train()
    batch = _batch(2, 2)
    assert torch.equal(model(**batch).logits, model(**batch).logits)


def test_a_fine_tuned_folder_keeps_its_label_order(tiny_model, tokenizer, tmp_path):
    tl.save_model(tiny_model, tokenizer, tmp_path / "m")
    model, _ = tl.load_model(tmp_path / "m")  # labels left out: the ones it learned
    assert tl.label_names(model) == ["negative", "neutral", "positive"]
    with pytest.raises(ValueError, match="wrong names"):
        tl.load_model(tmp_path / "m", labels=["positive", "neutral", "negative"])
    fresh, _ = tl.load_model(tmp_path / "m", labels=["spam", "ham"])  # a new, 2-class head
    assert tl.label_names(fresh) == ["spam", "ham"]


def test_loading_keeps_the_callers_progress_bar_setting():
    # A notebook that turns transformers' bars off must not get them back from load_model
    # (they showed up as "Loading weights" bars in every later pipeline(...) call).
    from transformers.utils import logging

    was = logging.is_progress_bar_enabled()
    try:
        logging.disable_progress_bar()
        tl.load_model("minilm", labels=["neg", "pos"])
        assert not logging.is_progress_bar_enabled()
        logging.enable_progress_bar()
        tl.load_model("minilm", labels=["neg", "pos"])
        assert logging.is_progress_bar_enabled()
    finally:
        (logging.enable_progress_bar if was else logging.disable_progress_bar)()


def test_catalog_states_model_card_facts_and_builds_every_architecture_offline():
    table = tl.catalog()
    for column in ("language", "cased", "licence", "trained_on"):
        assert column in table.columns
    assert table.loc["minilm", "licence"] == "apache-2.0"
    assert not table.loc["minilm", "cased"]  # all-MiniLM-L6-v2's tokenizer lowercases
    for name, entry in tl.CATALOG.items():
        model = tl.random_model(name, labels=2)  # no download: the architecture from the config
        assert model.config.hidden_size == entry.hidden_size
        assert len(tl.models.encoder_layers(model)) == entry.layers
        counted = tl.count_parameters(model)["total"] / 1e6
        assert abs(counted - entry.parameters_millions) < 0.5, (name, counted)
