"""Headless use: ``python -m tlhelpers train|evaluate|predict``.

Examples::

    python -m tlhelpers train --dataset tweet-sentiment --model minilm --epochs 1 --out runs/x
    python -m tlhelpers evaluate --model runs/x            # same dataset and split as training
    python -m tlhelpers predict --model runs/x "What a great flight" "Lost my bag again"
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import pandas as pd


def _data_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--dataset",
        required=required,
        help="built-in name (tweet-sentiment, bbc-news), Hub id, or CSV/TSV/JSON/Parquet file",
    )
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--max-examples", type=int, help="subsample the dataset (stratified)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the split and the training")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m tlhelpers``."""
    parser = argparse.ArgumentParser(
        prog="python -m tlhelpers", description="Fine-tune, evaluate and use text classifiers."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune a pretrained model and save it")
    _data_arguments(train, required=True)
    train.add_argument("--model", default="minilm", help="catalog name, Hub id or folder")
    train.add_argument("--out", required=True, help="folder to save the fine-tuned model in")
    train.add_argument("--epochs", type=int, default=3)
    train.add_argument("--lr", type=float, default=5e-5)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--max-length", type=int, default=128)
    train.add_argument("--n-per-class", type=int, help="few-shot: training examples per class")
    train.add_argument(
        "--train-last-layers", type=int, help="freeze all but the last N encoder layers"
    )
    train.add_argument("--layer-lr-decay", type=float, help="e.g. 0.8: discriminative rates")
    train.add_argument("--patience", type=int, help="early stopping after N epochs w/o gain")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    evaluate = commands.add_parser("evaluate", help="measure a saved model on a dataset split")
    evaluate.add_argument("--model", required=True, help="folder written by `train`")
    _data_arguments(evaluate, required=False)
    evaluate.add_argument("--split", default="test", choices=["train", "validation", "test"])
    evaluate.add_argument("--show-errors", type=int, default=5, help="most confident mistakes")

    predict = commands.add_parser("predict", help="classify new texts with a saved model")
    predict.add_argument("--model", required=True, help="folder written by `train`")
    predict.add_argument("texts", nargs="*", help="texts to classify")
    predict.add_argument("--file", help="a text file with one text per line ('-' for stdin)")
    predict.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    return parser


def _print_table(title: str, frame: pd.DataFrame) -> None:
    print(f"\n{title}\n{'-' * len(title)}")
    print(frame.to_string(float_format=lambda v: f"{v:.4f}"))


def _load_data(args, recorded: dict | None = None):
    import tlhelpers as tl

    recorded = recorded or {}
    dataset = args.dataset or recorded.get("dataset")
    if dataset is None:
        raise SystemExit("error: --dataset is required (the model folder does not record one)")
    return tl.load_text_dataset(
        dataset,
        text_column=args.text_column if args.dataset else recorded.get("text_column", "text"),
        label_column=args.label_column if args.dataset else recorded.get("label_column", "label"),
        max_examples=args.max_examples if args.dataset else recorded.get("max_examples"),
        seed=args.seed if args.dataset else recorded.get("seed", 42),
    ), dataset


def run_train(args) -> int:
    import tlhelpers as tl

    data, dataset = _load_data(args)
    if args.n_per_class:
        data["train"] = tl.sample_per_class(data["train"], args.n_per_class, seed=args.seed)
    model, tokenizer = tl.load_model(args.model, labels=tl.label_names_of(data))
    if args.train_last_layers is not None:
        tl.freeze(model, train_last_layers=args.train_last_layers)
    print(f"Training {args.model} on {dataset}: {len(data['train'])} examples, "
          f"{tl.count_parameters(model)['trainable']:,} trainable parameters")  # fmt: skip
    result = tl.train(
        model,
        tokenizer,
        data,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        max_length=args.max_length,
        layer_lr_decay=args.layer_lr_decay,
        patience=args.patience,
        seed=args.seed,
        progress=not args.no_progress,
    )
    report = tl.evaluate(model, tokenizer, data["test"])
    result.settings.update(
        dataset=str(dataset), model=str(args.model), text_column=args.text_column,
        label_column=args.label_column, max_examples=args.max_examples,
    )  # fmt: skip
    tl.save_model(model, tokenizer, args.out, training=result, metrics=report)
    _print_table("Validation (per evaluation)", result.history.evals_frame().set_index("epoch"))
    _print_table("Test metrics", pd.DataFrame([report.summary()], index=["test"]))
    _print_table("Test per class", report.per_class)
    print(f"\nTrained in {result.seconds:.0f} s ({result.examples_per_second:.1f} examples/s). "
          f"Saved to {args.out}")  # fmt: skip
    return 0


def run_evaluate(args) -> int:
    import tlhelpers as tl

    model, tokenizer = tl.load_saved_model(args.model)
    info = tl.load_training_info(args.model)
    recorded = (info.get("training") or {}) if info else {}
    data, dataset = _load_data(args, recorded)
    report = tl.evaluate(model, tokenizer, data[args.split])
    _print_table(
        f"{args.split} metrics ({dataset}, n={len(data[args.split])})",
        pd.DataFrame([report.summary()], index=[args.split]),
    )
    _print_table("Per class", report.per_class)
    _print_table("Confusion matrix (rows: true, columns: predicted)", report.confusion)
    if args.show_errors:
        errors = report.misclassified(args.show_errors)[
            ["text", "label", "predicted", "confidence"]
        ]
        errors = errors.assign(text=errors["text"].str.slice(0, 70))
        _print_table("Most confident mistakes", errors.reset_index(drop=True))
    return 0


def run_predict(args) -> int:
    import tlhelpers as tl

    texts = list(args.texts)
    if args.file:
        stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
        with stream:
            texts.extend(line.rstrip("\n") for line in stream if line.strip())
    if not texts:
        raise SystemExit("error: give texts as arguments or with --file")
    model, tokenizer = tl.load_saved_model(args.model)
    predictions = tl.predict(model, tokenizer, texts)
    if args.json:
        for row in predictions.to_dict(orient="records"):
            print(json.dumps(row))
    else:
        table = predictions[["text", "predicted", "confidence"]]
        _print_table("Predictions", table.assign(text=table["text"].str.slice(0, 70)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tlhelpers`` and the ``tlhelpers`` command.

    Example:
        >>> main(["predict", "--model", "runs/x", "Great service!"])
    """
    args = build_parser().parse_args(argv)
    handlers = {"train": run_train, "evaluate": run_evaluate, "predict": run_predict}
    try:
        return handlers[args.command](args)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
