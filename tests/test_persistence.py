"""tlhelpers.persistence: standard HF folders, atomic saves, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import tlhelpers as tl
from tlhelpers import persistence

TEXTS = ["great flight, thanks", "lost my bag again", "boarding at gate 4"]


def test_round_trip_and_pipeline(tiny_model, tokenizer, tmp_path):
    folder = tl.save_model(
        tiny_model, tokenizer, tmp_path / "run", training={"epochs": 1}, metrics={"accuracy": 0.5}
    )
    assert (folder / "model.safetensors").exists() and (folder / "config.json").exists()
    assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pt"))
    info = tl.load_training_info(folder)
    assert info["metrics"] == {"accuracy": 0.5} and info["training"] == {"epochs": 1}
    assert info["versions"]["torch"] == torch.__version__ and info["saved_at"]

    model, tok = tl.load_saved_model(folder)
    assert tl.label_names(model) == ["negative", "neutral", "positive"]
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


# --- recovering from interrupted saves ------------------------------------------------
# These build by hand the states a killed save leaves; tests/test_save_faults.py makes
# them for real with kill -9.


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def hidden(folder, kind: str, pid: int, host: str | None = None, stamp: int | None = None):
    host = persistence._host() if host is None else host
    stamp = time.time_ns() if stamp is None else stamp
    return folder.with_name(f".{folder.name}.{kind}-{host}-{pid}-{stamp}")


def siblings(folder) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir())


def test_a_save_killed_between_its_two_renames_is_restored(tiny_model, tokenizer, tmp_path):
    folder = tl.save_model(tiny_model, tokenizer, tmp_path / "run", metrics={"save": "old"})
    pid = dead_pid()
    half_written = hidden(folder, "saving", pid)
    half_written.mkdir()
    (half_written / "config.json").write_text("{")
    folder.rename(hidden(folder, "old", pid))  # the writer died right after this rename

    with pytest.warns(UserWarning, match=r"interrupted.*restored the model that was there"):
        model, _ = tl.load_saved_model(folder)
    assert tl.load_training_info(folder)["metrics"] == {"save": "old"}
    assert siblings(folder) == ["run"]
    for name, tensor in tiny_model.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name


def test_only_provably_stale_leftovers_are_removed(tiny_model, tokenizer, tmp_path):
    folder = tl.save_model(tiny_model, tokenizer, tmp_path / "run")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        keep = [
            hidden(folder, "saving", live.pid),  # a live process may still be writing it
            hidden(folder, "saving", dead_pid(), host="othermachine"),  # pid means nothing here
            folder.with_name(".run.saving-notes"),  # not a name save_model writes
            hidden(folder.with_name("runner"), "saving", dead_pid()),  # another folder's
        ]
        remove = [
            hidden(folder, "saving", dead_pid()),
            hidden(folder, "old", dead_pid()),
            hidden(folder, "trash", dead_pid()),
            hidden(folder, "trash", os.getpid()),  # ours, but no save of ours is writing it
            hidden(folder, "saving", live.pid, stamp=10**9),  # named in 1970: the id was reused
        ]
        for path in keep + remove:
            path.mkdir()
        done = persistence.recover_interrupted_save(folder)
        assert len(done) == len(remove) and all("removed" in line for line in done)
        assert siblings(folder) == sorted(["run"] + [p.name for p in keep])
    finally:
        live.kill()
        live.wait()
    tl.load_saved_model(folder)  # now its writer is gone too
    assert hidden(folder, "saving", live.pid).name not in siblings(folder)
    assert len(siblings(folder)) == len(keep)


def test_a_load_waits_for_a_live_save_then_explains(tiny_model, tokenizer, tmp_path, monkeypatch):
    folder = tl.save_model(tiny_model, tokenizer, tmp_path / "run")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder.rename(hidden(folder, "old", live.pid))  # a live writer between its renames
        monkeypatch.setattr(persistence, "WAIT_FOR_WRITER_S", 0.2)
        with pytest.raises(FileNotFoundError, match=rf"process {live.pid} is saving over it"):
            tl.load_saved_model(folder)
    finally:
        live.kill()
        live.wait()
    with pytest.warns(UserWarning, match="interrupted"):
        tl.load_saved_model(folder)


def test_saving_without_the_atomic_swap_uses_two_renames(
    tiny_model, tokenizer, tmp_path, monkeypatch
):
    monkeypatch.setattr(persistence, "_exchange_paths", lambda a, b: False)
    folder = tmp_path / "run"
    for accuracy in (0.1, 0.2):
        tl.save_model(tiny_model, tokenizer, folder, metrics={"accuracy": accuracy})
    assert tl.load_training_info(folder)["metrics"] == {"accuracy": 0.2}
    assert siblings(folder) == ["run"]


def test_saving_through_a_symlink_updates_the_folder_it_points_to(tiny_model, tokenizer, tmp_path):
    (tmp_path / "store").mkdir()
    link = tmp_path / "latest"
    link.symlink_to(tmp_path / "store" / "run", target_is_directory=True)
    for accuracy in (0.1, 0.2):
        assert tl.save_model(tiny_model, tokenizer, link, metrics={"accuracy": accuracy}) == link
    assert link.is_symlink() and (tmp_path / "store" / "run" / "config.json").exists()
    assert tl.load_training_info(link)["metrics"] == {"accuracy": 0.2}
    assert siblings(tmp_path / "store" / "run") == ["run"]
