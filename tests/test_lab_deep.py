"""The lab's recorded deep run: ``tools/lab_deep.py`` and ``notebooks/results/lab_deep.json``.

The record is committed and notebook 07 shows it, so these tests make it impossible to show
a stale or partial one: its settings must be what ``make lab-deep`` would run now, it must
hold every run those settings promise, and a quick run of the runner must still write the
same schema.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import lab_deep  # noqa: E402  (tools/ is not a package)


def recorded() -> dict:
    return json.loads(lab_deep.RESULTS.read_text())


def run_keys(document: dict) -> list[tuple]:
    """(dataset, method, n_per_class, seed) of every run a record holds."""
    return [(r["dataset"], r["method"], r["n_per_class"], r["seed"]) for r in document["runs"]]


def promised_runs(values: dict) -> set[tuple]:
    """(dataset, method, n_per_class, seed) of every run the settings ask for."""
    return {
        (name, method, n_per_class, seed)
        for name, setup in values["datasets"].items()
        for method in values["methods"]
        for n_per_class in lab_deep.sizes_of(setup, method)
        for seed in range(values["seeds"])
    }


def test_the_recorded_deep_run_has_the_settings_make_lab_deep_runs_now():
    record, current = recorded(), lab_deep.settings()
    stale = lab_deep.stale_settings(record["settings"], current)
    assert not stale, (
        "notebooks/results/lab_deep.json was recorded with other settings than "
        "tools/lab_deep.py has now; run `make lab-deep` and commit the file:\n  "
        + "\n  ".join(stale)
    )
    assert record["fingerprint"] == lab_deep.fingerprint(current)
    assert record["complete"], "the recorded deep run did not finish; run `make lab-deep` again"


def test_the_record_holds_every_promised_run_once_with_its_provenance():
    record = recorded()
    keys = run_keys(record)
    assert len(keys) == len(set(keys)), "a run is recorded twice"
    assert set(keys) == promised_runs(record["settings"])
    for run in record["runs"]:
        assert 0 <= run["test_macro_f1"] <= 1 and run["wall_seconds"] > 0, run
    assert len(record["git_commit"]) == 40 and not record["git_dirty"]
    assert record["command"].startswith("python tools/lab_deep.py")
    assert record["machine"]["cores"] >= 1 and record["wall_seconds"] > 0
    chosen = [row for row in record["learning_rates"] if row["chosen"]]
    datasets = record["settings"]["datasets"]
    lr_methods = record["settings"]["lr_grid"]
    assert {(row["dataset"], row["method"]) for row in chosen} == {
        (name, method) for name in datasets for method in lr_methods
    }
    for run in record["runs"]:  # every transformer run used its method's chosen rate
        if run["method"] in lr_methods:
            rate = next(
                row["lr"]
                for row in chosen
                if (row["dataset"], row["method"]) == (run["dataset"], run["method"])
            )
            assert run["lr"] == rate, run


def test_a_changed_setting_is_named_and_changes_the_fingerprint():
    current = lab_deep.settings()
    changed = copy.deepcopy(current)
    changed["datasets"]["bbc"]["sizes"] = [2, 4]
    changed["seeds"] = 3
    assert lab_deep.stale_settings(changed, current) == [
        "datasets.bbc.sizes: recorded [2, 4], now [2, 4, 8, 16, 32]",
        "seeds: recorded 3, now 5",
    ]
    assert lab_deep.fingerprint(changed) != lab_deep.fingerprint(current)
    assert lab_deep.fingerprint(copy.deepcopy(current)) == lab_deep.fingerprint(current)


@pytest.mark.integration
def test_a_quick_deep_run_writes_the_schema_of_the_record(tmp_path, capsys):
    out = tmp_path / "deep.json"
    assert lab_deep.main(["--quick", "--out", str(out)]) == 0
    quick, full = json.loads(out.read_text()), recorded()
    assert quick["complete"] and quick["settings"] == lab_deep.settings(quick=True)
    assert set(quick) == set(full)
    assert set(quick["machine"]) == set(full["machine"])
    assert set(quick["datasets"]) == set(full["datasets"])
    assert set(run_keys(quick)) == promised_runs(quick["settings"])

    def fields(document: dict) -> dict[str, set[str]]:
        return {run["method"]: set(run) for run in document["runs"]}

    assert fields(quick) == fields(full)  # each method's runs record the same fields
    assert set(quick["learning_rates"][0]) == set(full["learning_rates"][0])
    assert "deep run:" in capsys.readouterr().out
