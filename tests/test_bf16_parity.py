"""`python bench/few_shot.py --bf16-parity`: both precisions of every seed in one invocation (a fake machine with
bfloat16 units, tiny Fashion-MNIST, a few steps, scoring stubbed)."""
import argparse
import importlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCORES = {"kid": 0.5, "kid_std": 0.1, "fid": 3.0, "precision": 0.6, "recall": 0.5, "near_copy": 0.1,
          "real_near_copy": 0.1, "protocol": "fmnist_1k_test", "kid_random_cnn": 0.001, "recall_random_cnn": 0.4}


@pytest.fixture
def runner(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    module = importlib.import_module("few_shot_runner")
    monkeypatch.setattr(module, "RESULTS", tmp_path / "results.jsonl")
    monkeypatch.setattr(module, "STEPS", 2)
    monkeypatch.setattr(module, "CURVE_EVERY", 1)
    monkeypatch.setattr(module, "_score", lambda *args: dict(SCORES))
    monkeypatch.setattr(module, "_score_kid", lambda *args: dict(SCORES))
    measured = importlib.import_module("measured")
    monkeypatch.setattr(measured, "PARITY_CELL", {"class": 7, "shots": 4, "method": "vision_d", "seeds": (0, 1)})
    yield module
    sys.modules.pop("few_shot_runner", None)


@pytest.mark.slow
def test_the_parity_run_trains_both_precisions_of_every_seed_in_one_invocation(runner, monkeypatch, fake_fmnist):
    import kgantl.precision

    monkeypatch.setattr(kgantl.precision, "has_fast_bfloat16", lambda: True)
    runner.bf16_parity({}, argparse.Namespace(force=False, shared_machine=False, keep=None))
    records = [json.loads(line) for line in runner.RESULTS.read_text().splitlines()]
    assert sorted((r["seed"], r["recipe"]) for r in records) == [
        (0, "transfer-defaults-b64"), (0, "transfer-defaults-b64-bf16"),
        (1, "transfer-defaults-b64"), (1, "transfer-defaults-b64-bf16")]
    assert all(r["steps"] == 2 and r["method"] == "vision_d" for r in records)


def test_the_parity_run_refuses_a_machine_without_bfloat16_units(runner, monkeypatch):
    import kgantl.precision

    monkeypatch.setattr(kgantl.precision, "has_fast_bfloat16", lambda: False)
    with pytest.raises(SystemExit, match="needs bfloat16 units"):
        runner.bf16_parity({}, argparse.Namespace(force=False, shared_machine=False, keep=None))
