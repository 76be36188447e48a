"""The images a run trained on, as its `options.json` names them: the data spec, the n-shot rule's count and seed,
and the image size and channels the run converted them to. `kgantl evaluate RUN` checks near-copies against them.
"""
import dataclasses
import json
from pathlib import Path
from typing import Optional

from kgantl.runs.folder import OPTIONS_FILE


@dataclasses.dataclass(frozen=True)
class TrainingShots:
    """Which images a generator learned from: `load_arrays(data, shots=shots, seed=seed)`, converted to
    `image_size` and `channels` where the run did (None: as loaded).

    The n-shot subset as the run selected it, so it includes the images a run held out of it for `val_kid` (at most
    `val_per_class` per class, none unless `eval_every` was on without `eval_ref`): the same set
    `kgantl evaluate --train-data DATA --shots N --shots-seed SEED` gives.

    Attributes:
        data: the data spec (a transfer run's target).
        shots: images per class by the n-shot rule (None: all).
        seed: the n-shot rule's seed (the run's `seed`).
        image_size: the side the run trained at, or None to keep the images' size.
        channels: the channels the run trained with, or None to keep the images'.
        options_file: the run's `options.json` these were read from; None when given by hand.

    Example:
        >>> shots = training_shots("runs/00003-fashion_mnist_7")
        >>> shots.describe()
        '10 shots of fashion_mnist:7, seed 0'
    """

    data: str
    shots: Optional[int] = None
    seed: int = 0
    image_size: Optional[int] = None
    channels: Optional[int] = None
    options_file: Optional[Path] = None

    def describe(self):
        """`10 shots of fashion_mnist:7, seed 0`, or `images of fashion_mnist:7 (all of them)`: without shots the
        seed picks nothing."""
        return f"{self.shots} shots of {self.data}, seed {self.seed}" if self.shots else \
            f"images of {self.data} (all of them)"

    def to_dict(self):
        """The fields as JSON types (what an evaluation report stores)."""
        return {**dataclasses.asdict(self), "options_file": self.options_file and str(self.options_file)}

    def load(self):
        """The images, pixels in [0, 255] (N, H, W, C), at the run's image size and channels.

        Raises:
            ValueError: the data cannot be loaded (moved, or a spec this machine lacks); read from a run, the
                message names its `options.json`.
        """
        import numpy as np

        from kgantl.data import load_arrays
        from kgantl.data.pipeline import to_model_range

        try:
            images = load_arrays(self.data, shots=self.shots, seed=self.seed).images
        except (FileNotFoundError, ValueError) as error:
            if self.options_file is None:
                raise
            raise ValueError(f"the run's training data cannot be loaded here ({self.options_file} says "
                             f"data={self.data!r}): {error}") from None
        size = (self.image_size or images.shape[1], self.image_size or images.shape[2])
        wanted = (*size, self.channels or images.shape[3])
        if tuple(images.shape[1:]) == wanted:  # as loaded: no float round trip
            return images
        # The run's own conversion (resize, colour, alpha dropped): the pixels its discriminator saw.
        return (np.asarray(to_model_range(images, size, self.channels)) + 1.0) * 127.5


def run_folder_of(path):
    """The run folder `path` is, or lies directly in (its `model.keras`, `best.keras`, ...); None when neither
    holds an `options.json` (a bare .keras file, a SavedModel, a file of images)."""
    path = Path(path)
    return next((folder for folder in (path, path.parent) if folder.is_dir() and (folder / OPTIONS_FILE).is_file()),
                None)


def training_shots(path):
    """The images the run at `path` (a run folder, or a model file in one) trained on, from its `options.json`.

    Args:
        path: what `kgantl evaluate` was given: a run folder, a file or folder in one, or anything else.

    Returns:
        `TrainingShots` with the run's `data`, `shots`, `seed`, `image_size` and `channels` (a transfer run's
            `data` is its target), or None when `path` is not in a run folder (`run_folder_of`).

    Raises:
        ValueError: the `options.json` cannot be read as a run's options (the message names it).

    Example:
        >>> training_shots("runs/00003-fashion_mnist_7").describe()
        '10 shots of fashion_mnist:7, seed 0'
    """
    from kgantl.config import TrainOptions

    folder = run_folder_of(path)
    if folder is None:
        return None
    options_file = folder / OPTIONS_FILE
    try:
        values = json.loads(options_file.read_text())
        if not isinstance(values, dict):
            raise ValueError(f"it holds a JSON {type(values).__name__}, not an object of options")
        options = TrainOptions.from_dict(values)
    except (OSError, ValueError) as error:  # also JSON syntax, unknown options and values of the wrong type
        raise ValueError(f"{options_file} cannot be read as a run's options: {error}") from None
    return TrainingShots(options.data, options.shots, options.seed, options.image_size, options.channels,
                         options_file)
