"""Text noise: seeded corruptions (typos, dropped words, cut-off texts) for testing generalisation.

Every method is scored on the *same* noisy texts. Lower-casing is left out: MiniLM's
tokenizer and TF-IDF both lower-case already.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Sequence


def add_typos(text: str, rng: random.Random, rate: float = 0.15) -> str:
    """Give each 3+ letter word, with probability ``rate``, a typo: swap, drop, double or replace.

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

    ``rng`` is unused: every noise function has the same signature.

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

    ``kwargs`` (``rate=`` or ``keep=``) go to the noise function.

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
