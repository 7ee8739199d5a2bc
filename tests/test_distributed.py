"""Data-parallel training: two CPU processes (torchrun, gloo) train like one with the same batch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("distributed_worker.py")
BATCH_SIZE = "8"  # the global batch, 4 per rank; it divides the 240 toy training texts


def _run(command: list[str], out_dir: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["OMP_NUM_THREADS"] = "1"  # the same threads in both runs, so float sums match closely
    done = subprocess.run(
        [*command, str(WORKER), str(out_dir), BATCH_SIZE],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-3000:]}"
    ranks = [json.loads(p.read_text()) for p in sorted(out_dir.glob("rank*.json"))]
    weights = torch.load(out_dir / "weights.pt", weights_only=True)
    return {"ranks": ranks, "weights": weights}


# On a GPU machine each rank takes a GPU of its own: two ranks need two GPUs.
pytestmark = pytest.mark.skipif(
    torch.cuda.is_available() and torch.cuda.device_count() < 2,
    reason="two ranks on a CUDA machine need two GPUs",
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    single = _run([sys.executable], tmp_path_factory.mktemp("one_process"))
    double = _run(
        [torchrun, "--standalone", "--nproc_per_node", "2"], tmp_path_factory.mktemp("two")
    )
    return single, double


def test_two_ranks_really_ran_and_shared_the_data(runs):
    single, double = runs
    assert [(r["rank"], r["world_size"]) for r in double["ranks"]] == [(0, 2), (1, 2)]
    assert single["ranks"][0]["world_size"] == 1
    seen_alone = single["ranks"][0]["examples_seen"]
    # Each rank computes half of every global batch, so each sees half the examples.
    assert [r["examples_seen"] for r in double["ranks"]] == [seen_alone // 2] * 2


def test_two_processes_reach_the_weights_of_one(runs):
    single, double = runs
    initial = _initial_weights()
    largest_move = 0.0
    for name, value in single["weights"].items():
        moved = (value - initial[name]).abs().max().item()
        largest_move = max(largest_move, moved)
        difference = (value - double["weights"][name]).abs().max().item()
        assert difference <= 1e-4 + 1e-3 * moved, f"{name}: differs by {difference}"
    assert largest_move > 1e-2
    # Validation is gathered from both ranks: the same scores, at the same best step.
    keys = ("step", "loss", "accuracy", "macro_f1")
    one, two = single["ranks"][0]["best"], double["ranks"][0]["best"]
    assert {k: two[k] for k in keys} == pytest.approx({k: one[k] for k in keys}, rel=1e-4)


def _initial_weights() -> dict:
    sys.path.insert(0, str(WORKER.parent))
    try:
        from distributed_worker import tiny_model
    finally:
        sys.path.pop(0)
    return tiny_model().state_dict()


def test_split_batches_keep_every_example_of_a_short_batch():
    """Accelerate drops a short batch unless it comes last; the length-grouped sampler obliges."""
    from accelerate.data_loader import BatchSamplerShard

    import tlhelpers as tl

    lengths = [(7 * i) % 40 + 1 for i in range(240)]  # 240 texts, batches of 14: one of 2
    sampler = tl.batching.LengthGroupedSampler(lengths, batch_size=14, seed=3)
    batches = list(sampler)
    assert len(batches[-1]) == 2 and all(len(b) == 14 for b in batches[:-1])
    seen = set()
    for rank in (0, 1):
        shard = BatchSamplerShard(sampler, num_processes=2, process_index=rank, split_batches=True)
        shard_batches = list(shard)
        assert len(shard_batches) == len(batches)  # both ranks take the same number of steps
        seen.update(i for batch in shard_batches for i in batch)
    assert seen == set(range(240))
