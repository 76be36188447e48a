"""StopOnSignal: a signal during fit stops it at the next batch end, without ending the epoch."""
import os
import signal

import keras
import numpy as np
import pytest

from kgantl.callbacks.signals import EXIT_STATUS, StopOnSignal, StopRequested


class _SignalAt(keras.callbacks.Callback):
    def __init__(self, epoch, batch, signum):
        super().__init__()
        self.at, self.signum, self.epoch, self.ended = (epoch, batch), signum, 0, []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            os.kill(os.getpid(), self.signum)

    def on_epoch_end(self, epoch, logs=None):
        self.ended.append(epoch)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_fit_after_the_step_without_ending_the_epoch(signum):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    before = signal.getsignal(signum)
    stop, sender = StopOnSignal(), _SignalAt(epoch=1, batch=3, signum=signum)
    with pytest.raises(StopRequested) as request:
        with stop.handling():
            model.fit(np.zeros((40, 2)), np.zeros((40, 1)), batch_size=4, epochs=3, verbose=0,
                      callbacks=[sender, stop])
    assert (request.value.signum, request.value.epoch, request.value.step) == (signum, 2, 4)
    assert sender.ended == [0]  # the interrupted epoch 2 never ended: no checkpoint of a partial epoch
    assert model.optimizer.iterations.numpy() == 10 + 4
    assert signal.getsignal(signum) is before  # handlers restored
    assert EXIT_STATUS[signum] == 128 + signum and str(request.value).startswith(
        f"stopped by {signal.Signals(signum).name} in epoch 2 (after step 4)")


def test_a_command_that_stopped_ignores_a_second_signal_while_it_exits():
    from kgantl.callbacks.signals import ignore_further_signals

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        ignore_further_signals()
        os.kill(os.getpid(), signal.SIGINT)  # would raise KeyboardInterrupt under Python's default handler
        assert all(signal.getsignal(signum) is signal.SIG_IGN for signum in previous)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
