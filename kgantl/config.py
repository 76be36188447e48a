"""Training options: one validated dataclass, named presets, and JSON round-trips.

Configuration flows one way: CLI flags or notebook code -> `TrainOptions` -> `kgantl.training.train`.
The resolved options are written as `options.json` into every run directory.

This module imports neither TensorFlow nor Keras (the command line builds its `--help` from these fields
without loading them); the checks that need them import them when they run.
"""
import dataclasses
import json
from pathlib import Path
from typing import Optional

from kgantl.io import write_json
from kgantl.measured import step_budget
from kgantl.option_fields import (OptionError, apply_field_types, check_choices,  # noqa: F401 (re-exported)
                                  check_option_names_and_types, option_field, typed_value)
from kgantl.sizes import upsampling_plan

# The names of `kgantl.losses.LOSSES`, kept here so the options load without TensorFlow (a test keeps them equal).
LOSS_NAMES = ("nonsaturating", "minimax", "hinge", "wgan-gp")
# Architecture defaults of a new GAN; a transfer run takes these from its source instead. (The image size and
# channels come from the data, `kgantl.image_shape`; the width and `to_image` from DESIGN_BY_SIZE, whose rows
# override the width here, which is also what an old run folder's unset width meant.)
ARCHITECTURE_DEFAULTS = {"latent_dim": 128, "width": 64}
# A new GAN's design by image size (the smallest size a row applies from): how G's last stage makes the image, and
# the width (G's last and D's first filters; the others double it, up to 8x). Below 64 px, the reference DCGAN's
# (the Fashion-MNIST benchmarks). From 64 px, the design docs/benchmarks.md ("Models at 64x64x3") measured best for
# quality per CPU-hour on Noto emoji: the classic DCGAN's last stage at half its width (KID 0.40 after 20 CPU-minutes,
# against 0.69 at full width and 0.63 for the 28-px design scaled up; one seed, short budgets).
DESIGN_BY_SIZE = ((8, {"to_image": "conv5", "width": 64}), (64, {"to_image": "convt", "width": 32}))
# Before `to_image` existed every generator was "conv5": what an old run folder's options mean.
TO_IMAGE_BEFORE = "conv5"
# Options that only mean something when adapting a source GAN (`kgantl transfer`).
TRANSFER_ONLY = ("source", "strategy", "backbone", "phase_epochs", "pilot_steps", "reptile_data",
                 "reptile_iterations", "reptile_inner_steps", "reptile_step_size")
# Where and in what precision a run trains (kgantl.distribute, kgantl.precision; kept here without TensorFlow).
DISTRIBUTE_CHOICES = ("none", "mirrored", "multiworker", "tpu")
PRECISION_CHOICES = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
DEFAULT_BATCH_SIZE = 64
# Fewest steps an epoch (a sample grid, a checkpoint, a log line) has when the budget is in steps: a design choice,
# the epoch the benchmark's few-shot runs used; one pass over ten shots is a single step.
MIN_EPOCH_STEPS = 50
# At most this many training images in the rarest class: `copy_check="auto"` turns the copy check on (transfer)
# and the few-shot recipe applies. A design choice, not a measurement: the benchmarks ran 10 and 100 shots only;
# below about 30 a held-out fifth (at most 6 images) is too few to choose a checkpoint by its KID.
FEW_SHOTS = 30
# Options a transfer run takes from its source; `kgantl transfer` does not offer them.
FROM_SOURCE = ("image_size", "channels", "latent_dim", "width", "norm", "spectral_norm", "to_image")
# Feature extractors a run can score with (kgantl.metrics.extractors; `auto` is resolved by the images' channels).
EXTRACTOR_CHOICES = ("auto", "fmnist", "noto", "inception_v3")
# The sections of `kgantl train --help` and `kgantl transfer --help` (name: what its options decide), in the order
# shown. Each field names its own in its `group` metadata; the command line refuses a field without one, so a new
# option cannot fall outside them.
OPTION_GROUPS = {
    "data": "what the run learns from: the images (which, how many, at what size and colour) and a transfer's source",
    "recipe": "how it learns: the networks, loss, optimizers, augmentation, EMA and a transfer's strategy",
    "budget": "how long it trains",
    "evaluation": "val_kid, the copy check and which checkpoint becomes best.keras",
    "output": "what the run directory receives, and where it is",
    "machine": "where and in what precision it computes",
}


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """Everything that defines a GAN training run: typed and immutable (`dataclasses.replace` makes a changed copy).

    Every field is checked against its declared type when the options are made (`typed_value`: the text "false"
    is not a boolean, "1e-3" not a number); `validate` checks values and combinations.

    Example:
        >>> options = TrainOptions(data="fashion_mnist:7", shots=100, epochs=20, diffaugment="translation,cutout")
        >>> history, run_dir = kgantl.training.train(options)
    """

    data: str = option_field("fashion_mnist:0-4", "data spec: fashion_mnist[:CLASSES], digits[:CLASSES], tfds:NAME, "
                                            "emoji:VENDOR[:SELECTION][@LABELS] (VENDOR google or twitter; SELECTION a "
                                            "category, a subcategory, or !either to leave it out; LABELS category "
                                            "or subcategory), a folder, or an "
                                            ".npz/.npy file", metavar="SPEC", group="data")
    shots: Optional[int] = option_field(None, "images per class by the n-shot rule (default: all)", group="data")
    seed: int = option_field(0, "seed of the n-shot rule, shuffling, weights and noise", group="data")
    image_size: Optional[int] = option_field(
        None, "image side; 4 or 7 times a power of two (8, 14, 16, 28, 32, 56, 64, 112, 128, ...); other data is "
              "resized. Under transfer only the source's size may be given, to accept shrinking the target more "
              "than 2x", default_text="the size nearest the data's, at most 128 (transfer: the source's)", group="data")
    channels: Optional[int] = option_field(
        None, "1 or 3 (default: the data's; transfer: 3 if the source or the data is colour, a grayscale source "
              "then expanded to colour)", group="data")
    conditional: bool = option_field(False, "class-conditional GAN (label embedding in G, projection D)",
                                     group="recipe")
    latent_dim: Optional[int] = option_field(None, "noise size", default_text="128", group="recipe")
    width: Optional[int] = option_field(None, "base number of filters: G's last, D's first (the others double it, "
                                              "up to 8x)", default_text="64 below 64 px, 32 from 64 px", group="recipe")
    to_image: str = option_field(
        "auto", "how G makes the image: conv5 (a 5x5 convolution after the last upsampling, the reference DCGAN) or "
                "convt (the last upsampling makes it, the classic 64x64 DCGAN); auto: by image size, convt from 64",
        choices=("auto", "conv5", "convt"), group="recipe")
    norm: str = option_field("none", "generator normalisation", choices=("none", "batch"), group="recipe")
    spectral_norm: bool = option_field(False, "spectral normalisation in D", group="recipe")
    loss: str = option_field("nonsaturating", "GAN loss", choices=LOSS_NAMES, group="recipe")
    n_critic: int = option_field(1, "discriminator updates per generator update", group="recipe")
    r1_weight: float = option_field(0.0, "R1 penalty gamma (0: off)", group="recipe")
    gp_weight: float = option_field(10.0, "gradient penalty weight (wgan-gp only)", group="recipe")
    d_lr: float = option_field(2e-4, "discriminator learning rate", group="recipe")
    g_lr: float = option_field(2e-4, "generator learning rate", group="recipe")
    beta_1: float = option_field(0.5, "Adam beta_1 of both optimizers", group="recipe")
    batch_size: int = option_field(DEFAULT_BATCH_SIZE, "images per batch", group="budget")
    steps: Optional[int] = option_field(
        None, "the budget: generator steps to train, rounded up to whole epochs (default: "
              f"{step_budget()}, what the benchmarks showed the recipes need, kgantl/measured.json, or a colour "
              "few-shot transfer's own once the colour benchmark has measured one; give steps or epochs, not both)",
        group="budget")
    epochs: Optional[int] = option_field(None, "the budget in epochs of steps_per_epoch instead of steps",
                                         default_text="steps / steps_per_epoch", group="budget")
    steps_per_epoch: Optional[int] = option_field(
        None, "batches per epoch: a sample grid, a checkpoint and a log line each (default: one pass over the data, "
              f"at least {MIN_EPOCH_STEPS} steps unless epochs is given)", group="budget")
    diffaugment: Optional[str] = option_field(
        None, "DiffAugment policy, e.g. color,translation,cutout; '' for none (default: none, except in a transfer "
              f"run whose rarest class has at most {FEW_SHOTS} images: color,translation,cutout)", group="recipe")
    ada_target: Optional[float] = option_field(None, "adaptive augmentation target for E[sign(D(real))], e.g. 0.6 "
                                                     "(default: none, DiffAugment at a fixed probability)",
                                                 group="recipe")
    ema_decay: float = option_field(0.999, "generator EMA decay (0: off)", group="recipe")
    jit_compile: str = option_field("auto", "XLA: auto (GPU only), on or off", choices=("auto", "on", "off"),
                                    group="machine")
    distribute: str = option_field("none", "tf.distribute strategy: none (one device), mirrored (this host's GPUs, "
                                           "or --cpu-replicas CPU devices), multiworker (cluster from TF_CONFIG) "
                                           "or tpu; batch_size is the global batch", choices=DISTRIBUTE_CHOICES,
                                    group="machine")
    cpu_replicas: int = option_field(1, "with distribute mirrored: split the CPU into N devices and train on them "
                                        "(to test multi-device training without GPUs)", group="machine")
    precision: str = option_field("float32", "mixed_bfloat16 or mixed_float16: the Keras mixed-precision policy "
                                             "(16-bit compute, float32 weights, logits and losses); auto: "
                                             "mixed_bfloat16 where bfloat16 units exist and the benchmark shows it "
                                             "costs no quality (kgantl/measured.json), else float32",
                             choices=PRECISION_CHOICES, group="machine")
    sample_every: int = option_field(1, "write a sample grid every N epochs", group="output")
    # None: kgantl's rule, resolved with the data (kgantl.resolve), the same for `kgantl transfer` and `kgantl.train`.
    eval_every: Optional[int] = option_field(
        None, "compute val_kid every N epochs on held-out shots and keep best.keras by it (0: off)",
        default_text="1 in a transfer run, or 0 where the copy check chooses best.keras; 0 for a new GAN",
        group="evaluation")
    eval_ref: Optional[str] = option_field(None, "reference data spec for val_kid, its train split (default: images "
                                                 "held out of the training data; a run never reads a test split)",
                                            metavar="SPEC", group="evaluation")
    val_per_class: Optional[int] = option_field(None, "images per class held out of the training data for val_kid "
                                                      "and best.keras, never trained on (default: a fifth of the "
                                                      "rarest class, at least 1; none with eval_ref)",
                                                group="evaluation")
    copy_check: str = option_field(
        "auto", "watch for copying of the shots (scores from the shots alone, leave-one-out), keep best.keras "
                "before it sets in and stop once it has: on, off, or auto (on for transfer runs whose rarest class "
                f"has at most {FEW_SHOTS} training images)", choices=("auto", "on", "off"),
        group="evaluation")
    copy_every: int = option_field(100, "generator steps between copy-check evaluations (at an epoch's end)",
                                   group="evaluation")
    copy_patience: int = option_field(3, "copy-check evaluations in a row that fail before training stops (0: "
                                         "never stop, only choose best.keras)", group="evaluation")
    eval_extractor: str = option_field(
        "auto", "feature extractor for KID and the copy check: fmnist (grayscale), noto (colour, shipped), "
                "inception_v3 (ImageNet weights, when present); auto: fmnist for grayscale runs, for colour "
                "inception_v3 where its weights are in the Keras cache, else noto", choices=EXTRACTOR_CHOICES,
        group="evaluation")
    source: Optional[str] = option_field(None, "source GAN to transfer from: a .keras file, saved_models/<name> or a "
                                         "run directory (image size, channels, latent size and conditioning "
                                         "then come from it)", group="data")
    strategy: Optional[str] = option_field(
        None, "transfer strategy: finetune, freeze_d:K (K lowest D blocks frozen), alternate, feature_d or reptile, "
              "optionally +cdc[:W], +ewc[:W] (generator regularisers), +vision_d (a vision-aided second D), "
              "+maskd[:RATE] (random masks on D's last feature map) and +adapters (G's source weights frozen, "
              "per-channel scale and shift adapters train), e.g. freeze_d:1+cdc; or auto: "
              "short pilots of several, scored on held-out shots",
        default_text="finetune", group="recipe")
    backbone: Optional[str] = option_field(
        None, "frozen pretrained network of feature_d and +vision_d: a keras.applications family (vgg16, resnet50, "
              "mobilenet_v2, efficientnet_b0; ImageNet weights), a shipped model's name (fmnist-0-4-backbone) or a "
              ".keras classifier file; the images are resized and converted to its input (a family takes their "
              "size, at least 32)",
        default_text="fmnist-0-4-backbone for grey images; colour images need one", metavar="NAME_OR_FILE",
        group="recipe")
    phase_epochs: int = option_field(1, "epochs per phase of the alternate strategy", group="recipe")
    # 250: a design choice (auto's pilots must cost a fraction of the 2000-step run), not a measured optimum.
    pilot_steps: int = option_field(250, "generator steps of each candidate's pilot under strategy auto",
                                    group="recipe")
    reptile_data: Optional[str] = option_field(None, "source data spec whose classes are Reptile's tasks "
                                               "(strategy reptile), e.g. fashion_mnist:0-4 (default: none; "
                                               "reptile needs it)", metavar="SPEC", group="recipe")
    reptile_iterations: int = option_field(100, "Reptile meta-iterations (tasks)", group="recipe")
    reptile_inner_steps: int = option_field(5, "GAN steps per Reptile task", group="recipe")
    reptile_step_size: float = option_field(0.1, "initial Reptile meta step size (decays linearly to 0)",
                                            group="recipe")
    tensorboard: bool = option_field(False, "also write TensorBoard event files (scalars and sample grids) into "
                                      "<run>/tensorboard", group="output")
    run_dir: Optional[str] = option_field(None, "run directory (default: a new numbered one under runs_root)",
                                          group="output")
    runs_root: str = option_field("runs", "parent of the numbered run directories", group="output")

    def __post_init__(self):
        apply_field_types(self)

    def validate(self):
        """Check every option; raise one `OptionError` (a `ValueError`) naming the first bad one.

        The options are immutable, so an object that passed is not checked again (`dataclasses.replace` makes a
        new, unchecked one): the command line validates once, and the training code below it does not repeat it.

        Returns:
            self, for chaining.
        """
        if self.__dict__.get("_validated"):
            return self
        self._check_counts()
        check_choices(self)
        self._check_rates()
        self._check_combinations()
        self._check_text_forms()
        object.__setattr__(self, "_validated", True)  # not a field: neither compared, nor written to JSON
        return self

    def _check_counts(self):
        def positive_int(name, allow_none=False, least=1):
            value = getattr(self, name)
            if value is None and allow_none:
                return
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                kind = "positive" if least == 1 else "non-negative"
                raise OptionError(name, f"{name} must be a {kind} integer. Received: {name}={value!r}")

        for name in ("n_critic", "batch_size", "sample_every", "phase_epochs", "pilot_steps",
                     "reptile_iterations", "reptile_inner_steps", "cpu_replicas", "copy_every"):
            positive_int(name)
        positive_int("copy_patience", least=0)
        positive_int("eval_every", allow_none=True, least=0)
        for name in ("shots", "steps", "epochs", "steps_per_epoch", "image_size", "latent_dim", "width",
                     "val_per_class"):
            positive_int(name, allow_none=True)
        positive_int("seed", least=0)
        if self.channels not in (None, 1, 3):
            raise OptionError("channels", f"channels must be 1 or 3. Received: channels={self.channels!r}")

    def _check_rates(self):
        for name in ("d_lr", "g_lr"):
            if not float(getattr(self, name)) > 0:
                raise OptionError(name, f"{name} must be > 0. Received: {name}={getattr(self, name)!r}")
        for name in ("r1_weight", "gp_weight"):
            if float(getattr(self, name)) < 0:
                raise OptionError(name, f"{name} must be >= 0. Received: {name}={getattr(self, name)!r}")
        if not 0 <= float(self.beta_1) < 1:
            raise OptionError("beta_1", f"beta_1 must be in [0, 1). Received: beta_1={self.beta_1!r}")
        if not 0 <= float(self.ema_decay) < 1:
            raise OptionError("ema_decay", f"ema_decay must be in [0, 1). Received: ema_decay={self.ema_decay!r}")
        if self.ada_target is not None and not -1 <= float(self.ada_target) < 1:
            raise OptionError("ada_target", f"ada_target must be in [-1, 1). Received: ada_target={self.ada_target!r}")
        if not 0 < float(self.reptile_step_size) <= 1:
            raise OptionError("reptile_step_size", f"reptile_step_size must be in (0, 1]. "
                                                   f"Received: {self.reptile_step_size!r}")

    def _check_combinations(self):
        if self.steps is not None and self.epochs is not None and (
                self.steps_per_epoch is None or self.steps != self.epochs * self.steps_per_epoch):
            raise OptionError("steps", f"steps and epochs each set the budget: give one (steps in generator steps, "
                                       f"epochs in epochs of steps_per_epoch). Received: steps={self.steps}, "
                                       f"epochs={self.epochs}")
        if self.strategy is not None and not self.source:
            raise OptionError("strategy", f"strategy says how to adapt a source GAN: give source too (kgantl "
                                          f"transfer --source), or leave strategy out to train a new GAN. "
                                          f"Received: strategy={self.strategy!r}, source=None")
        if self.backbone is not None and not self.source:
            raise OptionError("backbone", f"backbone is the pretrained network of a transfer strategy (feature_d, "
                                          f"+vision_d): give source too (kgantl transfer), or leave it out. "
                                          f"Received: backbone={self.backbone!r}, source=None")
        if self.cpu_replicas != 1 and self.distribute != "mirrored":
            raise OptionError("cpu_replicas", f"cpu_replicas splits the CPU for distribute=mirrored only. "
                             f"Received: cpu_replicas={self.cpu_replicas}, distribute={self.distribute!r}")
        if self.distribute == "multiworker" and not self.run_dir:
            raise OptionError("distribute", "distribute=multiworker needs run_dir: every worker must name the same "
                                            "folder, on storage they all see (the chief writes it, the others read "
                                            "its checkpoints to resume). Received: run_dir=None")
        if self.copy_check == "on" and self.distribute == "multiworker":
            raise OptionError("copy_check", "the copy check stops training on the chief alone, which the other "
                                            "workers of a cluster would not follow: run few-shot transfer on one "
                                            "host. Received: copy_check='on', distribute='multiworker'")

    def _check_text_forms(self):
        """Refuse a DiffAugment policy or image size the run could not use, at the door (with the option named).

        A check only: the run's resolver (`kgantl.resolve`) parses the policy it uses, given or defaulted, and the
        strategy, once. The policy's parser needs TensorFlow, so it is imported here, when validation runs.
        """
        from kgantl.data.augment import parse_policy

        try:
            if self.diffaugment is not None:  # None: resolved with the data (kgantl.resolve)
                parse_policy(self.diffaugment)
            if self.image_size is not None:
                upsampling_plan(self.image_size)
        except ValueError as error:
            raise OptionError("image_size" if "resolution" in str(error) else "diffaugment", str(error)) from None

    def with_architecture_defaults(self):
        """These options with `latent_dim`, `width` and `to_image` filled in where unset (a new GAN's; the design
        by `image_size`, which must be set, from `DESIGN_BY_SIZE`)."""
        design = [row for least, row in DESIGN_BY_SIZE if self.image_size >= least][-1]
        unset = {k: v for k, v in {**ARCHITECTURE_DEFAULTS, **design}.items()
                 if getattr(self, k) is None or getattr(self, k) == "auto"}
        return dataclasses.replace(self, **unset)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        """Build options from a dict, rejecting unknown keys (a typo should not pass silently)."""
        check_option_names_and_types(cls, data)
        if data.get("strategy") == "finetune" and not data.get("source"):
            # Written by kgantl 0.1.0, whose default strategy was recorded for every run: no transfer.
            data = {**data, "strategy": None}
        return cls(**data)

    def to_json(self, path):
        write_json(path, self.to_dict())

    @classmethod
    def from_json(cls, path):
        return cls.from_dict(json.loads(Path(path).read_text()))


def read_config(path, options_class=None, what="training options"):
    """The options a JSON config file sets, their names and types checked; every error names the file.

    Args:
        path: the file (`--config`).
        options_class: the dataclass the file sets fields of (default `TrainOptions`; `kgantl augment` passes
            `AugmentSettings`).
        what: how an unknown key's message names them.

    Returns:
        dict of the options the file sets (only those: the rest keep their defaults, preset or flags).

    Raises:
        ValueError: `config file PATH: ...` for a missing or unreadable file, invalid JSON (with line and
            column), a JSON value that is not an object, an unknown key or a value of the wrong type.

    Example:
        >>> read_config("recipe.json")
        {'diffaugment': 'translation,cutout', 'ema_decay': 0.999}
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = "no such file" if isinstance(error, FileNotFoundError) else getattr(error, "strerror", None) or error
        raise ValueError(f"config file {path}: cannot be read ({reason})") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"config file {path}: not valid JSON: {error.msg} at line {error.lineno}, column "
                         f"{error.colno}") from None
    if not isinstance(values, dict):
        raise ValueError(f"config file {path}: must hold a JSON object of options, e.g. {{\"epochs\": 20}}. "
                         f"Received: a JSON {type(values).__name__}")
    try:
        check_option_names_and_types(options_class or TrainOptions, values, what)
    except ValueError as error:
        raise ValueError(f"config file {path}: {error}") from None
    return values


PRESETS = {
    # The reference DCGAN of BENCHMARKS.md with its optimiser settings (the defaults).
    "reference": {},
    # Few images: augment everything D sees, regularise D, keep an EMA generator.
    "few-shot": {"diffaugment": "color,translation,cutout", "r1_weight": 0.1, "spectral_norm": True,
                 "batch_size": 32, "steps_per_epoch": 100},
}


def preset(name, **overrides):
    """Options of a named preset with `overrides` applied.

    Args:
        name: a key of `PRESETS`.
        **overrides: any `TrainOptions` field.

    Returns:
        Validated `TrainOptions`.
    """
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}. Received: preset={name!r}")
    return TrainOptions.from_dict({**PRESETS[name], **overrides}).validate()
