"""GAN-augmented classifier training: mix generated labelled images into the real tf.data pipeline, and
measure end to end whether it helps (`augment_experiment`).

Public names are imported on first use (see `kgantl.lazy`)."""
from kgantl.lazy import lazy_exports

_PUBLIC = {
    "AugmentSettings": "kgantl.synthetic.experiment",
    "ConditionalSampler": "kgantl.synthetic.mix",
    "GenerationStats": "kgantl.synthetic.mix",
    "as_conditional_sampler": "kgantl.synthetic.mix",
    "augment_experiment": "kgantl.synthetic.experiment",
    "count_labels": "kgantl.synthetic.mix",
    "generation_probabilities": "kgantl.synthetic.mix",
    "mix_real_and_generated": "kgantl.synthetic.mix",
    "split_validation": "kgantl.data.shots",
}
__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
