"""LoRA adapters (tlhelpers.lora, with peft): what trains, what is saved, what loads where."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from distributed_worker import tiny_model

import tlhelpers as tl
from tlhelpers import cli
from tlhelpers.lora import base_weights_sha256


def _lora_params(model) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if "lora_" in n)


def test_adapters_start_at_the_pretrained_model_and_train_little(tokenizer):
    base = tiny_model()
    texts = ["the flight was great", "awful delay", "okay"]
    before = tl.predict_proba(base.eval(), tokenizer, texts, max_length=16)
    before_hash = base_weights_sha256(base)
    model = tl.add_lora(tiny_model(), rank=4)
    # B starts at zero: the wrapped model computes exactly what the base computed.
    np.testing.assert_array_equal(tl.predict_proba(model.eval(), tokenizer, texts), before)
    # Trainable: rank-4 A (4 x 32) and B (32 x 4) on query and value of both layers,
    # plus the pooler (32 x 32 + 32) and the head (3 x 32 + 3), trained in full.
    assert _lora_params(model) == 2 * 2 * (4 * 32 + 32 * 4)
    counts = tl.count_parameters(model)
    assert counts["trainable"] == _lora_params(model) + (32 * 32 + 32) + (3 * 32 + 3)
    assert tl.is_lora(model) and not tl.is_lora(base)
    assert base_weights_sha256(model) == before_hash  # recorded before the wrap
    with pytest.raises(ValueError, match="has LoRA adapters already"):
        tl.add_lora(model)


def test_each_architecture_gets_its_query_and_value_projections():
    from transformers import AutoModelForSequenceClassification, DistilBertConfig

    small = {"dim": 32, "hidden_dim": 64, "n_layers": 1, "n_heads": 2, "num_labels": 2}
    distilbert = AutoModelForSequenceClassification.from_config(DistilBertConfig(**small))
    for model, targets in [(tiny_model(), {"query", "value"}), (distilbert, {"q_lin", "v_lin"})]:
        adapted = {
            n.split(".")[-4] for n, _ in tl.add_lora(model).named_parameters() if "lora_A" in n
        }
        assert adapted == targets, model.config.model_type


def test_bad_lora_settings_are_refused_before_any_work():
    with pytest.raises(ValueError, match="rank must be a whole number"):
        tl.add_lora(tiny_model(), rank=0)
    unknown = tl.random_model("minilm", labels=2)
    unknown.config.model_type = "mystery"  # an architecture peft has no targets for
    with pytest.raises(ValueError, match="No default LoRA targets for a 'mystery' model"):
        tl.add_lora(unknown)
    with pytest.raises(ValueError, match=r"targets \['q_proj'\] are not layers of this 'bert'"):
        tl.add_lora(tl.random_model("minilm", labels=2), targets=["query", "q_proj"])
    with pytest.raises(ValueError, match="cannot be combined with train_last_layers"):
        tl.TrainConfig(lora_rank=8, train_last_layers=1)
    with pytest.raises(ValueError, match="cannot be combined"):
        tl.TrainConfig(lora_rank=8, cache_frozen_layers=True)
    with pytest.raises(ValueError, match="set lora_rank too"):
        tl.TrainConfig(lora_alpha=16)
    with pytest.raises(ValueError, match="lora_rank must be at least 1"):
        tl.TrainConfig(lora_rank=0)


def test_train_refuses_lora_in_its_config(tiny_model, tokenizer, toy_data):
    with pytest.raises(ValueError, match=r"tl\.add_lora\(model, rank=r\)"):
        tl.train(tiny_model, tokenizer, toy_data, lora_rank=4)


def test_a_lora_run_saves_an_adapter_that_loads_onto_its_base_only(
    tiny_config, tiny_model_folder, tmp_path
):
    config = tiny_config.replace(lora_rank=4, lr=1e-2)
    run = tl.fine_tune(config, progress=False)
    frozen_before = base_weights_sha256(tl.load_model(tiny_model_folder)[0])
    assert base_weights_sha256(run.model) == frozen_before  # training left the base alone
    run.save(tmp_path / "adapter")
    files = sorted(p.name for p in (tmp_path / "adapter").iterdir())
    assert {"adapter_config.json", "adapter_model.safetensors", "config.json"} <= set(files)
    assert "model.safetensors" not in files  # the base is not copied: only the adapter
    info = tl.load_training_info(tmp_path / "adapter")
    assert info["adapter"]["base_model"] == tiny_model_folder
    assert info["adapter"]["rank"] == 4 and info["adapter"]["alpha"] == 8
    assert info["adapter"]["trained_in_full"] == ["classifier", "pooler"]
    assert (
        json.loads((tmp_path / "adapter" / "training_config.json").read_text())["model"][
            "lora_rank"
        ]
        == 4
    )

    reloaded, tokenizer = tl.load_saved_model(tmp_path / "adapter")
    texts = run.data["test"]["text"][:12]
    ours = tl.predict_proba(run.model.eval(), run.tokenizer, texts, max_length=16)
    np.testing.assert_array_equal(tl.predict_proba(reloaded, tokenizer, texts, max_length=16), ours)

    merged = tl.merge_lora(reloaded)  # a plain transformers model: pipeline-ready
    assert not tl.is_lora(merged)
    np.testing.assert_allclose(
        tl.predict_proba(merged, tokenizer, texts, max_length=16), ours, atol=1e-5
    )

    other = tmp_path / "other-base"  # the same architecture, other weights
    torch.manual_seed(1)
    different = tiny_model()
    for parameter in different.bert.encoder.parameters():
        parameter.data.normal_()
    tl.save_model(different, tokenizer, other)
    with pytest.raises(ValueError, match="trained on other base weights"):
        tl.load_saved_model(tmp_path / "adapter", base=other)


def test_the_command_line_trains_and_evaluates_an_adapter(toy_csv, tiny_model_folder, tmp_path):
    out = tmp_path / "run"
    common = ["--max-length", "16", "--no-progress"]
    code = cli.main(
        ["train", "--dataset", toy_csv, "--model", tiny_model_folder, "--epochs", "1"]
        + ["--batch-size", "16", "--lr", "1e-2", "--lora-rank", "2", "--out", str(out), *common]
    )
    assert code == 0 and (out / "adapter_config.json").exists()
    assert cli.main(["evaluate", "--model", str(out)]) == 0
