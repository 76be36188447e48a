import threading

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgantl.synthetic import GenerationStats, generation_probabilities, mix_real_and_generated
from kgantl.models import ConditionalGAN, GAN, build_discriminator, build_generator

NUM_CLASSES = 10
REAL_VALUE = -1.0  # every real test image is filled with -1; generated ones never are


def code_of(label):
    """The pixel value the labelled generator paints for `label`: distinct per class, inside (-1, 1)."""
    return (np.asarray(label) + 1) / (NUM_CLASSES + 1) * 1.8 - 0.9


def labelled_generator(size=8, channels=1, latent=4, num_classes=NUM_CLASSES):
    """A conditional generator whose images show their label: every pixel is `code_of(label)` plus a
    noise-dependent wobble far smaller than the gap between codes."""
    noise = keras.Input((latent,))
    labels = keras.Input((), dtype="int32")
    embedding = keras.layers.Embedding(num_classes, 1, embeddings_initializer=keras.initializers.Constant(0.0))
    code = keras.ops.expand_dims(embedding(labels), 1)  # (N, 1, 1)
    wobble = keras.ops.tanh(keras.ops.mean(noise, axis=1)) * 0.01
    image = code[..., None] + keras.ops.reshape(wobble, (-1, 1, 1, 1)) + keras.ops.zeros((1, size, size, channels))
    model = keras.Model([noise, labels], image)
    embedding.set_weights([code_of(np.arange(num_classes))[:, None].astype("float32")])
    return model


def real_dataset(n=400, size=8, labels=None, batch=16, repeat=False):
    labels = np.arange(n) % 5 + 5 if labels is None else labels
    images = np.full((len(labels), size, size, 1), REAL_VALUE, np.float32)
    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    return (ds.repeat() if repeat else ds).batch(batch, drop_remainder=True)


def collect(ds, batches):
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in ds.take(batches)])
    return np.concatenate(images), np.concatenate(labels)


def is_generated(images):
    return images.reshape(len(images), -1).mean(axis=1) > REAL_VALUE + 0.05


def test_the_mix_ratio_holds_within_sampling_error():
    images, _ = collect(mix_real_and_generated(real_dataset(repeat=True), labelled_generator(), 0.25,
                                               class_counts=[0] * 5 + [1] * 5), 250)
    share, n = is_generated(images).mean(), len(images)
    assert abs(share - 0.25) < 4 * np.sqrt(0.25 * 0.75 / n), share


def test_generated_labels_match_the_conditioning_and_the_real_classes():
    images, labels = collect(mix_real_and_generated(real_dataset(repeat=True), labelled_generator(), 0.5,
                                                    class_counts=[0] * 5 + [1] * 5), 60)
    generated = is_generated(images)
    painted = images[generated].reshape(generated.sum(), -1).mean(axis=1)
    np.testing.assert_allclose(painted, code_of(labels[generated]), atol=0.02)
    assert set(labels[generated]) == {5, 6, 7, 8, 9}  # only classes the real data has


def test_shapes_dtype_and_range_follow_the_real_pipeline():
    images = np.zeros((64, 8, 8, 1), np.uint8)
    real = tf.data.Dataset.from_tensor_slices((images, np.arange(64) % 3)).batch(8, drop_remainder=True)
    mixed = mix_real_and_generated(real, labelled_generator(), 0.5)  # uint8 images: (0, 255) by default
    assert mixed.element_spec == real.element_spec  # dtype and the static batch shape
    x, y = collect(mixed, 4)
    assert x.shape[1:] == (8, 8, 1) and len(x) == 32
    generated = x.reshape(32, -1).max(axis=1) > 0
    # code_of(label) in [-1, 1] maps to (code + 1) * 127.5 in [0, 255]
    np.testing.assert_allclose(x[generated, 0, 0, 0], np.round((code_of(y[generated]) + 1) * 127.5), atol=2)


def test_a_finite_real_dataset_ends_the_stream():
    images, _ = collect(mix_real_and_generated(real_dataset(n=160), labelled_generator(), 0.5, batch_size=10), 1000)
    assert (~is_generated(images)).sum() == 160  # every real image once
    # At the real pipeline's own batch size the batches stay full: only a last partial batch is dropped.
    images, _ = collect(mix_real_and_generated(real_dataset(n=160), labelled_generator(), 0.5), 1000)
    assert len(images) % 16 == 0 and 160 - 16 < (~is_generated(images)).sum() <= 160


def test_ratio_zero_is_the_real_data_unchanged():
    real = real_dataset(n=64, labels=np.arange(64) % 5 + 5)
    mixed = collect(mix_real_and_generated(real, labelled_generator(), 0.0), 100)
    np.testing.assert_array_equal(mixed[1], collect(real, 100)[1])
    assert not is_generated(mixed[0]).any()


def test_a_new_pass_generates_new_images_but_the_first_pass_repeats_under_the_seed():
    mixed = mix_real_and_generated(real_dataset(repeat=True), labelled_generator(latent=64), 1.0,
                                   class_counts=[0] * 5 + [1] * 5)
    first, second = collect(mixed, 2), collect(mixed, 2)  # each `take` starts a new iterator, like each fit
    assert not np.array_equal(first[0], second[0])
    again = collect(mix_real_and_generated(real_dataset(repeat=True), labelled_generator(latent=64), 1.0,
                                           class_counts=[0] * 5 + [1] * 5), 2)
    np.testing.assert_array_equal(first[0], again[0])


def test_the_same_seed_gives_the_same_stream():
    def stream(seed):
        return collect(mix_real_and_generated(real_dataset(repeat=True), labelled_generator(), 0.5, seed=seed,
                                              class_counts=[0] * 5 + [1] * 5), 10)

    first, again, other = stream(3), stream(3), stream(4)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


def test_balancing_generates_more_of_the_rare_classes():
    counts = np.array([0] * 5 + [20, 10, 10, 10, 10])
    probabilities = generation_probabilities(counts, 0.5, balance=True)
    # Expected shares in the mix: 0.5 * real share + 0.5 * p = 0.2 for every class.
    np.testing.assert_allclose(probabilities[5:], [1 / 15] + [7 / 30] * 4)
    assert probabilities[:5].sum() == 0
    # A class too common to balance at this ratio gets no generated images at all.
    assert generation_probabilities([90, 10, 10, 10, 10], 0.5, balance=True)[0] == 0
    labels = np.repeat(np.arange(5, 10), counts[5:])
    images, mixed_labels = collect(mix_real_and_generated(real_dataset(labels=labels, repeat=True),
                                                          labelled_generator(), 0.5, class_counts=counts,
                                                          balance=True), 100)
    shares = np.bincount(mixed_labels, minlength=10)[5:] / len(mixed_labels)
    np.testing.assert_allclose(shares, 0.2, atol=0.04)  # the mixed stream is balanced
    np.testing.assert_allclose(generation_probabilities(counts, 0.5, balance=False)[5:], 0.2)


def test_the_filter_keeps_only_confident_samples_and_counts_them():
    # A "classifier" confident only about even classes: odd-class samples must all be dropped.
    inputs = keras.Input((8, 8, 1))
    code = keras.ops.mean(inputs, axis=(1, 2, 3))
    label = keras.ops.round((code + 0.9) / 1.8 * (NUM_CLASSES + 1) - 1)
    even = keras.ops.cast(keras.ops.equal(keras.ops.mod(label, 2), 0), "float32")
    probabilities = keras.ops.one_hot(keras.ops.cast(label, "int32"), NUM_CLASSES) * even[:, None]
    classifier = keras.Model(inputs, probabilities)
    stats = GenerationStats()
    images, labels = collect(mix_real_and_generated(real_dataset(repeat=True), labelled_generator(), 0.5,
                                                    class_counts=[0] * 5 + [1] * 5, filter_model=classifier,
                                                    threshold=0.9, stats=stats), 40)
    assert set(labels[is_generated(images)]) <= {6, 8}
    assert stats.as_dict()["generated"] > 0 and 0.25 < stats.kept_share < 0.55  # 2 of 5 classes pass


def test_a_filter_that_keeps_nothing_fails_instead_of_hanging():
    classifier = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                                   keras.layers.Lambda(lambda x: keras.ops.zeros((keras.ops.shape(x)[0], 10)))])
    mixed = mix_real_and_generated(real_dataset(repeat=True), labelled_generator(), 1.0, batch_size=8,
                                   class_counts=[1] * 10, filter_model=classifier, threshold=0.5)
    outcome = {}

    def consume():
        try:
            collect(mixed, 1)
        except tf.errors.InvalidArgumentError as error:
            outcome["error"] = str(error)

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    worker.join(timeout=60)  # a regression would spin forever: fail instead of hanging the suite
    assert not worker.is_alive(), "the pipeline kept generating although the filter keeps nothing"
    assert "The filter kept none" in outcome.get("error", "")


def test_a_kgantl_conditional_gan_plugs_in():
    gan = ConditionalGAN(build_generator(8, 1, 4, width=4, num_classes=10, seed=0),
                         build_discriminator(8, 1, width=4, num_classes=10))
    images, labels = collect(mix_real_and_generated(real_dataset(repeat=True), gan, 0.5,
                                                    class_counts=[0] * 5 + [1] * 5), 4)
    assert images.shape == (64, 8, 8, 1) and np.all(np.abs(images) <= 1.0) and set(labels) <= set(range(5, 10))


def test_classes_the_conditional_gan_never_learnt_are_refused():
    gan = ConditionalGAN(build_generator(8, 1, 4, width=4, num_classes=10, seed=0),
                         build_discriminator(8, 1, width=4, num_classes=10), class_ids=[0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match="The generator was trained on classes 0, 1, 2, 3, 4 and cannot make "
                                         "labelled images of the others.*Received: classes 5, 6"):
        mix_real_and_generated(real_dataset(repeat=True), gan, 0.5, class_counts=[1] * 7)
    images, labels = collect(mix_real_and_generated(real_dataset(repeat=True), gan, 0.5,
                                                    class_counts=[1] * 5), 1)
    assert set(labels) <= set(range(5)) | set(range(10))  # real labels may be any; generated ones are 0-4


@pytest.mark.parametrize("ratio", [-0.1, 1.5, True, "0.5", None])
def test_a_ratio_outside_zero_to_one_is_refused(ratio):
    with pytest.raises(ValueError, match=r"ratio must be a number in \[0, 1\]"):
        mix_real_and_generated(real_dataset(), labelled_generator(), ratio)


def test_bad_generators_are_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"generator makes images of shape \(16, 16, 1\) but real_ds yields "
                                         r"\(8, 8, 1\)"):
        mix_real_and_generated(real_dataset(), labelled_generator(size=16), 0.5)
    with pytest.raises(ValueError, match="generator knows 3 classes .* but real_ds has label 9"):
        mix_real_and_generated(real_dataset(), labelled_generator(num_classes=3), 0.5)
    with pytest.raises(ValueError, match="class_counts must hold .* at most the generator's 10. Received: 12 entries"):
        mix_real_and_generated(real_dataset(), labelled_generator(), 0.5, class_counts=[1] * 12)
    five_way = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(5)])
    with pytest.raises(ValueError, match="filter_model must output a probability for each of the generator's 10"):
        mix_real_and_generated(real_dataset(), labelled_generator(), 0.5, filter_model=five_way)
    unconditional = GAN(build_generator(8, 1, 4, width=4), build_discriminator(8, 1, width=4))
    with pytest.raises(ValueError, match="generator must be conditional"):
        mix_real_and_generated(real_dataset(), unconditional, 0.5)


def test_bad_datasets_are_refused():
    images_only = tf.data.Dataset.from_tensor_slices(np.zeros((4, 8, 8, 1), np.float32)).batch(2)
    with pytest.raises(ValueError, match=r"real_ds must yield \(images, labels\) pairs"):
        mix_real_and_generated(images_only, labelled_generator(), 0.5)
    with pytest.raises(ValueError, match="may not end .* so its classes cannot be counted"):
        mix_real_and_generated(real_dataset(repeat=True), labelled_generator(), 0.5)
    unknown_size = real_dataset(repeat=True).unbatch().filter(lambda x, y: y >= 0).batch(4, drop_remainder=True)
    with pytest.raises(ValueError, match="may not end .* so its classes cannot be counted"):
        mix_real_and_generated(unknown_size, labelled_generator(), 0.5)
    with pytest.raises(ValueError, match=r"value_range \(-1.0, 1.0\) does not fit the real images' dtype uint8"):
        uint8 = tf.data.Dataset.from_tensor_slices((np.zeros((4, 8, 8, 1), np.uint8), np.zeros(4, int))).batch(
            2, drop_remainder=True)
        mix_real_and_generated(uint8, labelled_generator(), 0.5, value_range=(-1.0, 1.0))
    ragged = tf.data.Dataset.from_tensor_slices((np.zeros((5, 8, 8, 1), np.float32), np.zeros(5, int))).batch(2)
    with pytest.raises(ValueError, match="batch_size is needed"):
        mix_real_and_generated(ragged, labelled_generator(), 0.5)


def test_classes_choose_what_is_generated_even_for_a_repeating_dataset():
    images, labels = collect(mix_real_and_generated(real_dataset(repeat=True), labelled_generator(), 0.5,
                                                    classes=[6, 8]), 20)
    assert set(labels[is_generated(images)]) == {6, 8}
    with pytest.raises(ValueError, match=r"classes must be class ids in 0-9. Received: \[12\]"):
        mix_real_and_generated(real_dataset(repeat=True), labelled_generator(), 0.5, classes=[12])
