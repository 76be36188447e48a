"""The checkpoint-rule replay (`bench/copy_rule_replay.py`) on made-up evaluations: which step each rule picks."""
import importlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def replay(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    yield importlib.import_module("copy_rule_replay")
    for name in ("copy_rule_replay", "emoji_few_shot_cells", "few_shot_cells"):
        sys.modules.pop(name, None)


def _evaluation(step, copy_z, diversity, shot_kid=0.0):
    return {"epoch": step // 100, "step": step, "copy_z": copy_z, "copy_ratio": 1.0, "intra_diversity": diversity,
            "shot_kid": shot_kid}


def test_most_diverse_passing_skips_copying_evaluations_and_takes_the_latest_of_equals(replay):
    rule = replay.RULES["most diverse passing (z >= -2)"]
    evaluations = [_evaluation(100, 0.0, 0.8), _evaluation(200, -3.0, 0.9),  # the most diverse one copies
                   _evaluation(300, 0.0, 0.8), _evaluation(400, 0.0, 0.7)]
    assert replay.replay(evaluations, **rule) == (300, None)
    assert replay.replay(evaluations, **replay.RULES["latest passing (z >= -2, shipped)"]) == (400, None)


def test_colour_runs_are_the_ten_shot_records_with_evaluations_newest_first(replay, tmp_path, monkeypatch):
    selection = [_evaluation(100, 0.0, 0.8)]
    rows = [{"target": "cross-style", "method": "default", "seed": 0, "shots": 10, "selection": selection,
             "curve": [{"steps": 100, "kid": 0.2}], "kid": 0.3},
            {"target": "cross-style", "method": "default", "seed": 0, "shots": 10, "selection": selection,
             "curve": [{"steps": 100, "kid": 0.1}], "kid": 0.1},  # a re-run of the same cell
            {"target": "cross-style", "method": "scratch", "seed": 0, "shots": 10, "curve": []},  # chose nothing
            {"target": "cross-style", "method": "default", "seed": 0, "shots": 100, "selection": selection,
             "curve": [{"steps": 100, "kid": 0.2}]}]
    path = tmp_path / "emoji_few_shot.jsonl"
    path.write_text("\n".join(map(json.dumps, rows)))
    monkeypatch.setattr(replay, "COLOUR_RESULTS", path)
    runs = replay.colour_runs()
    assert list(runs) == [("cross-style default", 0)]
    assert runs[("cross-style default", 0)]["kid"] == 0.1
