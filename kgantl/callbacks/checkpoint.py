"""Atomic per-epoch checkpoints and the restore that makes a killed run resumable.

A checkpoint is `epoch-NNNN.weights.h5` (generator, discriminator, EMA generator, both optimizers and
the augmentation probability: everything `model.save_weights` walks) plus `latest.json`, which names
the newest complete weights file, the epoch it ends, and the model's random-generator state. Both are
written to a temporary name and renamed, so a SIGKILL at any moment leaves the previous checkpoint
intact and referenced.
"""
import json
from pathlib import Path

import keras
import numpy as np

from kgantl.io import atomic_path, ensure_free, state_bytes, write_json

LATEST = "latest.json"


def save_checkpoint(model, directory, epoch_number, keep=2):
    """Write the checkpoint that ends `epoch_number` (1-based) and prune older ones.

    Args:
        model: a compiled `GAN` (or any model whose optimizers are attributes).
        directory: checkpoint folder.
        epoch_number: epochs completed.
        keep: number of newest weight files to keep.

    Returns:
        Path of the weights file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / f"epoch-{epoch_number:04d}.weights.h5"
    # An HDF5 write that fails halfway for lack of space can take the process down: check the space first, by the
    # size of the last checkpoint (or of the model's state, for the first).
    previous = sorted(directory.glob("epoch-*.weights.h5"))
    needed = previous[-1].stat().st_size if previous else state_bytes(model)
    ensure_free(weights, int(needed * 1.1) + 2**16, "the checkpoint")
    with atomic_path(weights) as tmp:
        model.save_weights(tmp)
    state = {"epoch": int(epoch_number), "weights": weights.name}
    seed_generator = getattr(model, "seed_generator", None)
    if seed_generator is not None:
        state["seed_state"] = np.asarray(seed_generator.state.value).tolist()
    write_json(directory / LATEST, state)
    for old in sorted(directory.glob("epoch-*.weights.h5"))[:-keep]:
        old.unlink()
    return weights


def latest_epoch(directory):
    """Epochs completed by the newest checkpoint in `directory` (0 if there is none)."""
    path = Path(directory) / LATEST
    return json.loads(path.read_text())["epoch"] if path.exists() else 0


def restore_checkpoint(model, directory, cleanup=True):
    """Load the newest complete checkpoint into a compiled model.

    Leftover temporary files of an interrupted write are removed first (with `cleanup`).

    Args:
        model: a compiled model of the same architecture (its optimizers built).
        directory: checkpoint folder.
        cleanup: remove leftover temporary files. Only the run that writes the folder may: a reader of
            a run still training would delete the checkpoint being written.

    Returns:
        Epochs completed (0 when there is no checkpoint: nothing is loaded).
    """
    directory = Path(directory)
    for partial in directory.glob("*.partial*") if cleanup else ():
        partial.unlink()
    path = directory / LATEST
    if not path.exists():
        return 0
    state = json.loads(path.read_text())
    model.load_weights(directory / state["weights"])
    seed_generator = getattr(model, "seed_generator", None)
    if seed_generator is not None and "seed_state" in state:
        seed_generator.state.assign(np.asarray(state["seed_state"], dtype=seed_generator.state.dtype))
    return int(state["epoch"])


class EpochCheckpoint(keras.callbacks.Callback):
    """Save an atomic checkpoint at the end of every epoch (see `save_checkpoint`).

    Args:
        directory: checkpoint folder, normally `<run>/checkpoints`.
        keep: newest weight files kept.

    Example:
        >>> start = restore_checkpoint(gan, "runs/x/checkpoints")
        >>> gan.fit(ds, epochs=10, initial_epoch=start, callbacks=[EpochCheckpoint("runs/x/checkpoints")])
    """

    def __init__(self, directory, keep=2):
        super().__init__()
        self.directory, self.keep = str(directory), int(keep)

    def get_config(self):
        return {"directory": self.directory, "keep": self.keep}

    def on_epoch_end(self, epoch, logs=None):
        save_checkpoint(self.model, self.directory, epoch + 1, self.keep)


class BestCheckpoint(keras.callbacks.Callback):
    """Keep `best.keras`: the model at the epoch with the lowest (or highest) value of a logged metric.

    Unlike `keras.callbacks.ModelCheckpoint`, the best value so far lives in `best.json` beside the
    model, so a resumed run does not overwrite a better model with a worse one, and both files are
    written atomically.

    Args:
        directory: folder for `best.keras` and `best.json` (normally the run directory).
        monitor: log key, e.g. `"val_kid"`; epochs without it are skipped.
        mode: `"min"` or `"max"`.

    Example:
        >>> gan.fit(ds, validation_data=test_ds, validation_freq=5, callbacks=[BestCheckpoint("runs/x")])
    """

    def __init__(self, directory, monitor="val_kid", mode="min"):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max'. Received: mode={mode!r}")
        self.directory, self.monitor, self.mode = str(directory), monitor, mode

    def get_config(self):
        return {"directory": self.directory, "monitor": self.monitor, "mode": self.mode}

    def best(self):
        """The best record so far (`{"epoch", monitor}`), or None."""
        path = Path(self.directory) / "best.json"
        return json.loads(path.read_text()) if path.exists() else None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value):
            return
        record = self.best()
        if record is not None:
            better = value < record[self.monitor] if self.mode == "min" else value > record[self.monitor]
            if not better:
                return
        directory = Path(self.directory)
        directory.mkdir(parents=True, exist_ok=True)
        with atomic_path(directory / "best.keras") as tmp:
            self.model.save(tmp)
        write_json(directory / "best.json", {"epoch": epoch + 1, self.monitor: float(value)})
