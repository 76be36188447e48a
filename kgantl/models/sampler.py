"""A trained GAN seen as a sampler: the one interface everything that draws images uses.

A sampler has `generate(noise, labels=None)` (images in [-1, 1]), `latent_dim`, `image_shape`, `conditional`
and `class_ids`. `KerasGenerator` makes one of a `GAN`; `kgantl.runs.artifacts.open_generator` opens one from a
path (a `.keras` file, a run directory, an exported SavedModel).
"""
import numpy as np

from kgantl.models.gan import GAN, check_labels

SAMPLER_ATTRIBUTES = ("generate", "latent_dim", "conditional", "class_ids")


class KerasGenerator:
    """A trained kgantl GAN seen as a sampler: `generate(noise, labels=None)` with its EMA generator.

    Attributes:
        gan: the `GAN`.
        network: the sampling Keras model (`noise` or `[noise, labels]` -> images in [-1, 1]).
        latent_dim, image_shape: noise size and `(H, W, C)` of the images.
        conditional: whether the network takes labels.
        class_ids: classes the model was trained on (None: unconditional, or a user's conditional generator
            whose classes kgantl cannot tell: then any label is passed on).
    """

    def __init__(self, gan):
        self.gan = gan
        self.network = gan.sampler
        self.latent_dim = int(gan.latent_dim)
        self.image_shape = tuple(int(d) for d in self.network.outputs[0].shape[1:])
        self.conditional = len(self.network.inputs) == 2
        self.class_ids = gan.trained_class_ids()

    def generate(self, noise, labels=None):
        """Images in [-1, 1] for `noise` (N, latent_dim), float32 numpy array (N, H, W, C)."""
        labels = check_labels(labels, len(noise), self.class_ids, self.conditional)
        return self.gan.generate(noise=np.asarray(noise, np.float32), labels=labels)


def as_sampler(generator):
    """`generator` as a sampler: a `GAN` wrapped in a `KerasGenerator`, a sampler as it is, else None."""
    if isinstance(generator, GAN):
        return KerasGenerator(generator)
    if all(hasattr(generator, name) for name in SAMPLER_ATTRIBUTES):
        return generator
    return None


__all__ = ["KerasGenerator", "SAMPLER_ATTRIBUTES", "as_sampler"]
