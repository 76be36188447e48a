"""`ConditionalGAN`: class-conditional training; G takes `[noise, labels]`, D takes `[images, labels]`."""
import keras
import numpy as np
from keras import ops

from kgantl.models.gan import GAN


def check_labels(labels, count, class_ids):
    """Labels for `count` samples of a model that knows `class_ids` (None: unconditional), as int32 (count,).

    Args:
        labels: None, one int, or `count` ints.
        count: number of samples.
        class_ids: the classes the model was trained on, or None for an unconditional model.

    Returns:
        int32 array (count,), or None for an unconditional model.

    Raises:
        ValueError: labels for an unconditional model, none for a conditional one, or a class the model
            was not trained on.
    """
    if class_ids is None:
        if labels is not None:
            raise ValueError("labels are for class-conditional models; this model is unconditional. "
                             f"Received: labels={np.unique(labels).tolist()}")
        return None
    if labels is None:
        raise ValueError(f"labels are required for a conditional model (its classes: "
                         f"{', '.join(map(str, class_ids))}). Received: labels=None")
    labels = np.broadcast_to(np.asarray(labels, dtype=np.int32), (count,)).copy()
    unknown = sorted(set(labels.tolist()) - set(class_ids))
    if unknown:
        raise ValueError(f"labels must be classes the model was trained on ({', '.join(map(str, class_ids))}). "
                         f"Received: labels {', '.join(map(str, unknown))}")
    return labels


@keras.saving.register_keras_serializable(package="kgantl")
class ConditionalGAN(GAN):
    """A GAN whose generator and discriminator are conditioned on integer class labels.

    The dataset must yield `(images, labels)`. Generated images in the discriminator step are
    conditioned on the real batch's labels, so fake classes follow the data's class frequencies.
    Build the networks with `num_classes` (`build_generator(num_classes=...)`, which multiplies the
    noise by a label embedding, and `build_discriminator(num_classes=...)`, a projection D).

    Args:
        generator: model `[noise, labels]` -> images.
        discriminator: model `[images, labels]` -> logits.
        class_ids: the class ids the model is trained on (e.g. `[5, 6, 7, 8, 9]`), kept in its config so that
            sampling refuses a class it never saw; default: every id of the label embedding.
        **kwargs: as for `GAN`.

    Example:
        >>> gan = ConditionalGAN(build_generator(num_classes=10), build_discriminator(num_classes=10))
        >>> gan.compile()
        >>> gan.fit(load_images("fashion_mnist:0-4", with_labels=True, repeat=True), steps_per_epoch=100)
    """

    def __init__(self, generator, discriminator, class_ids=None, **kwargs):
        if len(generator.inputs) != 2 or len(discriminator.inputs) != 2:
            raise ValueError(
                "ConditionalGAN needs a generator taking [noise, labels] and a discriminator taking "
                "[images, labels] (build them with num_classes=...). "
                f"Received: {len(generator.inputs)} and {len(discriminator.inputs)} inputs"
            )
        super().__init__(generator, discriminator, **kwargs)
        embedding = generator.get_layer("g_label_embedding") if "g_label_embedding" in [
            layer.name for layer in generator.layers] else None
        self.num_classes = int(embedding.input_dim) if embedding is not None else None
        self.class_ids = None if class_ids is None else sorted(int(k) for k in class_ids)
        if self.class_ids and self.num_classes is not None and not 0 <= self.class_ids[0] <= self.class_ids[-1] \
                < self.num_classes:
            raise ValueError(f"class_ids must be label ids of the generator's embedding (0-{self.num_classes - 1}). "
                             f"Received: class_ids={self.class_ids}")

    def trained_class_ids(self):
        """The classes this model was trained on: `class_ids`, or every id of its label embedding."""
        if self.class_ids is not None:
            return list(self.class_ids)
        return None if self.num_classes is None else list(range(self.num_classes))

    def get_config(self):
        return {**super().get_config(), "class_ids": self.class_ids}

    def _split_batch(self, data):
        if not isinstance(data, (tuple, list)) or len(data) < 2:
            raise ValueError("ConditionalGAN needs a dataset of (images, labels); load it with with_labels=True.")
        return data[0], ops.cast(data[1], "int32")

    def _generator_inputs(self, noise, labels):
        return [noise, labels]

    def _discriminator_inputs(self, images, labels):
        return [images, labels]

    def _sampling_inputs(self, noise, labels):
        if labels is None:
            raise ValueError("labels are required to sample from a ConditionalGAN. Received: labels=None")
        if self.num_classes is None:  # a user's generator without kgantl's label embedding: trust the caller
            if labels is None:
                raise ValueError("labels are required to sample from a ConditionalGAN. Received: labels=None")
            labels = np.broadcast_to(np.asarray(labels, dtype=np.int32), (noise.shape[0],))
        else:
            labels = check_labels(labels, noise.shape[0], self.trained_class_ids())
        return [noise, ops.convert_to_tensor(labels)]
