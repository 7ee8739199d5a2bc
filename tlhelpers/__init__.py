"""tlhelpers: transfer learning for text classification, the code behind the course.

The four steps of transfer learning, one module each::

    import tlhelpers as tl
    data = tl.load_text_dataset("tweet-sentiment")                        # data
    model, tokenizer = tl.load_model("minilm", labels=tl.label_names_of(data))  # models
    result = tl.train(model, tokenizer, data, epochs=2, lr=5e-5)          # training
    report = tl.evaluate(model, tokenizer, data["test"], max_length=128)  # evaluation
    tl.save_model(model, tokenizer, "runs/tweets", training=result, metrics=report)

or, the whole recipe described once (what the command line and the widget panel run)::

    run = tl.fine_tune(tl.TrainConfig(dataset="tweet-sentiment", epochs=2, lr=5e-5))
    run.save("runs/tweets")

``import tlhelpers`` is fast: each name below (and module, ``tl.plots``) is imported on first use
(:mod:`tlhelpers._lazy`), so a script that only needs ``tl.is_quick()`` never waits for torch.
"""

# ruff: noqa: F401

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_attributes, public_names

__version__ = "0.1.0"

# The one list of the public API, read at run time by public_names() (nothing is imported).
if TYPE_CHECKING:
    from .axis_break import mark_axis_break
    from .batching import (
        make_dataloader,
        suggest_max_length,
        token_length_stats,
        token_lengths,
        tokenize_dataset,
    )
    from .config import TrainConfig, describe_mode, is_quick, pick, set_seed
    from .data import BUILTIN_DATASETS, LoadReport, check_texts, label_names_of, load_text_dataset
    from .evaluation import (
        ConfidenceInterval,
        EvaluationReport,
        bootstrap_difference,
        bootstrap_interval,
        compute_metrics,
        evaluate,
        predict,
        predict_proba,
        reliability,
    )
    from .features import extract_features, linear_probe
    from .lora import add_lora, is_lora, merge_lora
    from .models import (
        CATALOG,
        catalog,
        count_parameters,
        encoder_of,
        freeze,
        label_names,
        load_model,
        load_tokenizer,
        random_model,
        replace_head,
        set_dropout,
        unfreeze,
    )
    from .persistence import (
        check_saved_model,
        load_saved_model,
        load_training_info,
        recover_interrupted_save,
        save_model,
    )
    from .recipe import Run, fine_tune
    from .sampling import SEED, stratified_indices, stratified_sample
    from .training import History, TrainingResult, learning_rate_schedule, train
    from .verdicts import Verdict, compare, compare_predictions, compare_table


_MODULE_OF = public_names(__file__)
__all__ = sorted(_MODULE_OF)
__getattr__, __dir__ = lazy_attributes(globals(), _MODULE_OF)
