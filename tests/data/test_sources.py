import numpy as np
import pytest
from PIL import Image

from kgantl.data.sources import arrays_from_numpy, parse_classes, resolve_source


def test_fashion_mnist_class_subsets(fake_fmnist):
    assert set(resolve_source("fashion_mnist:7").labels) == {7}
    subset = resolve_source("fashion_mnist:0-4")
    assert set(subset.labels) == {0, 1, 2, 3, 4} and len(subset.images) == 100
    assert subset.num_classes == 10 and subset.class_names[7] == "Sneaker"
    assert set(resolve_source("fashion_mnist:1,3", split="test").labels) == {1, 3}
    assert resolve_source("fashion_mnist").images.max() <= 255


@pytest.mark.parametrize("spec, message", [
    ("fashion_mnist:10", r"class index must be in 0-9 for fashion_mnist\. Received: class 10"),
    ("fashion_mnist:4-2", "class range must be ascending"),
    ("fashion_mnist:x", "class selection must look like"),
    ("cifar", r"data must be fashion_mnist\[:CLASSES\].*Received: 'cifar'"),
])
def test_bad_specs(fake_fmnist, spec, message):
    with pytest.raises(ValueError, match=message):
        resolve_source(spec)


def test_bad_split(fake_fmnist):
    with pytest.raises(ValueError, match="split must be one of"):
        resolve_source("fashion_mnist", split="val")


def test_parse_classes():
    assert parse_classes("0-2,5", 10, "x:0-2,5") == [0, 1, 2, 5]


def test_digits_are_split_by_position():
    train, test = resolve_source("digits"), resolve_source("digits", split="test")
    assert len(train.images) + len(test.images) == 1797
    assert train.images.shape[1:] == (8, 8, 1) and train.images.max() == 255
    assert set(resolve_source("digits:3").labels) == {3}


def test_tfds_names_load_through_tensorflow_datasets():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        arrays = resolve_source("tfds:mnist")
        assert arrays.images.shape == (12, 28, 28, 1) and arrays.num_classes == 10


def test_tfds_unknown_name_is_one_short_error_with_the_closest_names():
    with pytest.raises(ValueError) as caught:
        resolve_source("tfds:mnsit:0-4")
    message = str(caught.value)
    assert len(message) < 300 and "\n" not in message, message
    assert message.startswith("tfds:mnsit is not a TensorFlow Datasets name")
    assert "Closest: mnist" in message and message.endswith("Received: tfds:mnsit")
    with pytest.raises(ValueError, match=r"tfds:no_such_dataset_xyz is not a TensorFlow Datasets name\. ") as caught:
        resolve_source("tfds:no_such_dataset_xyz")
    assert len(str(caught.value)) < 300


def _write_folder(root, classes=("cat", "dog"), per_class=3):
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (12, 10), color=(40 * k + i, 0, 0)).save(root / name / f"{i}.png")


def test_folder_one_subfolder_per_class(tmp_path):
    _write_folder(tmp_path / "data")
    arrays = resolve_source(str(tmp_path / "data"))
    assert arrays.images.shape == (6, 10, 12, 3)
    assert arrays.class_names == ("cat", "dog") and list(arrays.labels) == [0, 0, 0, 1, 1, 1]


def test_empty_folder(tmp_path):
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError,
                       match=r"one sub-folder per class.*Received: .*empty with 1 sub-folder\(s\) and 0 file"):
        resolve_source(str(tmp_path / "empty"))


def test_corrupt_image_is_named(tmp_path):
    _write_folder(tmp_path / "data")
    (tmp_path / "data" / "dog" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match=r"broken\.png is unreadable or corrupt"):
        resolve_source(str(tmp_path / "data"))


def test_truncated_image_is_named(tmp_path):
    _write_folder(tmp_path / "data")
    Image.new("RGB", (64, 64), color=(9, 9, 9)).save(tmp_path / "data" / "cat" / "cut.jpg")
    data = (tmp_path / "data" / "cat" / "cut.jpg").read_bytes()
    (tmp_path / "data" / "cat" / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.jpg is unreadable or corrupt"):
        resolve_source(str(tmp_path / "data"))


def test_integer_images_are_always_0_to_255():
    mask = np.zeros((2, 4, 4), np.uint8)
    mask[:, 0, 0] = 1
    assert arrays_from_numpy(mask).images.max() == 1.0


def test_missing_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="Data file does not exist"):
        resolve_source(str(tmp_path / "nope.npz"))
    with pytest.raises(FileNotFoundError, match="Data path does not exist"):
        resolve_source(str(tmp_path / "nope" / "folder"))


def test_npz_npy_and_arrays(tmp_path, tiny_npz):
    arrays = resolve_source(str(tiny_npz))
    assert arrays.images.shape == (40, 16, 16, 1) and set(arrays.labels) == {0, 1}
    np.save(tmp_path / "x.npy", np.zeros((3, 5, 5), np.uint8))
    assert resolve_source(str(tmp_path / "x.npy")).images.shape == (3, 5, 5, 1)
    assert resolve_source(np.ones((2, 4, 4, 3), np.float32)).images.max() == 255.0
    np.savez(tmp_path / "bad.npz", pictures=np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"must hold an 'images'.*keys \['pictures'\]"):
        resolve_source(str(tmp_path / "bad.npz"))


@pytest.mark.parametrize("values, expected_max", [
    (np.array([0.0, 1.0]), 255.0), (np.array([-1.0, 1.0]), 255.0), (np.array([0.0, 200.0]), 200.0),
])
def test_value_range_is_read_off_the_values(values, expected_max):
    images = np.resize(values, (2, 4, 4)).astype(np.float32)
    assert arrays_from_numpy(images).images.max() == pytest.approx(expected_max)


@pytest.mark.parametrize("images, message", [
    (np.full((2, 4, 4), np.nan), "must not contain NaN"),
    (np.zeros((4, 4)), r"shape \(N, H, W\) or \(N, H, W, C\).*Received: shape=\(4, 4\)"),
    (np.zeros((2, 4, 4, 2)), "C in 1, 3, 4"),
    (np.full((2, 4, 4), 300.0), r"must be in \[0, 255\]"),
    (np.zeros((0, 4, 4)), "is empty"),
])
def test_bad_arrays(images, message):
    with pytest.raises(ValueError, match=message):
        arrays_from_numpy(images)


def test_labels_must_match_images():
    with pytest.raises(ValueError, match=r"labels must be integers of shape \(2,\)"):
        arrays_from_numpy(np.zeros((2, 4, 4)), np.zeros(3, int))


def test_a_mixed_folder_becomes_the_majority_mode_and_size_whatever_sorts_first(tmp_path, caplog):
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    # Sorted first: a 25x20 grayscale image. The majority: 32x32 colour; one colour image is transparent.
    Image.new("L", (20, 25), color=100).save(root / "a" / "0.png")
    for i in range(3):
        Image.new("RGB", (32, 32), color=(200, 10 * i, 0)).save(root / "a" / f"{i + 1}.png")
    transparent = Image.new("RGBA", (32, 32), color=(0, 0, 255, 0))
    transparent.save(root / "b" / "0.png")
    Image.new("RGB", (64, 64), color=(0, 250, 0)).save(root / "b" / "1.png")
    with caplog.at_level("WARNING", logger="kgantl"):
        arrays = resolve_source(str(root))
    assert arrays.images.shape == (6, 32, 32, 3) and list(arrays.labels) == [0, 0, 0, 0, 1, 1]
    np.testing.assert_array_equal(arrays.images[0, 0, 0], [100, 100, 100])  # grayscale -> colour
    np.testing.assert_array_equal(arrays.images[4, 0, 0], [255, 255, 255])  # transparent -> white, not blue
    np.testing.assert_array_equal(arrays.images[5, 0, 0], [0, 250, 0])  # 64x64 shrunk by area
    assert caplog.text.count("image folder") == 1
    assert ("6 images made colour 32x32 (the majority's size): 1 converted from grayscale, 0 from CMYK (no colour "
            "profile), 0 from 16 bits per pixel (scaled to 8), 1 with transparency flattened onto white, 2 resized, 0 of "
            "them stretched") in caplog.text


def test_a_cmyk_jpeg_and_a_strip_stretched_square_are_reported(tmp_path, caplog):
    from PIL import Image

    root = tmp_path / "data" / "a"
    root.mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (40, 40), color=(200, 10 * i, 0)).save(root / f"{i}.png")
    Image.new("CMYK", (40, 40), color=(0, 255, 255, 0)).save(root / "cmyk.jpg")
    Image.new("RGB", (40, 5), color=(0, 0, 200)).save(root / "strip.png")
    with caplog.at_level("WARNING", logger="kgantl"):
        arrays = resolve_source(str(tmp_path / "data"))
    assert arrays.images.shape == (5, 40, 40, 3)
    assert "1 from CMYK (no colour profile)" in caplog.text
    assert "1 resized, 1 of them stretched to more than twice or less than half their aspect ratio" in caplog.text


def test_one_colour_image_makes_a_mostly_grayscale_folder_colour_never_the_reverse(tmp_path):
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    Image.new("RGB", (8, 8), color=(255, 0, 0)).save(root / "a" / "0.png")
    for i in range(2):
        Image.new("L", (8, 8), color=50).save(root / "a" / f"{i + 1}.png")
    arrays = resolve_source(str(root))
    assert arrays.images.shape == (3, 8, 8, 3)
    np.testing.assert_array_equal(arrays.images[0, 0, 0], [255, 0, 0])  # the colour kept
    np.testing.assert_array_equal(arrays.images[1, 0, 0], [50, 50, 50])  # grey repeated
    assert "2 converted from grayscale" in arrays.conversions[0]


def test_a_16_bit_png_is_scaled_to_8_bits_not_clipped_to_white(tmp_path):
    root = tmp_path / "scans"
    root.mkdir()
    deep = (np.arange(16 * 16).reshape(16, 16) * 256).astype(np.uint16)  # 0 ... 65280
    Image.fromarray(deep).save(root / "0.png")
    Image.fromarray(deep[::-1].copy()).save(root / "1.png")
    arrays = resolve_source(str(root))
    assert arrays.images.shape == (2, 16, 16, 1)
    np.testing.assert_allclose(arrays.images[0, ..., 0], np.round(deep * 255.0 / 65535), atol=0.5)
    assert arrays.images.max() < 255 and arrays.images.min() == 0
    assert "2 from 16 bits per pixel (scaled to 8)" in arrays.conversions[0]


def test_a_one_pixel_wide_image_is_refused_naming_the_file(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    Image.new("RGB", (16, 16)).save(root / "0.png")
    Image.new("RGB", (1, 40)).save(root / "strip.png")
    with pytest.raises(ValueError, match=r"Image file .*strip\.png is 1x40 pixels: an image needs at least 4 pixels "
                                         r"on each side"):
        resolve_source(str(root))


def test_a_flat_folder_of_images_is_one_class_and_says_so(tmp_path, caplog):
    from PIL import Image

    (tmp_path / "sneakers").mkdir()
    for i in range(3):
        Image.new("L", (16, 16), color=40 * i).save(tmp_path / "sneakers" / f"{i}.png")
    with caplog.at_level("WARNING", logger="kgantl"):
        arrays = resolve_source(str(tmp_path / "sneakers"))
    assert arrays.images.shape == (3, 16, 16, 1) and set(arrays.labels.tolist()) == {0}
    assert arrays.class_names == ("sneakers",)
    assert "has no class sub-folders: its 3 images are one class, 'sneakers'" in caplog.text


def test_a_folder_without_images_says_what_it_found(tmp_path):
    (tmp_path / "notes" / "empty").mkdir(parents=True)
    (tmp_path / "notes" / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match=r"with 1 sub-folder\(s\) and 1 file\(s\), none of them an image"):
        resolve_source(str(tmp_path / "notes"))
