"""The `kgantl` console script: `main` parses the command line, resolves a run's options before TensorFlow
starts, starts TensorFlow (quietly, unless `--verbose`) and runs the command; usage errors exit 2 with one line.
"""
import contextlib
import logging
import os
import sys

from kgantl.io import DiskWriteError
from kgantl.logs import show_progress
from kgantl.cli.synthetic import _augment, _augment_settings
from kgantl.cli.classifiers import _finetune_classifier, _train_classifier
from kgantl.cli.common import USAGE_ERRORS, UsageError
from kgantl.cli.evaluation import _evaluate
from kgantl.cli.training import _train, _train_options
from kgantl.cli.parser import build_parser
from kgantl.cli.samples import _compare, _export, _generate, _models


def _command_options(args, argv, parser):
    """The resolved `TrainOptions` of `train` and `transfer`, or `AugmentSettings` of `augment` (None for the other
    commands), before TensorFlow starts: where and on how many devices a run trains may come from `--config`."""
    if args.command not in ("train", "transfer", "augment"):
        return None
    try:
        if args.command == "augment":
            return _augment_settings(args, argv, parser.subcommands["augment"])
        return _train_options(args, argv, parser.subcommands[args.command])
    except USAGE_ERRORS as error:
        raise UsageError(str(error)) from None


@contextlib.contextmanager
def _native_logging_silenced(enabled=True):
    """Send what C++ code writes to file descriptor 2 to /dev/null while Python's `sys.stderr` keeps its target.

    TensorFlow logs from C++ through absl (oneDNN, CUDA probing, CPU features at start-up; Grappler notes
    while training), which neither `TF_CPP_MIN_LOG_LEVEL` nor Python's logging silences. Python's own
    messages (kgantl's log lines, warnings, tracebacks) still reach the terminal: when `sys.stderr` is
    the process's fd 2 it is re-opened on a copy of it first. `--verbose` turns this off.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved_fd = os.dup(2)
    saved_stream = sys.stderr
    try:
        python_writes_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # e.g. a test's capture object: it does not write to fd 2
        python_writes_fd2 = False
    if python_writes_fd2:
        sys.stderr = os.fdopen(os.dup(saved_fd), "w", buffering=1, encoding=saved_stream.encoding,
                               errors="backslashreplace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        if python_writes_fd2:
            temporary, sys.stderr = sys.stderr, saved_stream
            # Log handlers made meanwhile (ours, TensorFlow's) hold the temporary stream: give them the real one.
            loggers = [logging.getLogger(), *(logger for logger in logging.Logger.manager.loggerDict.values()
                                             if isinstance(logger, logging.Logger))]
            for handler in (h for logger in loggers for h in logger.handlers):
                if isinstance(handler, logging.StreamHandler) and handler.stream is temporary:
                    handler.setStream(saved_stream)
            temporary.close()


def _load_tensorflow(options):
    """Import TensorFlow and Keras, start its devices (which logs) and register kgantl's Keras classes.

    `cpu_replicas` splits the CPU first and `distribute="multiworker"` starts its strategy first: TensorFlow
    fixes its devices and collectives when it starts them. `options`: the run's `TrainOptions`, or None.
    """
    import kgantl
    import tensorflow as tf

    replicas, distribute = getattr(options, "cpu_replicas", 1), getattr(options, "distribute", None)
    if distribute == "mirrored" and isinstance(replicas, int) and replicas > 1:
        from kgantl.distribute import split_cpu

        split_cpu(replicas)
    if distribute == "multiworker":  # its collectives are configured once, before the devices start
        from kgantl.distribute import make_distribution

        try:
            make_distribution("multiworker")
        except ValueError as error:
            raise UsageError(str(error)) from None
    tf.config.list_logical_devices()
    kgantl.register_serializable_classes()


def main(argv=None):
    """Entry point of the `kgantl` console script.

    Args:
        argv: arguments without the program name (default: `sys.argv[1:]`).

    Returns:
        Exit status: 0 success, 1 training diverged or a write failed on a full, failing or read-only disk
            (the last checkpoint intact: the same command resumes), 2 usage or input error (also a run directory
            in use), 143 or 130 training stopped by SIGTERM or SIGINT (its last epoch checkpoint kept; the same
            command resumes).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    command = argv[0] if argv and not argv[0].startswith("-") else None
    prefix = f"kgantl {command}" if command in parser.subcommands else "kgantl"
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        print(f"{prefix}: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if args.verbose else "2")
    # kgantl's progress (INFO) and warnings as `kgantl: ...` lines, as a notebook gets them with the same call; put
    # back afterwards, so a caller of `main` in the same process keeps its own logging.
    progress_was_shown = show_progress()
    with _native_logging_silenced(enabled=not args.verbose):
        try:
            options = _command_options(args, argv, parser)
            _load_tensorflow(options)
            return _run_command(args, options)
        except UsageError as error:
            print(f"{prefix}: error: {' '.join(str(error).split())}", file=sys.stderr)
            return 2
        except DiskWriteError as error:  # a full, failing or read-only disk: one line, nothing half-written
            print(f"{prefix}: {error}", file=sys.stderr)
            return 1
        finally:
            show_progress(progress_was_shown)


def _run_command(args, options):
    """Run the parsed command; returns its exit status. Usage errors surface as `UsageError`."""
    if args.command in ("train", "transfer"):
        return _train(args, options)
    if args.command == "augment":
        _augment(args, options)
        return 0
    if args.command == "models":
        return _models(args)
    try:
        {"generate": _generate, "compare": _compare, "export": _export, "evaluate": _evaluate,
         "train-classifier": _train_classifier,
         "finetune-classifier": _finetune_classifier}[args.command](args)
    except USAGE_ERRORS as error:
        # generate, compare, export and evaluate only read inputs and write results. train-classifier and
        # finetune-classifier do not separate set-up from training yet: any such error of theirs exits 2.
        raise UsageError(str(error)) from None
    return 0
