"""kgantl: Keras 3 GANs and transfer learning for when data is scarce.

The public names below are imported on first use, so `import kgantl` is fast and TensorFlow is only
loaded when a model, pipeline or option set is actually needed.
"""
import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "GAN": "kgantl.models",
    "ConditionalGAN": "kgantl.models",
    "build_generator": "kgantl.models",
    "build_discriminator": "kgantl.models",
    "DiffAugment": "kgantl.data",
    "load_arrays": "kgantl.data",
    "load_images": "kgantl.data",
    "select_shots": "kgantl.data",
    "TrainOptions": "kgantl.config",
    "train": "kgantl.training",
    "load_gan": "kgantl.training",
    "export_generator": "kgantl.export",
    "mix_real_and_generated": "kgantl.augment",
    "augment_experiment": "kgantl.augment",
    "AugmentSettings": "kgantl.augment",
}
__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'kgantl' has no attribute {name!r}")


def __dir__():
    return __all__
