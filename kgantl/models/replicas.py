"""What a GAN step needs to know of `tf.distribute`: which replica runs it, its seeds, and logs a cluster can reduce."""
import keras
import tensorflow as tf
from keras import ops


def replica_context():
    """`(replica id, replicas in sync)` of the replica running this code; `(0, 1)` outside `tf.distribute`.

    The id is a tensor under a multi-replica strategy (each replica traces the same step).
    """
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context
        return 0, tf.distribute.get_strategy().num_replicas_in_sync
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def reducible_across_workers(logs):
    """`logs` as Keras can reduce them across the workers of a cluster: one-element vectors there, else as given.

    Keras 3 reduces a multi-worker step's outputs with `strategy.reduce("MEAN", value, axis=0)`, which
    fails on scalars ("Invalid reduction dimension 0 for input with 0 dimensions"); over a one-element
    vector it gives the mean across replicas as a scalar, which is what single-host strategies log.
    """
    extended = tf.distribute.get_strategy().extended
    if not getattr(extended, "_in_multi_worker_mode", lambda: False)():
        return logs
    return {name: ops.reshape(value, (1,)) for name, value in logs.items()}


class ReplicaSeeds(keras.random.SeedGenerator):
    """`base`'s seed stream with the replica's id folded into every seed: one shared state, distinct draws.

    Made inside each step, never tracked or saved. (`SeedGenerator.__init__` is not called: it would make a
    state variable of its own.)
    """

    _SPREAD = 1_000_003  # a prime, so replicas' seeds differ in the part the user's seed sets

    def __init__(self, base, replica):  # noqa: super().__init__ deliberately not called
        self._base, self._replica = base, replica

    def next(self, ordered=True):
        seed = self._base.next(ordered)
        return seed + ops.cast(ops.stack([self._replica * self._SPREAD, 0]), seed.dtype)
