"""`maskd`: random spatial masks on the discriminator's last feature map while it trains.

No single region of a training image is then enough for D to recognise it: D is pushed to accept images that
share part of a shot's features, and G to make them (Zhu et al.'s masked discrimination, without their
cross-domain consistency loss). One of two parts that make few-shot adaptation harder to turn into copying;
the other is `kgantl.transfer.adapters`.

Reference: Zhu et al., Few-shot Image Generation via Masked Discrimination, https://arxiv.org/abs/2210.15194
"""
import re

import keras
from keras import ops

from kgantl.transfer.wrapped import rebuilt

# A design choice, not a measurement: the few-shot grid has not compared rates (maskd is not a default).
DEFAULT_MASK_RATE = 0.5


@keras.saving.register_keras_serializable(package="kgantl")
class FeatureMask(keras.layers.Wrapper):
    """Apply `layer`, then, while training, zero each spatial position of its output with probability `rate`.

    Kept positions are scaled by 1 / (1 - rate), so the expected activation is unchanged; at inference the
    layer is `layer` alone. The mask's random state is the layer's own (saved with its weights).

    Args:
        layer: the layer whose (N, H, W, C) output is masked.
        rate: share of positions masked, in [0, 1).
        seed: int seed of the masks.

    Example:
        >>> masked = FeatureMask(keras.layers.LeakyReLU(0.2), rate=0.5, seed=3)
    """

    kgantl_wrapper = True  # `kgantl.transfer.wrapped.unwrapped` looks through it

    def __init__(self, layer, rate=DEFAULT_MASK_RATE, seed=None, **kwargs):
        super().__init__(layer, **kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"the mask rate must be in [0, 1). Received: rate={rate!r}")
        self.rate, self.seed = float(rate), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        outputs = self.layer(inputs)
        if not training or self.rate == 0.0:
            return outputs
        shape = ops.shape(outputs)
        keep = keras.random.uniform((shape[0], shape[1], shape[2], 1), seed=self.seed_generator) >= self.rate
        return outputs * ops.cast(keep, outputs.dtype) / ops.cast(1.0 - self.rate, outputs.dtype)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def mask_discriminator(discriminator, rate=DEFAULT_MASK_RATE, seed=0):
    """The discriminator with `FeatureMask` on its last block's activation (its last spatial feature map).

    Args:
        discriminator: a kgantl discriminator (blocks named `d_blockK_*`), plain or conditional.
        rate: share of positions masked while D trains.
        seed: seed of the masks.

    Returns:
        A new `keras.Model` sharing `discriminator`'s layers and weights.
    """
    acts = sorted((layer.name for layer in discriminator.layers if re.fullmatch(r"d_block\d+_act", layer.name)),
                  key=lambda name: int(re.search(r"\d+", name).group()))
    if not acts:
        raise ValueError(f"maskd masks a kgantl discriminator's last block (layers d_blockK_act); this one has none "
                         f"(feature_d builds its own). Received: {discriminator.name}")

    def replace(layer):
        if layer.name == acts[-1]:
            return FeatureMask(layer, rate=rate, seed=seed, name=f"{layer.name}_masked")
        return None

    return rebuilt(discriminator, replace)


__all__ = ["DEFAULT_MASK_RATE", "FeatureMask", "mask_discriminator"]
