"""One run configuration and one recipe: the same settings give the same weights everywhere."""

from __future__ import annotations

import html
import json
import re

import pytest
import torch

import tlhelpers as tl
from tlcourse.widgets import TuningPanel
from tlhelpers import cli


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights_other_seed_other_weights(tiny_config):
    first = tl.fine_tune(tiny_config, progress=False)
    second = tl.fine_tune(tiny_config, progress=False)
    assert _same(_weights(first.model), _weights(second.model))  # bit-identical, head included
    other = tl.fine_tune(tiny_config.replace(seed=6), progress=False)
    assert not _same(_weights(first.model), _weights(other.model))
    assert first.report.accuracy == second.report.accuracy


def test_the_new_head_is_seeded(tiny_config):
    labels = ["spam", "ham"]  # the saved tiny model has 3 outputs: a new head is drawn
    heads = [
        tl.recipe.load_seeded_model(tiny_config.replace(seed=s), labels)[0].classifier.weight
        for s in (1, 1, 2)
    ]
    assert torch.equal(heads[0], heads[1]) and not torch.equal(heads[0], heads[2])


def test_cli_gives_the_api_weights_and_its_config_repeats_the_run(tiny_config, tmp_path):
    api = tl.fine_tune(tiny_config, progress=False)
    flags = [
        "train", "--dataset", tiny_config.dataset, "--model", tiny_config.model,
        "--epochs", "2", "--lr", "3e-3", "--batch-size", "16", "--max-length", "16",
        "--seed", "5", "--no-progress", "--out", str(tmp_path / "cli"),
    ]  # fmt: skip
    assert cli.main(flags) == 0
    saved, _ = tl.load_saved_model(tmp_path / "cli")
    assert _same(_weights(api.model), _weights(saved))
    recorded = tl.persistence.load_run_config(tmp_path / "cli")
    assert recorded == tiny_config

    # The saved configuration repeats the run through --config...
    config_file = str(tmp_path / "cli" / "training_config.json")
    assert cli.main(["train", "--config", config_file, "--no-progress",
                     "--out", str(tmp_path / "again")]) == 0  # fmt: skip
    again, _ = tl.load_saved_model(tmp_path / "again")
    assert _same(_weights(saved), _weights(again))
    # ...and a flag overrides one setting of the file.
    assert cli.main(["train", "--config", config_file, "--seed", "6", "--no-progress",
                     "--out", str(tmp_path / "other")]) == 0  # fmt: skip
    assert tl.persistence.load_run_config(tmp_path / "other") == tiny_config.replace(seed=6)


def test_panel_code_view_reproduces_the_panels_run(tiny_config):
    panel = TuningPanel(defaults=tiny_config)
    panel.set(lr=1e-3, train_last_layers=1)
    shown = html.unescape(re.search(r"<pre[^>]*>(.*)</pre>", panel.code.value, re.S).group(1))
    run = panel.train()
    assert run is not None, panel.status.value
    namespace: dict = {}
    exec(compile(shown, "<panel code>", "exec"), namespace)  # the code the learner sees
    assert namespace["config"] == run.config
    assert _same(_weights(namespace["run"].model), _weights(run.model))
    # train_last_layers=1: the embeddings and the lower layer did not learn
    fresh = tl.recipe.load_seeded_model(run.config, ["negative", "neutral", "positive"])[0]
    trained = _weights(run.model)  # on the CPU, wherever training ran
    assert torch.equal(fresh.bert.embeddings.word_embeddings.weight,
                       trained["bert.embeddings.word_embeddings.weight"])  # fmt: skip
    assert not torch.equal(fresh.classifier.weight, trained["classifier.weight"])


def test_every_setting_is_a_cli_flag():
    parser = cli.build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    flags = {a.dest for a in train._actions}
    assert set(tl.TrainConfig.field_names()) <= flags
    args = parser.parse_args(["train", "--out", "x", "--n-per-class", "8", "--patience", "none",
                              "--no-pretrained", "--mixed-precision", "bf16"])  # fmt: skip
    config = cli.config_from_args(args)
    assert (config.n_per_class, config.patience, config.pretrained) == (8, None, False)
    assert config.mixed_precision == "bf16" and config.lr == tl.TrainConfig().lr


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--lr", "0"], "error: --lr must be between 0 and 1"),
        (["--n-per-class", "0"], "error: --n-per-class must be at least 1"),
        (["--max-steps", "0"], "error: --max-steps must be at least 1"),
        (["--warmup-ratio", "5"], "error: --warmup-ratio must be a fraction"),
        (["--patience", "-1"], "error: --patience must be 0 or more"),
    ],
)
def test_cli_refuses_bad_settings_before_any_work(flags, message, tmp_path, capsys):
    # The command line names its flags, not the TrainConfig fields (issue #20).
    assert cli.main(["train", "--out", str(tmp_path / "x"), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cli_checks_the_output_folder_before_training(tmp_path, capsys, monkeypatch):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    monkeypatch.setattr(tl.recipe, "load_data", lambda *a, **k: pytest.fail("loaded data"))
    assert cli.main(["train", "--out", str(tmp_path / "mine")]) == 2
    assert "holds files that are not a saved model" in capsys.readouterr().err


def test_config_file_errors_are_clear(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"lr": 1e-4, "learning_rate": 1}))
    with pytest.raises(ValueError, match="Unknown setting.*learning_rate"):
        tl.TrainConfig.load(path)
    with pytest.raises(FileNotFoundError, match="No run configuration"):
        tl.TrainConfig.load(tmp_path / "missing.json")


def test_train_refuses_data_settings_it_would_ignore(tiny_model, tokenizer, toy_data):
    with pytest.raises(ValueError, match="n_per_class"):
        tl.train(tiny_model, tokenizer, toy_data, n_per_class=5)
    with pytest.raises(ValueError, match="encoding"):  # a file-reading setting, too
        tl.train(tiny_model, tokenizer, toy_data, encoding="latin-1")


def test_describe_lists_every_setting_with_its_trainer_twin():
    import dataclasses
    import inspect

    import transformers

    table = tl.TrainConfig.describe()
    assert list(table.index) == [f.name for f in dataclasses.fields(tl.TrainConfig)]
    assert table.loc["lr", "default"] == tl.TrainConfig().lr
    twins = {setting: twin for setting, twin in table["Hugging Face twin"].items() if twin}
    assert {"lr", "epochs", "batch_size", "seed", "patience", "eval_every"} <= set(twins)
    assert twins["lr"] == "learning_rate" and twins["epochs"] == "num_train_epochs"
    # Every name a twin cites exists in transformers 5: a TrainingArguments field, or the
    # parameter of the callback that does the job (Trainer has no patience argument).
    arguments = {f.name for f in dataclasses.fields(transformers.TrainingArguments)}
    for setting, twin in twins.items():
        for callback, parameter in re.findall(r"(\w+Callback)\((\w+)\)", twin):
            assert parameter in inspect.signature(getattr(transformers, callback)).parameters
        cited = re.sub(r"\w+Callback\(\w+\)|\(.*?\)|=\"\w+\"", "", twin)
        for name in re.findall(r"[a-z_][a-z0-9_]*", cited):
            assert name in arguments, f"{setting}: {name!r} is not a TrainingArguments field"


def test_file_reading_options_reach_the_loader_from_the_command_line(tmp_path):
    path = tmp_path / "reviews.txt"
    rows = [("pos" if i % 2 else "neg", f'review {i} said "{"great" if i % 2 else "dull"}"')
            for i in range(40)]  # fmt: skip
    path.write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="latin-1")
    args = cli.build_parser().parse_args([
        "train", "--out", "x", "--dataset", str(path), "--header", "none", "--sep", "tab",
        "--text-column", "1", "--label-column", "0", "--encoding", "latin-1",
    ])  # fmt: skip
    config = cli.config_from_args(args)
    assert (config.header, config.sep, config.text_column) == (None, "tab", "1")
    data, _ = tl.recipe.load_data(config, verbose=False)
    texts = sorted(t for split in data.values() for t in split["text"])
    assert texts == sorted(text for _, text in rows)  # quotes kept, nothing lost
    assert tl.label_names_of(data) == ["neg", "pos"]


def test_predict_refuses_missing_texts(tiny_model, tokenizer):
    with pytest.raises(ValueError, match=r"texts\[1\] is None"):
        tl.predict(tiny_model, tokenizer, ["fine", None])
