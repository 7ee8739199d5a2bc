"""The embedded MiniLM on the embedded datasets, end to end (a few hundred examples)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import tlhelpers as tl
from tlhelpers import cli
from tlhelpers.baselines import majority_baseline

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tweets():
    return tl.load_text_dataset("tweet-sentiment", max_examples=1200, seed=0)


@pytest.fixture(scope="module")
def tweet_model(tweets):
    model, tokenizer = tl.load_model("minilm", labels=tl.label_names_of(tweets))
    result = tl.train(
        model, tokenizer, tweets, epochs=1, lr=1e-4, batch_size=16, max_length=64, progress=False
    )
    return model, tokenizer, result


def test_one_epoch_beats_the_majority_class_on_tweets(tweets, tweet_model):
    model, tokenizer, result = tweet_model
    report = tl.evaluate(model, tokenizer, tweets["test"], max_length=64)
    floor = majority_baseline(tweets["train"], tweets["test"])
    assert report.accuracy > floor["accuracy"] + 0.05
    assert report.macro_f1 > floor["macro_f1"] + 0.2
    # The speed is one epoch's training examples over the run's seconds, and the run validated.
    assert result.examples_per_second * result.seconds == pytest.approx(len(tweets["train"]))
    assert result.train_examples == len(tweets["train"]) and result.history.evals
    best = max(result.history.evals, key=lambda e: e["macro_f1"])  # the first of the best
    assert result.best["step"] == best["step"] and result.best["macro_f1"] == best["macro_f1"]


def test_one_epoch_beats_the_majority_class_on_bbc_news():
    data = tl.load_text_dataset("bbc-news", n_per_class=24, seed=0)
    data["validation"] = data["validation"].select(range(60))
    data["test"] = data["test"].select(range(100))
    model, tokenizer = tl.load_model("minilm", labels=tl.label_names_of(data))
    tl.train(
        model, tokenizer, data, epochs=2, lr=2e-4, batch_size=16, max_length=128, progress=False
    )
    report = tl.evaluate(model, tokenizer, data["test"], max_length=128)
    assert report.accuracy > majority_baseline(data["train"], data["test"])["accuracy"] + 0.3


def test_save_load_pipeline_give_the_same_predictions(tweets, tweet_model, tmp_path):
    model, tokenizer, result = tweet_model
    texts = tweets["test"]["text"][:40]
    tl.save_model(model, tokenizer, tmp_path / "tweets", training=result)
    reloaded, reloaded_tokenizer = tl.load_saved_model(tmp_path / "tweets")
    ours = tl.predict(model, tokenizer, texts, max_length=64)["predicted"].tolist()
    assert tl.predict(reloaded, reloaded_tokenizer, texts)["predicted"].tolist() == ours

    from transformers import pipeline

    classify = pipeline("text-classification", model=str(tmp_path / "tweets"), device="cpu")
    # The saved tokenizer truncates at the trained length: no max_length needed here.
    assert [r["label"] for r in classify(texts, truncation=True)] == ours
    info = tl.load_training_info(tmp_path / "tweets")
    assert info["history"]["evals"] and info["training"]["best_step"] == result.best["step"]
    # tl.train was handed the tweets in memory: the record says so (issue #16), with the
    # settings it trained with, and names no dataset that it could be mistaken for.
    record = json.loads((tmp_path / "tweets" / "training_config.json").read_text())
    assert record["data"]["source"] == "in-memory" and record["data"]["rows"]["train"] == 960
    assert record["training"] == result.config.settings("training")
    with pytest.raises(ValueError, match="in-memory data"):
        tl.persistence.load_run_config(tmp_path / "tweets")


def test_interrupted_minilm_training_keeps_its_best_weights(tweets):
    model, tokenizer = tl.load_model("minilm", labels=tl.label_names_of(tweets))
    probabilities = []  # after each validation: what the model predicted then
    texts = tweets["validation"]["text"][:20]

    def interrupt_after_second_eval(event, history):
        if event == "eval":
            probabilities.append(tl.predict_proba(model, tokenizer, texts, max_length=64))
        if event == "eval" and len(history.evals) == 2:
            raise KeyboardInterrupt

    result = tl.train(
        model, tokenizer, tweets, epochs=1, lr=1e-4, max_length=64, eval_every=8,
        metric="loss", callbacks=[interrupt_after_second_eval], progress=False,
    )  # fmt: skip
    assert result.interrupted
    best_index = int(np.argmin([e["loss"] for e in result.history.evals]))
    assert result.best == result.history.evals[best_index]
    now = tl.predict_proba(model, tokenizer, texts, max_length=64)
    assert np.allclose(now, probabilities[best_index], atol=1e-5)


def test_cli_round_trip(tmp_path, capsys):
    # `train` runs as `python -m tlhelpers`, the command a learner types; evaluate, predict
    # and the two errors go through the same entry point in this process (cli.main), which
    # saves a Python start and a torch import for each.
    out = tmp_path / "cli-run"
    train = subprocess.run(
        [sys.executable, "-m", "tlhelpers", "train", "--dataset", "tweet-sentiment",
         "--max-examples", "400", "--epochs", "1", "--max-length", "48", "--out", str(out),
         "--no-progress"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    assert "Test metrics" in train.stdout and "macro_f1" in train.stdout

    assert cli.main(["evaluate", "--model", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "n=40" in printed and "Confusion matrix" in printed
    texts = ["I love this airline", "worst delay ever"]
    assert cli.main(["predict", "--model", str(out), "--json", *texts]) == 0
    assert capsys.readouterr().out.count('"predicted"') == 2

    assert cli.main(["evaluate", "--model", str(tmp_path)]) == 2
    assert "not a saved model" in capsys.readouterr().err
    assert (
        cli.main(["train", "--dataset", "nobody/nothing-here", "--out", str(tmp_path / "x")]) == 2
    )
    assert "tweet-sentiment, bbc-news" in capsys.readouterr().err
