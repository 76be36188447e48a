"""Sample-quality metrics: pure functions on features, Keras Metric wrappers, extractors, evaluation."""
from kgantl.metrics.copying import copy_scores
from kgantl.metrics.distances import (fid_from_features, frechet_distance, gaussian_statistics, inception_score,
                                      kernel_inception_distance, precision_recall)
from kgantl.metrics.evaluate import evaluate, protocol_name, reference_set, sample_images
from kgantl.metrics.extractors import (EXTRACTORS, FeatureExtractor, from_keras_model, get_extractor,
                                       quantise_and_resize)
from kgantl.metrics.keras_metrics import FrechetInceptionDistance, KernelInceptionDistance
from kgantl.metrics.memorisation import memorisation_check

__all__ = ["EXTRACTORS", "FeatureExtractor", "FrechetInceptionDistance", "KernelInceptionDistance", "copy_scores",
           "evaluate",
           "fid_from_features", "frechet_distance", "from_keras_model", "gaussian_statistics", "get_extractor",
           "inception_score", "kernel_inception_distance", "memorisation_check", "precision_recall", "protocol_name",
           "quantise_and_resize", "reference_set", "sample_images"]
