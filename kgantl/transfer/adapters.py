"""`adapters`: the generator's source weights frozen, small per-channel adapters trained.

The generator's source dense and transposed-convolution weights are frozen and each of those layers gets a
per-unit (per output channel) scale and shift, starting at the identity; with the small output convolution (and
a conditional generator's label embedding) they are all that trains. A per-output-channel scale of a layer's
output is a modulation of its kernel, the simplest form of AdAM's kernel modulation. One of two parts that make
few-shot adaptation harder to turn into copying; the other is `kgantl.transfer.maskd`.

Reference: Zhao et al., Few-shot Image Generation via Adaptation-Aware Kernel Modulation,
https://arxiv.org/abs/2210.16559
"""
import re

import keras
from keras import ops

from kgantl.transfer.wrapped import rebuilt

ADAPTED = re.compile(r"g_(dense|block\d+_convt)$")  # the generator layers that get adapters


@keras.saving.register_keras_serializable(package="kgantl")
class ChannelAdapter(keras.layers.Wrapper):
    """A frozen `layer` followed by a trainable per-unit scale and shift: `layer(x) * (1 + scale) + shift`.

    Both start at zero, so the adapted layer first computes exactly what `layer` did.

    Args:
        layer: the source layer (set non-trainable here).

    Example:
        >>> adapted = ChannelAdapter(generator.get_layer("g_block1_convt"))
    """

    kgantl_wrapper = True  # `kgantl.transfer.wrapped.unwrapped` looks through it

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


def adapt_generator(generator):
    """The generator with `ChannelAdapter`s on its dense and transposed-convolution layers (those frozen).

    Returns:
        A new `keras.Model` sharing `generator`'s layers and weights; its trainable weights are the adapters', the
            output convolution's and a conditional generator's label embedding.
    """
    def replace(layer):
        return ChannelAdapter(layer, name=f"{layer.name}_adapted") if ADAPTED.fullmatch(layer.name) else None

    adapted = rebuilt(generator, replace)
    if not any(isinstance(layer, ChannelAdapter) for layer in adapted.layers):
        raise ValueError(f"adapters need a kgantl generator (layers g_dense, g_blockK_convt). "
                         f"Received: {generator.name}")
    return adapted


__all__ = ["ADAPTED", "ChannelAdapter", "adapt_generator"]
