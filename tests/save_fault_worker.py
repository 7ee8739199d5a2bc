"""Saves a tiny model over one folder and gets killed on purpose, for tests/test_save_faults.py.

    python tests/save_fault_worker.py FOLDER

Importing torch and transformers takes seconds, so this process does it once and then
*forks* one child per experiment; the test drives it with one JSON command per line on
stdin and reads one ``@@ {json}`` line per answer on stdout:

- ``{"op": "loop", "first": "A", "delay": 0.03}``: a child saves weight sets A, B, A, B ...
  (starting with ``first``) over FOLDER without pause; after ``delay`` seconds this process
  kills it with SIGKILL (``kill -9``), reaps it and answers how many saves it started
  and finished.
- ``{"op": "crash", "letter": "B", "at": 4}``: a child saves weight set ``letter`` once and
  kills *itself* with SIGKILL just before its file-system operation number ``at`` (a
  rename, mkdir, unlink, rmtree ...); ``"at": -1`` lets it finish and lists the operations.
- ``"fallback": true`` in either: the child behaves as on a system without an atomic
  folder swap (macOS, Windows), so the two-rename path of save_model is the one exercised.

Every save writes ``metrics={"weights": LETTER}``, so a test can check that the weights
and the rest of the folder come from the same save.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # no thread pools to inherit across fork()

import torch  # noqa: E402

import tlhelpers as tl  # noqa: E402
from tlhelpers import persistence  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from distributed_worker import tiny_model  # noqa: E402


def weight_sets() -> dict[str, torch.nn.Module]:
    """Two tiny models that differ in every parameter: A (seed 0) and B (A + 0.5)."""
    a, b = tiny_model(), tiny_model()
    with torch.no_grad():
        for parameter in b.parameters():
            parameter.add_(0.5)
    return {"A": a, "B": b}


def other(letter: str) -> str:
    return "B" if letter == "A" else "A"


def answer(message: dict) -> None:
    sys.stdout.write("@@ " + json.dumps(message) + "\n")
    sys.stdout.flush()


def save(models, tokenizer, folder: Path, letter: str) -> None:
    tl.save_model(models[letter], tokenizer, folder, metrics={"weights": letter})


def force_fallback() -> None:
    """Behave like a system whose rename cannot swap two folders atomically."""
    if hasattr(persistence, "_exchange_paths"):
        persistence._exchange_paths = lambda a, b: False


def crash_before(at: int, report: int) -> None:
    """Count file-system operations; SIGKILL this process just before operation ``at``."""
    count = [0]

    def wrap(owner, name: str) -> None:
        function = getattr(owner, name)

        def hooked(*args, **kwargs):
            number = count[0]
            count[0] += 1
            shown = ", ".join(os.path.basename(str(arg)) for arg in args[:2])
            line = f"{number} {name}({shown})\n".encode()
            if number == at:
                os.write(report, b"crash " + line)
                os.kill(os.getpid(), signal.SIGKILL)
            if at < 0:
                os.write(report, b"op " + line)
            return function(*args, **kwargs)

        setattr(owner, name, hooked)

    for name in ("mkdir", "rename", "replace", "rmdir", "unlink", "remove"):
        wrap(os, name)
    wrap(shutil, "rmtree")
    if hasattr(persistence, "_exchange_paths"):
        wrap(persistence, "_exchange_paths")


def run_child(command: dict, models, tokenizer, folder: Path, report: int) -> None:
    """The forked child: never returns, ends with os._exit or SIGKILL."""
    try:
        if command.get("fallback"):
            force_fallback()
        if command["op"] == "loop":
            letter = command["first"]
            while True:
                os.write(report, b"s")
                save(models, tokenizer, folder, letter)
                os.write(report, b"d")
                letter = other(letter)
        else:
            crash_before(command["at"], report)
            save(models, tokenizer, folder, command["letter"])
            os.write(report, b"finished\n")
            os._exit(0)
    except BaseException as error:  # report it: a child must never run the parent's loop
        os.write(report, f"error {type(error).__name__}: {error}\n".encode())
        os._exit(1)


def run(command: dict, models, tokenizer, folder: Path) -> dict:
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        run_child(command, models, tokenizer, folder, write_end)
    os.close(write_end)
    if command["op"] == "loop":
        time.sleep(command["delay"])
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    text = b"".join(chunks).decode()
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    result = {"pid": pid, "killed": killed}
    if command["op"] == "loop":
        result.update(started=text.count("s"), done=text.count("d"))
    else:
        lines = text.splitlines()
        result.update(
            ops=[line[3:] for line in lines if line.startswith("op ")],
            crash=next((line[6:] for line in lines if line.startswith("crash ")), None),
            finished="finished" in lines,
        )
    result["errors"] = [line for line in text.splitlines() if line.startswith("error ")]
    return result


def main(folder: Path) -> None:
    torch.set_num_threads(1)
    models = weight_sets()
    tokenizer = tl.load_tokenizer("minilm")
    save(models, tokenizer, folder, "B")  # warm up, then start from a known state: A
    started = time.perf_counter()
    save(models, tokenizer, folder, "A")
    seconds = time.perf_counter() - started
    answer({"ready": True, "save_seconds": seconds, "tlhelpers": tl.__file__})
    for line in sys.stdin:
        if line.strip():
            answer(run(json.loads(line), models, tokenizer, folder))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
