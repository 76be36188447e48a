"""Freeze and unfreeze schedules: stages of (epochs, trainable top of the backbone, learning rate)."""
import dataclasses
import logging

import keras

from kgantl.classifier.backbones import BACKBONES, block_names
from kgantl.classifier.model import get_backbone, get_backbone_family

logger = logging.getLogger("kgantl")


@dataclasses.dataclass
class Stage:
    """One stage of a schedule.

    Attributes:
        epochs: epochs to train in this stage.
        trainable: how much of the backbone trains, counted from the top: an int number of blocks (or
            layers, by the schedule's unit), 0 for a frozen backbone, or `"all"`.
        learning_rate: Adam learning rate of this stage (lower it when unfreezing).
    """

    epochs: int
    trainable: object = 0
    learning_rate: float = 1e-3

    def __post_init__(self):
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive integer. Received: epochs={self.epochs!r}")
        if self.trainable != "all" and (isinstance(self.trainable, bool) or not isinstance(self.trainable, int)
                                        or self.trainable < 0):
            raise ValueError(f"trainable must be 'all' or a non-negative integer. Received: {self.trainable!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0. Received: {self.learning_rate!r}")


def parse_stages(text):
    """`"20:0:1e-3,20:2:1e-4"` -> stages of (epochs, trainable, learning rate); trainable may be `all`."""
    stages = []
    for part in text.split(","):
        fields = part.strip().split(":")
        if len(fields) != 3:
            raise ValueError(f"stages must look like EPOCHS:TRAINABLE:LR,... e.g. 20:0:1e-3,20:2:1e-4. "
                             f"Received: {text!r}")
        try:
            trainable = fields[1] if fields[1] == "all" else int(fields[1])
            stages.append(Stage(int(fields[0]), trainable, float(fields[2])))
        except ValueError as error:
            raise ValueError(f"Bad stage {part!r} in {text!r}: {error}") from None
    return stages


@dataclasses.dataclass
class FreezeSchedule:
    """A list of stages run one after the other, recompiling at every boundary.

    Example:
        >>> schedule = FreezeSchedule([Stage(5, 0, 1e-3), Stage(5, 2, 1e-4), Stage(5, "all", 1e-5)])
        >>> results = schedule.fit(model, train_ds, validation_data=val_ds)

    Attributes:
        stages: the `Stage`s.
        unit: `"blocks"` (the backbone family's blocks, e.g. VGG16's `block5`) or `"layers"` (layers with
            weights).
        backbone_name: the backbone's family, a key of `BACKBONES`, to find its blocks. Default: the family
            `build_classifier` recorded or detected (`get_backbone_family`), so a `keras.applications` model
            passed as an object needs no name. A backbone of unknown family has no blocks: each layer with
            weights counts as one, and `apply` logs a warning saying so.
    """

    stages: list
    unit: str = "blocks"
    backbone_name: object = None

    def __post_init__(self):
        if not self.stages:
            raise ValueError("A FreezeSchedule needs at least one stage.")
        if self.unit not in ("blocks", "layers"):
            raise ValueError(f"unit must be 'blocks' or 'layers'. Received: unit={self.unit!r}")
        self.stages = [s if isinstance(s, Stage) else Stage(*s) for s in self.stages]

    def apply(self, model, stage):
        """Set the backbone's trainable layers for `stage`; return its trainable parameter count."""
        backbone = get_backbone(model)
        family = None
        if self.unit == "blocks":
            named = isinstance(self.backbone_name, str) and self.backbone_name in BACKBONES
            family = self.backbone_name if named else get_backbone_family(model)
            if family is None:
                logger.warning("The family of backbone %r is unknown, so each of its layers with weights counts as "
                               "a block. Pass FreezeSchedule(backbone_name=...) or build_classifier(family=...) "
                               "with one of %s to count blocks, or unit='layers'.", backbone.name,
                               ", ".join(BACKBONES))
        groups = block_names(backbone, family)
        order = list(dict.fromkeys(name for name, _ in groups))  # blocks from input to output
        top = len(order) if stage.trainable == "all" else min(stage.trainable, len(order))
        chosen = set(order[len(order) - top:])
        backbone.trainable = top > 0
        for name, layer in groups:
            layer.trainable = name in chosen
        return sum(int(keras.ops.size(w)) for w in backbone.trainable_weights)

    def fit(self, model, train, validation_data=None, callbacks=(), verbose="auto", steps_per_epoch=None):
        """Run every stage with `model.fit`, recompiling with a fresh Adam at each stage boundary.

        Returns:
            list of dicts, one per stage: `stage`, `epochs`, `trainable`, `learning_rate`, `trainable_backbone_params`,
                `trainable_params`, `history` (the stage's `History.history`).
        """
        results, epoch = [], 0
        for number, stage in enumerate(self.stages, start=1):
            backbone_params = self.apply(model, stage)
            model.compile(optimizer=keras.optimizers.Adam(stage.learning_rate),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            total = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
            logger.info("stage %d/%d: %s of the backbone trainable (%d backbone parameters, %d in all), "
                        "learning rate %g", number, len(self.stages), stage.trainable, backbone_params, total,
                        stage.learning_rate)
            # A tf.data pipeline shuffles itself (Keras ignores `shuffle` for one, and warns); arrays are shuffled.
            history = model.fit(train, validation_data=validation_data, epochs=epoch + stage.epochs,
                                initial_epoch=epoch, callbacks=list(callbacks), verbose=verbose,
                                steps_per_epoch=steps_per_epoch, shuffle=not _is_dataset(train))
            epoch += stage.epochs
            results.append({"stage": number, "epochs": stage.epochs, "trainable": stage.trainable,
                            "learning_rate": stage.learning_rate, "trainable_backbone_params": backbone_params,
                            "trainable_params": total, "history": history.history})
        return results


def _is_dataset(data):
    import tensorflow as tf

    return isinstance(data, tf.data.Dataset)
