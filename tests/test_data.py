"""tlhelpers.data: every source gives the same train/validation/test DatasetDict."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from datasets import ClassLabel

import tlhelpers as tl
from tlhelpers import data as tldata


def _frame(n=60):
    labels = ["cat", "dog", "bird"]
    return pd.DataFrame(
        {
            "review": [f"text number {i}" for i in range(n)],
            "kind": [labels[i % 3] for i in range(n)],
        }
    )


def test_tweet_sentiment_is_clean_and_stratified():
    data, report = tl.load_text_dataset("tweet-sentiment", return_report=True)
    assert set(data) == {"train", "validation", "test"}
    # Repeated texts are dropped, and so is every copy of the 48 texts labelled two ways.
    assert report.rows_read == 38_158 and report.conflicting_texts == 48
    assert report.rows_kept + sum(report.dropped.values()) == report.rows_read
    assert data["train"].features["label"].names == ["negative", "neutral", "positive"]
    texts = [t for split in data.values() for t in split["text"]]
    assert len(texts) == len(set(texts)), "duplicates would leak across splits"
    assert 36_000 < len(texts) < 37_300
    assert not any("\x8a" in t or "äó" in t for t in texts[:5000])
    shares = [np.bincount(data[s]["label"]) / len(data[s]) for s in ("train", "test")]
    assert np.allclose(shares[0], shares[1], atol=0.01)


def test_bbc_news_has_five_topics():
    data = tl.load_text_dataset("bbc-news")
    assert data["train"].features["label"].names == [
        "business", "entertainment", "politics", "sports", "tech"
    ]  # fmt: skip
    total = sum(len(s) for s in data.values())
    assert 2_100 <= total <= 2_225
    assert min(len(t.split()) for t in data["test"]["text"]) > 50


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl", ".parquet"])
def test_files_with_named_columns(tmp_path, suffix):
    frame = _frame()
    path = tmp_path / f"data{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif suffix == ".json":
        frame.to_json(path, orient="records")
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path)
    data = tl.load_text_dataset(path, text_column="review", label_column="kind")
    assert data["train"].features["label"].names == ["bird", "cat", "dog"]
    assert isinstance(data["test"].features["label"], ClassLabel)
    assert sum(len(s) for s in data.values()) == 60


def test_dataframe_dict_and_lists_give_the_same_splits():
    frame = _frame().rename(columns={"review": "text", "kind": "label"})
    a = tl.load_text_dataset(frame, seed=1)
    b = tl.load_text_dataset(
        {"text": frame["text"].tolist(), "label": frame["label"].tolist()}, seed=1
    )
    c = tl.load_text_dataset((frame["text"].tolist(), frame["label"].tolist()), seed=1)
    for split in ("train", "validation", "test"):
        assert a[split]["text"] == b[split]["text"] == c[split]["text"]


def test_integer_labels_with_and_without_names():
    texts, labels = [f"t{i}" for i in range(40)], [i % 2 for i in range(40)]
    assert tl.load_text_dataset((texts, labels))["train"].features["label"].names == ["0", "1"]
    named = tl.load_text_dataset((texts, labels), label_names=["no", "yes"])
    assert named["train"].features["label"].names == ["no", "yes"]
    # One name per label value found, in sorted order: 1 name for 0 and 1 is refused.
    with pytest.raises(ValueError, match=r"label_names gives 1 name \['only'\].*2 values: 0, 1"):
        tl.load_text_dataset((texts, labels), label_names=["only"])
    ratings = tl.load_text_dataset((texts, [1 + i % 2 for i in range(40)]), label_names=["a", "b"])
    assert ratings["train"].features["label"].names == ["a", "b"]


def test_seeded_splits_are_reproducible_and_disjoint():
    a = tl.load_text_dataset(_frame(), text_column="review", label_column="kind", seed=3)
    b = tl.load_text_dataset(_frame(), text_column="review", label_column="kind", seed=3)
    assert a["train"]["text"] == b["train"]["text"]
    assert not set(a["train"]["text"]) & set(a["test"]["text"])


def test_missing_column_lists_the_columns():
    with pytest.raises(ValueError, match=r"\['text'\].*\['review', 'kind'\]"):
        tl.load_text_dataset(_frame(), label_column="kind")


def test_empty_data_and_empty_split():
    with pytest.raises(ValueError, match="empty"):
        tl.load_text_dataset(pd.DataFrame({"text": [], "label": []}))
    with pytest.raises(ValueError, match="empty"):
        tl.load_text_dataset(pd.DataFrame({"text": ["  ", None], "label": ["a", "b"]}))
    with pytest.raises(ValueError, match="validation split is empty"):
        tl.load_text_dataset((["a", "b", "c", "d"], ["x", "x", "y", "y"]), validation_size=0.01)


def test_unknown_labels_against_label_names():
    with pytest.raises(ValueError, match=r"\['dog'\] are not in label_names"):
        tl.load_text_dataset(
            _frame(), text_column="review", label_column="kind", label_names=["cat", "bird"]
        )


def test_label_in_test_never_seen_in_training(monkeypatch):
    given = {
        "train": pd.DataFrame({"text": ["a", "b", "c", "d"], "label": ["x", "y", "x", "y"]}),
        "test": pd.DataFrame({"text": ["e", "f"], "label": ["x", "z"]}),
    }
    monkeypatch.setattr(tldata, "_load_hub_dataset", lambda name: given)
    with pytest.raises(ValueError, match=r"Class 'z' \(found only in test \(1\)\) has no examples"):
        tl.load_text_dataset("someone/some-dataset")


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "online"])
def test_unknown_name_names_the_builtins_and_why_it_failed(monkeypatch, offline):
    # huggingface_hub reads HF_HUB_OFFLINE once, at import: setting the environment variable
    # now would change nothing, so the test sets the constant the library reads.
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline)

    def no_network(name):  # what load_dataset raises when the Hub cannot be reached
        raise ConnectionError(f"cannot reach the Hub for {name}")

    monkeypatch.setattr(tldata.datasets, "load_dataset", no_network)
    with pytest.raises(ValueError, match="tweet-sentiment, bbc-news") as raised:
        tl.load_text_dataset("no-such-user/no-such-dataset-xyz")
    message = str(raised.value)
    assert ("HF_HUB_OFFLINE=1 is set" in message) is offline
    assert ("could not be downloaded" in message) is not offline
    assert "ConnectionError: cannot reach the Hub" in message


def test_n_per_class_keeps_evaluation_splits():
    full = tl.load_text_dataset(_frame(300), text_column="review", label_column="kind")
    few = tl.load_text_dataset(
        _frame(300), text_column="review", label_column="kind", n_per_class=5
    )
    assert np.bincount(few["train"]["label"]).tolist() == [5, 5, 5]
    assert few["test"]["text"] == full["test"]["text"]
    with pytest.raises(ValueError, match="at least 1"):
        tl.stratified_sample(full["train"], per_class=0)


# --------------------------------------------------------------------------------------
# Files: read every byte right, or refuse with a message that names the fix
# --------------------------------------------------------------------------------------


def _headerless_tsv(path, n=40):
    """Label first, no header row, CRLF line ends, texts that start or end with quotes."""
    rows = []
    for i in range(n):
        rows += [
            ("pos", f"great film number {i}"),
            ("neg", f'"awful" film number {i}'),
            ("neg", f'"she said it twice, number {i}'),
        ]
    path.write_bytes("".join(f"{label}\t{text}\r\n" for label, text in rows).encode())
    return rows


def test_headerless_tsv_is_refused_with_the_option_to_use(tmp_path):
    path = tmp_path / "reviews.tsv"
    _headerless_tsv(path)
    with pytest.raises(ValueError, match="reviews.tsv") as error:
        tl.load_text_dataset(path)
    message = str(error.value)
    assert "no header row" in message
    assert "header=None and text_column=1, label_column=0" in message


def test_headerless_tsv_read_with_header_none_keeps_every_byte(tmp_path):
    path = tmp_path / "reviews.tsv"
    rows = _headerless_tsv(path)
    data, report = tl.load_text_dataset(
        path, header=None, text_column=1, label_column=0, return_report=True
    )
    kept = sorted((t, data[s].features["label"].int2str(y)) for s in data
                  for t, y in zip(data[s]["text"], data[s]["label"], strict=True))  # fmt: skip
    assert kept == sorted((text, label) for label, text in rows)
    assert report.rows_read == len(rows) == report.rows_kept
    assert report.read_with["quoting"] == csv.QUOTE_NONE


def test_tsv_written_with_quoting_is_read_with_quoting_minimal(tmp_path):
    texts = ["tab\there", "two\nlines", 'a "quote"', "crlf\r\nend", "plain"] * 4
    texts = [f"{t} {i}" for i, t in enumerate(texts)]
    path = tmp_path / "excel.tsv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, dialect="excel-tab")
        writer.writerow(["text", "label"])
        writer.writerows([t, "ab"[i % 2]] for i, t in enumerate(texts))
    with pytest.raises(ValueError, match='quoting="minimal"'):
        tl.load_text_dataset(path)  # read unquoted, a tab inside a text splits the row
    data = tl.load_text_dataset(path, quoting="minimal")
    assert sorted(t for s in data.values() for t in s["text"]) == sorted(texts)


def test_columns_by_position(tmp_path):
    csv_path = tmp_path / "reviews.csv"
    _frame().to_csv(csv_path, index=False)
    by_position = tl.load_text_dataset(csv_path, text_column=0, label_column=1, verbose=False)
    assert by_position["train"].features["label"].names == ["bird", "cat", "dog"]


def test_header_below_a_preamble_and_tuples_of_unequal_length(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("exported by some tool\nversion 2\n" + _frame().to_csv(index=False))
    data, report = tl.load_text_dataset(
        path, header=2, text_column="review", label_column="kind", return_report=True
    )
    assert report.rows_read == 60 == sum(len(s) for s in data.values())
    with pytest.raises(ValueError, match="3 texts but 2 labels"):
        tl.load_text_dataset((["a", "b", "c"], ["x", "y"]))


def test_header_none_on_a_file_with_a_header_row_is_pointed_out(tmp_path, capsys):
    path = tmp_path / "data.csv"
    _frame().to_csv(path, index=False)
    tl.load_text_dataset(path, header=None, text_column=0, label_column=1)
    assert "looks like column names: if so, pass header=0" in capsys.readouterr().out


def test_encoding_errors_name_the_file_and_the_encoding_to_pass(tmp_path):
    path = tmp_path / "legacy.csv"
    texts = [f"café crème n°{i}" for i in range(30)]
    pd.DataFrame({"text": texts, "label": ["a", "b", "c"] * 10}).to_csv(
        path, index=False, encoding="latin-1"
    )
    with pytest.raises(ValueError, match=r"legacy\.csv.*not valid utf-8.*encoding=\"latin-1\""):
        tl.load_text_dataset(path)
    data = tl.load_text_dataset(path, encoding="latin-1")
    assert sorted(t for s in data.values() for t in s["text"]) == sorted(texts)
    with pytest.raises(ValueError, match="Unknown encoding 'latin-9000'"):
        tl.load_text_dataset(path, encoding="latin-9000")


def test_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "excel.csv"
    _frame().to_csv(path, index=False, encoding="utf-8-sig")
    data = tl.load_text_dataset(path, text_column="review", label_column="kind")
    assert sum(len(s) for s in data.values()) == 60
    # Only the byte-order mark goes: a first text that starts with U+FEFF keeps it.
    texts = ["\ufeffzero-width start", *(f"text {i}" for i in range(29))]
    path = tmp_path / "bom.tsv"
    path.write_bytes(
        "".join(f"{t}\t{'ab'[i % 2]}\n" for i, t in enumerate(texts)).encode("utf-8-sig")
    )
    data = tl.load_text_dataset(path, header=None, text_column=0, label_column=1)
    assert sorted(t for s in data.values() for t in s["text"]) == sorted(texts)


def test_a_carriage_return_inside_a_text_of_an_lf_file_stays_in_the_text(tmp_path):
    # Python's csv.writer with lineterminator="\n" does not quote a lone CR.
    texts = [f"pasted from Windows\r{i}" for i in range(30)]
    path = tmp_path / "lf.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows([t, "ab"[i % 2]] for i, t in enumerate(texts))
    assert '"' not in path.read_text()  # the CR is written unquoted
    data = tl.load_text_dataset(path)
    assert sorted(t for s in data.values() for t in s["text"]) == sorted(texts)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\r\n\n", "the file is empty"),
        (b"text,label\n", "header row but no data rows"),
        (b'text,label\n"never closed,a\nb,c\n', 'quoting="none"'),
        (b"text;label\na;b\n", "pass sep=';'"),
    ],
)
def test_unreadable_files_name_the_file_and_the_fix(tmp_path, content, message):
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="broken.csv") as error:
        tl.load_text_dataset(path)
    assert message in str(error.value)


def test_json_lines_in_a_json_file_and_bad_records(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n')
    with pytest.raises(ValueError, match=r"data\.json.*line 2.*name the file \.jsonl"):
        tl.load_text_dataset(path)
    path.write_text('["just", "strings"]')
    with pytest.raises(ValueError, match="expected a list of records"):
        tl.load_text_dataset(path)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".json", ".jsonl"])
def test_texts_that_look_like_missing_values_or_numbers_are_kept(tmp_path, suffix):
    special = ["NA", "N/A", "null", "nan", "None", "", " ", "007", "1e5", "TRUE", "#hash"]
    texts = [*special[:5], *special[7:], *[f"text {i}" for i in range(31)]]
    frame = pd.DataFrame({"text": texts, "label": ["a", "b"] * (len(texts) // 2)})
    path = tmp_path / f"data{suffix}"
    if suffix in (".csv", ".tsv"):
        frame.to_csv(path, index=False, sep="," if suffix == ".csv" else "\t")
    else:
        frame.to_json(path, orient="records", lines=suffix == ".jsonl", force_ascii=False)
    data = tl.load_text_dataset(path, verbose=False)
    assert sorted(t for s in data.values() for t in s["text"]) == sorted(texts)


def test_file_options_are_refused_where_they_do_not_apply(tmp_path):
    with pytest.raises(ValueError, match="sep only apply when the source is a"):
        tl.load_text_dataset(_frame(), sep="\t")
    path = tmp_path / "data.json"
    _frame().to_json(path, orient="records")
    with pytest.raises(ValueError, match="header only apply to delimited files"):
        tl.load_text_dataset(path, header=None)
    csv_path = tmp_path / "data.csv"
    _frame().to_csv(csv_path, index=False)
    parquet_path = tmp_path / "data.parquet"
    _frame().to_parquet(parquet_path)
    with pytest.raises(ValueError, match="for a .parquet file you can set none of them"):
        tl.load_text_dataset(parquet_path, encoding="latin-1")
    with pytest.raises(ValueError, match="quoting must be 'minimal'"):
        tl.load_text_dataset(csv_path, quoting="sometimes")
    with pytest.raises(ValueError, match="conflicting_labels must be"):
        tl.load_text_dataset(_frame(), conflicting_labels="ignore")


def test_other_file_names_are_read_when_sep_is_given(tmp_path):
    path = tmp_path / "data.txt"
    _frame().to_csv(path, index=False, sep="|")
    with pytest.raises(ValueError, match="pass sep="):
        tl.load_text_dataset(path)
    data = tl.load_text_dataset(path, sep="|", text_column="review", label_column="kind")
    assert sum(len(s) for s in data.values()) == 60


# --------------------------------------------------------------------------------------
# The report: every row read is kept, dropped for a stated reason, or left out on purpose
# --------------------------------------------------------------------------------------


def _messy_rows():
    """(text, label) rows: 30 good ones, then one of each problem (positions 30..)."""
    rows = [(f"good text {i}", "ab"[i % 2]) for i in range(30)]
    rows += [
        ("", "a"),  # 30: empty text
        ("   ", "b"),  # 31: whitespace only
        ("no label here", ""),  # 32: missing label
        ("good text 3", "b"),  # 33: duplicate of row 3 (same label)
        ("good text 4", "b"),  # 34: row 4 is labelled a: conflicting
        ("good text 3", "b"),  # 35: duplicate again
    ]
    return rows


def test_report_accounts_for_every_row(tmp_path, capsys):
    path = tmp_path / "messy.csv"
    pd.DataFrame(_messy_rows(), columns=["text", "label"]).to_csv(path, index=False)
    data, report = tl.load_text_dataset(path, return_report=True)
    assert report.rows_read == 36
    assert report.dropped == {
        "empty text": 2, "missing label": 1, "conflicting labels": 2, "duplicate": 2,
    }  # fmt: skip
    assert report.dropped_rows == {
        "empty text": [30, 31], "missing label": [32], "conflicting labels": [4, 34],
        "duplicate": [33, 35],
    }  # fmt: skip
    assert report.conflicting_texts == 1
    assert report.rows_kept == sum(len(s) for s in data.values()) == 29
    assert report.label_mapping == {"a": 0, "b": 1}
    assert report.label_counts == {"a": 14, "b": 15}
    texts = [t for s in data.values() for t in s["text"]]
    assert len(texts) == len(set(texts)) and "good text 4" not in texts
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed == str(report).splitlines() and len(printed) == 3
    assert printed[0].startswith('messy.csv (comma-separated, quoting="minimal"): 36 rows read')
    assert "2 with empty text, 1 with no label, 2 with conflicting labels (1 text)" in printed[1]
    tl.load_text_dataset(path, verbose=False)
    assert capsys.readouterr().out == ""


def test_missing_texts_and_labels_in_a_dataframe():
    frame = pd.DataFrame(_messy_rows(), columns=["text", "label"])
    frame.loc[30, "text"], frame.loc[32, "label"] = None, np.nan
    _, report = tl.load_text_dataset(frame, return_report=True, verbose=False)
    assert report.dropped["missing text"] == 1 and report.dropped_rows["missing text"] == [30]
    assert report.dropped["empty text"] == 1 and report.dropped["missing label"] == 1


def test_non_string_texts_are_refused_not_converted():
    with pytest.raises(ValueError, match=r"texts must be strings.*row 1: int 42"):
        tl.load_text_dataset((["fine", 42, "also fine"], ["a", "b", "a"]))


def test_duplicates_are_dropped_from_files_and_kept_in_typed_lists(tmp_path):
    texts, labels = ["good", "bad", "fine"] * 20, ["pos", "neg", "pos"] * 20
    path = tmp_path / "repeats.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="after dropping 57 duplicates"):
        tl.load_text_dataset(path)  # three texts cannot fill three splits
    lists, report = tl.load_text_dataset((texts, labels), return_report=True)
    assert sum(len(s) for s in lists.values()) == 60 and report.duplicates_kept == 57
    assert "Kept 57 repeated texts (drop_duplicates=False)." in str(report)
    with pytest.raises(ValueError, match="after dropping 57 duplicates"):
        tl.load_text_dataset((texts, labels), drop_duplicates=True)


def test_no_text_of_a_file_sits_in_two_splits(tmp_path):
    frame = _frame(300)
    frame = pd.concat([frame, frame.sample(30, random_state=0)])  # a tenth repeated
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    data = tl.load_text_dataset(path, text_column="review", label_column="kind")
    seen = [set(data[s]["text"]) for s in ("train", "validation", "test")]
    assert sum(len(s) for s in seen) == 300
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])


def test_conflicting_labels_drop_first_or_error():
    texts = [f"t{i}" for i in range(30)] + ["t0", "t1"]
    labels = ["a", "b"] * 15 + ["b", "b"]  # t0: a then b (conflict); t1: b twice (repeat)
    _, dropped = tl.load_text_dataset((texts, labels), return_report=True)
    assert dropped.dropped == {"conflicting labels": 2} and dropped.duplicates_kept == 1
    first, kept = tl.load_text_dataset(
        (texts, labels), conflicting_labels="first", drop_duplicates=True, return_report=True
    )
    assert kept.dropped == {"conflicting labels": 1, "duplicate": 1}
    t0 = [
        y for s in first.values() for t, y in zip(s["text"], s["label"], strict=True) if t == "t0"
    ]
    assert t0 == [0]  # the first label, "a"
    with pytest.raises(
        ValueError, match=r"1 texts appear with different labels \('t0': \['a', 'b'\]"
    ):
        tl.load_text_dataset((texts, labels), conflicting_labels="error")


# --------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------


def test_integer_labels_with_a_blank_cell_stay_integers(tmp_path):
    frame = pd.DataFrame(
        {"text": [f"t{i}" for i in range(40)], "label": [i % 2 for i in range(40)]}
    )
    frame["label"] = frame["label"].astype(float)
    frame.loc[7, "label"] = np.nan  # what a blank cell does to a pandas int column
    path = tmp_path / "blank.csv"
    frame.to_csv(path, index=False)  # writes 0.0/1.0 and an empty cell
    for source in (frame, path):
        data, report = tl.load_text_dataset(source, return_report=True, verbose=False)
        assert data["train"].features["label"].names == ["0", "1"], source
        assert report.dropped == {"missing label": 1}


def test_labels_mixing_1_and_string_1_are_one_label(tmp_path):
    texts = [f"t{i}" for i in range(30)]
    labels = [1, "1", 0, "0 "] * 7 + [1, 0]
    data, report = tl.load_text_dataset((texts, labels), return_report=True)
    assert data["train"].features["label"].names == ["0", "1"]
    assert "Labels mix numbers and strings" in str(report)
    path = tmp_path / "mixed.json"
    path.write_text(
        json.dumps([{"text": t, "label": y} for t, y in zip(texts, labels, strict=True)])
    )
    assert tl.load_text_dataset(path)["test"].features["label"].names == ["0", "1"]


def test_integer_labels_that_are_not_0_to_k_are_named_by_their_value():
    texts = [f"t{i}" for i in range(50)]
    data, report = tl.load_text_dataset((texts, [1 + i % 5 for i in range(50)]), return_report=True)
    assert data["train"].features["label"].names == ["1", "2", "3", "4", "5"]
    assert report.label_mapping == {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4}
    signed = tl.load_text_dataset((texts[:30], [-1, 0, 1] * 10))
    assert signed["train"].features["label"].names == ["-1", "0", "1"]


def test_given_hub_splits_lose_their_repeats_from_train(monkeypatch):
    given = {
        "train": pd.DataFrame({"text": list("abcdefgh"), "label": ["x", "y"] * 4}),
        "test": pd.DataFrame({"text": ["a", "i", "j"], "label": ["x", "x", "y"]}),
    }
    monkeypatch.setattr(tldata, "_load_hub_dataset", lambda name: given)
    data, report = tl.load_text_dataset("someone/some-dataset", return_report=True)
    assert report.dropped == {"duplicate": 1} and report.dropped_rows == {"duplicate": [0]}
    assert data["test"]["text"] == ["a", "i", "j"]
    assert "a" not in [*data["train"]["text"], *data["validation"]["text"]]


# --------------------------------------------------------------------------------------
# check_texts: what predict() is given
# --------------------------------------------------------------------------------------


def test_check_texts_returns_plain_strings():
    assert tldata.check_texts(["good", "bad"]) == ["good", "bad"]
    assert tldata.check_texts("one text") == ["one text"]
    assert tldata.check_texts(pd.Series(["a", "b"])) == ["a", "b"]
    converted = tldata.check_texts(np.array(["a", "b"]))
    assert converted == ["a", "b"] and all(type(t) is str for t in converted)
    assert tldata.check_texts(t for t in ["x"]) == ["x"]
    assert tldata.check_texts([]) == []


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["ok", None], r"texts\[1\] is None"),
        (["ok", "fine", float("nan")], r"texts\[2\] is nan \(float\)"),
        (pd.Series(["ok", None], dtype=object), r"texts\[1\] is None"),
        (["ok", 5], r"texts\[1\] is int 5"),
        ([b"bytes"], r"texts\[0\] is bytes b'bytes'"),
        ([None] * 8, r"8 of 8 are not: texts\[0\] is None.*texts\[4\] is None and 3 more"),
    ],
)
def test_check_texts_names_the_bad_positions(texts, message):
    with pytest.raises(ValueError, match=message):
        tldata.check_texts(texts)


def test_check_texts_uses_the_given_name_and_refuses_non_sequences():
    with pytest.raises(ValueError, match=r"frame\['review'\]\[0\] is None"):
        tldata.check_texts([None], what="frame['review']")
    for wrong in (None, 42, b"raw bytes"):
        with pytest.raises(TypeError, match="must be a string or a list of strings"):
            tldata.check_texts(wrong)
