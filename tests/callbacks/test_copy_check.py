import json

import numpy as np
import pytest

from kgantl.callbacks.copy_check import (CopyAwareSelection, CopyMonitor, choose, copying_set_in, passes,
                                         read_selection)


def _record(epoch, copy_z, shot_kid, copy_ratio=1.0):
    return {"epoch": epoch, "copy_z": copy_z, "copy_ratio": copy_ratio, "shot_near_copy": 0.0,
            "intra_diversity": 0.5, "shot_kid": shot_kid}


def test_the_rule_takes_the_latest_evaluation_that_passes_the_copy_test_whatever_its_kid():
    records = [_record(1, 4.0, 1.0), _record(2, 0.5, 0.3), _record(3, -3.0, 0.1), _record(4, -2.0, 0.4, 0.7)]
    assert [passes(r) for r in records] == [True, True, False, True]  # 3: copy_z below -2
    assert choose(records)["epoch"] == 4  # passes at exactly -2, though epoch 2 and 3 have lower shot_kid
    assert choose(records[:3])["epoch"] == 2  # a failing evaluation never becomes the choice while one passes
    assert choose([_record(1, -5.0, 0.1), _record(2, -2.5, 0.2)])["epoch"] == 2  # none pass: the least copying
    assert choose([]) is None


def test_a_sample_set_closer_to_the_shots_than_half_their_spacing_fails_whatever_its_copy_z():
    assert not passes(_record(1, 0.3, 0.1, copy_ratio=0.49))  # copy_z has no power at 3 shots; the ratio does
    assert passes(_record(1, 0.3, 0.1, copy_ratio=0.5))
    assert passes({"epoch": 1, "copy_z": 0.3, "shot_kid": 0.1})  # a record written before the ratio counted


def test_copying_has_set_in_after_patience_failures_that_follow_a_pass():
    passing, failing = _record(1, 1.0, 0.5), _record(2, -4.0, 0.1)
    assert not copying_set_in([failing, failing, failing], patience=2)  # never passed: nothing to fall back to
    assert not copying_set_in([passing, failing], patience=2)
    assert copying_set_in([passing, failing, failing], patience=2)
    assert not copying_set_in([passing, failing, passing, failing], patience=2)


class _Model:
    """Stands in for a GAN: records saves and stop requests."""

    def __init__(self):
        self.saved, self.stop_training = [], False

    def save(self, path):
        self.saved.append(path)
        open(path, "w").write(str(len(self.saved)))


def _logs(copy_z, shot_kid):
    return {"d_loss": 0.7, **{k: v for k, v in _record(0, copy_z, shot_kid).items() if k != "epoch"}}


def test_selection_saves_the_chosen_model_records_every_evaluation_and_stops(tmp_path):
    selection = CopyAwareSelection(tmp_path, steps_per_epoch=50, patience=2)
    model = _Model()
    selection.set_model(model)
    scripted = [(3.0, 0.9), (1.0, 0.4), None, (-3.0, 0.1), (-4.0, 0.05)]  # epoch 3 has no evaluation
    for epoch, scores in enumerate(scripted):
        selection.on_epoch_end(epoch, _logs(*scores) if scores else {"d_loss": 0.7})
    state = read_selection(tmp_path)
    assert [r["epoch"] for r in state["evaluations"]] == [1, 2, 4, 5]
    assert state["evaluations"][1]["step"] == 100 and state["chosen_epoch"] == 2 and state["chosen_step"] == 100
    assert state["stopped_epoch"] == 5 and model.stop_training
    assert len(model.saved) == 2 and (tmp_path / "best.keras").read_text() == "2"  # saved at epochs 1 and 2
    assert "copy_z >= -2" in state["rule"]


def test_a_resumed_selection_forgets_evaluations_after_its_checkpoint(tmp_path):
    first = CopyAwareSelection(tmp_path, patience=0)
    first.set_model(_Model())
    for epoch, scores in enumerate([(3.0, 0.9), (1.0, 0.4), (0.5, 0.2)]):
        first.on_epoch_end(epoch, _logs(*scores))
    resumed = CopyAwareSelection(tmp_path, patience=0, initial_epoch=2)
    assert [r["epoch"] for r in resumed.records] == [1, 2]
    with pytest.raises(ValueError, match="patience must be >= 0"):
        CopyAwareSelection(tmp_path, patience=-1)


def test_the_monitor_scores_when_an_epoch_crosses_its_interval():
    monitor = CopyMonitor(np.zeros((4, 8, 8, 1)), steps_per_epoch=30, every_steps=100)
    assert [epoch for epoch in range(10) if monitor.due(epoch)] == [3, 6, 9]  # steps 120, 210, 300
    with pytest.raises(ValueError, match="needs at least 3 shots"):
        CopyMonitor(np.zeros((2, 8, 8, 1)))
