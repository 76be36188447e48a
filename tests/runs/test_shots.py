"""The images a run trained on, read from its options.json: which run folders have them, and the images themselves."""
import json

import numpy as np
import pytest

from kgantl.config import TrainOptions
from kgantl.data import load_arrays
from kgantl.data.pipeline import make_dataset
from kgantl.runs.shots import TrainingShots, run_folder_of, training_shots


def _run_folder(tmp_path, data, **options):
    """A run folder holding only what `training_shots` reads: options.json (and a stand-in model file)."""
    folder = tmp_path / "run"
    folder.mkdir()
    TrainOptions(data=str(data), run_dir=str(folder), **options).to_json(folder / "options.json")
    (folder / "model.keras").write_bytes(b"")
    return folder


def test_a_run_folder_and_the_model_files_in_it_name_the_runs_shots(tmp_path, tiny_npz):
    folder = _run_folder(tmp_path, tiny_npz, shots=3, seed=2, image_size=16, channels=1)
    expected = TrainingShots(str(tiny_npz), 3, 2, 16, 1, folder / "options.json")
    assert training_shots(folder) == training_shots(folder / "model.keras") == expected
    assert expected.describe() == f"3 shots of {tiny_npz}, seed 2"
    assert TrainingShots(str(tiny_npz)).describe() == f"images of {tiny_npz} (all of them)"


def test_a_model_outside_a_run_folder_has_no_shots(tmp_path, tiny_npz):
    (tmp_path / "bare.keras").write_bytes(b"")
    (tmp_path / "saved").mkdir()
    for path in (tmp_path / "bare.keras", tmp_path / "saved", tiny_npz):
        assert run_folder_of(path) is None and training_shots(path) is None


@pytest.mark.parametrize("text, reason", [
    ("{", "Expecting property name"),
    ("[1]", "it holds a JSON list, not an object of options"),
    ('{"data": "x.npz", "shots": "10"}', "shots must be an integer"),
    ('{"data": "x.npz", "shot": 10}', "Unknown training options: shot"),
])
def test_an_unreadable_options_file_is_named(tmp_path, tiny_npz, text, reason):
    folder = _run_folder(tmp_path, tiny_npz)
    (folder / "options.json").write_text(text)
    with pytest.raises(ValueError, match=f"^{folder / 'options.json'} cannot be read as a run's options: {reason}"):
        training_shots(folder)


def test_the_shots_load_as_the_run_selected_them_and_at_its_size_and_channels(tmp_path, tiny_npz):
    selected = load_arrays(str(tiny_npz), shots=3, seed=2).images
    as_loaded = TrainingShots(str(tiny_npz), 3, 2, image_size=16, channels=1).load()
    np.testing.assert_array_equal(as_loaded, selected)  # the same images, not a float round trip of them
    converted = TrainingShots(str(tiny_npz), 3, 2, image_size=8, channels=3).load()
    assert converted.shape == (6, 8, 8, 3) and 0 <= converted.min() and converted.max() <= 255
    # What a run at 8 px in colour feeds its discriminator (in [-1, 1]), in pixels.
    fed = next(iter(make_dataset(load_arrays(str(tiny_npz), shots=3, seed=2), image_size=8, channels=3,
                                 batch_size=6, shuffle=False)))
    np.testing.assert_allclose(converted, (fed.numpy() + 1.0) * 127.5, atol=1e-3)


def test_data_a_run_names_that_is_gone_is_reported_with_its_options_file(tmp_path, tiny_npz):
    folder = _run_folder(tmp_path, tmp_path / "moved.npz", shots=3)
    with pytest.raises(ValueError, match=f"the run's training data cannot be loaded here \\({folder / 'options.json'} "
                                         f"says data='{tmp_path / 'moved.npz'}'\\): Data file does not exist"):
        training_shots(folder).load()
    with pytest.raises(FileNotFoundError):  # given by hand: the loader's own error
        TrainingShots(str(tmp_path / "moved.npz")).load()
    assert json.loads((folder / "options.json").read_text())["shots"] == 3  # read, never rewritten
