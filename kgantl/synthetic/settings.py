"""`AugmentSettings`: what `kgantl augment` varies, with each setting's help, default and allowed values.

Kept apart from the experiment so the command line can build its flags (and `--help`) without TensorFlow.
"""
import dataclasses
import json
from typing import Optional, Tuple

from kgantl.option_fields import OptionError, apply_field_types, check_choices, option_field

# The GAN's augmentation in issue 5's experiment, when it was not yet a setting: the default, and what a report
# without `gan_diffaugment` in its settings was trained with.
GAN_DIFFAUGMENT = "color,translation,cutout"


@dataclasses.dataclass(frozen=True)
class AugmentSettings:
    """Everything `augment_experiment` varies; the defaults are those of the benchmark in docs/benchmarks.md.

    Each field's help text and allowed values live in its metadata; `kgantl augment` builds its flags from them.

    Example:
        >>> settings = AugmentSettings("fashion_mnist:5-9", shots=10, backbone="saved_models/fmnist-0-4-backbone",
        ...                            feature_layer="flatten", seeds=(0, 1, 2)).validate()
    """

    data: str = option_field(dataclasses.MISSING, "labelled data spec, e.g. fashion_mnist:5-9", metavar="SPEC")
    shots: int = option_field(dataclasses.MISSING, "labelled images per class (n-shot rule); validation images come "
                                             "out of these")
    backbone: str = option_field(dataclasses.MISSING, "classifier backbone: vgg16, resnet50, mobilenet_v2, "
                                                "efficientnet_b0, a .keras file or a saved_models/ folder "
                                                "holding model.keras")
    ratios: Tuple[float, ...] = option_field((0.0, 0.25, 0.5), "shares of generated images to compare, comma-separated; "
                                                         "must include 0, the real-only classifier")
    seeds: Tuple[int, ...] = option_field((0,), "n-shot, GAN and classifier seeds, comma-separated; the report gives "
                                          "mean and spread over them")
    test_data: Optional[str] = option_field(None, "labelled data spec to score the classifiers (and the GAN) on, all "
                                            "of it, its test split where it has one (default: the test split of "
                                            "data; required where data is one set, a folder or a file)",
                                            metavar="SPEC")
    val_per_class: Optional[int] = option_field(None, "shots per class held out to choose the ratio "
                                                "(default: a fifth, at least 1)")
    source: Optional[str] = option_field(None, "source GAN to transfer from (default: train the conditional GAN "
                                         "from scratch)")
    strategy: str = option_field("freeze_d:1", "transfer strategy when a source is given: finetune, freeze_d:K, "
                                               "alternate or feature_d, optionally +cdc[:W] / +ewc[:W] / +vision_d")
    gan_steps: int = option_field(500, "generator steps of the GAN (in 5 epochs when divisible by 5, else in one)")
    gan_batch_size: int = option_field(32, "GAN batch size")
    gan_diffaugment: str = option_field(GAN_DIFFAUGMENT, "DiffAugment policy of the GAN, e.g. translation,cutout; "
                                                         "an empty string for none")
    stages: str = option_field("40:0:1e-3,20:2:1e-4", "classifier freeze schedule EPOCHS:TRAINABLE:LR,...")
    unit: str = option_field("layers", "what TRAINABLE counts", choices=("blocks", "layers"))
    feature_layer: Optional[str] = option_field(None, "layer of a .keras backbone feeding the head, e.g. flatten "
                                                "(default: input of its last layer)")
    weights: Optional[str] = option_field("imagenet", "weights of a named backbone: imagenet, none (random) or a "
                                                "weights file")
    batch_size: int = option_field(16, "classifier batch size; every classifier runs ceil(train images / batch) "
                                 "steps an epoch")
    balance: bool = option_field(False, "generate more of the rarer classes")
    filter_threshold: Optional[float] = option_field(None, "keep generated images the real-only classifier of the same "
                                                     "seed gives their label with at least this confidence "
                                                     "(default: no filter)")
    classic_baseline: bool = option_field(True, "also train the flips-and-crops baseline")
    eval_n: int = option_field(1000, "generated images for the GAN's KID and memorisation check")

    def __post_init__(self):
        apply_field_types(self)  # types first (kgantl.config.typed_value); validate checks the values

    def validate(self):
        """Check every setting before anything trains; raise one `OptionError` (a `ValueError` whose `option`
        names the setting) for the first bad one.

        Returns:
            self, for chaining.
        """
        for name in ("data", "backbone"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise OptionError(name, f"{name} must be a non-empty string. Received: {name}={getattr(self, name)!r}")
        for name in ("source", "feature_layer", "weights", "test_data"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise OptionError(name, f"{name} must be None or a non-empty string. Received: {name}={value!r}")
        if isinstance(self.shots, bool) or not isinstance(self.shots, int) or self.shots < 2:
            raise OptionError("shots", f"shots must be an integer >= 2 (some are held out for validation). "
                                       f"Received: shots={self.shots!r}")
        if not isinstance(self.ratios, (tuple, list)) or not self.ratios or any(
                isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r <= 1 for r in self.ratios):
            raise OptionError("ratios", f"ratios must be numbers in [0, 1]. Received: ratios={self.ratios!r}")
        if 0 not in self.ratios:
            raise OptionError("ratios", f"ratios must include 0: the real-only classifier is what generated data is "
                                        f"measured against. Received: ratios={self.ratios!r}")
        if len(set(self.ratios)) != len(self.ratios):
            raise OptionError("ratios", f"ratios must be distinct. Received: ratios={self.ratios!r}")
        if not isinstance(self.seeds, (tuple, list)) or not self.seeds or len(set(self.seeds)) != len(self.seeds) \
                or not all(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0 for seed in self.seeds):
            raise OptionError("seeds", f"seeds must be distinct integers >= 0, at least one. "
                                       f"Received: seeds={self.seeds!r}")
        if self.val_per_class is not None and (isinstance(self.val_per_class, bool)
                                               or not isinstance(self.val_per_class, int)
                                               or not 1 <= self.val_per_class < self.shots):
            raise OptionError("val_per_class", f"val_per_class must be in 1..shots-1 ({self.shots - 1}). "
                                               f"Received: val_per_class={self.val_per_class!r}")
        if self.filter_threshold is not None and (isinstance(self.filter_threshold, bool)
                                                  or not isinstance(self.filter_threshold, (int, float))
                                                  or not 0 <= self.filter_threshold <= 1):
            raise OptionError("filter_threshold", f"filter_threshold must be in [0, 1], or None for no filter. "
                                                  f"Received: filter_threshold={self.filter_threshold!r}")
        for name in ("gan_steps", "gan_batch_size", "batch_size", "eval_n"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OptionError(name, f"{name} must be a positive integer. Received: {name}={value!r}")
        check_choices(self)
        self._parse_text_forms()
        return self

    def _parse_text_forms(self):
        """Parse the strategy, the stages and the GAN's DiffAugment policy, each named in its error. The stages are
        kept (`parsed_stages`): the experiment trains every classifier by them and does not parse them again."""
        from kgantl.data.augment import POLICIES, parse_policy  # the checks that need TensorFlow import it here
        from kgantl.classifier.schedule import parse_stages
        from kgantl.transfer.strategy import parse_strategy

        try:  # the parsers' own messages, named for the setting they came from
            strategy = parse_strategy(self.strategy)
        except ValueError as error:
            raise OptionError("strategy", str(error)) from None
        try:
            object.__setattr__(self, "_stages", parse_stages(self.stages))  # not a field: not in the report
        except ValueError as error:
            raise OptionError("stages", str(error)) from None
        if strategy.name == "reptile":
            # Reptile meta-trains on source classes the experiment does not know (TrainOptions.reptile_data).
            raise OptionError("strategy", f"strategy must be finetune, freeze_d:K, alternate or feature_d here: "
                                          f"reptile needs source tasks the experiment does not have. "
                                          f"Received: strategy={self.strategy!r}")
        valid = isinstance(self.gan_diffaugment, str)
        if valid:
            try:
                parse_policy(self.gan_diffaugment)  # a check: the GAN's own run parses what it uses (kgantl.resolve)
            except ValueError:
                valid = False
        if not valid:
            raise OptionError("gan_diffaugment", f"gan_diffaugment must be a comma-separated subset of "
                                                 f"{', '.join(POLICIES)} without repeats, or an empty string for "
                                                 f"none. Received: gan_diffaugment={self.gan_diffaugment!r}")

    @property
    def parsed_stages(self):
        """The freeze/unfreeze stages, as `validate` parsed them (a list of `kgantl.classifier.Stage`)."""
        if "_stages" not in self.__dict__:
            raise ValueError("parsed_stages is set by validate(): call settings.validate() first")
        return self._stages

    @staticmethod
    def from_report(report):
        """The settings a report holds as a dict, with the fields older reports lack filled in as they were then."""
        return {"gan_diffaugment": GAN_DIFFAUGMENT, **report["settings"]}

    def to_dict(self):
        """The settings as plain JSON types (tuples become lists), as `settings.json` and the report hold them."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @property
    def held_out(self):
        return self.val_per_class or max(1, self.shots // 5)


__all__ = ["AugmentSettings"]
