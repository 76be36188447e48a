"""Emoji in two art styles, Noto (Google) and Twemoji (Twitter), from the npm packages `emoji-datasource-*@16.0.0`.

Spec: `emoji:VENDOR[:SELECTION][@LABELS]`.

- VENDOR: `google` (alias `noto`) or `twitter` (alias `twemoji`).
- SELECTION: a category (`Smileys & Emotion`), a subcategory of the package's `emoji.json` (`animal-mammal`), or
  `!` and either for everything else (`emoji:google:!Animals & Nature`); case does not matter. Without one: all.
- LABELS: `category` (the default) or `subcategory` (`emoji:google:!Animals & Nature@subcategory`: about a hundred
  classes, an index into the vendor's subcategories sorted by name).

Images: the package's `img/<vendor>/64/*.png` (64x64 RGBA) composited onto white, RGB float32 in [0, 255], shape
(N, 64, 64, 3), in `emoji.json` order with each emoji followed by its skin-tone variants; only those the vendor
has an image of (`has_img_<vendor>`). Labels: the emoji's category as an index into `CATEGORIES` (the ten
categories sorted by name); `num_classes` is 10 whatever the selection, so ids mean the same in every spec.

Splits (kgantl's; the packages have none): the vendor's base emoji sorted by their `unified` ids, every tenth
(positions 9, 19, ...) with its skin-tone variants is the `test` split, the rest `train` (3,415 and 371 images of
either vendor; outside "Animals & Nature" 3,272 and 355). The rule needs no seed and does not depend on the
selection, so a selection's test images are the whole set's that it selects. A source GAN trains on `train` and is
scored on `test`. `emoji_shots` is the benchmark's n-shot rule for a few-shot target instead: the shots and the test
images of a whole set, splits aside.

Data: the tarball `emoji-datasource-<vendor>-16.0.0.tgz` in `data_dir()` (`$KGANTL_DATA_DIR`, else
`~/.cache/kgantl/data`), put there by hand or fetched there with `npm pack`, its sha256 checked against
`PINNED_SHA256`. The composited images and their metadata are cached once, atomically, as
`emoji-<vendor>-16.0.0.npz` in the same folder; later loads read only that file.

Licences (`ATTRIBUTION`): Noto Emoji by Google, Apache-2.0; Twemoji by Twitter/X, Inc. and contributors,
CC-BY-4.0; packaged by emoji-datasource (iamcal), MIT.
"""
import difflib
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from kgantl.data.arrays import ImageArrays
from kgantl.data.pixels import onto_white
from kgantl.io import atomic_path

logger = logging.getLogger(__name__)

VERSION = "16.0.0"
VENDORS = {"google": "google", "noto": "google", "twitter": "twitter", "twemoji": "twitter"}
# The published tarballs; a module-level dict so tests can pin their own tiny ones.
PINNED_SHA256 = {
    "google": "fb5fd131b362aab7a55542d2a147a79708cce0a8b1c1bbacd470172708b5c438",
    "twitter": "f64a530c63bca463bd8317fdc4615ce63a53a0c65018e4ce2d848aaba7a28877",
}
# Sorted by name: emoji.json's own order of first appearance follows code points and means nothing.
CATEGORIES = ("Activities", "Animals & Nature", "Component", "Flags", "Food & Drink", "Objects", "People & Body",
              "Smileys & Emotion", "Symbols", "Travel & Places")
_PACKAGER = ("Packaged by emoji-datasource (https://github.com/iamcal/emoji-data), Copyright (c) 2013 Cal Henderson, "
             "MIT License.")
ATTRIBUTION = {
    "google": "Noto Emoji graphics, Copyright Google Inc., Apache License 2.0 "
              "(https://github.com/googlefonts/noto-emoji). " + _PACKAGER,
    "twitter": "Twemoji graphics, Copyright Twitter/X, Inc. and other contributors, licensed under CC-BY 4.0 "
               "(https://creativecommons.org/licenses/by/4.0/); graphics from https://github.com/twitter/twemoji "
               "(continued at https://github.com/jdecked/twemoji). " + _PACKAGER,
}
_SIZE = 64
_CACHE_FORMAT = 1  # raise when the cached arrays change meaning, so old caches are rebuilt
_COLUMNS = ("images", "unified", "base", "category", "subcategory")


def data_dir():
    """The folder emoji tarballs and caches live in: `$KGANTL_DATA_DIR` if set, else `~/.cache/kgantl/data`.

    Returns:
        `Path` (not created here).

    Example:
        >>> data_dir()
        PosixPath('/home/me/.cache/kgantl/data')
    """
    return Path(os.environ.get("KGANTL_DATA_DIR") or Path.home() / ".cache" / "kgantl" / "data")


def tarball_name(vendor):
    """File name of a vendor's npm tarball, e.g. `emoji-datasource-google-16.0.0.tgz`."""
    return f"emoji-datasource-{vendor}-{VERSION}.tgz"


def cache_path(vendor):
    """Where a vendor's composited images are cached: `data_dir()/emoji-<vendor>-16.0.0.npz`."""
    return data_dir() / f"emoji-{vendor}-{VERSION}.npz"


def is_emoji_spec(spec):
    """True for an `emoji:...` spec (a bare `emoji` is a path: a folder of that name keeps working)."""
    return str(spec).startswith("emoji:")


def parse_spec(spec):
    """Split `emoji:VENDOR[:SELECTION]` into the vendor's canonical name and the selection.

    Args:
        spec: the data spec.

    Returns:
        `(vendor, selection)`: vendor `"google"` or `"twitter"`, selection a string (empty: all).

    Example:
        >>> parse_spec("emoji:noto:!Animals & Nature")
        ('google', '!Animals & Nature')
    """
    prefix, _, rest = str(spec).partition(":")
    vendor_text, _, selection = rest.partition(":")
    vendor = VENDORS.get(vendor_text.strip().lower())
    if prefix != "emoji" or vendor is None:
        raise ValueError(f"An emoji spec must be emoji:VENDOR[:SELECTION] with VENDOR google or twitter (aliases "
                         f"noto, twemoji). Received: {spec!r}")
    return vendor, selection.strip()


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_sha256(path, vendor):
    """Refuse a tarball that is not the published one (a truncated download, another version)."""
    found, expected = _sha256(path), PINNED_SHA256[vendor]
    if found != expected:
        raise ValueError(f"{path} is not emoji-datasource-{vendor}@{VERSION}: its sha256 must be {expected}; delete "
                         f"or replace it. Received: sha256 {found}")


def find_tarball(vendor):
    """The checked npm tarball of a vendor: the one in `data_dir()`, else fetched there with `npm pack`.

    Args:
        vendor: `"google"` or `"twitter"`.

    Returns:
        `Path` of `data_dir()/emoji-datasource-<vendor>-16.0.0.tgz`, its sha256 the pinned one.

    Raises:
        ValueError: the tarball's sha256 is not the pinned one (the file is not used).
        FileNotFoundError: no tarball and no npm, or `npm pack` failed; the message says how to get it.

    Example:
        >>> find_tarball("twitter")
    """
    path = data_dir() / tarball_name(vendor)
    if path.is_file():
        _check_sha256(path, vendor)
        return path
    package = f"emoji-datasource-{vendor}@{VERSION}"
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError(f"emoji:{vendor} needs the npm package {package}: run `npm pack {package}` and put "
                                f"the .tgz in {path.parent}, or install npm so kgantl fetches it there. Received: no "
                                f"{path.name} in {path.parent} and no npm on PATH")
    return _npm_pack(npm, package, vendor, path)


def _npm_pack(npm, package, vendor, path):
    """Fetch into a temporary folder beside `path` and move it in only once checked: a kill leaves no bad tarball."""
    path.parent.mkdir(parents=True, exist_ok=True)
    logger.warning("fetching %s with npm into %s (once; about 70 MB)", package, path.parent)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".npm-pack-") as tmp:
        done = subprocess.run([npm, "pack", package], cwd=tmp, capture_output=True, text=True)
        fetched = Path(tmp) / path.name
        if done.returncode != 0 or not fetched.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise FileNotFoundError(f"`npm pack {package}` failed: download the .tgz elsewhere and put it in "
                                    f"{path.parent} as {path.name}. Received: exit {done.returncode}, {last}")
        _check_sha256(fetched, vendor)
        os.replace(fetched, path)
    return path


def _read_tarball(path, vendor):
    """`emoji.json` and the vendor's 64x64 PNGs (bytes by file name), in one streaming pass over the tarball."""
    prefix = f"package/img/{vendor}/{_SIZE}/"
    entries, pngs = None, {}
    with tarfile.open(path, "r|gz") as tar:
        for member in tar:
            if member.isfile() and member.name.startswith(prefix):
                pngs[member.name[len(prefix):]] = tar.extractfile(member).read()
            elif member.isfile() and member.name == "package/emoji.json":
                entries = json.loads(tar.extractfile(member).read())
    if entries is None:
        raise ValueError(f"An emoji-datasource tarball must hold package/emoji.json. Received: {path} without it")
    return entries, pngs


def _rows(entries, vendor):
    """(unified, base unified, category, subcategory, image file) of each image the vendor has, in emoji.json
    order, each emoji followed by its skin-tone variants (which take their emoji's category and subcategory)."""
    rows = []
    for entry in entries:
        for item in [entry, *entry.get("skin_variations", {}).values()]:
            if item.get(f"has_img_{vendor}"):
                rows.append((item["unified"], entry["unified"], entry["category"], entry["subcategory"],
                             item["image"]))
    return rows


def _composite(data, name):
    """A PNG's RGBA pixels over white, as uint8 RGB (64, 64, 3)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        rgba = image.convert("RGBA")
    if rgba.size != (_SIZE, _SIZE):
        raise ValueError(f"emoji images must be {_SIZE}x{_SIZE}. Received: {name} of {rgba.size[0]}x{rgba.size[1]}")
    return np.asarray(onto_white(rgba).convert("RGB"), dtype=np.uint8)


def _build_table(path, vendor):
    """Every image of a vendor's tarball composited, with its metadata, as the columns `_COLUMNS`."""
    entries, pngs = _read_tarball(path, vendor)
    rows = _rows(entries, vendor)
    missing = [row[4] for row in rows if row[4] not in pngs]
    unknown = sorted({row[2] for row in rows} - set(CATEGORIES))
    if not rows or missing:
        raise ValueError(f"{path} must hold package/img/{vendor}/{_SIZE}/<image> for each emoji emoji.json says "
                         f"{vendor} has. Received: {len(rows)} promised, {len(missing)} missing {missing[:3]}")
    if unknown:
        raise ValueError(f"emoji categories must be among {', '.join(CATEGORIES)}. Received: {unknown} in {path}")
    images = np.stack([_composite(pngs[row[4]], row[4]) for row in rows])
    unified, base, category, subcategory, _ = (np.array(column) for column in zip(*rows))
    return {"images": images, "unified": unified, "base": base, "category": category, "subcategory": subcategory}


def _read_cache(path, vendor):
    """The cached table, or None when there is none or it is stale (another tarball, another format) or damaged."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            if str(archive["sha256"]) != PINNED_SHA256[vendor] or int(archive["format"]) != _CACHE_FORMAT:
                logger.warning("emoji cache %s is of another tarball or format: rebuilding it", path)
                return None
            return {key: archive[key] for key in _COLUMNS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        logger.warning("emoji cache %s is unreadable (%s): rebuilding it", path, error)
        return None


def load_table(vendor):
    """Every image of a vendor with its metadata: from the cache, else built from the tarball and cached.

    Args:
        vendor: `google`, `twitter` or an alias (`noto`, `twemoji`).

    Returns:
        dict of equal-length arrays: `images` uint8 (N, 64, 64, 3) on white, and the strings `unified` (the image's
        code points), `base` (its emoji's; equal to `unified` for a base emoji), `category`, `subcategory`.

    Example:
        >>> table = load_table("google")
        >>> int((table["unified"] == table["base"]).sum())
        1911
    """
    vendor, _ = parse_spec(f"emoji:{vendor}")
    path = cache_path(vendor)
    table = _read_cache(path, vendor)
    if table is None:
        table = _build_table(find_tarball(vendor), vendor)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:  # a kill never leaves a half-written cache
            np.savez_compressed(f, sha256=np.array(PINNED_SHA256[vendor]), format=np.array(_CACHE_FORMAT), **table)
    return table


def _unknown_selection(spec, table):
    names = list(CATEGORIES) + sorted(set(table["subcategory"].tolist()))
    selection = parse_spec(spec)[1].lstrip("!").strip()
    closest = difflib.get_close_matches(selection, names, n=3)
    hint = f" Closest: {', '.join(closest)}." if closest else ""
    return ValueError(f"An emoji selection must be a category ({', '.join(CATEGORIES)}), a subcategory of the "
                      f"package's emoji.json (such as animal-mammal), or ! and either.{hint} Received: {spec!r}")


def _selected(table, selection, spec):
    """Boolean mask of the table's images in the selection (a category, a subcategory, or ! and either)."""
    if not selection:
        return np.ones(len(table["unified"]), dtype=bool)
    exclude = selection.startswith("!")
    name = selection[1:].strip().casefold() if exclude else selection.casefold()
    if name in {c.casefold() for c in CATEGORIES}:
        column = table["category"]
    elif name in {s.casefold() for s in table["subcategory"].tolist()}:
        column = table["subcategory"]
    else:
        raise _unknown_selection(spec, table)
    mask = np.array([value.casefold() == name for value in column.tolist()], dtype=bool)
    return ~mask if exclude else mask


LABELLINGS = ("category", "subcategory")
SPLITS = ("train", "test")
# Every TEST_EVERY-th base emoji in sorted `unified` order, with its variants, is the test split (a design choice:
# about a tenth held out, without a seed, the same emoji for both vendors).
TEST_EVERY = 10


def in_test_split(table):
    """Boolean mask of the table's images in the `test` split (see the module docstring)."""
    bases = sorted(set(table["base"].tolist()))
    return np.isin(table["base"], bases[TEST_EVERY - 1::TEST_EVERY])


def split_labels(spec):
    """`(spec without its @LABELS, labels)`: `emoji:google@subcategory` -> `("emoji:google", "subcategory")`."""
    text, _, labels = str(spec).partition("@")
    labels = labels.strip().lower() or "category"
    if labels not in LABELLINGS:
        raise ValueError(f"An emoji spec's @LABELS must be @category or @subcategory. Received: {spec!r}")
    return text, labels


def _arrays(table, positions, labels="category"):
    """`ImageArrays` of the table's images at `positions` (a mask or indices), labelled by `labels`: the category
    (an index into `CATEGORIES`) or the subcategory (into the vendor's subcategories, sorted)."""
    names = CATEGORIES if labels == "category" else tuple(sorted(set(table["subcategory"].tolist())))
    ids = {name: k for k, name in enumerate(names)}
    values = np.array([ids[name] for name in table[labels][positions].tolist()], dtype=np.int64)
    return ImageArrays(table["images"][positions].astype(np.float32), values, len(names), names)


def load_emoji(spec, split=None):
    """The images an `emoji:VENDOR[:SELECTION][@LABELS]` spec names (see the module docstring), base emoji and
    variants.

    Args:
        spec: e.g. `emoji:google`, `emoji:twitter:Smileys & Emotion`, `emoji:noto:!Animals & Nature`,
            `emoji:google:animal-mammal`, `emoji:google@subcategory`.
        split: `"train"`, `"test"` (see the module docstring) or None for both.

    Returns:
        `ImageArrays`: float32 (N, 64, 64, 3) in [0, 255], labels into `CATEGORIES` (`num_classes` 10) or, with
        `@subcategory`, into the vendor's subcategories.

    Example:
        >>> len(load_emoji("emoji:google:Animals & Nature").images), len(load_emoji("emoji:google", "test").images)
        (159, 371)
    """
    if split not in (None, *SPLITS):
        raise ValueError(f"split must be one of {SPLITS} or None. Received: split={split!r}")
    text, labels = split_labels(spec)
    vendor, selection = parse_spec(text)
    table = load_table(vendor)
    chosen = _selected(table, selection, text)
    if split is not None:
        chosen &= in_test_split(table) == (split == "test")
    return _arrays(table, chosen, labels)


def emoji_shots(vendor, selection, n, seed=0):
    """The benchmark's n-shot rule for emoji: n shots of a set, and its test images.

    The set's base emoji (entries of emoji.json, not their skin-tone variants) have their `unified` ids sorted as
    strings; `np.random.default_rng(seed).permutation` orders them and the first n are the shots. A shot's
    skin-tone variants are neither shots nor test images; every other image of the set, variants included, is a
    test image. The shots for n are the first n of those for any larger n.

    Args:
        vendor: `google`, `twitter` or an alias.
        selection: a category, a subcategory, `!` and either, or None / "" for every emoji.
        n: number of shots, 1 to the number of base emoji in the set.
        seed: the rule's seed.

    Returns:
        `(shots, test)` `ImageArrays`, the shots in the permutation's order, the test images in emoji.json order.

    Example:
        >>> shots, test = emoji_shots("google", "Animals & Nature", 10, seed=0)
        >>> len(shots.images), len(test.images)
        (10, 149)
    """
    spec = f"emoji:{vendor}:{selection}" if selection else f"emoji:{vendor}"
    vendor, selection = parse_spec(spec)
    table = load_table(vendor)
    in_set = _selected(table, selection, spec)
    is_base = table["unified"] == table["base"]
    ids = sorted(table["unified"][in_set & is_base].tolist())
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(ids):
        raise ValueError(f"n must be an integer in 1..{len(ids)} (the base emoji of {spec}). Received: n={n!r}")
    chosen = [ids[k] for k in np.random.default_rng(seed).permutation(len(ids))[:n]]
    base_at = {u: k for k, u in enumerate(table["unified"].tolist()) if is_base[k]}
    shots_at = np.array([base_at[u] for u in chosen], dtype=np.int64)
    test_at = np.flatnonzero(in_set & ~np.isin(table["base"], chosen))
    return _arrays(table, shots_at), _arrays(table, test_at)
