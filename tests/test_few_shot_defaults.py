"""The defaults a few-shot transfer resolves (kgantl.run_defaults): the copy check, `eval_every`, the recipe."""
import pytest

from kgantl.training import resolve_training
from tests.test_training import _options


def test_copy_check_is_auto_on_for_few_shot_transfer_only(tmp_path, tiny_npz, tiny_source):
    few = resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=10, eval_every=None))
    assert few.options.copy_check == "on" and few.options.eval_every == 0 and few.reference is None
    many = resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), eval_every=None))
    assert many.options.copy_check == "on"  # 20 images per class is still few (at most 30)
    scratch = resolve_training(_options(tmp_path, tiny_npz, shots=10))
    assert scratch.options.copy_check == "off" and scratch.options.eval_every == 0
    asked = resolve_training(_options(tmp_path, tiny_npz, shots=10, copy_check="on"))
    assert asked.options.copy_check == "on"
    off = resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=10, copy_check="off",
                                    eval_every=None))
    assert off.options.eval_every == 1 and off.reference is not None  # the held-out val_kid, as before


def test_a_few_shot_transfer_takes_the_recipe_the_benchmark_file_backs(tmp_path, tiny_npz, tiny_source,
                                                                       monkeypatch):
    # kgantl/measured.json is the one place the few-shot recipe comes from; unset options only.
    monkeypatch.setattr("kgantl.run_defaults.few_shot_recipe", lambda: {"strategy": "freeze_d:1",
                                                                     "diffaugment": "translation"})
    few = resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=10))
    assert (few.options.strategy, few.options.diffaugment) == ("freeze_d:1", "translation")
    given = resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=10, strategy="finetune",
                                      diffaugment=""))
    assert (given.options.strategy, given.options.diffaugment) == ("finetune", "")


def test_the_copy_check_is_refused_on_a_cluster(tmp_path, tiny_npz, tiny_source):
    with pytest.raises(ValueError, match="the copy check stops training on the chief alone"):
        resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=10, copy_check="on",
                                  distribute="multiworker", run_dir=str(tmp_path / "r")))


def test_a_run_with_at_most_five_images_says_what_the_copy_check_can_see(tmp_path, tiny_npz, tiny_source, caplog):
    with caplog.at_level("WARNING", logger="kgantl"):
        resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=2, eval_every=None))
    assert "with 4 training images the copy check flags outright copying but misses about a third" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="kgantl"):
        resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=10, eval_every=None))
    assert "the copy check flags" not in caplog.text


def test_too_few_images_for_the_copy_check_turn_auto_off_with_a_warning(tmp_path, tiny_npz, tiny_source, caplog):
    with caplog.at_level("WARNING", logger="kgantl"):
        two = resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=1, eval_every=None))
    assert two.options.copy_check == "off" and two.options.eval_every == 0 and two.reference is None
    assert "with 2 training images the copy check cannot run (it needs at least 3" in caplog.text
    with pytest.raises(ValueError, match="the copy check needs at least 3 training images"):
        resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=1, copy_check="on"))
