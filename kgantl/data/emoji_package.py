"""The npm packages `emoji-datasource-google@16.0.0` (Noto) and `emoji-datasource-twitter@16.0.0` (Twemoji):
where the tarball comes from, its checksum, and the table of composited images read from it (cached).

Data: the tarball `emoji-datasource-<vendor>-16.0.0.tgz` in `data_dir()` (`$KGANTL_DATA_DIR`, else
`~/.cache/kgantl/data`), put there by hand or fetched there with `npm pack`, its sha256 checked against
`PINNED_SHA256`. The composited images and their metadata are cached once, atomically, as
`emoji-<vendor>-16.0.0.npz` in the same folder; later loads read only that file. What a spec selects from the
table (categories, splits, shots) is `kgantl.data.emoji`'s job.

Licences (`ATTRIBUTION`): Noto Emoji by Google, Apache-2.0; Twemoji by Twitter/X, Inc. and contributors,
CC-BY-4.0; packaged by emoji-datasource (iamcal), MIT.
"""
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


def vendor_name(vendor):
    """A vendor's canonical name: `google` (alias `noto`) or `twitter` (alias `twemoji`); else a ValueError."""
    canonical = VENDORS.get(str(vendor).strip().lower())
    if canonical is None:
        raise ValueError(f"An emoji vendor must be google or twitter (aliases noto, twemoji). Received: {vendor!r}")
    return canonical


def tarball_name(vendor):
    """File name of a vendor's npm tarball, e.g. `emoji-datasource-google-16.0.0.tgz`."""
    return f"emoji-datasource-{vendor}-{VERSION}.tgz"


def cache_path(vendor):
    """Where a vendor's composited images are cached: `data_dir()/emoji-<vendor>-16.0.0.npz`."""
    return data_dir() / f"emoji-{vendor}-{VERSION}.npz"



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
    logger.info("fetching %s with npm into %s (once; about 70 MB)", package, path.parent)
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
                logger.info("emoji cache %s is of another tarball or format: rebuilding it", path)
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
        dict of equal-length arrays: `images` uint8 (N, 64, 64, 3) on white, and the strings `unified` (the image's code
            points), `base` (its emoji's; equal to `unified` for a base emoji), `category`, `subcategory`.

    Example:
        >>> table = load_table("google")
        >>> int((table["unified"] == table["base"]).sum())
        1911
    """
    vendor = vendor_name(vendor)
    path = cache_path(vendor)
    table = _read_cache(path, vendor)
    if table is None:
        table = _build_table(find_tarball(vendor), vendor)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:  # a kill never leaves a half-written cache
            np.savez_compressed(f, sha256=np.array(PINNED_SHA256[vendor]), format=np.array(_CACHE_FORMAT), **table)
    return table
