"""Callbacks: sample grids, metric log, TensorBoard events, divergence guard, atomic checkpoints for resume."""
from kgantl.callbacks.checkpoint import (BestCheckpoint, EpochCheckpoint, latest_epoch, restore_checkpoint,
                                         save_checkpoint)
from kgantl.callbacks.guard import DivergenceGuard, TrainingDiverged
from kgantl.callbacks.metric_log import JsonlLogger
from kgantl.callbacks.samples import SampleGrid
from kgantl.callbacks.tensorboard import TensorBoardLogger

__all__ = ["BestCheckpoint", "DivergenceGuard", "EpochCheckpoint", "JsonlLogger", "SampleGrid", "TensorBoardLogger",
           "TrainingDiverged", "latest_epoch", "restore_checkpoint", "save_checkpoint"]
