"""kgantl's log lines: progress at INFO, real warnings at WARNING, on the `kgantl` logger and its children.

Like any library, kgantl configures no logging by itself: in Python its progress (a seed's scores, a
schedule's stages, what `precision="auto"` chose) is silent, and its warnings reach whatever prints warnings
(Python's last-resort handler, or a handler the application set). `show_progress()` is the one switch that prints
both as plain `kgantl: message` lines on stderr; the `kgantl` command turns it on for each command.
"""
import logging
import sys

LOGGER = "kgantl"
LINE_FORMAT = "kgantl: %(message)s"


class _ProgressHandler(logging.StreamHandler):
    """Writes to the `sys.stderr` of the moment (a notebook's, a test's capture, the stream the command line
    re-opens while it silences TensorFlow), not to the one there was when it was made."""

    def __init__(self):
        super().__init__()
        self.setFormatter(logging.Formatter(LINE_FORMAT))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        # StreamHandler.__init__ and setStream assign a stream; the current sys.stderr wins whatever it was.
        pass


def progress_shown():
    """Whether `show_progress()` is on now.

    Returns:
        bool: True while the `kgantl` logger has the handler `show_progress()` attached.

    Example:
        >>> kgantl.logs.progress_shown()
        False
    """
    return any(isinstance(handler, _ProgressHandler) for handler in logging.getLogger(LOGGER).handlers)


def show_progress(enabled=True):
    """Print kgantl's progress and warnings as `kgantl: message` lines on stderr (or stop, with False).

    On: the `kgantl` logger passes INFO and above to one handler of its own and no longer on to the root
    logger, so a handler there (a notebook's, `logging.basicConfig`'s) does not print each line a second time
    with a `WARNING:`/`INFO:` label. Off: the library's default again (the logger's level unset, its records
    propagated to the root logger). Calling it twice changes nothing. To route kgantl's lines elsewhere, leave
    this off and configure the `kgantl` logger like any other (`logging.getLogger("kgantl").setLevel("INFO")`).

    Args:
        enabled: True to print, False to return to the default.

    Returns:
        Whether it was on before the call, so a caller can put it back: `show_progress(earlier)`.

    Example:
        >>> import kgantl
        >>> kgantl.show_progress()
        >>> report, run_dir = kgantl.augment_experiment(settings)  # doctest: +SKIP
        kgantl: seed 0: GAN KID 0.7194, recall 0.020, near-copy share 0.000
        kgantl: seed 0, ratio 0: val 0.900, test accuracy 0.8690, macro-F1 0.8653
    """
    earlier = progress_shown()
    logger = logging.getLogger(LOGGER)
    for handler in [h for h in logger.handlers if isinstance(h, _ProgressHandler)]:
        logger.removeHandler(handler)
    logger.setLevel(logging.INFO if enabled else logging.NOTSET)
    logger.propagate = not enabled
    if enabled:
        logger.addHandler(_ProgressHandler())
    return earlier


__all__ = ["LINE_FORMAT", "LOGGER", "progress_shown", "show_progress"]
