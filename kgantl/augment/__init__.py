"""GAN-augmented classifier training: mix generated labelled images into the real tf.data pipeline."""
from kgantl.augment.mix import (ConditionalSampler, GenerationStats, as_conditional_sampler, count_labels,
                                generation_probabilities, mix_real_and_generated)

__all__ = ["ConditionalSampler", "GenerationStats", "as_conditional_sampler", "count_labels",
           "generation_probabilities", "mix_real_and_generated"]
