"""Data: specs to tf.data pipelines, the n-shot rule, and differentiable augmentation."""
from kgantl.data.augment import DiffAugment
from kgantl.data.pipeline import load_arrays, load_images, make_dataset, to_model_range
from kgantl.data.shots import select_shots
from kgantl.data.sources import ImageArrays, resolve_source

__all__ = ["DiffAugment", "ImageArrays", "load_arrays", "load_images", "make_dataset", "resolve_source",
           "select_shots", "to_model_range"]
