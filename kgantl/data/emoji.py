"""Emoji in two art styles, Noto (Google) and Twemoji (Twitter), from the npm packages `emoji-datasource-*@16.0.0`.

Spec: `emoji:VENDOR[:SELECTION][@LABELS]`.

- VENDOR: `google` (alias `noto`) or `twitter` (alias `twemoji`).
- SELECTION: a category (`Smileys & Emotion`), a subcategory of the package's `emoji.json` (`animal-mammal`),
  several of either comma-separated (`emoji:twitter:clothing,country-flag`), or `!` and those for everything else
  (`emoji:google:!Animals & Nature`); case does not matter. Without one: all.
- LABELS: `category` (the default), `subcategory` (`emoji:google:!Animals & Nature@subcategory`: about a hundred
  classes, an index into the vendor's subcategories sorted by name) or `none` (one class: a set to learn as a whole).

Images: the package's `img/<vendor>/64/*.png` (64x64 RGBA) composited onto white, RGB float32 in [0, 255], shape
(N, 64, 64, 3), in `emoji.json` order with each emoji followed by its skin-tone variants; only those the vendor
has an image of (`has_img_<vendor>`). Labels: the emoji's category as an index into `CATEGORIES` (the ten
categories sorted by name); `num_classes` is 10 whatever the selection, so ids mean the same in every spec.

Splits (kgantl's; the packages have none): the vendor's base emoji sorted by their `unified` ids, every tenth
(positions 9, 19, ...) with its skin-tone variants is the `test` split, the rest `train` (3,415 and 371 images of
either vendor; outside "Animals & Nature" 3,272 and 355). The rule needs no seed and does not depend on the
selection, so a selection's test images are the whole set's that it selects. A source GAN trains on `train` and is
scored on `test`. `--shots n` on a spec (`spec_shots`) takes n base emoji per class of its labelling from the
`train` split by the emoji n-shot rule, so `--split test` never holds a shot; `emoji_shots` is the benchmark
protocol's rule itself for a few-shot target: the shots and the test images of a whole set, splits aside.

Data and licences: `kgantl.data.emoji_package` (the npm tarball, its checksum, the cache, `ATTRIBUTION`).
"""
import difflib

import numpy as np

from kgantl.data.arrays import ImageArrays
from kgantl.data.emoji_package import CATEGORIES, VENDORS, load_table


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

def _unknown_selection(name, spec, table):
    names = list(CATEGORIES) + sorted(set(table["subcategory"].tolist()))
    closest = difflib.get_close_matches(name, names, n=3)
    hint = f" Closest to {name!r}: {', '.join(closest)}." if closest else f" Unknown: {name!r}."
    return ValueError(f"An emoji selection must be categories ({', '.join(CATEGORIES)}) or subcategories of the "
                      f"package's emoji.json (such as animal-mammal), comma-separated, or ! and those.{hint} "
                      f"Received: {spec!r}")


def _selected(table, selection, spec):
    """Boolean mask of the table's images in the selection: categories or subcategories, comma-separated, or `!`
    and those (everything else)."""
    if not selection:
        return np.ones(len(table["unified"]), dtype=bool)
    exclude = selection.startswith("!")
    mask = np.zeros(len(table["unified"]), dtype=bool)
    for name in (selection[1:] if exclude else selection).split(","):
        folded = name.strip().casefold()
        if folded in {c.casefold() for c in CATEGORIES}:
            column = table["category"]
        elif folded in {s.casefold() for s in table["subcategory"].tolist()}:
            column = table["subcategory"]
        else:
            raise _unknown_selection(name.strip(), spec, table)
        mask |= np.array([value.casefold() == folded for value in column.tolist()], dtype=bool)
    return ~mask if exclude else mask


LABELLINGS = ("category", "subcategory", "none")
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
        raise ValueError(f"An emoji spec's @LABELS must be @category, @subcategory or @none. Received: {spec!r}")
    return text, labels


def _label_names(table, labels):
    """The class names of a labelling: the categories, the vendor's subcategories sorted, or one class."""
    if labels == "none":
        return ("emoji",)
    return CATEGORIES if labels == "category" else tuple(sorted(set(table["subcategory"].tolist())))


def _class_ids(table, labels):
    """Each image's class id under `labels` (all 0 for `none`)."""
    if labels == "none":
        return np.zeros(len(table["unified"]), dtype=np.int64)
    ids = {name: k for k, name in enumerate(_label_names(table, labels))}
    return np.array([ids[name] for name in table[labels].tolist()], dtype=np.int64)


def _arrays(table, positions, labels="category"):
    """`ImageArrays` of the table's images at `positions` (a mask or indices), labelled by `labels`: the category
    (an index into `CATEGORIES`), the subcategory (into the vendor's subcategories, sorted) or none (all 0)."""
    names = _label_names(table, labels)
    return ImageArrays(table["images"][positions].astype(np.float32), _class_ids(table, labels)[positions],
                       len(names), names)


def load_emoji(spec, split=None):
    """The images an `emoji:VENDOR[:SELECTION][@LABELS]` spec names (see the module docstring), base emoji and
    variants.

    Args:
        spec: e.g. `emoji:google`, `emoji:twitter:Smileys & Emotion`, `emoji:noto:!Animals & Nature`,
            `emoji:google:animal-mammal`, `emoji:google@subcategory`.
        split: `"train"`, `"test"` (see the module docstring) or None for both.

    Returns:
        `ImageArrays`: float32 (N, 64, 64, 3) in [0, 255], labels into `CATEGORIES` (`num_classes` 10), with
            `@subcategory` into the vendor's subcategories, with `@none` all 0 (`num_classes` 1).

    Example:
        >>> len(load_emoji("emoji:google:Animals & Nature").images), len(load_emoji("emoji:google", "test").images)
        (159, 371)
    """
    text, labels = split_labels(spec)
    table = load_table(parse_spec(text)[0])
    return _arrays(table, _in_set(table, text, split), labels)


def _in_set(table, spec, split):
    """Mask of the images an emoji spec (no @LABELS) selects, within `split` (None: both)."""
    if split not in (None, *SPLITS):
        raise ValueError(f"split must be one of {SPLITS} or None. Received: split={split!r}")
    chosen = _selected(table, parse_spec(spec)[1], spec)
    if split is not None:
        chosen &= in_test_split(table) == (split == "test")
    return chosen


def _first_bases(table, in_set, n, rng, where):
    """The emoji n-shot rule on the base emoji in `in_set`: their `unified` ids sorted as strings, ordered by
    `rng.permutation`, the first n; returns their positions in the table."""
    is_base = table["unified"] == table["base"]
    ids = sorted(table["unified"][in_set & is_base].tolist())
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(ids):
        raise ValueError(f"n must be an integer in 1..{len(ids)} (the base emoji of {where}). Received: n={n!r}")
    chosen = [ids[k] for k in rng.permutation(len(ids))[:n]]
    base_at = {u: k for k, u in enumerate(table["unified"].tolist()) if is_base[k]}
    return np.array([base_at[u] for u in chosen], dtype=np.int64)


def emoji_shots(vendor, selection, n, seed=0):
    """The benchmark's n-shot rule for emoji: n shots of a set, and its test images.

    The set's base emoji (entries of emoji.json, not their skin-tone variants) have their `unified` ids sorted as
    strings; `np.random.default_rng(seed).permutation` orders them and the first n are the shots. A shot's
    skin-tone variants are neither shots nor test images; every other image of the set, variants included, is a
    test image. The shots for n are the first n of those for any larger n. The set is the whole selection, splits
    aside (the benchmark protocol); `--shots` on a spec is `spec_shots` instead.

    Args:
        vendor: `google`, `twitter` or an alias.
        selection: a category, a subcategory, `!` and either, or None / "" for every emoji.
        n: number of shots, 1 to the number of base emoji in the set.
        seed: the rule's seed.

    Returns:
        `(shots, test)` `ImageArrays` (labels: categories), the shots in the permutation's order, the test images in
            emoji.json order.

    Example:
        >>> shots, test = emoji_shots("google", "Animals & Nature", 10, seed=0)
        >>> len(shots.images), len(test.images)
        (10, 149)
    """
    spec = f"emoji:{vendor}:{selection}" if selection else f"emoji:{vendor}"
    table = load_table(parse_spec(spec)[0])
    in_set = _in_set(table, spec, None)
    shots_at = _first_bases(table, in_set, n, np.random.default_rng(seed), spec)
    test_at = np.flatnonzero(in_set & ~np.isin(table["base"], table["unified"][shots_at]))
    return _arrays(table, shots_at), _arrays(table, test_at)


def spec_shots(spec, n, seed=0, split="train"):
    """What `--shots n --seed seed` takes of an emoji spec: the emoji n-shot rule (`emoji_shots`) in each class of
    the spec's labelling, within `split`; one `np.random.default_rng(seed)` permutes the classes' base emoji in
    class order. With `@none` (one class) that is the benchmark protocol's rule for the set, cut to `split`: shots
    come from `train` by default, so the `test` split never holds a shot or a shot's variant.

    Args:
        spec: an `emoji:VENDOR[:SELECTION][@LABELS]` spec.
        n: shots per class.
        seed: the rule's seed.
        split: the split the shots come from (`"train"`, `"test"`, or None for both).

    Returns:
        The shots' `ImageArrays`, labelled as the spec says, class by class.

    Example:
        >>> len(spec_shots("emoji:twitter:!Animals & Nature@none", 10).images)
        10
    """
    text, labels = split_labels(spec)
    table = load_table(parse_spec(text)[0])
    in_set = _in_set(table, text, split)
    class_of = _class_ids(table, labels)
    rng = np.random.default_rng(seed)
    where = text + ("" if split is None else f", {split} split")
    names = _label_names(table, labels)
    shots_at = [_first_bases(table, in_set & (class_of == c), n, rng, where + ("" if labels == "none" else
                                                                                f", class {names[c]}"))
                for c in np.unique(class_of[in_set])]
    return _arrays(table, np.concatenate(shots_at) if shots_at else np.zeros(0, np.int64), labels)
