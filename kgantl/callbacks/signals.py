"""Stop training cleanly on SIGTERM or SIGINT: after the current step, keeping the last epoch checkpoint.

A scheduler (Slurm, Kubernetes, Colab) sends SIGTERM and waits a little before SIGKILL. `StopOnSignal` turns the
signal into a request that the next batch end honours by raising `StopRequested`, which leaves `fit` without
ending the epoch: the partial epoch is abandoned rather than checkpointed, because a checkpoint records whole
epochs (the data order, the noise streams and the logged means of a resumed run are those of an uninterrupted
one only from an epoch boundary). The run directory then holds the last whole epoch's checkpoint and the same
command resumes from it, exactly as after SIGKILL, only without the traceback and with a message.

Only the command line installs the handlers: a library call leaves a notebook's own signal handling alone.
"""
import contextlib
import signal
import threading

import keras

# Exit statuses of the command line after a stop, the shell's convention: 128 + the signal's number.
EXIT_STATUS = {signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGINT: 128 + signal.SIGINT}


def ignore_further_signals(signums=(signal.SIGTERM, signal.SIGINT)):
    """Ignore `signums` from now on: for a command that has stopped on one and is exiting (its state saved), so a
    second Ctrl-C cannot interrupt the shutdown halfway. Not for library code that goes on running."""
    for signum in signums:
        signal.signal(signum, signal.SIG_IGN)


class StopRequested(Exception):
    """Training was asked to stop by a signal; `signum`, `epoch` (1-based) and `step` (in the epoch) say when."""

    def __init__(self, signum, epoch, step):
        self.signum, self.epoch, self.step = signum, epoch, step
        super().__init__(f"stopped by {signal.Signals(signum).name} in epoch {epoch} (after step {step})")


class StopOnSignal(keras.callbacks.Callback):
    """Raise `StopRequested` at the first batch end after `handling` has caught a signal.

    Example:
        >>> stop = StopOnSignal()
        >>> with stop.handling():
        ...     gan.fit(ds, epochs=10, callbacks=[stop])
    """

    def __init__(self):
        super().__init__()
        self.signum, self._epoch = None, 0

    @contextlib.contextmanager
    def handling(self, signums=(signal.SIGTERM, signal.SIGINT)):
        """Catch `signums` within the block (main thread only; elsewhere the default handling stays)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {signum: signal.signal(signum, self._request) for signum in signums}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _request(self, signum, frame):
        self.signum = signum

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._raise_if_requested(0)

    def on_train_batch_end(self, batch, logs=None):
        self._raise_if_requested(batch + 1)

    def _raise_if_requested(self, step):
        if self.signum is not None:
            raise StopRequested(self.signum, self._epoch, step)


__all__ = ["EXIT_STATUS", "StopOnSignal", "StopRequested", "ignore_further_signals"]
