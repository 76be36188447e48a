import numpy as np
import pytest

from kgantl.metrics.evaluate import evaluate, protocol_name
from kgantl.models import ConditionalGAN, GAN, build_discriminator, build_generator


@pytest.fixture
def reference(tmp_path, monkeypatch):
    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (120, 28, 28, 1)).astype(np.uint8)
    np.savez(tmp_path / "ref.npz", images=images, labels=np.arange(120) % 3)
    return tmp_path / "ref.npz", images


def test_protocol_names():
    assert protocol_name("fmnist", 1000, "test") == "fmnist_1k_test"
    assert protocol_name("inception_v3", 500, "train") == "inception_v3_500_train"


def test_the_reference_itself_scores_perfectly(reference, tmp_path):
    path, images = reference
    np.save(tmp_path / "same.npy", images)
    report = evaluate(str(tmp_path / "same.npy"), ref=str(path), split="train", n=120, kid_subsets=10)
    assert report["protocol"] == "fmnist_120_file" and report["n_reference"] == 120
    assert report["split"] is None and report["reference_kind"] == "file"
    assert report["fid"] == pytest.approx(0.0, abs=1e-6)
    # Unbiased KID assumes independent samples; a set against itself lands below 0, never above.
    assert report["kid"] < 0
    assert report["precision"] == 1.0 and report["recall"] == 1.0
    assert "quantised to 8 bit" in report["pipeline"] and report["fid_error"] is None


def test_a_generator_scores_worse_than_the_reference(reference):
    path, _ = reference
    gan = GAN(build_generator(28, 1, 8, width=4, seed=0), build_discriminator(28, 1, width=4))
    report = evaluate(gan, ref=str(path), split="train", n=100, kid_subsets=5)
    assert report["kid"] > 0.01 and report["fid"] > 1.0


def test_conditional_generators_get_the_reference_labels(reference, monkeypatch, tmp_path):
    _, images = reference
    path = tmp_path / "sorted.npz"  # class-sorted, like a folder of class sub-folders
    np.savez(path, images=images, labels=np.repeat([0, 1, 2], 40))
    gan = ConditionalGAN(build_generator(28, 1, 8, width=4, num_classes=3), build_discriminator(28, 1, width=4,
                                                                                              num_classes=3))
    seen = {}
    original = gan.generate

    def spy(noise=None, labels=None, **kwargs):
        seen.setdefault("labels", []).extend(np.asarray(labels).tolist())
        return original(noise=noise, labels=labels, **kwargs)

    monkeypatch.setattr(gan, "generate", spy)
    evaluate(gan, ref=str(path), split="train", n=90, kid_subsets=2)
    counts = np.bincount(seen["labels"], minlength=3)
    assert counts.sum() == 90 and counts.min() >= 20, counts


def test_reference_features_are_cached(reference, tmp_path, monkeypatch):
    path, images = reference
    np.save(tmp_path / "same.npy", images)
    first = evaluate(str(tmp_path / "same.npy"), ref=str(path), split="train", n=100, kid_subsets=2)
    assert len(list((tmp_path / "cache").glob("*__train__fmnist__*.npz"))) == 1

    def no_loading(*args, **kwargs):
        raise AssertionError("the reference should come from the cache")

    monkeypatch.setattr("kgantl.data.load_arrays", no_loading)
    assert evaluate(str(tmp_path / "same.npy"), ref=str(path), split="train", n=100, kid_subsets=2) == first


def test_wrong_image_size_and_bad_n(reference, tmp_path):
    path, _ = reference
    gan = GAN(build_generator(32, 1, 8, width=4), build_discriminator(32, 1, width=4))
    with pytest.raises(ValueError, match=r"reference images' shape \(28, 28, 1\)\. Received: \(32, 32, 1\)"):
        evaluate(gan, ref=str(path), split="train", n=10)
    for n in (1, 9):  # 10: the Inception Score's splits
        with pytest.raises(ValueError, match=rf"n must be an integer >= 10 \(the Inception Score's 10 splits need an "
                                             rf"image each; precision and recall look at 3 neighbours\)\. "
                                             rf"Received: n={n}"):
            evaluate(gan, ref=str(path), n=n)
    with pytest.raises(ValueError, match="n must be an integer >= 4"):
        evaluate(gan, ref=str(path), n=3, splits=2)
    np.save(tmp_path / "few.npy", np.zeros((5, 28, 28, 1), np.uint8))
    with pytest.raises(ValueError, match="must hold at least n=10 images. Received: 5"):
        evaluate(str(tmp_path / "few.npy"), ref=str(path), split="train", n=10)


def test_cache_key_changes_with_the_reference_file(reference, tmp_path):
    from kgantl.metrics import get_extractor
    from kgantl.metrics.evaluate import cache_key

    path, images = reference
    extractor = get_extractor("fmnist")
    before = cache_key(str(path), "train", extractor)
    assert cache_key("fashion_mnist:0-4", "train", extractor) != cache_key("fashion_mnist:0,4", "train", extractor)
    import os

    os.utime(path, ns=(1, 1))  # the file changed
    assert cache_key(str(path), "train", extractor) != before


def test_too_few_samples_for_fid_still_gives_kid(reference, tmp_path):
    path, images = reference
    np.save(tmp_path / "few.npy", images[:60])
    report = evaluate(str(tmp_path / "few.npy"), ref=str(path), split="train", n=60, kid_subsets=2)
    assert report["fid"] is None and "FID in 64 dimensions needs at least 65 real and generated images; received " \
                                      "60 generated" in report["fid_error"] == report["not_computed"]["fid"]
    assert report["kid"] is not None and report["n_reference_precision_recall"] == 60


def test_cache_key_and_features_follow_the_fashion_mnist_folder(fake_fmnist, tmp_path, monkeypatch):
    from kgantl.metrics import get_extractor
    from kgantl.metrics.evaluate import cache_key, reference_set
    from tests.conftest import write_idx

    monkeypatch.setenv("KGANTL_CACHE_DIR", str(tmp_path / "cache"))
    extractor = get_extractor("fmnist")
    first_key = cache_key("fashion_mnist:7", "test", extractor)
    first, _, _ = reference_set("fashion_mnist:7", "test", extractor)
    other = tmp_path / "other-fmnist"
    other.mkdir()
    labels = np.repeat(np.arange(10), 10)
    write_idx(other / "t10k-images-idx3-ubyte.gz", np.full((100, 28, 28), 200, np.uint8))
    write_idx(other / "t10k-labels-idx1-ubyte.gz", labels)
    monkeypatch.setenv("KGANTL_DATA_DIR", str(other))
    assert cache_key("fashion_mnist:7", "test", extractor) != first_key
    second, _, _ = reference_set("fashion_mnist:7", "test", extractor)
    assert not np.allclose(first, second)
    monkeypatch.setenv("KGANTL_DATA_DIR", str(fake_fmnist))  # back to the first folder: its cache entry is reused
    assert cache_key("fashion_mnist:7", "test", extractor) == first_key


def test_kid_spread_when_the_subset_size_equals_the_sample_count(reference, tmp_path):
    path, images = reference
    rng = np.random.default_rng(1)
    np.save(tmp_path / "other.npy", rng.integers(0, 256, (120, 28, 28, 1)).astype(np.uint8))
    report = evaluate(str(tmp_path / "other.npy"), ref=str(path), split="train", n=120, kid_subsets=10,
                      kid_subset_size=120)
    assert report["kid_subset_size"] == 60 and report["kid_subsets"] == 10
    assert report["kid_std"] > 0


def test_twelve_reference_images_in_a_folder_give_no_scores_as_if_valid(tmp_path, caplog):
    """A folder of 12 images: KID, precision/recall and FID are not computed (each says why), the label says folder."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for index in range(12):
        (tmp_path / "ref" / "shoe").mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(tmp_path / "ref" / "shoe" / f"{index}.png")
    np.save(tmp_path / "fake.npy", rng.integers(0, 256, (100, 28, 28, 1)).astype(np.uint8))
    report = evaluate(str(tmp_path / "fake.npy"), ref=str(tmp_path / "ref"), split="test", n=100, kid_subsets=2)
    assert report["kid"] is None and report["kid_std"] is None and report["precision"] is None
    assert report["recall"] is None and report["fid"] is None
    assert report["not_computed"]["kid"] == "KID needs at least 50 real and generated images; received 12 real"
    assert set(report["not_computed"]) == {"kid", "precision_recall", "fid"}
    assert report["protocol"] == "fmnist_100_folder" and report["split"] is None
    assert report["reference_kind"] == "folder"
    assert "the Inception Score over 10 splits on 100 generated images is unreliable" in caplog.text


def test_an_emoji_reference_is_a_split_named_by_its_pinned_package(tmp_path):
    from kgantl.data import emoji_package
    from kgantl.metrics.evaluate import _source_fingerprint, reference_kind

    assert reference_kind("emoji:google:Animals & Nature") == "split"  # kgantl's train/test rule (every tenth)
    assert reference_kind(tmp_path) == "folder" and reference_kind("emoji") == "file"  # bare "emoji" is a path
    assert _source_fingerprint("emoji:twitter", "test") == [emoji_package.VERSION, emoji_package.PINNED_SHA256]
