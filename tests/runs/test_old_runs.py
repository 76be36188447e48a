"""A run folder written before the package was reorganised (commit c616a53) opens and resumes after it.

The fixture in `old_run/` (made by `old_run/make.py` with that version) is a tiny transfer with `maskd` and
`adapters`: its `architecture.json` names the wrappers' old module, `kgantl.transfer.memorisation_guards`.
"""
import json
import shutil
from pathlib import Path

import numpy as np

from kgantl.config import TrainOptions
from kgantl.runs.artifacts import load_gan, open_generator
from kgantl.training import train

OLD_RUN = Path(__file__).resolve().parent / "old_run"


def _copied(tmp_path):
    """The fixture in tmp_path, its options.json pointing at the copied data and source."""
    folder = tmp_path / "old_run"
    shutil.copytree(OLD_RUN, folder, ignore=shutil.ignore_patterns("make.py"))
    options_path = folder / "run" / "options.json"
    options = json.loads(options_path.read_text())
    options.update(data=str(folder / "tiny.npz"), source=str(folder / "source" / "model.keras"),
                   run_dir=str(folder / "run"))
    options_path.write_text(json.dumps(options))
    return folder, options


def test_the_old_run_names_the_old_module():
    assert "kgantl.transfer.memorisation_guards" in (OLD_RUN / "run" / "architecture.json").read_text()


def test_an_old_finished_run_opens_and_samples(tmp_path):
    folder, _ = _copied(tmp_path)
    sampler = open_generator(folder / "run")
    images = sampler.generate(np.random.default_rng(0).standard_normal((4, sampler.latent_dim)))
    assert images.shape == (4, 16, 16, 1) and np.all(np.abs(images) <= 1)
    layers = {type(layer).__name__ for layer in load_gan(folder / "run").discriminator.layers}
    assert "FeatureMask" in layers


def test_an_old_run_extended_by_an_epoch_resumes_from_its_checkpoint(tmp_path):
    folder, options = _copied(tmp_path)
    before = load_gan(folder / "run").generator.get_weights()
    history, run_dir = train(TrainOptions.from_dict({**options, "epochs": 2}), verbose=0)
    assert run_dir == folder / "run"
    assert history.epoch == [1]  # epoch 1 came from the old checkpoint: only the second one trained
    after = load_gan(run_dir).generator.get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    assert json.loads((run_dir / "checkpoints" / "latest.json").read_text())["epoch"] == 2


def test_an_old_transfer_left_without_eval_every_resumes_as_it_ran(tmp_path):
    # Its code left eval_every unset when Python's default was 0; kgantl's rule now gives 1 for a transfer whose copy
    # check is off (a held-out fifth for val_kid). The trained folder's recorded 0 is kept, so it is not refused.
    folder, options = _copied(tmp_path)
    unset = TrainOptions.from_dict({k: v for k, v in options.items() if k not in ("eval_every", "val_per_class")})
    history, run_dir = train(unset, verbose=0)
    assert run_dir == folder / "run" and history is None  # its one epoch was trained: only the saving was left
    assert json.loads((run_dir / "options.json").read_text())["eval_every"] == 0
