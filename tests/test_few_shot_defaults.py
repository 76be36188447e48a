"""The defaults a few-shot transfer resolves (kgantl.run_defaults): the copy check, `eval_every`, the recipe."""
import pytest

from kgantl import measured
from kgantl.training import resolve_training
from tests.conftest import save_tiny_source, write_tiny_npz
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
    monkeypatch.setattr("kgantl.run_defaults.few_shot_recipe", lambda channels=1: {"strategy": "freeze_d:1",
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
    # the copy check turned off by hand: nor does an unset eval_every hold out a fifth of 2 images for val_kid
    off = resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=1, copy_check="off",
                                    eval_every=None))
    assert off.options.eval_every == 0 and off.reference is None


# A colour measurement the tests put in kgantl/measured.json's place: unlike the grey values (finetune,
# color,translation,cutout; finetune above FEW_SHOTS images), so a test sees which one a run took.
COLOUR = {"few_shots": {"strategy": "freeze_d:1", "diffaugment": "translation", "steps": 500}, "default": "freeze_d:1"}


@pytest.fixture
def tiny_colour_npz(tmp_path):
    """80 random 16x16 colour images with labels 0/1: 40 a class, above FEW_SHOTS unless `shots` is given."""
    return write_tiny_npz(tmp_path / "tiny_colour.npz", count=80, channels=3)


@pytest.fixture
def tiny_colour_source(tmp_path):
    """`tiny_source` in colour: a tiny untrained 16x16 three-channel source GAN saved as .keras."""
    return save_tiny_source(tmp_path / "colour-source", channels=3)


def _file_with(monkeypatch, colour):
    """kgantl/measured.json as shipped, with `colour` as its colour entry (None: none)."""
    shipped = {key: value for key, value in measured.measured().items() if key != "colour"}
    monkeypatch.setattr(measured, "measured", lambda: {**shipped, **({"colour": colour} if colour else {})})


def _recipe(run):
    return run.options.strategy, run.options.diffaugment


def test_a_colour_run_takes_the_colour_recipe_once_measured(tmp_path, tiny_npz, tiny_source, tiny_colour_npz,
                                                            tiny_colour_source, monkeypatch, caplog):
    _file_with(monkeypatch, COLOUR)
    with caplog.at_level("INFO", logger="kgantl"):
        # a grey source expanded to colour and a grey target repeated to three channels: both train in colour
        expanded = resolve_training(_options(tmp_path, tiny_colour_npz, source=str(tiny_source), shots=10))
        repeated = resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_colour_source), shots=10))
    assert _recipe(expanded) == _recipe(repeated) == ("freeze_d:1", "translation") and expanded.options.channels == 3
    assert "colour run: the colour benchmark's few-shot recipe (strategy freeze_d:1, diffaugment translation)" \
        in caplog.text  # the tests' runs give a budget (2 epochs)
    above = resolve_training(_options(tmp_path, tiny_colour_npz, source=str(tiny_colour_source)))
    assert _recipe(above) == ("freeze_d:1", "")  # above FEW_SHOTS images: the colour default, no augmentation
    grey = resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=10))
    assert _recipe(grey) == (measured.few_shot_recipe()["strategy"], measured.few_shot_recipe()["diffaugment"])


def test_a_colour_few_shot_run_with_no_budget_takes_the_colour_recipes(tmp_path, tiny_npz, tiny_source,
                                                                      tiny_colour_npz, tiny_colour_source,
                                                                      monkeypatch, caplog):
    _file_with(monkeypatch, COLOUR)

    def resolved(data, source, **budget):
        options = _options(tmp_path, data, source=str(source), **{"epochs": None, "steps_per_epoch": None, **budget})
        return resolve_training(options).options

    with caplog.at_level("INFO", logger="kgantl"):
        few = resolved(tiny_colour_npz, tiny_colour_source, shots=10)
    assert (few.steps, few.epochs, few.steps_per_epoch) == (500, 10, 50)  # the colour recipe's budget, whole epochs
    assert "few-shot recipe (strategy freeze_d:1, diffaugment translation, steps 500)" in caplog.text
    assert resolved(tiny_colour_npz, tiny_colour_source, shots=10, steps=300).steps == 300  # a budget given stays
    assert resolved(tiny_colour_npz, tiny_colour_source, shots=10, epochs=3).epochs == 3
    # above FEW_SHOTS images, and any grey run: the grey budget
    assert resolved(tiny_colour_npz, tiny_colour_source).steps == measured.step_budget()
    assert resolved(tiny_npz, tiny_source, shots=10).steps == measured.step_budget()


def test_a_colour_run_takes_the_grey_recipe_and_says_so_until_colour_is_measured(
        tmp_path, tiny_npz, tiny_source, tiny_colour_npz, tiny_colour_source, monkeypatch, caplog):
    _file_with(monkeypatch, None)
    grey = measured.few_shot_recipe()
    with caplog.at_level("INFO", logger="kgantl"):
        few = resolve_training(_options(tmp_path, tiny_colour_npz, source=str(tiny_colour_source), shots=10))
    assert _recipe(few) == (grey["strategy"], grey["diffaugment"])
    assert (f"no colour measurement yet: the Fashion-MNIST benchmark's few-shot recipe (strategy {grey['strategy']}, "
            f"diffaugment {grey['diffaugment']}), measured on grey images") in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="kgantl"):
        above = resolve_training(_options(tmp_path, tiny_colour_npz, source=str(tiny_colour_source)))
    assert above.options.strategy == measured.transfer_default()
    assert ("no colour measurement yet: the Fashion-MNIST benchmark's transfer default "
            f"(strategy {measured.transfer_default()})") in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="kgantl"):  # a grey run: the grey benchmark is its own, nothing to say
        resolve_training(_options(tmp_path, tiny_npz, source=str(tiny_source), shots=10))
        resolve_training(_options(tmp_path, tiny_colour_npz, source=str(tiny_colour_source), shots=10,
                                  strategy="finetune", diffaugment=""))  # nothing measured taken
    assert "benchmark's" not in caplog.text
