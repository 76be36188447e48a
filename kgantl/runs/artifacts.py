"""One way in for trained models: a GAN from a path, and a sampler from anything that makes images.

Every module that accepts "a model" as a path (`evaluate`, `generate`, `export`, transfer sources, the
generated-data pipeline, the advisor) opens it here, so the rules live in one place:

- a `.keras` file;
- a folder holding `model.keras` (a `saved_models/<name>` folder or a finished run directory);
- a run directory whose newest state is a checkpoint (an unfinished or extended run): the GAN is rebuilt
  from the architecture the run wrote when it started (`architecture.json`) and the checkpoint restored;
- for sampling only, an exported SavedModel folder (`saved_model.pb`, signature `serve`).
"""
import json
from pathlib import Path

import keras
import numpy as np

from kgantl.callbacks.checkpoint import LATEST, restore_checkpoint
from kgantl.export import EXPORT_INFO_FILE
from kgantl.io import write_json
from kgantl.models.gan import check_labels
from kgantl.models.sampler import KerasGenerator, as_sampler
from kgantl.runs.folder import ARCHITECTURE_FILE, CHECKPOINTS, MODEL_FILE, OPTIONS_FILE
from kgantl.shipped import resolve_model_path


def model_file(path):
    """`path` itself, or `path/model.keras` when `path` is a folder holding one (e.g. `saved_models/<name>`).

    Example:
        >>> model_file("saved_models/fmnist-0-4-backbone")
        PosixPath('saved_models/fmnist-0-4-backbone/model.keras')
    """
    path = resolve_model_path(path)
    return path / MODEL_FILE if path.is_dir() and (path / MODEL_FILE).is_file() else path


def save_architecture(gan, run_dir):
    """Write `architecture.json` (the GAN's Keras config and compile config) so checkpoints can be loaded alone.

    Training writes it when a run starts; `load_gan` uses it for a run directory whose newest state is a
    checkpoint.
    """
    write_json(Path(run_dir) / ARCHITECTURE_FILE, {"model": keras.saving.serialize_keras_object(gan),
                                                   "compile": gan.get_compile_config()})


def _from_checkpoint(run_dir):
    import kgantl

    kgantl.register_serializable_classes()
    saved = json.loads((run_dir / ARCHITECTURE_FILE).read_text())
    gan = keras.saving.deserialize_keras_object(saved["model"])
    gan.compile_from_config(saved["compile"])
    restore_checkpoint(gan, run_dir / CHECKPOINTS, cleanup=False)  # the run may still be writing one
    return gan


def _load_keras_file(path):
    """`keras.saving.load_model` with a message naming the file when it is not a whole `.keras` archive."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()  # reads every member: a truncated copy fails here or names a member
        if broken is not None:
            raise zipfile.BadZipFile(f"member {broken} is damaged")
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ValueError(f"{path} is not a whole .keras file (a zip archive): it is truncated or corrupt "
                         f"({error}). Copy or save it again.") from None
    return keras.saving.load_model(path)


def load_gan(path):
    """Load a trained GAN from a `.keras` file, a folder holding `model.keras`, or a run directory.

    A run directory gives its final `model.keras`, or, when its checkpoints are newer (an unfinished or
    extended run), the GAN of its newest checkpoint.

    Args:
        path: `.keras` file, `saved_models/<name>` folder, run directory, or the name of a shipped model
            (`source-fmnist-0-4`), found as `kgantl.shipped` says.

    Returns:
        The `GAN` / `ConditionalGAN` (compiled when it was saved compiled).

    Example:
        >>> gan = load_gan("source-fmnist-0-4")
    """
    import kgantl

    kgantl.register_serializable_classes()  # a user may never have imported the modules that define them
    path = resolve_model_path(path)
    if path.is_file() and path.suffix == ".keras":
        return _load_keras_file(path)
    latest, final = path / CHECKPOINTS / LATEST, path / MODEL_FILE
    checkpoint_is_newer = latest.is_file() and (not final.is_file() or final.stat().st_mtime < latest.stat().st_mtime)
    if path.is_dir() and checkpoint_is_newer:
        if not (path / ARCHITECTURE_FILE).is_file():
            raise FileNotFoundError(f"The run directory's newest state is a checkpoint, but it has no "
                                    f"{ARCHITECTURE_FILE} (written by kgantl 0.1.0 or earlier): run its training "
                                    f"command again to finish it. Received: {path}")
        return _from_checkpoint(path)
    if path.is_dir() and final.is_file():
        return _load_keras_file(final)
    if path.is_dir() and (path / OPTIONS_FILE).is_file():
        raise FileNotFoundError(f"The run directory has no checkpoint yet. Received: {path}")
    raise FileNotFoundError(f"A model must be a .keras file, a folder holding model.keras or a kgantl run "
                            f"directory. Received: {path}")


class SavedModelGenerator:
    """An exported SavedModel (signature `serve`) seen as a sampler; needs neither the GAN nor its weights file.

    The class ids come from `kgantl_generator.json` beside `saved_model.pb` (written by
    `kgantl.export_generator`); without it, any label the SavedModel accepts is allowed.
    """

    def __init__(self, path):
        import tensorflow as tf

        self.path = Path(path)
        if not (self.path / "variables" / "variables.index").is_file():
            raise ValueError(f"SavedModel {self.path} has no variables/variables.index: it was copied without its "
                             f"variables/ folder or only in part. Export it again (kgantl export) or copy the whole "
                             f"folder.")
        try:
            self._serve = tf.saved_model.load(str(self.path)).signatures["serve"]
        except (tf.errors.OpError, OSError) as error:
            message = getattr(error, "message", str(error)).splitlines()[0]
            raise ValueError(f"SavedModel {self.path} cannot be loaded: {message}") from None
        inputs = self._serve.structured_input_signature[1]
        self.network = None
        self.latent_dim = int(inputs["noise"].shape[-1])
        self.image_shape = tuple(int(d) for d in self._serve.structured_outputs["images"].shape[1:])
        info_path = self.path / EXPORT_INFO_FILE
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        self.conditional = "labels" in inputs
        self.class_ids = info.get("class_ids") if self.conditional else None

    def generate(self, noise, labels=None):
        import tensorflow as tf

        labels = check_labels(labels, len(noise), self.class_ids, self.conditional)  # no class list: trusted
        inputs = {"noise": tf.constant(np.asarray(noise, np.float32))}
        if labels is not None:
            inputs["labels"] = tf.constant(labels)
        try:
            return self._serve(**inputs)["images"].numpy()
        except tf.errors.InvalidArgumentError as error:  # e.g. a label beyond the embedding
            raise ValueError(f"The SavedModel rejected the inputs: {error.message.splitlines()[0]}") from None


def open_generator(source):
    """A sampler with `generate(noise, labels=None)`, `latent_dim`, `image_shape`, `conditional` and `class_ids`.

    Args:
        source: a `GAN`, a sampler already opened, a `.keras` file, a folder holding `model.keras`, a run
            directory, or an exported SavedModel folder.

    Returns:
        `KerasGenerator` or `SavedModelGenerator` (a sampler passed in is returned as it is).

    Example:
        >>> sampler = open_generator("runs/00003-shots")
        >>> images = sampler.generate(np.random.default_rng(0).standard_normal((16, sampler.latent_dim)), labels=7)
    """
    sampler = as_sampler(source)
    if sampler is not None:
        return sampler
    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        path = resolve_model_path(source)
        if (path / "saved_model.pb").is_file():
            return SavedModelGenerator(path)
        return KerasGenerator(load_gan(path))
    raise ValueError(f"A generator must be a kgantl GAN, a .keras file, a run directory or a SavedModel folder. "
                     f"Received: {type(source).__name__}")


__all__ = ["KerasGenerator", "SavedModelGenerator", "load_gan", "model_file", "open_generator",
           "save_architecture"]
