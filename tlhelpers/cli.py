"""Headless use: ``python -m tlhelpers train|evaluate|predict`` (``--help`` lists the flags)::

    python -m tlhelpers train --dataset tweet-sentiment --epochs 1 --out runs/x
    python -m tlhelpers train --config runs/x/training_config.json --lr 3e-5 --out runs/y
    python -m tlhelpers evaluate --model runs/x            # same dataset and split as training
    python -m tlhelpers evaluate --model runs/x --dataset other.csv --split all
    python -m tlhelpers predict --model runs/x "What a great flight" "Lost my bag again"

Exit codes: 0 done, 2 bad arguments or data, 130 stopped by Ctrl-C, 143 stopped by SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from collections.abc import Collection, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Only light modules load before main() runs: pandas, torch and transformers are imported
# by the commands, inside main's handling of Ctrl-C, so that an early Ctrl-C ends with one
# line rather than a traceback from the middle of an import.
from .config import CHOICES, TrainConfig, read_settings_file

if TYPE_CHECKING:
    import pandas as pd

EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}
# What `evaluate --dataset FILE` reads the file with (TrainConfig's data fields of that name).
READ_OPTIONS = "text_column label_column label_names header sep quoting encoding".split()
ALLOW_PICKLE_HELP = "also load pickled weights (a pickle can run code: only for files you trust)"


def _value_parser(kind: str):
    """Parse a flag's text as the field's type; ``none`` gives None where None is allowed."""
    base = {"int": int, "float": float, "str": str}[kind.split("|")[0].strip()]

    def parse(text: str) -> Any:
        if "None" in kind and text.lower() == "none":
            return None
        try:
            return base(text)
        except ValueError:
            if "str" in kind:  # e.g. header: a row number, or a word such as "infer"
                return text
            message = f"expected {kind.replace('|', 'or')}, got {text!r}"
            raise argparse.ArgumentTypeError(message) from None

    return parse


def add_config_flags(
    parser: argparse.ArgumentParser,
    title: str = "run settings (tlhelpers.TrainConfig fields)",
    names: Collection[str] | None = None,
) -> None:
    """One flag per :class:`TrainConfig` field (or of ``names``), e.g. ``--n-per-class``.

    A flag not given is absent from the parsed arguments: the defaults live in the config.
    """
    group = parser.add_argument_group(title)
    for f in fields(TrainConfig):
        if names is not None and f.name not in names:
            continue
        kind = str(f.type)
        if kind == "bool":
            options: dict[str, Any] = {"action": argparse.BooleanOptionalAction}
        else:
            parse, choices = _value_parser(kind), CHOICES.get(f.name)
            options = {"type": parse, "metavar": f.name.upper(), "choices": choices}
        twin = f" [Hugging Face: {f.metadata['hf']}]" if f.metadata["hf"] else ""
        text = f"{f.metadata['help']} (default: {f.default}){twin}"
        flag = "--" + f.name.replace("_", "-")
        group.add_argument(flag, dest=f.name, default=argparse.SUPPRESS, help=text, **options)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run's settings: the ``--config`` file (or the defaults), then the flags given."""
    given = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    return TrainConfig.load(args.config, **given) if args.config else TrainConfig(**given)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m tlhelpers``."""
    parser = argparse.ArgumentParser(
        prog="python -m tlhelpers", description="Fine-tune, evaluate and use text classifiers."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    defaults_shown = argparse.ArgumentDefaultsHelpFormatter
    train = commands.add_parser(
        "train", help="fine-tune a pretrained model and save it", formatter_class=defaults_shown
    )
    train.add_argument("--out", required=True, help="folder to save the fine-tuned model in")
    train.add_argument("--config", help="a training_config.json to start from (flags override)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_config_flags(train)

    evaluate = commands.add_parser("evaluate", help="measure a saved model on a dataset split")
    predict = commands.add_parser("predict", help="classify new texts with a saved model")
    for command in (evaluate, predict):
        command.add_argument("--model", required=True, help="folder written by `train`")
        command.add_argument("--allow-pickle", action="store_true", help=ALLOW_PICKLE_HELP)
    evaluate.add_argument(
        "--dataset", help="another dataset, read with the flags below (default: the training one)"
    )
    add_config_flags(evaluate, "reading --dataset (as in train; not inherited)", READ_OPTIONS)
    evaluate.add_argument(
        "--split",
        default="test",
        choices=["train", "validation", "test", "all"],
        help="the split to score; all: every row of the data, not split (default: test)",
    )
    evaluate.add_argument("--show-errors", type=int, default=5, help="most confident mistakes")

    predict.add_argument("texts", nargs="*", help="texts to classify")
    predict.add_argument("--file", help="a text file with one text per line ('-' for stdin)")
    predict.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    return parser


def _print_table(title: str, frame: pd.DataFrame) -> None:
    print(f"\n{title}\n{'-' * len(title)}")
    print(frame.to_string(float_format=lambda v: f"{v:.4f}"))


def run_train(args: argparse.Namespace) -> int:
    # Everything that can be checked is checked before the data and model load.
    from .persistence import check_save_target

    config = config_from_args(args)
    if config.dataset is None:
        raise ValueError("No dataset: pass --dataset NAME_OR_FILE (or a --config that has one).")
    check_save_target(args.out)
    # The record's sha256, to say whether this replay read other rows than the recorded run.
    replayed = read_settings_file(args.config) if args.config and "dataset" not in args else {}

    import pandas as pd

    from .recipe import fine_tune

    print(
        f"Training {config.model} on {config.dataset}; settings changed from the defaults: "
        f"{config.changed() or 'none'}"
    )
    # The load report (rows read, dropped and why) is printed even with --no-progress: it
    # is a few lines about the data, not a progress bar. run.save keeps it too.
    run = fine_tune(config, progress=not args.no_progress, verbose=True)
    result = run.result
    if result.interrupted and result.best is None:
        print(f"Stopped by {result.stop_signal} before the first validation: nothing saved.")
        return EXIT_CODES.get(result.stop_signal or "", 130)
    run.save(args.out)
    _print_table("Validation", result.history.evals_frame().set_index("step"))
    if run.report is not None:
        _print_table("Test metrics", pd.DataFrame([run.report.summary()], index=["test"]))
        _print_table("Test per class", run.report.per_class)
    if result.interrupted:
        print(
            f"\nStopped by {result.stop_signal}: saved the best validated weights "
            f"(step {result.best['step']}) to {args.out}"
        )
        return EXIT_CODES.get(result.stop_signal or "", 130)
    speed = f"{result.examples_per_second:.1f} examples/s"
    print(f"\nTrained in {result.seconds:.0f} s ({speed}). Saved to {args.out}")
    then = (replayed.get("data") or {}).get("sha256")
    now = (result.data_used or {}).get("sha256")
    if then and now and then != now:
        print(
            f"Note: {args.config} recorded data with sha256 {then[:12]}..., but this run read "
            f"{config.dataset} as {now[:12]}...: the file changed, or a data flag differs, so "
            "these are not the recorded run's weights.",
            file=sys.stderr,
        )
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    import pandas as pd

    from .cleaning import _plural
    from .evaluation import evaluate
    from .persistence import load_run_config, load_saved_model
    from .recipe import load_data

    reading = {name: getattr(args, name) for name in READ_OPTIONS if hasattr(args, name)}
    if reading and not args.dataset:
        flags = ", ".join("--" + name.replace("_", "-") for name in reading)
        raise ValueError(f"{flags} describe how to read --dataset FILE; pass --dataset too.")
    model, tokenizer = load_saved_model(args.model, allow_pickle=args.allow_pickle)
    if args.dataset:
        # Another dataset: read with its own options (defaults + flags), not the training file's.
        config = TrainConfig(dataset=args.dataset, **reading)
    else:
        # The training data, read and split as the run record says (refused for a run on
        # in-memory data, whose record names no file).
        config = load_run_config(args.model)
        if config is None:
            raise ValueError(
                "--dataset is required: the model folder records no dataset "
                "(no training_config.json)."
            )
    if args.split == "all":  # every row is scored, repeated texts included
        config = config.replace(drop_duplicates=False)
    data, _ = load_data(config, split=args.split != "all")
    scored = data[args.split]
    where = "every row" if args.split == "all" else f"the {args.split} split"
    print(f"Scoring {where} of {config.dataset}: {_plural(len(scored), 'row')}.")
    # Labels are matched to the model's classes by name; evaluate() names any it lacks.
    # Texts are cut at the trained length: the record's, or the saved tokenizer's (None).
    max_length = None if args.dataset else config.max_length
    report = evaluate(model, tokenizer, scored, max_length=max_length)
    _print_table(
        f"{args.split} metrics ({config.dataset}, n={len(scored)})",
        pd.DataFrame([report.summary()], index=[args.split]),
    )
    _print_table("Per class", report.per_class)
    _print_table("Confusion matrix (rows: true, columns: predicted)", report.confusion)
    if args.show_errors:
        columns = ["text", "label", "predicted", "confidence"]
        errors = report.misclassified(args.show_errors)[columns]
        errors = errors.assign(text=errors["text"].str.slice(0, 70))
        _print_table("Most confident mistakes", errors.reset_index(drop=True))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from .cleaning import _plural
    from .evaluation import predict
    from .persistence import load_saved_model

    texts = list(args.texts)
    if args.file:
        if args.file != "-" and not Path(args.file).is_file():
            raise FileNotFoundError(f"No file at {args.file} (--file).")
        stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
        with stream:
            texts.extend(line.rstrip("\n") for line in stream)
    if not texts:
        raise ValueError("Give texts as arguments or with --file.")
    # A blank line has nothing to classify, but it keeps its row: output row i is always
    # input line i, so the output can be pasted next to the input.
    blank = [i for i, text in enumerate(texts) if not text.strip()]
    filled = [i for i, text in enumerate(texts) if text.strip()]
    if not filled:
        raise ValueError(f"All {_plural(len(texts), 'text')} are blank: nothing to classify.")
    model, tokenizer = load_saved_model(args.model, allow_pickle=args.allow_pickle)
    predictions = predict(model, tokenizer, [texts[i] for i in filled]).set_axis(filled)
    # Blank rows: the text as given, every other column empty (null in --json).
    predictions = predictions.reindex(range(len(texts))).astype(object)
    predictions = predictions.where(predictions.notna(), None).assign(text=texts)
    if blank:
        rows, left = ("row", "its row is") if len(blank) == 1 else ("rows", "their rows are")
        # Row numbers from 1, as an editor shows lines: '2, 5, 9 ... (12 in all)'.
        rows += " " + ", ".join(str(i + 1) for i in blank[:10])
        rows += f" ... ({len(blank)} in all)" if len(blank) > 10 else ""
        where = f"{_plural(len(blank), 'blank line')} ({rows})"
        print(f"{where}: not classified, {left} left empty.", file=sys.stderr)
    if args.json:
        for row in predictions.to_dict(orient="records"):
            print(json.dumps(row))
    else:
        table = predictions[["text", "predicted", "confidence"]].fillna("")
        _print_table("Predictions", table.assign(text=table["text"].str.slice(0, 70)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tlhelpers`` and the ``tlhelpers`` command.

    Example:
        >>> main(["predict", "--model", "runs/x", "Great service!"])
    """
    received: list[str] = []
    started = False

    def on_sigterm(signum: int, frame: Any) -> None:
        received.append("SIGTERM")  # the command ends as it does on Ctrl-C
        raise KeyboardInterrupt

    try:
        args = build_parser().parse_args(argv)
        handlers = {"train": run_train, "evaluate": run_evaluate, "predict": run_predict}
        previous = signal.signal(signal.SIGTERM, on_sigterm)
        started = True
        try:
            return handlers[args.command](args)
        finally:
            signal.signal(signal.SIGTERM, previous)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {as_flags(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Outside the training loop (imports, loading, saving): nothing new was saved, and
        # a save cut short leaves the folder as it was (saves are atomic).
        name = received[-1] if received else "SIGINT"
        done = "nothing was saved" if started else "nothing was done"
        print(f"\nStopped by {name}: {done}.", file=sys.stderr)
        return EXIT_CODES[name]


# Errors come from the library, which names settings as Python does (header=None,
# text_column=...). At the command line the same setting is a flag: --header none.
_NAMES = "|".join(TrainConfig.field_names())
_WITH_VALUE = re.compile(
    rf"\b(?P<name>{_NAMES})=(?P<value>None|True|False|<[^>]*>|'[^']*'|\"[^\"]*\"|[\w.\-]+)"
)
# A bare name is a flag opening a sentence before "must" (a config check), or elsewhere if it
# has an underscore: "model" and "header" are ordinary English words too.
_BARE = re.compile(
    rf"(?:^|(?<=\. )|(?<=: ))\b(?P<name>{_NAMES})\b(?= must\b)"
    rf"|(?<![-\w])\b(?P<snake>{'|'.join(n for n in TrainConfig.field_names() if '_' in n)})\b"
)


def as_flags(message: str) -> str:
    """``message`` with the API's spelling of settings replaced by the command-line flags.

    Example:
        >>> as_flags("Pass header=None and text_column=1, label_column=0.")
        'Pass --header none and --text-column 1, --label-column 0.'
    """

    def flag(name: str) -> str:
        return "--" + name.replace("_", "-")

    def with_value(match: re.Match) -> str:
        name, value = match["name"], match["value"]
        if value in ("True", "False"):  # a switch: --drop-duplicates / --no-drop-duplicates
            return flag(name if value == "True" else "no_" + name)
        if value[0] in "'\"" and re.fullmatch(r"[\w.\-]+", value[1:-1]):
            value = value[1:-1]  # 'drop' -> drop; a value with spaces or \t keeps its quotes
        return f"{flag(name)} {'none' if value == 'None' else value}"

    message = _WITH_VALUE.sub(with_value, message)
    return _BARE.sub(lambda match: flag(match["name"] or match["snake"]), message)
