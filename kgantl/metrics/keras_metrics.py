"""Keras `Metric` wrappers so KID and FID can run in `test_step` and show up as `val_kid` / `val_fid`.

Both take `update_state(real_images, generated_images)` with images in [-1, 1] and run the extractor
inside the compiled step. The formulas are those of `kgantl.metrics.distances` (written once there in
`keras.ops`), so a metric and the function on the same features give the same value.
"""
import keras
import tensorflow as tf

from kgantl.metrics.distances import frechet_distance_tensor, unbiased_mmd2_tensor
from kgantl.metrics.extractors import get_extractor


class _ExtractorMetric(keras.metrics.Metric):
    def __init__(self, extractor="fmnist", name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if not isinstance(extractor, str):
            raise ValueError(f"extractor must be a registry name (so the metric can be saved). Received: {extractor!r}")
        self.extractor_name = extractor
        self.extractor = get_extractor(extractor)

    def _features(self, images):
        return tf.cast(self.extractor(images), tf.float64)

    def get_config(self):
        return {**super().get_config(), "extractor": self.extractor_name}


@keras.saving.register_keras_serializable(package="kgantl")
class KernelInceptionDistance(_ExtractorMetric):
    """KID averaged over evaluation batches: each batch is one KID subset (its size is the batch size).

    Args:
        extractor: registry name of the feature extractor (`"fmnist"`, `"inception_v3"`).
        name: metric name (logs show `val_<name>`).

    Example:
        >>> gan.compile(metrics=[KernelInceptionDistance("fmnist")])
        >>> gan.fit(train_ds, validation_data=test_ds, validation_freq=5)  # logs val_kid
    """

    def __init__(self, extractor="fmnist", name="kid", **kwargs):
        super().__init__(extractor, name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="total")
        self.batches = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="batches")

    def update_state(self, real_images, generated_images, sample_weight=None):
        self.total.assign_add(unbiased_mmd2_tensor(self._features(real_images), self._features(generated_images)))
        self.batches.assign_add(tf.constant(1.0, tf.float64))

    def result(self):
        return tf.cast(self.total / tf.maximum(self.batches, 1.0), tf.float32)


@keras.saving.register_keras_serializable(package="kgantl")
class FrechetInceptionDistance(_ExtractorMetric):
    """FID over everything seen since the last reset, from running sums (exact, not batch-averaged).

    Needs more images than feature dimensions on each side (65 for `fmnist`, 2049 for InceptionV3);
    with fewer the covariance is singular and the value is not meaningful. NaN before two images.

    Args:
        extractor: registry name of the feature extractor.
        name: metric name (logs show `val_<name>`).
    """

    def __init__(self, extractor="fmnist", name="fid", **kwargs):
        super().__init__(extractor, name=name, **kwargs)
        dim = int(self.extractor.features_model.outputs[0].shape[-1])
        self.real_stats = self._running_sums(dim, "real")
        self.fake_stats = self._running_sums(dim, "fake")

    def _running_sums(self, dim, side):
        """Count, sum and sum of outer products of the features seen: exact mean and covariance later."""
        return (self.add_variable(shape=(), initializer="zeros", dtype="float64", name=f"{side}_count"),
                self.add_variable(shape=(dim,), initializer="zeros", dtype="float64", name=f"{side}_sum"),
                self.add_variable(shape=(dim, dim), initializer="zeros", dtype="float64", name=f"{side}_outer"))

    def update_state(self, real_images, generated_images, sample_weight=None):
        for (count, total, outer), images in ((self.real_stats, real_images), (self.fake_stats, generated_images)):
            features = self._features(images)
            count.assign_add(tf.cast(tf.shape(features)[0], tf.float64))
            total.assign_add(tf.reduce_sum(features, axis=0))
            outer.assign_add(tf.matmul(features, features, transpose_a=True))

    @staticmethod
    def _moments(stats):
        # Keras reads every metric's result at epoch ends, also before any update: a count of at least 2
        # keeps the arithmetic finite then, and `result` reports NaN for a state with too few images.
        count, total, outer = stats
        count = tf.maximum(count, 2.0)
        mean = total / count
        return mean, (outer - count * tf.tensordot(mean, mean, axes=0)) / (count - 1.0)

    def result(self):
        (mu1, sigma1), (mu2, sigma2) = self._moments(self.real_stats), self._moments(self.fake_stats)
        distance = frechet_distance_tensor(mu1, sigma1, mu2, sigma2)
        seen = tf.minimum(self.real_stats[0], self.fake_stats[0]) >= 2.0
        return tf.cast(tf.where(seen, distance, tf.constant(float("nan"), tf.float64)), tf.float32)
