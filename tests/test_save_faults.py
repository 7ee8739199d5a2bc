"""Fault injection for tlhelpers.persistence: nothing lost, nothing silently wrong.

A helper process (tests/save_fault_worker.py) saves a tiny model over one folder again and
again, alternating two weight sets A and B, and is killed with SIGKILL (``kill -9``):

- at random moments (seeded; set TLHELPERS_FAULT_SEED to replay a failure), and
- just before each of its file-system operations in turn (every rename, mkdir, unlink ...),
  which reaches the instants a random kill almost never hits.

After every kill the folder must load as A or as B, exactly and entirely (weights and the
recorded metrics from the same save), and no hidden leftovers may remain. Then come the
other promises: normal permissions, no pickles unless asked, errors that name the folder,
failed saves that keep the old model.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import shutil
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import tlhelpers as tl
from tlhelpers import persistence

SEED = int(os.environ.get("TLHELPERS_FAULT_SEED", "20240610"))
TEXTS = ["great flight, thanks", "lost my bag again", "boarding at gate 4"]

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills need fork and SIGKILL")


def other(letter: str) -> str:
    return "B" if letter == "A" else "A"


def can_swap_atomically(where: Path) -> bool:
    """Does this file system support the atomic folder swap (then no gap is allowed at all)?"""
    a, b = where / "probe-a", where / "probe-b"
    a.mkdir()
    b.mkdir()
    try:
        return bool(getattr(persistence, "_exchange_paths", lambda a, b: False)(a, b))
    finally:
        a.rmdir()
        b.rmdir()


class Saver:
    """Drives tests/save_fault_worker.py: one JSON command in, one answer out."""

    def __init__(self, folder: Path, log: Path):
        self.folder = folder
        self.log = log
        worker = Path(__file__).with_name("save_fault_worker.py")
        # The worker must import the tlhelpers under test (this checkout), not whichever
        # copy the environment has installed.
        checkout = str(Path(tl.__file__).parent.parent)
        path = os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, str(worker), str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            env={**os.environ, "PYTHONPATH": path},
        )
        ready = self.read()
        assert ready["tlhelpers"] == tl.__file__, "the worker imported another tlhelpers"
        self.save_seconds = ready["save_seconds"]

    def read(self) -> dict:
        for line in self.process.stdout:
            if line.startswith("@@ "):
                return json.loads(line[3:])
        raise RuntimeError(f"save_fault_worker.py died; its log:\n{self.log.read_text()[-3000:]}")

    def send(self, command: dict) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        answer = self.read()
        assert not answer["errors"], answer["errors"]
        return answer

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def saver(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    (root / "runs").mkdir()
    process = Saver(root / "runs" / "model", root / "worker.log")
    yield process
    process.close()


@pytest.fixture(scope="module")
def weights():
    from save_fault_worker import weight_sets

    return {letter: model.state_dict() for letter, model in weight_sets().items()}


@pytest.fixture(scope="module")
def atomic(tmp_path_factory):
    return can_swap_atomically(tmp_path_factory.mktemp("probe"))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name != folder.name)


def loaded_letter(folder: Path, weights) -> str:
    """Load ``folder`` the normal way; which weight set is it? Fail if neither, or mixed."""
    model, _ = tl.load_saved_model(folder)
    state = model.state_dict()
    same = [
        letter
        for letter, reference in weights.items()
        if all(torch.equal(state[name], tensor) for name, tensor in reference.items())
    ]
    assert len(same) == 1, f"{folder} holds weights that are neither set A nor set B"
    recorded = tl.load_training_info(folder)["metrics"]["weights"]
    assert recorded == same[0], f"weights {same[0]} but tlhelpers.json of save {recorded}"
    return same[0]


def written_by(current: str, save: int) -> str:
    """The weight set that save number ``save`` of a loop wrote (-1: before the loop)."""
    if save < 0:
        return current
    return other(current) if save % 2 == 0 else current


def check_after_kill(saver, weights, allowed: set[str], must_exist: bool, what: str) -> str:
    folder = saver.folder
    missing = not folder.exists()
    if must_exist:  # the atomic swap leaves no instant without a model, not even a moment
        assert not missing, f"{what}: {folder} is missing right after the kill"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        letter = loaded_letter(folder, weights)
    restored = [w for w in caught if "was interrupted" in str(w.message)]
    assert len(restored) == missing, f"{what}: a restored model must be announced, once"
    assert letter in allowed, f"{what}: loaded {letter}, expected one of {sorted(allowed)}"
    assert leftovers(folder) == [], f"{what}: left behind after loading"
    return letter


def kill_at_random_moments(saver, weights, atomic: bool, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    current = loaded_letter(saver.folder, weights)
    mid_save = finished = 0
    for number in range(kills):
        fallback = number % 3 == 2  # every third kill exercises the two-rename fallback
        delay = rng.uniform(0, 5 * saver.save_seconds)
        what = f"kill {number} (seed {seed}, delay {delay:.4f} s, fallback={fallback})"
        print(what)
        run = saver.send(
            {"op": "loop", "first": other(current), "delay": delay, "fallback": fallback}
        )
        assert run["killed"], f"{what}: the save loop was not killed by SIGKILL"
        # Save j of this loop writes other(current) for even j, current for odd j; the
        # folder must hold the save that was under way or the one before it.
        started = run["started"]
        allowed = {written_by(current, j) for j in (started - 1, started - 2)}
        current = check_after_kill(saver, weights, allowed, atomic and not fallback, what)
        mid_save += run["started"] > run["done"]
        finished += run["done"]
    print(f"{kills} kills, {mid_save} in the middle of a save, {finished} saves completed "
          f"(one save takes {saver.save_seconds:.3f} s)")  # fmt: skip
    assert mid_save >= kills // 2, "most kills should land inside a save"
    assert finished > 0, "the save loop never completed a save: the kills tested nothing"
    # And the next save, from this process, works and leaves nothing behind either.
    model, tokenizer = tl.load_saved_model(saver.folder)
    tl.save_model(model, tokenizer, saver.folder, metrics={"weights": current})
    assert leftovers(saver.folder) == []


def test_kill_9_at_random_moments_of_a_save_loop(saver, weights, atomic):
    kill_at_random_moments(saver, weights, atomic, kills=21, seed=SEED)


@pytest.mark.slow
def test_kill_9_at_many_random_moments(saver, weights, atomic):
    # `make test` runs every test; this one only when asked for, as it takes ~40 s.
    kill_at_random_moments(saver, weights, atomic, kills=201, seed=SEED + 1)


@pytest.mark.parametrize("fallback", [False, True], ids=["atomic-swap", "two-renames"])
def test_kill_9_before_every_file_operation_of_a_save(saver, weights, atomic, fallback):
    current = loaded_letter(saver.folder, weights)
    plan = saver.send({"op": "crash", "at": -1, "letter": other(current), "fallback": fallback})
    assert plan["finished"] and not plan["killed"]
    operations, current = plan["ops"], other(current)
    print("operations of one save:", *operations, sep="\n  ")
    assert any("rename" in op or "exchange" in op for op in operations)
    problems = []  # every crash point is tried; all failures are reported together
    for number, operation in enumerate(operations):
        crash = saver.send(
            {"op": "crash", "at": number, "letter": other(current), "fallback": fallback}
        )
        # Same operation as in the full run (names differ: they hold a process id).
        assert crash["killed"] and crash["crash"].split("(")[0] == operation.split("(")[0]
        what = f"killed just before {operation} (fallback={fallback})"
        try:
            allowed = {current, other(current)}
            current = check_after_kill(saver, weights, allowed, atomic and not fallback, what)
        except Exception as error:
            message = str(error).splitlines()[0].replace(f"{what}: ", "")
            problems.append(f"{what}: {type(error).__name__}: {message}")
            current = start_afresh(saver.folder, "A")
    assert not problems, "\n".join(problems)


def start_afresh(folder: Path, letter: str) -> str:
    """After a failed check, put a clean save of ``letter`` in place so the sweep goes on."""
    from save_fault_worker import weight_sets

    for path in folder.parent.iterdir():
        shutil.rmtree(path)
    tl.save_model(weight_sets()[letter], tl.load_tokenizer("minilm"), folder,
                  metrics={"weights": letter})  # fmt: skip
    return letter


# --- permissions ----------------------------------------------------------------------


def test_saved_files_and_folders_get_normal_permissions(tiny_model, tokenizer, tmp_path):
    previous = os.umask(0o022)
    try:
        for _ in range(2):  # a first save, then one over it
            folder = tl.save_model(tiny_model, tokenizer, tmp_path / "run")
    finally:
        os.umask(previous)
    modes = {str(folder.relative_to(tmp_path)): oct(stat.S_IMODE(folder.stat().st_mode))}
    for path in folder.rglob("*"):
        modes[str(path.relative_to(tmp_path))] = oct(stat.S_IMODE(path.stat().st_mode))
    expected = {name: "0o755" if (tmp_path / name).is_dir() else "0o644" for name in modes}
    assert modes == expected


# --- pickles ----------------------------------------------------------------------------


class Payload:
    """A pickle that, when loaded, creates a folder: stands for any code an attacker wants."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def pickled_copy(model, tokenizer, folder: Path, name: str = "pytorch_model.bin") -> Path:
    """A model folder as older tools wrote it: weights only as a pickle."""
    tl.save_model(model, tokenizer, folder)
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / name)
    return folder


@pytest.mark.parametrize("name", ["pytorch_model.bin", "weights.pt", "model.pkl"])
def test_pickled_weights_are_refused_by_default(tiny_model, tokenizer, tmp_path, name):
    folder = pickled_copy(tiny_model, tokenizer, tmp_path / "old-format", name)
    for load in (tl.load_saved_model, persistence.check_saved_model):
        with pytest.raises(ValueError) as refused:
            load(folder)
        message = str(refused.value)
        assert str(folder) in message and name in message
        assert "can run" in message and "allow_pickle=True" in message and "save_model" in message


def test_pickled_weights_load_when_allowed_and_resave_as_safetensors(
    tiny_model, tokenizer, tmp_path
):
    folder = pickled_copy(tiny_model, tokenizer, tmp_path / "old-format")
    model, tok = tl.load_saved_model(folder, allow_pickle=True)
    expected = tl.predict_proba(tiny_model, tokenizer, TEXTS)
    assert np.allclose(tl.predict_proba(model, tok, TEXTS), expected, atol=1e-6)
    tl.save_model(model, tok, tmp_path / "converted")
    again, tok = tl.load_saved_model(tmp_path / "converted")
    assert np.allclose(tl.predict_proba(again, tok, TEXTS), expected, atol=1e-6)


def test_a_pickled_mlp_head_loads_when_allowed(tiny_model, tokenizer, tmp_path):
    tl.replace_head(tiny_model, ["a", "b"], hidden_units=16, seed=0)
    folder = pickled_copy(tiny_model, tokenizer, tmp_path / "old-format")
    model, tok = tl.load_saved_model(folder, allow_pickle=True)
    assert isinstance(model.classifier, torch.nn.Sequential)
    expected = tl.predict_proba(tiny_model, tokenizer, TEXTS)
    assert np.allclose(tl.predict_proba(model, tok, TEXTS), expected, atol=1e-6)


def test_a_malicious_pickle_gives_a_clear_error_and_runs_nothing(tiny_model, tokenizer, tmp_path):
    folder = pickled_copy(tiny_model, tokenizer, tmp_path / "downloaded")
    marker = tmp_path / "the-payload-ran"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Payload(marker), protocol=2))
    with pytest.raises(ValueError) as refused:
        tl.load_saved_model(folder, allow_pickle=True)
    assert str(folder) in str(refused.value) and "nothing was run" in str(refused.value)
    assert not marker.exists()


def test_a_pickle_next_to_safetensors_is_never_opened(tiny_model, tokenizer, tmp_path):
    folder = tl.save_model(tiny_model, tokenizer, tmp_path / "run")
    marker = tmp_path / "the-payload-ran"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Payload(marker), protocol=2))
    model, tok = tl.load_saved_model(folder)
    assert not marker.exists()
    expected = tl.predict_proba(tiny_model, tokenizer, TEXTS)
    assert np.allclose(tl.predict_proba(model, tok, TEXTS), expected, atol=1e-6)


# --- errors name the folder -----------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        ("config.json", b"{ this is not json"),
        ("model.safetensors", None),  # cut in half, as by a full disk
        ("tokenizer.json", b"\x00\x01 not a tokenizer"),
    ],
    ids=["config", "weights", "tokenizer"],
)
def test_every_load_error_names_the_folder(tiny_model, tokenizer, tmp_path, damage):
    folder = tl.save_model(tiny_model, tokenizer, tmp_path / "damaged-run")
    name, content = damage
    path = folder / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2] if content is None else content)
    with pytest.raises(ValueError) as failed:
        tl.load_saved_model(folder)
    assert str(folder) in str(failed.value)


# --- a failing save keeps the old model -------------------------------------------------


def assert_unchanged(folder: Path, model, tokenizer) -> None:
    assert leftovers(folder) == [], "a failed save left hidden folders behind"
    loaded, tok = tl.load_saved_model(folder)
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    assert tl.load_training_info(folder)["metrics"] == {"save": "old"}


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_a_save_that_fails_while_writing_keeps_the_old_model(
    tiny_model, tokenizer, tmp_path, monkeypatch, error
):
    folder = tl.save_model(tiny_model, tokenizer, tmp_path / "run", metrics={"save": "old"})

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(tokenizer, "save_pretrained", broken)
    with pytest.raises(type(error)):
        tl.save_model(tiny_model, tokenizer, folder, metrics={"save": "new"})
    monkeypatch.undo()
    assert_unchanged(folder, tiny_model, tokenizer)


@pytest.mark.parametrize("fallback", [False, True], ids=["atomic-swap", "two-renames"])
def test_a_save_that_fails_at_the_swap_keeps_the_old_model(
    tiny_model, tokenizer, tmp_path, monkeypatch, fallback
):
    folder = tl.save_model(tiny_model, tokenizer, tmp_path / "run", metrics={"save": "old"})
    old_weights = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    with torch.no_grad():
        for parameter in tiny_model.parameters():
            parameter.add_(1.0)

    def no_exchange(a, b):
        if fallback:
            return False
        raise OSError("simulated failure of the atomic swap")

    rename = os.rename

    def failing_rename(source, target, *args, **kwargs):
        if ".saving-" in os.fspath(source) and Path(target) == folder:
            raise OSError("simulated failure of the rename into place")
        return rename(source, target, *args, **kwargs)

    monkeypatch.setattr(persistence, "_exchange_paths", no_exchange, raising=False)
    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(OSError, match="simulated"):
        tl.save_model(tiny_model, tokenizer, folder, metrics={"save": "new"})
    monkeypatch.undo()
    tiny_model.load_state_dict(old_weights)
    assert_unchanged(folder, tiny_model, tokenizer)
