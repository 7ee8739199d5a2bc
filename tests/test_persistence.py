"""tlhelpers.persistence: standard HF folders, atomic saves, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import tlhelpers as tl

TEXTS = ["great flight, thanks", "lost my bag again", "boarding at gate 4"]


def test_round_trip_and_pipeline(tiny_model, tokenizer, tmp_path):
    folder = tl.save_model(
        tiny_model, tokenizer, tmp_path / "run", training={"epochs": 1}, metrics={"accuracy": 0.5}
    )
    assert (folder / "model.safetensors").exists() and (folder / "config.json").exists()
    assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pt"))
    info = tl.load_training_info(folder)
    assert info["labels"] == ["negative", "neutral", "positive"]
    assert info["metrics"] == {"accuracy": 0.5} and info["training"] == {"epochs": 1}

    model, tok = tl.load_saved_model(folder)
    before = tl.predict_proba(tiny_model, tokenizer, TEXTS)
    assert np.allclose(before, tl.predict_proba(model, tok, TEXTS), atol=1e-6)

    from transformers import pipeline

    classify = pipeline("text-classification", model=str(folder), device="cpu")
    labels = [r["label"] for r in classify(TEXTS)]
    assert labels == [["negative", "neutral", "positive"][i] for i in before.argmax(1)]


def test_mlp_head_round_trip(tiny_model, tokenizer, tmp_path):
    tl.replace_head(tiny_model, ["a", "b"], hidden_units=16, seed=0)
    tl.save_model(tiny_model, tokenizer, tmp_path / "mlp")
    model, tok = tl.load_saved_model(tmp_path / "mlp")
    assert isinstance(model.classifier, torch.nn.Sequential)
    assert np.allclose(
        tl.predict_proba(tiny_model, tokenizer, TEXTS),
        tl.predict_proba(model, tok, TEXTS),
        atol=1e-6,
    )


def test_overwrite_replaces_a_saved_model_but_never_other_files(tiny_model, tokenizer, tmp_path):
    folder = tmp_path / "run"
    tl.save_model(tiny_model, tokenizer, folder, metrics={"accuracy": 0.1})
    tl.save_model(tiny_model, tokenizer, folder, metrics={"accuracy": 0.2})
    assert json.loads((folder / "tlhelpers.json").read_text())["metrics"]["accuracy"] == 0.2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"], "no temporary folders left"
    with pytest.raises(FileExistsError, match="overwrite=False"):
        tl.save_model(tiny_model, tokenizer, folder, overwrite=False)

    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("months of work")
    with pytest.raises(FileExistsError, match="not a saved model"):
        tl.save_model(tiny_model, tokenizer, precious)
    assert (precious / "chapter1.tex").read_text() == "months of work"


def test_failed_save_leaves_nothing_behind(tiny_model, tokenizer, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    tl.save_model(tiny_model, tokenizer, folder, metrics={"accuracy": 0.1})

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tokenizer, "save_pretrained", broken)
    with pytest.raises(OSError, match="disk full"):
        tl.save_model(tiny_model, tokenizer, folder, metrics={"accuracy": 0.9})
    assert tl.load_training_info(folder)["metrics"]["accuracy"] == 0.1, "old save intact"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_loading_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="No folder"):
        tl.load_saved_model(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"not a saved model.*notes.txt"):
        tl.load_saved_model(tmp_path)
