"""kgantl: Keras 3 GANs and transfer learning for when data is scarce.

`import kgantl` registers kgantl's Keras classes (GAN, ConditionalGAN, DiffAugment, the KID/FID metrics,
the transfer layers and callbacks), so `keras.saving.load_model` opens kgantl models after it; the public
names below are imported on first use. The `kgantl` command line defers the registration to the commands
that load models, so `kgantl --help` answers without loading TensorFlow.
"""
import importlib
import sys
from pathlib import Path

from kgantl.lazy import lazy_exports

__version__ = "0.1.0"

_PUBLIC = {
    "GAN": "kgantl.models",
    "ConditionalGAN": "kgantl.models",
    "build_generator": "kgantl.models",
    "build_discriminator": "kgantl.models",
    "load_gan": "kgantl.runs.artifacts",
    "open_generator": "kgantl.runs.artifacts",
    "DiffAugment": "kgantl.data",
    "load_arrays": "kgantl.data",
    "load_images": "kgantl.data",
    "select_shots": "kgantl.data",
    "TrainOptions": "kgantl.config",
    "train": "kgantl.training",
    "export_generator": "kgantl.export",
    "mix_real_and_generated": "kgantl.synthetic",
    "augment_experiment": "kgantl.synthetic",
    "AugmentSettings": "kgantl.synthetic",
    "parse_strategy": "kgantl.transfer",
    "prepare_transfer": "kgantl.transfer",
    "build_classifier": "kgantl.classifier",
    "finetune_classifier": "kgantl.classifier",
    "FreezeSchedule": "kgantl.classifier",
    "show_progress": "kgantl.logs",
}
# The modules that define classes registered with `keras.saving.register_keras_serializable(package="kgantl")`.
SERIALIZABLE_MODULES = ("kgantl.data.augment", "kgantl.models.gan", "kgantl.models.conditional",
                        "kgantl.metrics.keras_metrics", "kgantl.classifier.model",
                        "kgantl.transfer.maskd", "kgantl.transfer.adapters", "kgantl.callbacks")
__all__ = sorted(_PUBLIC) + ["__version__", "register_serializable_classes"]
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)


def register_serializable_classes():
    """Register every kgantl Keras class, so `keras.saving.load_model` can rebuild kgantl models.

    `import kgantl` calls it (except in the `kgantl` command); calling it again costs nothing.
    """
    for module in SERIALIZABLE_MODULES:
        importlib.import_module(module)


def _started_by_the_command_line():
    # The `kgantl` console script imports this package before it reads a flag; it registers when a command
    # needs a model, so `kgantl --help` does not wait for TensorFlow.
    return bool(sys.argv) and Path(sys.argv[0]).stem in ("kgantl", "kgantl-script")


if not _started_by_the_command_line():
    register_serializable_classes()
