"""The colour grid's pictures: each kept model's samples beside the cell's shots, and KID against generator steps.

`run_name` names a run (and the `.keras` file `emoji_few_shot.py` keeps of its scored model under `MODELS`);
`cell_picture` puts the shots and every method's samples side by side at 2x (64-px emoji become 128 px);
`plot_curves` draws one panel per cell, one line per method, the copy check's chosen step marked.
"""
from pathlib import Path

import numpy as np

import emoji_few_shot_cells as grid
from sections import save_figure

MODELS = grid.CACHE / "models"  # where emoji_few_shot.py keeps each run's scored model
SAMPLES, COLUMNS, SCALE = 16, 4, 2  # a 4x4 grid per panel, each emoji at 128 px


def run_name(cell, method):
    """`cross-style-10-0-plain_finetune`: the run folder's name, and its kept model's file name."""
    target, shots, seed = cell
    return f"{target}-{shots}-{seed}-{method.replace(':', '_').replace(' ', '_')}"


def _grid(images):
    from kgantl.images import make_grid

    picture = make_grid(images[:SAMPLES], columns=COLUMNS, padding=2)
    return picture.repeat(SCALE, axis=0).repeat(SCALE, axis=1)  # nearest, an integer factor


def cell_picture(cell, methods, out, models=MODELS, cache=None, source=None):
    """The cell's shots, then the source's samples (with `source`, its folder or file: `grid.SOURCE_AS_IS`) and
    each method's from its kept model (noise seed 0), labelled; writes `out`.

    Returns:
        The methods drawn (those with a kept model), or [] when none is kept (nothing written).
    """
    from kgantl.images import labelled_panels, save_png
    from kgantl.runs.artifacts import open_generator

    paths = {m: Path(models) / f"{run_name(cell, m)}.keras" for m in methods}
    kept = [m for m in methods if paths[m].is_file()]
    if not kept:
        return []
    if source is not None:
        kept, paths[grid.SOURCE_AS_IS] = [grid.SOURCE_AS_IS, *kept], Path(source)
    shots_path, _ = grid.cell_files(*cell, cache=cache)
    with np.load(shots_path) as shots:
        panels = [_grid(shots["images"].astype(np.float32) / 127.5 - 1.0)]
    for method in kept:
        sampler = open_generator(paths[method])
        noise = np.random.default_rng(0).standard_normal((SAMPLES, sampler.latent_dim)).astype("float32")
        panels.append(_grid(np.asarray(sampler.generate(noise))))
    save_png(out, labelled_panels(panels, [f"the {cell[1]} shots"] + kept, title_height=16))
    return kept


def plot_curves(records, methods, out):
    """KID (noto features, log scale) against generator steps, one panel per cell with curves, one line per method,
    `default`'s chosen step marked with a star, the source's own KID (`grid.SOURCE_AS_IS`) a dashed line. Returns
    False (nothing written) when no record has a curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = [c for c in grid.cells() if any(r.get("curve") and _cell(r) == c for r in records)]
    if not cells:
        return False
    fig, axes = plt.subplots(1, len(cells), figsize=(3.4 * len(cells), 3.4), dpi=110, squeeze=False)
    for ax, cell in zip(axes[0], cells):
        for method in methods:
            rows = [r for r in records if _cell(r) == cell and r["method"] == method and r.get("curve")]
            if rows:
                curve = rows[-1]["curve"]
                line, = ax.plot([p["steps"] for p in curve], [p["kid"] for p in curve], marker="o", ms=2,
                                label=method, color=f"C{methods.index(method)}")  # one colour a method everywhere
                chosen = rows[-1].get("chosen_step")
                if chosen is not None:
                    ax.plot([chosen], [rows[-1]["kid"]], marker="*", ms=10, color=line.get_color())
        as_is = [r for r in records if _cell(r) == cell and r["method"] == grid.SOURCE_AS_IS]
        if as_is:  # where every adaptation starts: the source not trained on the target at all
            ax.axhline(as_is[-1]["kid"], color="grey", linestyle="--", linewidth=1, label=grid.SOURCE_AS_IS)
        ax.set(yscale="log", xlabel="generator steps", title=f"{cell[0]}, {cell[1]} shots, seed {cell[2]}")
    axes[0][0].set_ylabel("KID vs the cell's test images (noto)")
    handles = {}  # every method once, whichever panel drew it (a cell still running lacks some)
    for ax in axes[0]:
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    axes[0][-1].legend(handles.values(), handles.keys(), fontsize=7)
    save_figure(fig, out)
    return True


def _cell(record):
    return record["target"], record["shots"], record["seed"]
