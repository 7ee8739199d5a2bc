"""Keep a fine-tuned model: save it as a standard Hugging Face folder, load it back.

The folder holds ``model.safetensors``, ``config.json``, the tokenizer, the run record
(``training_config.json``) and ``tlhelpers.json`` (history, metrics); ``transformers.pipeline``
reads it too. Weights are safetensors, never pickle: loading a pickle can run any code in
the file, so a folder with only pickled weights is refused unless ``allow_pickle=True``.
Saves are atomic: a save killed halfway (Ctrl-C, full disk, ``kill -9``) leaves the
complete old model or the complete new one, never a mix (see :func:`_swap_into_place`).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import pickle
import platform
import re
import shutil
import socket
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import transformers
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from .lora import adapter_record, is_lora, load_adapter
from .models import _quiet_transformers, label_names, replace_head
from .record import run_record

INFO_FILE = "tlhelpers.json"
CONFIG_FILE = "training_config.json"
WEIGHTS_FILE = "model.safetensors"
# Files that hold weights as a pickle (torch.save and friends). Loading one can run code.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
# How long a load waits when another live process is between the two renames of a save.
WAIT_FOR_WRITER_S = 3.0
# Hidden folders this process is writing right now (see _is_stale).
_ACTIVE: set[Path] = set()


def save_model(
    model,
    tokenizer,
    folder: str | os.PathLike,
    *,
    training: Any = None,
    metrics: Any = None,
    load_report: Any = None,
    overwrite: bool = True,
) -> Path:
    """Save a model, its tokenizer and what produced it, atomically (HF: ``save_pretrained``).

    ``training``, ``metrics``, ``load_report``: a :class:`TrainingResult`, an
    :class:`EvaluationReport` and a :class:`LoadReport` (or dicts) to record. ``overwrite``
    replaces an earlier save in ``folder`` (anything else is never overwritten).

    Example:
        >>> save_model(model, tokenizer, "runs/tweets", training=result, metrics=report)
        PosixPath('runs/tweets')
    """
    given = Path(folder)
    folder = _real_path(given)
    check_save_target(folder, overwrite=overwrite)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = _hidden_sibling(folder, "saving")
    _ACTIVE.add(staging)
    try:
        os.mkdir(staging)  # mode 0o777 minus the umask, like any folder you create
        with _quiet_transformers():
            model.save_pretrained(staging)  # a LoRA model writes only its adapter (peft)
            tokenizer.save_pretrained(staging)
            if is_lora(model):  # the labels and architecture, read by label_names and checks
                model.config.save_pretrained(staging)
        info = {  # when, and with what: a run repeats exactly only with the same versions
            "format": "tlhelpers-model/1",
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "transformers": transformers.__version__,
            },
            "training": _jsonable(training),
            "metrics": _jsonable(metrics),
        }
        if getattr(training, "config", None) is not None:
            # The run record: the data and model the run used, and its training settings.
            record = run_record(training)
            (staging / CONFIG_FILE).write_text(json.dumps(_jsonable(record), indent=2) + "\n")
            info["data"], info["model"] = record["data"], record["model"]
            # The tokenizer truncates at the trained length: predictions see what training saw.
            path = staging / "tokenizer_config.json"
            if path.exists():
                settings = json.loads(path.read_text())
                settings["model_max_length"] = int(training.config.max_length)
                path.write_text(json.dumps(settings, indent=2) + "\n")
        if is_lora(model):
            info["adapter"] = adapter_record(model)
        if load_report is not None:
            fields = asdict(load_report)  # counts, dropped rows by reason, label mapping
            info["load_report"] = {**_jsonable(fields), "summary": load_report.summary()}
        if hasattr(training, "history"):
            info["history"] = {"steps": training.history.steps, "evals": training.history.evals}
        (staging / INFO_FILE).write_text(json.dumps(_jsonable(info), indent=2))
        _finish_files(staging)
        _swap_into_place(staging, folder)
    finally:
        # On success `staging` is gone already (or holds the old copy after a swap);
        # on failure it is a half-written folder. Either way it goes.
        shutil.rmtree(staging, ignore_errors=True)
        _ACTIVE.discard(staging)
    return given


def _finish_files(staging: Path) -> None:
    """Give the files normal permissions and flush them to disk before they go live."""
    # safetensors writes 0600 files; a saved model is meant to be shared (0666/0777 minus
    # the umask). fsync is for power cuts: else the rename could reach the disk first.
    umask = os.umask(0o022)  # the only portable way to read the umask: set it, set it back
    os.umask(umask)
    for root, _, files in os.walk(staging):  # staging itself and every folder inside
        os.chmod(root, 0o777 & ~umask)
        for name in files:
            path = os.path.join(root, name)
            os.chmod(path, 0o666 & ~umask)
            _fsync(path)
        _fsync(root)


def check_save_target(folder: str | os.PathLike, *, overwrite: bool = True) -> None:
    """Raise unless ``folder`` is new, empty or an earlier save; call it before long work."""
    folder = Path(folder)
    recover_interrupted_save(folder)  # finish or undo a killed save before looking
    if folder.exists():
        if not folder.is_dir():
            raise FileExistsError(f"{folder} exists and is a file; choose another folder.")
        if any(folder.iterdir()) and not (folder / INFO_FILE).exists():
            raise FileExistsError(
                f"{folder} exists and holds files that are not a saved model; "
                "choose an empty or new folder so nothing of yours is overwritten."
            )
        if not overwrite:
            raise FileExistsError(f"{folder} already holds a saved model (overwrite=False).")


def load_run_config(folder: str | os.PathLike):
    """The :class:`tlhelpers.TrainConfig` a saved model was trained with (None if unknown).

    Example:
        >>> load_run_config("runs/tweets").lr
        5e-05
    """
    from .config import TrainConfig

    path = check_saved_model(folder) / CONFIG_FILE
    return TrainConfig.load(path) if path.exists() else None


def _swap_into_place(staging: Path, folder: Path) -> None:
    """Make the complete copy in ``staging`` the model at ``folder``, atomically."""
    if not os.path.lexists(folder):
        os.rename(staging, folder)  # one atomic step: nothing was there before
    elif _exchange_paths(staging, folder):
        pass  # one atomic step; `staging` now holds the old model, deleted by save_model
    else:
        # Two renames where the system cannot exchange: if the process dies between them,
        # the next save or load puts the `.old-` copy back (see recover_interrupted_save).
        old = _hidden_sibling(folder, "old")
        os.rename(folder, old)  # from here until the next rename, `folder` does not exist
        try:
            os.rename(staging, folder)
        except BaseException:
            os.rename(old, folder)  # the save failed: put the previous model back
            raise
        trash = _hidden_sibling(folder, "trash")
        os.rename(old, trash)  # `.old-` names only ever hold complete models
        shutil.rmtree(trash, ignore_errors=True)
    _fsync(folder.parent)


def _exchange_paths(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux, glibc >= 2.28); False if this system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    # int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
    #               unsigned int flags);
    integer, path = ctypes.c_int, ctypes.c_char_p
    renameat2.argtypes = [integer, path, integer, path, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2  # constants from <fcntl.h> and <linux/fs.h>
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # this kernel or file system cannot exchange: use the fallback
    raise OSError(code, os.strerror(code), str(a), None, str(b))


@dataclass(frozen=True)
class _Leftover:
    """A hidden sibling ``.NAME.KIND-HOST-PID-TIME`` written by a save."""

    path: Path
    kind: str  # "saving" (being written, or garbage), "old" (complete model), "trash"
    host: str
    pid: int
    stamp: int  # time.time_ns() when it was named: the newest .old- is the latest model


def recover_interrupted_save(folder: str | os.PathLike) -> list[str]:
    """Repair what a killed :func:`save_model` left (every save and load calls it first).

    Example:
        >>> recover_interrupted_save("runs/tweets")  # after a save was killed
        ['removed runs/.tweets.saving-myhost-4242-1715000000000000000 (process 4242 is gone)']
    """
    folder = _real_path(Path(folder))
    if not folder.parent.is_dir():
        return []
    done = [] if os.path.lexists(folder) else _restore_previous(folder)
    for leftover in _leftovers(folder):
        if _is_stale(leftover):
            shutil.rmtree(leftover.path, ignore_errors=True)
            if leftover.path.exists():
                warnings.warn(f"Could not remove {leftover.path}; delete it by hand.", stacklevel=2)
            else:
                done.append(f"removed {leftover.path} (process {leftover.pid} is gone)")
    return done


def _restore_previous(folder: Path) -> list[str]:
    """``folder`` is missing: put back the newest ``.old-`` copy once its writer is gone."""
    deadline = time.monotonic() + WAIT_FOR_WRITER_S
    while True:
        olds = [x for x in _leftovers(folder) if x.kind == "old"]
        newest = max(olds, key=lambda x: x.stamp, default=None)
        if newest is None or os.path.lexists(folder):
            return []  # never saved here, or a live writer just finished
        if _is_stale(newest):
            break
        if time.monotonic() > deadline:  # a live save is stuck between its two renames
            raise FileNotFoundError(
                f"{folder} is missing while process {newest.pid} is saving over it "
                f"(its previous model is in {newest.path}). Try again when that save ends."
            )
        time.sleep(0.05)
    try:
        os.rename(newest.path, folder)
    except FileNotFoundError:
        return []  # another loader restored it a moment ago
    warnings.warn(
        f"A save into {folder} was interrupted (process {newest.pid} died); restored the "
        "model that was there before. Save again to keep the newer model.",
        stacklevel=3,
    )
    return [f"restored {folder} from {newest.path}"]


def _leftovers(folder: Path) -> list[_Leftover]:
    pattern = re.compile(
        rf"\.{re.escape(folder.name)}\.(saving|old|trash)-([A-Za-z0-9]+)-(\d+)-(\d+)"
    )
    try:
        paths = list(folder.parent.iterdir())
    except OSError:  # a parent we may not list (a read-only share): nothing we could fix
        return []
    leftovers = []
    for path in paths:
        if match := pattern.fullmatch(path.name):
            kind, host, pid, stamp = match.groups()
            leftovers.append(_Leftover(path, kind, host, int(pid), int(stamp)))
    return leftovers


def _is_stale(leftover: _Leftover) -> bool:
    """True only when the writer is provably gone: same machine, process dead."""
    if leftover.host != _host():
        return False  # a process id means nothing on another machine
    if leftover.pid == os.getpid():
        return leftover.path not in _ACTIVE  # ours, and no save of ours is writing it
    import psutil  # installed with accelerate; works on Linux, macOS and Windows

    try:
        process = psutil.Process(leftover.pid)
        if process.create_time() > leftover.stamp / 1e9 + 1.0:
            return True  # a newer process got the same id: the writer is gone
        return process.status() == psutil.STATUS_ZOMBIE  # a zombie has exited
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False  # exists but we may not inspect it: assume it is alive


def _hidden_sibling(folder: Path, kind: str) -> Path:
    return folder.with_name(f".{folder.name}.{kind}-{_host()}-{os.getpid()}-{time.time_ns()}")


@lru_cache(maxsize=1)
def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def _real_path(folder: Path) -> Path:
    """Save through a symlink into the folder it points to, never over the link itself."""
    return folder.resolve() if folder.is_symlink() else folder


def _fsync(path: str | os.PathLike) -> None:
    if os.path.isdir(path) and os.name == "nt":
        return  # Windows cannot open folders to flush them
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "summary") and callable(value.summary):
        value = value.summary()
    return json.loads(
        json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )


def check_saved_model(folder: str | os.PathLike, *, allow_pickle: bool = False) -> Path:
    """Raise unless ``folder`` holds ``config.json`` and safetensors (or allowed pickled) weights.

    Example:
        >>> check_saved_model("runs/tweets")
        PosixPath('runs/tweets')
    """
    folder = Path(folder)
    recover_interrupted_save(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"No folder at {folder}: save a model there first with save_model()."
        )
    safe, pickled = _weight_files(folder)
    if not (folder / "config.json").exists() or not (safe or pickled):
        present = sorted(p.name for p in folder.iterdir())[:12]
        raise ValueError(
            f"{folder} is not a saved model: it needs config.json and {WEIGHTS_FILE}, "
            f"but holds {present or 'nothing'}. Point to a folder written by save_model()."
        )
    if not safe and not allow_pickle:
        raise ValueError(
            f"{folder} holds its weights only as a pickle ({', '.join(p.name for p in pickled)}), "
            "and loading a pickle can run any code hidden in the file. If you trust where "
            "this folder came from, load it once with allow_pickle=True and re-save it with "
            f"save_model(), which writes {WEIGHTS_FILE} (plain tensors, safe to load)."
        )
    return folder


def load_saved_model(
    folder: str | os.PathLike,
    *,
    allow_pickle: bool = False,
    base: str | os.PathLike | None = None,
):
    """``(model, tokenizer)`` saved with :func:`save_model` (or any HF classifier), in eval mode.

    Hugging Face: ``AutoModelForSequenceClassification.from_pretrained(folder)``. A LoRA
    adapter goes on its recorded base (or ``base``), checked to be the one it trained on.

    Example:
        >>> model, tokenizer = load_saved_model("runs/tweets")
        >>> tl.predict(model, tokenizer, ["I love this airline"])
    """
    folder = check_saved_model(folder, allow_pickle=allow_pickle)
    if (folder / "adapter_config.json").exists():  # a LoRA adapter (peft), not a whole model
        adapter = load_training_info(folder).get("adapter", {})
        base_name = base or adapter.get("base_model")
        with _quiet_transformers():
            labels = label_names(AutoConfig.from_pretrained(folder))
            model = load_adapter(folder, base_name, labels, adapter.get("base_sha256"))
            tokenizer = AutoTokenizer.from_pretrained(folder)
    else:
        safe, pickled = _weight_files(folder)
        try:
            with _quiet_transformers():
                # use_safetensors=True whenever safetensors exist: then transformers never
                # unpickles anything, even if a pytorch_model.bin lies next to them.
                model = AutoModelForSequenceClassification.from_pretrained(
                    folder, use_safetensors=bool(safe)
                )
                tokenizer = AutoTokenizer.from_pretrained(folder)
            hidden_units = getattr(model.config, "tlhelpers_head_hidden_units", None)
            if hidden_units:
                # An MLP head is ours, not transformers': rebuild it, then load all weights.
                replace_head(model, label_names(model), hidden_units=hidden_units)
                for path in safe or pickled:
                    if safe:
                        weights = load_file(path)
                    else:  # only with allow_pickle=True, and then tensors only, never code
                        weights = torch.load(path, map_location="cpu", weights_only=True)
                    model.load_state_dict(weights, strict=False)
        except Exception as error:
            raise _load_error(folder, error) from error
    return model.eval(), tokenizer


def load_training_info(folder: str | os.PathLike) -> dict:
    """The settings, history and metrics recorded next to a saved model (``tlhelpers.json``).

    Example:
        >>> load_training_info("runs/tweets")["metrics"]
        {'accuracy': 0.74, 'macro_f1': 0.72}
    """
    path = check_saved_model(folder, allow_pickle=True) / INFO_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _weight_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(safetensors files, pickle files) in ``folder``."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    safe = [p for p in files if p.suffix == ".safetensors"]
    return safe, [p for p in files if p.suffix in PICKLE_SUFFIXES]


def _load_error(folder: Path, error: Exception) -> ValueError:
    """Turn whatever went wrong while loading into a message that names the folder."""
    causes, seen = [], error
    while seen is not None and seen not in causes:
        causes.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(cause, pickle.UnpicklingError) for cause in causes):
        return ValueError(
            f"Refused the weights in {folder}: the pickle holds more than plain tensors, so "
            "loading it would run code from the file. torch stopped it (weights_only=True) "
            "and nothing was run. Do not use this folder unless you know who made it."
        )
    first_line = (str(error).strip().splitlines() or [""])[0]
    return ValueError(
        f"Cannot load the saved model in {folder}: {type(error).__name__}: {first_line}"
    )
