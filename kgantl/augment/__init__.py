"""GAN-augmented classifier training: mix generated labelled images into the real tf.data pipeline, and
measure end to end whether it helps (`augment_experiment`)."""
from kgantl.augment.classic import augment_dataset, classic_augmentation
from kgantl.augment.experiment import AugmentSettings, augment_experiment, split_validation
from kgantl.augment.mix import (ConditionalSampler, GenerationStats, as_conditional_sampler, count_labels,
                                generation_probabilities, mix_real_and_generated)

__all__ = ["AugmentSettings", "ConditionalSampler", "GenerationStats", "as_conditional_sampler", "augment_dataset",
           "augment_experiment", "classic_augmentation", "count_labels", "generation_probabilities",
           "mix_real_and_generated", "split_validation"]
