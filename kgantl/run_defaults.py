"""kgantl's rules for the defaults that depend on the data or on the run folder: the budget in steps and epochs,
the few-shot recipe (copy check, `eval_every`, DiffAugment, strategy), and what a trained run folder recorded where
the options leave a value unset, so the same command or code resumes a run as it ran. Used by the resolver
(`kgantl.resolve`), which parses and checks everything else.
"""
import dataclasses
import json
import logging
import math
from pathlib import Path

import numpy as np

from kgantl.config import FEW_SHOTS, MIN_EPOCH_STEPS
from kgantl.measured import COLOUR, few_shot_recipe, recipe_benchmark, step_budget, transfer_default
from kgantl.metrics.copying import MIN_SHOTS
from kgantl.runs.folder import OPTIONS_FILE, has_trained

logger = logging.getLogger("kgantl")


def recorded_options(options):
    """The options `options.run_dir` records (its options.json, as written), or None where it records none."""
    path = Path(options.run_dir) / OPTIONS_FILE if options.run_dir else None
    if path is None or not path.is_file():
        return None
    try:
        recorded = json.loads(path.read_text())
    except ValueError:
        return None
    return recorded if isinstance(recorded, dict) else None


def with_the_folder_budget(options):
    """A run folder's budget where the command gives none, so the same command resumes and `--epochs` extends: its
    steps per epoch, and for a folder written before budgets were in steps (no `steps` recorded), its epochs."""
    recorded = recorded_options(options)
    if recorded is None:
        return options
    changes = {}
    if options.steps_per_epoch is None and recorded.get("steps_per_epoch"):
        changes["steps_per_epoch"] = recorded["steps_per_epoch"]
    if options.steps is None and options.epochs is None and "steps" not in recorded and recorded.get("epochs"):
        changes["epochs"] = recorded["epochs"]
    return dataclasses.replace(options, **changes)


def resolve_budget(options, images):
    """The budget in generator steps, epochs and steps per epoch, all three resolved (options.json records them).

    With `epochs` given, an epoch is `steps_per_epoch` steps (default: one pass over the `images` training images)
    and `steps` is their product, as before budgets were in steps. Otherwise `steps` (default: the measured
    budget, `kgantl.measured.step_budget`; a colour few-shot run's unset one is already its recipe's, set by
    `resolve_few_shot_defaults`) is rounded up to whole epochs of `steps_per_epoch` (default: one pass
    over the data, at least `MIN_EPOCH_STEPS`, so that ten shots do not make one-step epochs).

    Example:
        >>> resolve_budget(TrainOptions(data="fashion_mnist:7", shots=10), 10)  # steps 2000, 40 epochs of 50
    """
    data_pass = max(1, math.ceil(images / options.batch_size))
    if options.epochs is not None:
        per_epoch = options.steps_per_epoch or data_pass
        return dataclasses.replace(options, steps_per_epoch=per_epoch, steps=options.epochs * per_epoch)
    steps = options.steps or step_budget()
    per_epoch = options.steps_per_epoch or min(max(data_pass, MIN_EPOCH_STEPS), steps)
    epochs = math.ceil(steps / per_epoch)
    return dataclasses.replace(options, steps_per_epoch=per_epoch, epochs=epochs, steps=epochs * per_epoch)


def with_the_folder_eval_every(options):
    """A trained run folder's `eval_every` where the options leave it unset, so the code that started the run resumes
    it as it ran. Before `kgantl.train` took kgantl's rule for an unset `eval_every` (issue 36), a transfer run it
    started above `FEW_SHOTS` images recorded 0 (every shot trained, no `val_kid`) where the rule now gives 1; a
    folder that trained nothing is taken over with the rule (`kgantl.runs.folder.prepare_run_dir`)."""
    recorded = recorded_options(options) if options.eval_every is None else None
    if recorded is None or not has_trained(Path(options.run_dir)):
        return options
    eval_every = recorded.get("eval_every")
    if isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 0:
        return options  # not what a run records: the rule decides, and the folder's check names the difference
    return dataclasses.replace(options, eval_every=eval_every)


def resolve_few_shot_defaults(options, arrays, channels=1):
    """The options whose defaults depend on how few the images are, resolved (options.json records values only).

    A transfer run whose rarest class has at most `FEW_SHOTS` images is a few-shot run. There `copy_check="auto"`
    turns the copy check on (the copy-aware rule, not `val_kid` on a hold-out of two shots, chooses `best.keras`),
    unless there are fewer than `MIN_SHOTS` images, too few for it to run (a warning says so; it is not refused,
    as an explicit `copy_check="on"` is), an unset `eval_every` becomes 0 (every shot trains), and an unset
    `diffaugment` and strategy take the few-shot recipe the 10-shot benchmark backs
    (`kgantl.measured.few_shot_recipe`), and so does an unset budget (`steps` and `epochs` unset) where that recipe
    has one (the colour recipe: its grid measured the budget with it; `resolve_budget` gives the rest). Elsewhere
    the transfer defaults stay: `eval_every` 1 (`val_kid` on a held-out fifth, `best.keras` by it), no
    augmentation, and the strategy the 100-shot benchmark's rule sets (`kgantl.measured.transfer_default`); `auto`
    turns the copy check off. A new GAN leaves `eval_every` 0 unless told (every image trains). Unset is None for `kgantl transfer`, `kgantl train` and `TrainOptions` alike, so
    each resolves the same defaults here.

    A colour run takes the colour benchmark's recipe and default once it has measured them, the Fashion-MNIST
    benchmark's until then, and says at INFO which benchmark backs what it took (`_say_which_benchmark`).

    Args:
        options: validated `TrainOptions`.
        arrays: the training `ImageArrays` (the rarest class's count makes a run few-shot).
        channels: the channels the run trains at (`kgantl.image_shape.run_channels`), which pick the benchmark.

    Returns:
        The options with `copy_check`, and where unset `eval_every`, `diffaugment`, `strategy` and (see above)
            `steps`, resolved.

    Example:
        >>> resolve_few_shot_defaults(TrainOptions(data="emoji.npz", source="src", shots=10), arrays, 3).strategy
    """
    rarest = int(np.unique(arrays.labels, return_counts=True)[1].min())
    few_shot = bool(options.source) and rarest <= FEW_SHOTS
    copy_check = options.copy_check
    too_few = few_shot and len(arrays.images) < MIN_SHOTS
    if copy_check == "auto":  # never on a cluster: it would stop the chief alone (TrainOptions.validate)
        copy_check = "on" if few_shot and not too_few and options.distribute != "multiworker" else "off"
        if too_few:
            logger.warning("with %d training images the copy check cannot run (it needs at least %d: one is left out "
                           "at a time), so it is off: look at the samples beside the shots (kgantl compare)",
                           len(arrays.images), MIN_SHOTS)
    resolved = dict(copy_check=copy_check)
    if options.eval_every is None:  # with fewer than MIN_SHOTS images there is nothing to hold out either
        resolved["eval_every"] = 1 if options.source and copy_check == "off" and not too_few else 0
    if options.diffaugment is None:
        resolved["diffaugment"] = few_shot_recipe(channels)["diffaugment"] if few_shot else ""
    if options.source and options.strategy is None:
        resolved["strategy"] = few_shot_recipe(channels)["strategy"] if few_shot else transfer_default(channels)
    budget = few_shot_recipe(channels).get("steps") if few_shot else None  # the colour grid's; grey: resolve_budget
    if budget is not None and options.steps is None and options.epochs is None:
        resolved["steps"] = budget
    _say_which_benchmark(resolved, few_shot, channels)
    return dataclasses.replace(options, **resolved)


def _say_which_benchmark(resolved, few_shot, channels):
    """One INFO line on a colour run that took a measured value (the few-shot recipe, or the transfer default above
    `FEW_SHOTS` images): which benchmark backs it. Until the colour grid has measured its own, that is the
    Fashion-MNIST benchmark's, on grey images, and a user should not read it as a colour measurement."""
    took = [name for name in ("strategy", "diffaugment", "steps") if name in resolved
            and (few_shot or name == "strategy")]
    if channels != 3 or not took:  # a grey run, or nothing measured taken (no augmentation above FEW_SHOTS is not)
        return
    setting, what = ("few_shots", "few-shot recipe") if few_shot else ("default", "transfer default")
    values = ", ".join(f"{name} {resolved[name] or 'none'}" for name in took)
    if recipe_benchmark(channels, setting) == COLOUR:
        logger.info("colour run: the colour benchmark's %s (%s)", what, values)
    else:
        logger.info("no colour measurement yet: the Fashion-MNIST benchmark's %s (%s), measured on grey images",
                    what, values)


__all__ = ["recorded_options", "resolve_budget", "resolve_few_shot_defaults", "with_the_folder_budget",
           "with_the_folder_eval_every"]
