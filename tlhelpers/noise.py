"""Text noise: realistic corruptions for testing how well a classifier generalises.

A test set drawn from the same source as the training set flatters every model. Real
inputs have typos, missing words and cut-off text. Each function here corrupts a list of
texts in one such way, seeded, so that every method is scored on the *same* noisy texts.

Lower-casing is left out on purpose: MiniLM's tokenizer is uncased and TF-IDF lower-cases
by default, so it would change nothing for any method here.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence


def add_typos(text: str, rng: random.Random, rate: float = 0.15) -> str:
    """Give each word of 3+ letters, with probability ``rate``, one typo.

    A typo is one of: two neighbouring letters swapped, a letter dropped, a letter doubled,
    or a letter replaced by a random one.

    Example:
        >>> add_typos("the service was terrible today", random.Random(0), rate=0.5)
        'the service wms terrible today'
    """
    words = text.split()
    for i, word in enumerate(words):
        if len(word) < 3 or rng.random() >= rate:
            continue
        j = rng.randrange(len(word) - 1)
        kind = rng.choice(("swap", "drop", "double", "replace"))
        if kind == "swap":
            word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
        elif kind == "drop":
            word = word[:j] + word[j + 1 :]
        elif kind == "double":
            word = word[:j] + word[j] + word[j:]
        else:
            word = word[:j] + rng.choice(string.ascii_lowercase) + word[j + 1 :]
        words[i] = word
    return " ".join(words)


def drop_words(text: str, rng: random.Random, rate: float = 0.25) -> str:
    """Delete each word with probability ``rate`` (at least one word is kept).

    Example:
        >>> drop_words("the service was terrible today", random.Random(0), rate=0.5)
        'the service today'
    """
    words = text.split()
    kept = [w for w in words if rng.random() >= rate]
    return " ".join(kept) if kept else (words[0] if words else "")


def truncate(text: str, rng: random.Random, keep: float = 0.5) -> str:
    """Keep only the first ``keep`` share of the words (at least one), as a cut-off message.

    ``rng`` is unused (truncation is not random); it is accepted so that every noise
    function has the same signature.

    Example:
        >>> truncate("the service was terrible today", random.Random(0))
        'the service'
    """
    words = text.split()
    return " ".join(words[: max(1, int(len(words) * keep))])


NOISES: dict[str, Callable[[str, random.Random], str]] = {
    "typos": add_typos,
    "dropped words": drop_words,
    "truncated": truncate,
}


def corrupt(texts: Sequence[str], kind: str, *, seed: int = 0, **kwargs) -> list[str]:
    """Apply one kind of noise from :data:`NOISES` to every text, reproducibly.

    Args:
        texts: the clean texts.
        kind: ``"typos"``, ``"dropped words"`` or ``"truncated"``.
        seed: the same seed gives the same corrupted texts.
        kwargs: passed to the noise function (``rate=`` or ``keep=``).

    Example:
        >>> corrupt(["the service was terrible today"], "truncated")
        ['the service']
    """
    if kind not in NOISES:
        raise ValueError(f"Unknown noise '{kind}'. Choose one of {list(NOISES)}.")
    if isinstance(texts, str):
        raise TypeError("Pass a list of texts, e.g. corrupt(['some text'], 'typos').")
    rng = random.Random(seed)
    return [NOISES[kind](str(text), rng, **kwargs) for text in texts]
