"""Writes the run folder that tests/runs/test_old_runs.py resumes: a tiny transfer with maskd and adapters, one
epoch, written by kgantl as it was before the package was reorganised (commit c616a53: `kgantl.transfer.
memorisation_guards`, `kgantl.models.loading`, `kgantl.runs` as a module).

Run it with that version on the path, from this folder:

    git worktree add /tmp/kgantl-c616a53 c616a53
    PYTHONPATH=/tmp/kgantl-c616a53 python make.py

It writes `tiny.npz` (the target), `source/model.keras` and `run/` (model files, checkpoints, options.json,
architecture.json; the sample grids and metrics log are removed to keep the fixture small).
"""
import shutil
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OPTIONS = dict(shots=None, seed=0, strategy="maskd+adapters", epochs=1, steps_per_epoch=2, batch_size=8,
               eval_every=0, copy_check="off", diffaugment="translation", jit_compile="off")


def main():
    from kgantl.config import TrainOptions
    from kgantl.export import export_keras
    from kgantl.models import GAN, build_discriminator, build_generator
    from kgantl.training import train

    rng = np.random.default_rng(0)
    np.savez(HERE / "tiny.npz", images=rng.integers(0, 256, (40, 16, 16, 1)).astype(np.uint8),
             labels=np.arange(40) % 2)
    gan = GAN(build_generator(16, 1, 8, width=4, seed=0), build_discriminator(16, 1, width=4, seed=1))
    export_keras(gan, HERE / "source" / "model.keras")
    shutil.rmtree(HERE / "run", ignore_errors=True)
    train(TrainOptions(data=str(HERE / "tiny.npz"), source=str(HERE / "source" / "model.keras"),
                       run_dir=str(HERE / "run"), **OPTIONS), verbose=0)
    for name in ("samples", "metrics.jsonl", ".lock", "saved_model"):
        path = HERE / "run" / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
