"""Two ways to make few-shot adaptation harder to turn into copying: mask what D sees, adapt few of G's weights.

- `maskd`: random spatial masks on the discriminator's last feature map while it trains, so no single
  region of a training image is enough for D to recognise it: D is pushed to accept images that share
  part of a shot's features, and G to make them (Zhu et al.'s masked discrimination, without their
  cross-domain consistency loss).
- `adapters`: the generator's source dense and transposed-convolution weights are frozen and each of those
  layers gets a per-unit (per output channel) scale and shift, starting at the identity; with the small
  output convolution (and a conditional generator's label embedding) they are all that trains. A per-output-
  channel scale of a layer's output is a modulation of its kernel, the simplest form of AdAM's kernel modulation.

Reference: Zhu et al., Few-shot Image Generation via Masked Discrimination, https://arxiv.org/abs/2210.15194 ;
Zhao et al., Few-shot Image Generation via Adaptation-Aware Kernel Modulation, https://arxiv.org/abs/2210.16559
"""
import re

import keras
from keras import ops

DEFAULT_MASK_RATE = 0.5  # provisional, not yet chosen by the few-shot grid
ADAPTED = re.compile(r"g_(dense|block\d+_convt)$")  # the generator layers that get adapters


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


@keras.saving.register_keras_serializable(package="kgantl")
class ChannelAdapter(keras.layers.Wrapper):
    """A frozen `layer` followed by a trainable per-unit scale and shift: `layer(x) * (1 + scale) + shift`.

    Both start at zero, so the adapted layer first computes exactly what `layer` did.

    Args:
        layer: the source layer (set non-trainable here).

    Example:
        >>> adapted = ChannelAdapter(generator.get_layer("g_block1_convt"))
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        layer.trainable = False

    def build(self, input_shape=None):
        super().build(input_shape)
        units = self.layer.compute_output_shape(input_shape)[-1]
        self.scale = self.add_weight(shape=(units,), initializer="zeros", name="scale")
        self.shift = self.add_weight(shape=(units,), initializer="zeros", name="shift")

    def call(self, inputs):
        outputs = self.layer(inputs)
        return outputs * (1.0 + ops.cast(self.scale, outputs.dtype)) + ops.cast(self.shift, outputs.dtype)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)


def _rebuilt(model, replace):
    """`model` rebuilt on the same layers (their weights shared), with `replace(layer)` where it returns one."""
    return keras.models.clone_model(model, clone_function=lambda layer: replace(layer) or layer)


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

    return _rebuilt(discriminator, replace)


def adapt_generator(generator):
    """The generator with `ChannelAdapter`s on its dense and transposed-convolution layers (those frozen).

    Returns:
        A new `keras.Model` sharing `generator`'s layers and weights; its trainable weights are the adapters',
        the output convolution's and a conditional generator's label embedding.
    """
    def replace(layer):
        return ChannelAdapter(layer, name=f"{layer.name}_adapted") if ADAPTED.fullmatch(layer.name) else None

    adapted = _rebuilt(generator, replace)
    if not any(isinstance(layer, ChannelAdapter) for layer in adapted.layers):
        raise ValueError(f"adapters need a kgantl generator (layers g_dense, g_blockK_convt). "
                         f"Received: {generator.name}")
    return adapted


def unwrapped(layer):
    """The source layer inside a `FeatureMask` or `ChannelAdapter` (`layer` itself otherwise)."""
    return layer.layer if isinstance(layer, (FeatureMask, ChannelAdapter)) else layer


__all__ = ["ChannelAdapter", "DEFAULT_MASK_RATE", "FeatureMask", "adapt_generator", "mask_discriminator",
           "unwrapped"]
