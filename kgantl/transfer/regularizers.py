"""Generator-loss terms that keep an adapted generator close to its source: CDC and EWC.

Both are added with `GAN.add_generator_penalty` and computed inside the generator step's gradient tape.

References: Ojha et al., Few-shot Image Generation via Cross-domain Correspondence (CDC),
https://arxiv.org/abs/2104.06820 ; Li et al., Few-shot Image Generation with Elastic Weight Consolidation
(EWC), https://arxiv.org/abs/2012.02780
"""
import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kgantl import losses as gan_losses


def generator_feature_layers(generator):
    """The layers CDC compares by default: the output of every upsampling block of a kgantl generator."""
    names = [layer.name for layer in generator.layers
             if layer.name.startswith("g_block") and layer.name.endswith("_act")]
    if not names:
        raise ValueError("CDC needs the names of intermediate generator layers to compare (kgantl generators have "
                         f"g_block<i>_act). Received a generator with layers: {[layer.name for layer in generator.layers]}")
    return names


def _feature_model(generator, layer_names):
    return keras.Model(generator.inputs, [generator.get_layer(name).output for name in layer_names])


def _similarity_distributions(features):
    """Per sample, the softmax over its cosine similarities to the other samples of the batch: (N, N-1)."""
    flat = ops.reshape(features, (ops.shape(features)[0], -1))
    flat = flat / (ops.norm(flat, axis=1, keepdims=True) + 1e-8)
    similarity = ops.matmul(flat, ops.transpose(flat))
    count = tf.shape(similarity)[0]
    off_diagonal = tf.logical_not(tf.cast(tf.eye(count), tf.bool))
    others = tf.reshape(tf.boolean_mask(similarity, off_diagonal), (count, count - 1))
    return tf.nn.log_softmax(others, axis=1)


def cross_domain_distance(source_features, adapted_features):
    """CDC's loss for one layer: mean over samples of KL(source || adapted) of their similarity distributions.

    Args:
        source_features: the source layer's activations for a batch of inputs, (N, ...), N >= 3.
        adapted_features: the adapted layer's activations for the same inputs.

    Returns:
        Scalar tensor, 0 when the two sets of activations are equal (or equal up to a per-sample scale).
    """
    log_p = _similarity_distributions(source_features)
    log_q = _similarity_distributions(adapted_features)
    return ops.mean(ops.sum(ops.exp(log_p) * (log_p - log_q), axis=1))


class CDCPenalty:
    """Cross-domain correspondence: keep the adapted generator's *relative* similarities between samples.

    For each batch of noise, the pairwise cosine similarities of intermediate activations are turned into one
    distribution per sample (softmax over the other samples) for a frozen copy of the source generator and
    for the generator being adapted; the penalty is `weight` times KL(source || adapted), averaged over samples
    and layers. Diversity of the source then carries over to the few-shot domain. Not implemented from the
    paper: its anchor-region patch discriminator (kgantl keeps its image-level D for all noise).

    Args:
        source_generator: the generator before adaptation (copied and frozen here).
        weight: lambda of the penalty.
        layer_names: layers compared (default: `generator_feature_layers`).

    Example:
        >>> gan.add_generator_penalty(CDCPenalty(source.generator, weight=1.0))
    """

    def __init__(self, source_generator, weight=1.0, layer_names=None):
        if float(weight) <= 0:
            raise ValueError(f"weight must be > 0. Received: weight={weight!r}")
        self.weight = float(weight)
        self.layer_names = list(layer_names or generator_feature_layers(source_generator))
        frozen = keras.models.clone_model(source_generator)
        frozen.set_weights(source_generator.get_weights())
        frozen.trainable = False
        self._source = _feature_model(frozen, self.layer_names)
        self._adapted = None  # built on the first call, from the generator being trained (shared weights)

    def __call__(self, gan, generator_inputs):
        if self._adapted is None:
            self._adapted = _feature_model(gan.generator, self.layer_names)
        source = self._source(generator_inputs, training=False)
        adapted = self._adapted(generator_inputs, training=True)
        source, adapted = (source, adapted) if isinstance(source, (list, tuple)) else ([source], [adapted])
        distance = sum(cross_domain_distance(ops.stop_gradient(s), a) for s, a in zip(source, adapted))
        return self.weight * distance / len(source)


class EWCPenalty:
    """Elastic weight consolidation: `weight * sum_i F_i (theta_i - theta_source_i)^2` over the generator's weights.

    The Fisher information F of each generator weight is estimated once, at construction, as the mean
    squared gradient of the generator's non-saturating loss under the source discriminator, over `batches`
    batches of generated images; weights that matter to the source's images are then held near their
    source values.

    Args:
        generator: the source generator, the one that will be trained: its current weights are the anchor.
        discriminator: the source discriminator, whose loss the Fisher information is taken under.
        weight: lambda of the penalty (the paper uses 5e8 with its Fisher scale; see the docs for ours).
        batches: how many batches the Fisher estimate averages over.
        batch_size: samples per batch of that estimate.
        seed: noise (and label) seed of that sample.
        class_ids: labels to draw for a conditional generator.

    Example:
        >>> gan.add_generator_penalty(EWCPenalty(source.generator, source.discriminator, weight=1e4))
    """

    def __init__(self, generator, discriminator, weight=1.0, batches=8, batch_size=32, seed=0, class_ids=None):
        if float(weight) <= 0:
            raise ValueError(f"weight must be > 0. Received: weight={weight!r}")
        self.weight = float(weight)
        self._weights = list(generator.trainable_weights)
        self.anchor = [tf.constant(keras.ops.convert_to_numpy(w)) for w in self._weights]
        self.fisher = [tf.constant(f) for f in self._estimate_fisher(generator, discriminator, batches, batch_size,
                                                                     seed, class_ids)]

    def _estimate_fisher(self, generator, discriminator, batches, batch_size, seed, class_ids):
        rng = np.random.default_rng(seed)
        conditional = len(generator.inputs) == 2
        latent = int(generator.inputs[0].shape[-1])
        totals = [np.zeros(tuple(w.shape), np.float32) for w in self._weights]
        for _ in range(batches):
            noise = rng.standard_normal((batch_size, latent)).astype("float32")
            labels = rng.choice(np.asarray(class_ids or [0], np.int32), batch_size) if conditional else None
            inputs = [noise, labels] if conditional else noise
            with tf.GradientTape() as tape:
                fake = generator(inputs, training=False)
                logits = discriminator([fake, labels] if conditional else fake, training=False)
                loss = gan_losses.nonsaturating_generator_loss(logits)
            for total, gradient in zip(totals, tape.gradient(loss, self._weights)):
                if gradient is not None:
                    total += keras.ops.convert_to_numpy(gradient) ** 2
        return [total / batches for total in totals]

    def __call__(self, gan, generator_inputs):
        return self.weight * sum(ops.sum(f * ops.square(w - a)) for w, a, f in zip(self._weights, self.anchor,
                                                                                   self.fisher))


__all__ = ["CDCPenalty", "EWCPenalty", "cross_domain_distance", "generator_feature_layers"]
