"""`ConditionalGAN`: class-conditional training; G takes `[noise, labels]`, D takes `[images, labels]`."""
import keras
from keras import ops

from kgantl.models.gan import GAN, check_labels


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
        labels = check_labels(labels, noise.shape[0], self.trained_class_ids(), conditional=True)
        return [noise, ops.convert_to_tensor(labels)]
