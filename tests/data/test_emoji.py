"""Emoji specs on a tiny tarball in the layout of the npm packages; one slow test reads the real ones if present."""
import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kgantl.data import emoji, emoji_package as package
from kgantl.data.sources import resolve_source

SMILEYS, PEOPLE, ANIMALS = (emoji.CATEGORIES.index(name) for name in
                            ("Smileys & Emotion", "People & Body", "Animals & Nature"))
REAL = Path("/work/npm")


def _entry(unified, category, subcategory, variants=(), google=True, twitter=True):
    entry = {"unified": unified, "image": unified.lower() + ".png", "category": category,
             "subcategory": subcategory, "has_img_google": google, "has_img_twitter": twitter}
    if variants:
        entry["skin_variations"] = {
            tone: {"unified": f"{unified}-{tone}", "image": f"{unified}-{tone}.png".lower(),
                   "has_img_google": has_google, "has_img_twitter": True}
            for tone, has_google in variants}
    return entry


# 7 emoji in 3 categories; waving hand has 2 skin tones, thumbs up 3 (one without a Noto image).
ENTRIES = [
    _entry("1F600", "Smileys & Emotion", "face-smiling"),
    _entry("1F603", "Smileys & Emotion", "face-smiling"),
    _entry("1F610", "Smileys & Emotion", "face-neutral-skeptical"),
    _entry("1F44B", "People & Body", "hand-fingers-open", [("1F3FB", True), ("1F3FC", True)]),
    _entry("1F44D", "People & Body", "hand-fingers-closed", [("1F3FB", True), ("1F3FC", False), ("1F3FD", True)]),
    _entry("1F431", "Animals & Nature", "animal-mammal"),
    _entry("1F426", "Animals & Nature", "animal-bird"),
]
BASES = [entry["unified"] for entry in ENTRIES]


def _png(k):
    """Transparent 64x64 with an opaque square of colour (k, 100, 200) and one half-transparent red pixel."""
    pixels = np.zeros((64, 64, 4), np.uint8)
    pixels[16:48, 16:48] = (k, 100, 200, 255)
    pixels[0, 1] = (255, 0, 0, 128)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def _image_names():
    for entry in ENTRIES:
        yield entry["image"]
        yield from (variant["image"] for variant in entry.get("skin_variations", {}).values())


def write_tarball(path, vendor, entries=ENTRIES):
    """A tarball in emoji-datasource's layout: package/emoji.json and package/img/<vendor>/64/*.png."""
    with tarfile.open(path, "w:gz") as tar:
        files = {"package/emoji.json": json.dumps(entries).encode()}
        files.update({f"package/img/{vendor}/64/{name}": _png(k) for k, name in enumerate(_image_names())})
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def tiny_emoji(tmp_path, monkeypatch):
    """Both vendors' tiny tarballs in $KGANTL_DATA_DIR, their checksums pinned."""
    folder = tmp_path / "data"
    folder.mkdir()
    for vendor in ("google", "twitter"):
        path = write_tarball(folder / package.tarball_name(vendor), vendor)
        monkeypatch.setitem(package.PINNED_SHA256, vendor, hashlib.sha256(path.read_bytes()).hexdigest())
    monkeypatch.setenv("KGANTL_DATA_DIR", str(folder))
    return folder


def test_images_are_rgba_over_white_labelled_by_category(tiny_emoji):
    arrays = emoji.load_emoji("emoji:google")
    assert arrays.images.shape == (11, 64, 64, 3) and arrays.images.dtype == np.float32  # 7 + 4 Noto variants
    assert arrays.num_classes == 10 and arrays.class_names == emoji.CATEGORIES
    assert np.all(arrays.images[:, 5, 5] == 255)  # alpha 0 became white
    assert np.allclose(arrays.images[:, 0, 1], (255, 127, 127), atol=1)  # half-transparent red over white
    assert arrays.images[4, 30, 30].tolist() == [4, 100, 200]  # emoji.json order, each emoji then its variants
    assert arrays.labels.tolist() == [SMILEYS] * 3 + [PEOPLE] * 6 + [ANIMALS] * 2
    assert len(emoji.load_emoji("emoji:twemoji").images) == 12  # Twemoji has the variant Noto lacks


@pytest.mark.parametrize("spec, count, labels", [
    ("emoji:google:Animals & Nature", 2, {ANIMALS}),
    ("emoji:noto:animals & nature", 2, {ANIMALS}),
    ("emoji:google:!Animals & Nature", 9, {SMILEYS, PEOPLE}),
    ("emoji:google:Smileys & Emotion", 3, {SMILEYS}),
    ("emoji:google:animal-mammal", 1, {ANIMALS}),
    ("emoji:twitter:hand-fingers-closed", 4, {PEOPLE}),  # thumbs up and its three tones
    ("emoji:google:!face-smiling", 9, {SMILEYS, PEOPLE, ANIMALS}),
    ("emoji:google:face-smiling,Animals & Nature", 4, {SMILEYS, ANIMALS}),  # several, comma-separated
    ("emoji:google:!face-smiling, animal-bird", 8, {SMILEYS, PEOPLE, ANIMALS}),  # ! applies to the whole list
])
def test_selections(tiny_emoji, spec, count, labels):
    arrays = resolve_source(spec)
    assert len(arrays.images) == count and set(arrays.labels.tolist()) == labels and arrays.num_classes == 10


def test_subcategory_labels_index_the_vendors_subcategories_sorted(tiny_emoji):
    arrays = resolve_source("emoji:google:!Animals & Nature@subcategory")
    assert arrays.class_names == ("animal-bird", "animal-mammal", "face-neutral-skeptical", "face-smiling",
                                  "hand-fingers-closed", "hand-fingers-open")
    assert arrays.labels.tolist() == [3, 3, 2, 5, 5, 5, 4, 4, 4]  # thumbs up has two Noto tones
    assert resolve_source("emoji:google@category").num_classes == 10
    with pytest.raises(ValueError, match=r"@LABELS must be @category, @subcategory or @none\. "
                                         r"Received: 'emoji:google@tone'"):
        resolve_source("emoji:google@tone")


def test_every_tenth_base_emoji_and_its_variants_is_the_test_split(tiny_emoji, monkeypatch):
    from kgantl.data.pipeline import load_arrays

    assert emoji.TEST_EVERY == 10
    monkeypatch.setattr(emoji, "TEST_EVERY", 3)  # 7 base emoji here: the 3rd and 6th of the sorted ids
    test = resolve_source("emoji:google", "test")
    train = resolve_source("emoji:google")  # the default split is train
    table = package.load_table("google")
    bases_in_test = {b for b, t in zip(table["base"].tolist(), emoji.in_test_split(table).tolist()) if t}
    assert bases_in_test == {"1F44B", "1F603"}  # sorted: 1F426 1F431 [1F44B] 1F44D 1F600 [1F603] 1F610
    assert len(test.images) == 4 and len(train.images) == 7  # waving hand with its two tones, grinning face
    assert not {x.tobytes() for x in train.images} & {x.tobytes() for x in test.images}
    people = resolve_source("emoji:google:People & Body", "test")  # a selection's test images: the set's it selects
    assert len(people.images) == 3 and set(people.labels.tolist()) == {PEOPLE}
    per_category = load_arrays("emoji:google", shots=1, seed=0)  # --shots: the per-class rule on the train split
    assert sorted(per_category.labels.tolist()) == sorted([SMILEYS, PEOPLE, ANIMALS])
    with pytest.raises(ValueError, match="split must be one of"):
        emoji.load_emoji("emoji:google", "validation")


def _base_of(table):
    return dict(zip(table["unified"].tolist(), table["base"].tolist()))


def test_emoji_shots_follow_the_benchmark_rule(tiny_emoji):
    table = package.load_table("google")
    base_of, colour = _base_of(table), {int(table["images"][k, 30, 30, 0]): u
                                        for k, u in enumerate(table["unified"].tolist())}
    previous = []
    for n in range(1, len(BASES) + 1):
        shots, test = emoji.emoji_shots("google", None, n, seed=3)
        chosen = [colour[int(v)] for v in shots.images[:, 30, 30, 0]]
        expected = [sorted(BASES)[k] for k in np.random.default_rng(3).permutation(len(BASES))[:n]]
        assert chosen == expected and chosen[:len(previous)] == previous  # the rule, nested in n
        tested = [colour[int(v)] for v in test.images[:, 30, 30, 0]]
        assert not {base_of[u] for u in tested} & set(chosen)  # no shot, no variant of a shot
        assert len(tested) == sum(base_of[u] not in chosen for u in base_of)  # every other image is a test image
        previous = chosen


def test_emoji_shots_of_a_subset(tiny_emoji):
    shots, test = emoji.emoji_shots("twitter", "!Animals & Nature", 2, seed=0)
    assert len(shots.images) == 2 and set(shots.labels.tolist()) <= {SMILEYS, PEOPLE}
    assert ANIMALS not in test.labels and len(shots.images) + len(test.images) <= 10
    with pytest.raises(ValueError, match=r"n must be an integer in 1\.\.2 \(the base emoji of "
                                         r"emoji:google:Animals & Nature\)\. Received: n=3"):
        emoji.emoji_shots("google", "Animals & Nature", 3)


def test_shots_of_a_spec_take_the_emoji_rule_per_class_from_the_train_split(tiny_emoji, monkeypatch):
    from kgantl.data.pipeline import load_arrays

    whole = load_arrays("emoji:google@none", split=None, shots=4, seed=3)  # one class, both splits: BENCHMARKS.md's
    assert whole.images.tobytes() == emoji.emoji_shots("google", None, 4, seed=3)[0].images.tobytes()
    assert whole.labels.tolist() == [0] * 4 and whole.num_classes == 1 and whole.class_names == ("emoji",)
    monkeypatch.setattr(emoji, "TEST_EVERY", 3)  # test split: waving hand (and its tones), grinning face
    table = package.load_table("google")
    colour = {int(table["images"][k, 30, 30, 0]): u for k, u in enumerate(table["unified"].tolist())}
    for seed in range(5):
        shots = load_arrays("emoji:google:!Animals & Nature", shots=1, seed=seed)  # the default split: train
        chosen = [colour[int(v)] for v in shots.images[:, 30, 30, 0]]
        assert not {"1F44B", "1F603"} & set(chosen) and shots.labels.tolist() == [PEOPLE, SMILEYS]  # class order
        rng = np.random.default_rng(seed)  # one generator, classes in id order
        assert chosen == [["1F44D"][rng.permutation(1)[0]], ["1F600", "1F610"][rng.permutation(2)[0]]]
    with pytest.raises(ValueError, match=r"n must be an integer in 1\.\.1 \(the base emoji of emoji:google:!Animals "
                                         r"& Nature, train split, class People & Body\)\. Received: n=2"):
        load_arrays("emoji:google:!Animals & Nature", shots=2)


def test_the_cache_is_reused_without_the_tarball(tiny_emoji):
    first = emoji.load_emoji("emoji:google")
    (tiny_emoji / package.tarball_name("google")).unlink()
    second = emoji.load_emoji("emoji:google:Smileys & Emotion")
    assert np.array_equal(first.images[:3], second.images)
    assert sorted(p.name for p in tiny_emoji.iterdir()) == ["emoji-datasource-twitter-16.0.0.tgz",
                                                            "emoji-google-16.0.0.npz"]  # nothing half-written


def test_a_damaged_cache_is_rebuilt(tiny_emoji, caplog):
    package.cache_path("google").write_bytes(b"not a zip file")
    assert len(emoji.load_emoji("emoji:google").images) == 11
    assert "unreadable" in caplog.text and len(package.load_table("google")["images"]) == 11


def test_a_wrong_checksum_is_refused(tiny_emoji, monkeypatch):
    monkeypatch.setitem(package.PINNED_SHA256, "google", "0" * 64)
    path = tiny_emoji / package.tarball_name("google")
    with pytest.raises(ValueError) as caught:
        emoji.load_emoji("emoji:google")
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "0" * 64 in message
    assert message.endswith(f"Received: sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}")
    assert not package.cache_path("google").exists()


@pytest.mark.parametrize("spec, message", [
    ("emoji:apple", r"emoji:VENDOR\[:SELECTION\] with VENDOR google or twitter .* Received: 'emoji:apple'"),
    ("emoji:google:Animals", r"categories \(Activities, Animals & Nature, .*\) or subcategories of the package's "
                             r"emoji\.json .* Closest to 'Animals': Animals & Nature\. "
                             r"Received: 'emoji:google:Animals'"),
    ("emoji:google:!nothing", r"Unknown: 'nothing'\. Received: 'emoji:google:!nothing'"),
    ("emoji:google:face-smiling, nothing", r"Unknown: 'nothing'\. Received: 'emoji:google:face-smiling, nothing'"),
])
def test_bad_specs(tiny_emoji, spec, message):
    with pytest.raises(ValueError, match=message) as caught:
        resolve_source(spec)
    assert "\n" not in str(caught.value)


def test_no_tarball_and_no_npm_says_how_to_get_it(tiny_emoji, monkeypatch):
    (tiny_emoji / package.tarball_name("google")).unlink()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(FileNotFoundError) as caught:
        emoji.load_emoji("emoji:google")
    message = str(caught.value)
    assert "\n" not in message and "`npm pack emoji-datasource-google@16.0.0`" in message and str(tiny_emoji) in message


def _fake_npm(folder, tarball):
    """An `npm` whose `pack` copies `tarball` into the working folder, as the real one downloads it."""
    folder.mkdir(exist_ok=True)
    script = folder / "npm"
    script.write_text(f"#!/bin/sh\ncp '{tarball}' ./{package.tarball_name('google')}\n")
    script.chmod(0o755)
    return folder


def test_npm_pack_fetches_into_the_data_folder(tiny_emoji, tmp_path, monkeypatch):
    shutil.move(tiny_emoji / package.tarball_name("google"), tmp_path / "published.tgz")
    fake = _fake_npm(tmp_path / "bin", tmp_path / "published.tgz")
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    assert len(emoji.load_emoji("emoji:google").images) == 11
    assert (tiny_emoji / package.tarball_name("google")).is_file()
    write_tarball(tmp_path / "published.tgz", "google", ENTRIES[:2])  # npm now serves another tarball
    package.cache_path("google").unlink()
    (tiny_emoji / package.tarball_name("google")).unlink()
    with pytest.raises(ValueError, match="its sha256 must be"):
        emoji.load_emoji("emoji:google")
    assert sorted(p.name for p in tiny_emoji.iterdir()) == ["emoji-datasource-twitter-16.0.0.tgz"]  # not kept


@pytest.mark.slow
@pytest.mark.skipif(not (REAL / package.tarball_name("google")).is_file(), reason="the real tarballs are not here")
def test_the_real_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("KGANTL_DATA_DIR", str(tmp_path))
    for vendor in ("google", "twitter"):
        (tmp_path / package.tarball_name(vendor)).symlink_to(REAL / package.tarball_name(vendor))
        table = package.load_table(vendor)
        assert table["images"].shape == (3786, 64, 64, 3)
        base = table["category"][table["unified"] == table["base"]].tolist()
        assert len(base) == 1911 and base.count("Animals & Nature") == 159 and base.count("People & Body") == 386
    assert len(emoji.load_emoji("emoji:google:!Animals & Nature").images) == 3627  # the benchmark's source domain
    assert len(emoji.load_emoji("emoji:google", "test").images) == 371  # every tenth emoji (191), with its tones
    source_train = resolve_source("emoji:google:!Animals & Nature")  # train split: what a source GAN trains on
    source_test = resolve_source("emoji:google:!Animals & Nature", "test")
    assert (len(source_train.images), len(source_test.images)) == (3272, 355)
    shots, test = emoji.emoji_shots("google", "Animals & Nature", 10, seed=0)
    assert len(shots.images) == 10 and len(test.images) == 149
