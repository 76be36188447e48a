"""GAN-augmented classifier training: mix generated labelled images into the real tf.data pipeline, and
measure end to end whether it helps (`augment_experiment`).

Public names are imported on first use (see `kgantl.lazy`)."""
from kgantl.lazy import lazy_exports

_PUBLIC = {
    "AugmentSettings": "kgantl.augment.experiment",
    "ConditionalSampler": "kgantl.augment.mix",
    "GenerationStats": "kgantl.augment.mix",
    "as_conditional_sampler": "kgantl.augment.mix",
    "augment_dataset": "kgantl.augment.classic",
    "augment_experiment": "kgantl.augment.experiment",
    "classic_augmentation": "kgantl.augment.classic",
    "count_labels": "kgantl.augment.mix",
    "generation_probabilities": "kgantl.augment.mix",
    "mix_real_and_generated": "kgantl.augment.mix",
    "split_validation": "kgantl.data.shots",
}
__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
