"""`GAN`: a `keras.Model` whose `train_step` runs one adversarial update with two gradient tapes."""
import keras
import numpy as np
import tensorflow as tf
from keras import ops

from kgantl import losses as gan_losses
from kgantl.data.augment import DiffAugment


def _check_backend():
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "kgantl trains with tf.GradientTape and needs the TensorFlow backend; set KERAS_BACKEND=tensorflow. "
            f"Received: backend={keras.backend.backend()!r}"
        )


def default_optimizer(learning_rate=2e-4):
    """Adam(learning_rate, beta_1=0.5): the DCGAN setting."""
    return keras.optimizers.Adam(learning_rate, beta_1=0.5)


def check_labels(labels, count, class_ids, conditional=None, model="model"):
    """Labels for `count` samples of a model trained on `class_ids`, as int32 (count,), or None if unconditional.

    Args:
        labels: None, one int, or `count` ints.
        count: number of samples.
        class_ids: the classes the model was trained on; None for an unconditional model, or for a
            conditional one that cannot tell its classes (a user's generator), whose labels are passed on.
        conditional: whether the model takes labels (default: `class_ids is not None`).
        model: what the messages call the model.

    Returns:
        int32 array (count,), or None for an unconditional model.

    Raises:
        ValueError: labels for an unconditional model, none for a conditional one, or a class the model
            was not trained on.

    Example:
        >>> check_labels(7, 3, [5, 6, 7])
        array([7, 7, 7], dtype=int32)
    """
    conditional = class_ids is not None if conditional is None else conditional
    if not conditional:
        if labels is not None:
            raise ValueError(f"labels are for class-conditional models; this {model} is unconditional. "
                             f"Received: labels={np.unique(labels).tolist()}")
        return None
    if labels is None:
        classes = f" (its classes: {', '.join(map(str, class_ids))})" if class_ids is not None else ""
        raise ValueError(f"labels are required for a conditional model{classes}. Received: labels=None")
    labels = np.broadcast_to(np.asarray(labels, dtype=np.int32), (count,)).copy()
    unknown = sorted(set(labels.tolist()) - set(class_ids)) if class_ids is not None else []
    if unknown:
        raise ValueError(f"labels must be classes the model was trained on ({', '.join(map(str, class_ids))}). "
                         f"Received: labels {', '.join(map(str, unknown))}")
    return labels


def replica_context():
    """`(replica id, replicas in sync)` of the replica running this code; `(0, 1)` outside `tf.distribute`.

    The id is a tensor under a multi-replica strategy (each replica traces the same step).
    """
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context
        return 0, tf.distribute.get_strategy().num_replicas_in_sync
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def _reducible_across_workers(logs):
    """`logs` as Keras can reduce them across the workers of a cluster: one-element vectors there, else as given.

    Keras 3 reduces a multi-worker step's outputs with `strategy.reduce("MEAN", value, axis=0)`, which
    fails on scalars ("Invalid reduction dimension 0 for input with 0 dimensions"); over a one-element
    vector it gives the mean across replicas as a scalar, which is what single-host strategies log.
    """
    extended = tf.distribute.get_strategy().extended
    if not getattr(extended, "_in_multi_worker_mode", lambda: False)():
        return logs
    return {name: ops.reshape(value, (1,)) for name, value in logs.items()}


class _ReplicaSeeds(keras.random.SeedGenerator):
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


class _Untracked:
    """A holder Keras does not look into (it tracks and saves layers, variables and lists of them)."""

    def __init__(self):
        self.items = []


@keras.saving.register_keras_serializable(package="kgantl")
class GAN(keras.Model):
    """An unconditional GAN trained with `fit()`.

    Each `train_step` does `n_critic` discriminator updates, then one generator update, then moves the
    EMA generator. Real and generated images pass through the same augmentation before D. Losses are
    reported through metric trackers (`d_loss`, `g_loss`, `d_real`, `d_fake`: D's mean logits), plus
    `aug_p` in adaptive augmentation mode.

    Args:
        generator: model noise -> images in [-1, 1].
        discriminator: model images -> logits (N, 1).
        augment: a `DiffAugment` layer, a policy string such as `"color,translation,cutout"`, or None.
        ada_target: if set, adaptive augmentation: the augmentation probability rises while
            E[sign(D(real))] is above this target (D overfits) and falls while below. In [-1, 1); 0.6 is
            the StyleGAN2-ADA value.
        ada_speed: images over which the probability can move from 0 to 1.
        ema_decay: decay of the generator's exponential moving average (0 disables it). The EMA
            generator is used for sampling (`call`, `generate`) and export.
        seed: int seed of the model's `SeedGenerator` (noise, augmentation, penalties).

    Example:
        >>> gan = GAN(build_generator(), build_discriminator(), augment="translation,cutout")
        >>> gan.compile(loss="hinge")
        >>> gan.fit(load_images("fashion_mnist:7", shots=100, repeat=True), epochs=10, steps_per_epoch=50)
    """

    def __init__(self, generator, discriminator, augment=None, ada_target=None, ada_speed=20_000, ema_decay=0.999,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_backend()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(generator.inputs[0].shape[-1])
        if ada_target is not None and not -1.0 <= float(ada_target) < 1.0:
            raise ValueError(f"ada_target must be in [-1, 1). Received: ada_target={ada_target!r}")
        if float(ada_speed) <= 0:
            raise ValueError(f"ada_speed must be positive. Received: ada_speed={ada_speed!r}")
        if not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1). Received: ema_decay={ema_decay!r}")
        if isinstance(augment, str) or (augment is None and ada_target is not None):
            augment = DiffAugment(augment or "color,translation,cutout",
                                  probability=0.0 if ada_target is not None else 1.0, name="augment")
        self.augment = augment
        self.ada_target = None if ada_target is None else float(ada_target)
        self.ada_speed = float(ada_speed)
        self.ema_decay = float(ema_decay)
        self.ema_generator = None
        if self.ema_decay > 0:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Evaluation draws its noise from its own generator, restarted at every evaluate(): turning
        # evaluation on does not change training, and every evaluation scores the same noise.
        self.eval_seed_generator = keras.random.SeedGenerator(None if seed is None else seed + 7919)
        self._eval_seed_start = keras.ops.convert_to_numpy(self.eval_seed_generator.state.value)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.g_penalty_tracker = keras.metrics.Mean(name="g_penalty")
        # Training-time terms of the generator loss (transfer regularisers such as CDC and EWC): plain Python
        # objects, so Keras neither tracks nor saves them; the strategy that adds them adds them again on resume.
        self._generator_penalties = _Untracked()
        self.built = True  # the sub-models are built; fit() must not try a symbolic call

    # ----- configuration -------------------------------------------------------------------------
    def compile(self, d_optimizer=None, g_optimizer=None, loss="nonsaturating", n_critic=1, r1_weight=0.0,
                gp_weight=10.0, jit_compile="auto", metrics=None, **kwargs):
        """Configure training.

        Args:
            d_optimizer: the discriminator's optimizer (default Adam(2e-4, beta_1=0.5)).
            g_optimizer: the generator's optimizer (default Adam(2e-4, beta_1=0.5)).
            loss: `nonsaturating`, `minimax`, `hinge` or `wgan-gp`; or a Keras loss on logits such as
                `keras.losses.BinaryCrossentropy(from_logits=True)` (the keras-io examples' choice), taken as
                the non-saturating loss built from it (D: loss(1, real) + loss(0, fake); G: loss(1, fake));
                or a pair `(generator_loss, discriminator_loss)` of functions of logits. Losses with
                `from_logits=False` are refused, since D outputs logits. The gradient penalty comes with
                the name `wgan-gp` only. Names and Keras loss objects are saved with the model; other
                callables and pairs are saved as Keras saves functions: they load in safe mode only when
                registered with `keras.saving.register_keras_serializable` (kgantl's own loss functions
                are), lambdas only with `safe_mode=False`.
            n_critic: discriminator updates per generator update (5 is usual for `wgan-gp`). All of them
                use the step's real batch, each with fresh noise and augmentation.
            r1_weight: gamma of the R1 penalty on real images (0 disables it).
            gp_weight: weight of the gradient penalty, used by `wgan-gp` only.
            jit_compile: `"auto"` (XLA on GPU, not on CPU, where it made a small DCGAN step about 2x
                slower here), True or False.
            metrics: sample-quality metrics computed by `evaluate()` and on `fit(validation_data=...)`,
                e.g. `[kgantl.metrics.KernelInceptionDistance("fmnist")]`; each gets
                `update_state(real_images, generated_images)`.
            **kwargs: passed to `keras.Model.compile` (e.g. `steps_per_execution`, `run_eagerly`).

        After compiling, `gan_loss` is the loss as given and `loss_name` its name (None unless a name was
        given).

        Example:
            >>> gan.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True))  # = loss="nonsaturating"
        """
        self.g_loss_fn, self.d_loss_fn = gan_losses.get_losses(loss)
        if isinstance(n_critic, bool) or not isinstance(n_critic, int) or n_critic < 1:
            raise ValueError(f"n_critic must be a positive integer. Received: n_critic={n_critic!r}")
        for name, value in (("r1_weight", r1_weight), ("gp_weight", gp_weight)):
            if float(value) < 0:
                raise ValueError(f"{name} must be >= 0. Received: {name}={value!r}")
        # loss_name drives the name-only extras (the wgan-gp gradient penalty); gan_loss is what recompile
        # and the saved compile config reuse.
        self.gan_loss = tuple(loss) if isinstance(loss, list) else loss
        self.loss_name = loss if isinstance(loss, str) else None
        self.n_critic, self.jit_compile_option = n_critic, jit_compile
        self.r1_weight, self.gp_weight = float(r1_weight), float(gp_weight)
        self.evaluation_metrics = list(metrics or [])
        self.d_optimizer = d_optimizer or default_optimizer()
        self.g_optimizer = g_optimizer or default_optimizer()
        # The generator optimizer doubles as `self.optimizer`, so Keras' own bookkeeping (iterations,
        # learning-rate logging) sees the generator step count. Building both now keeps fit() from
        # building one over all variables.
        super().compile(optimizer=self.g_optimizer, jit_compile=jit_compile, **kwargs)
        # An optimizer passed in again (transfer phases recompile with the same ones) keeps its state.
        if not self.d_optimizer.built:
            self.d_optimizer.build(self.discriminator.trainable_variables)
        if not self.g_optimizer.built:
            self.g_optimizer.build(self.generator.trainable_variables)

    def recompile(self):
        """Compile again with the current settings and the same optimizers (their state carries over).

        Needed after changing which weights are trainable, e.g. between transfer phases.
        """
        self.compile(d_optimizer=self.d_optimizer, g_optimizer=self.g_optimizer, loss=self.gan_loss,
                     n_critic=self.n_critic, r1_weight=self.r1_weight, gp_weight=self.gp_weight,
                     jit_compile=self.jit_compile_option, metrics=self.evaluation_metrics)

    def get_compile_config(self):
        if not self.compiled:
            return None
        loss = self.gan_loss
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            "loss": loss if isinstance(loss, str) else keras.saving.serialize_keras_object(loss),
            "n_critic": self.n_critic, "r1_weight": self.r1_weight,
            "gp_weight": self.gp_weight, "jit_compile": self.jit_compile_option,
            "metrics": [keras.saving.serialize_keras_object(m) for m in self.evaluation_metrics],
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        if not isinstance(config.get("loss", "nonsaturating"), str):  # a Keras loss object or a pair
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        import kgantl

        kgantl.register_serializable_classes()  # the metric classes must be registered before they are looked up
        config["metrics"] = [keras.saving.deserialize_keras_object(m) for m in config.get("metrics", [])]
        self.compile(**config)

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "augment": keras.saving.serialize_keras_object(self.augment) if self.augment is not None else None,
            "ada_target": self.ada_target, "ada_speed": self.ada_speed, "ema_decay": self.ema_decay,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator", "augment"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    def build(self, input_shape=None):
        self.built = True

    @property
    def training_trackers(self):
        trackers = [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]
        return trackers + ([self.g_penalty_tracker] if self._generator_penalties.items else [])

    def add_generator_penalty(self, penalty):
        """Add a term to the generator's loss: `penalty(gan, generator_inputs)` -> scalar, called inside the
        generator step's gradient tape on that step's noise (and labels). Logged as `g_penalty` (the sum).

        Not saved with the model: it is a training recipe (e.g. `kgantl.transfer.regularizers.EWCPenalty`).
        Add penalties before `compile`, so the compiled step includes them.

        Example:
            >>> gan.add_generator_penalty(lambda gan, inputs: 1e-4 * sum(ops.sum(w ** 2) for w in gan.generator.weights))
        """
        if not callable(penalty):
            raise ValueError(f"penalty must be callable as penalty(gan, generator_inputs). Received: {penalty!r}")
        self._generator_penalties.items.append(penalty)

    @property
    def metrics(self):
        # Everything Keras must reset between epochs and evaluations.
        return self.training_trackers + list(getattr(self, "evaluation_metrics", []))

    @property
    def sampler(self):
        """The generator used for sampling: the EMA copy when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    # ----- inputs: the conditional subclass overrides these three ----------------------------------
    def _split_batch(self, data):
        """Real images and labels (None here) from what the dataset yields."""
        return (data[0] if isinstance(data, (tuple, list)) else data), None

    def _generator_inputs(self, noise, labels):
        return noise

    def _discriminator_inputs(self, images, labels):
        return images

    # ----- sampling -------------------------------------------------------------------------------
    def call(self, inputs, training=False):
        """Images from noise (or `[noise, labels]` for the conditional model) with the sampling generator."""
        return self.sampler(inputs, training=training)

    def generate(self, count=None, noise=None, labels=None, seed=None):
        """Sample images with the EMA generator, as a numpy array in [-1, 1].

        Args:
            count: number of images (ignored if `noise` is given).
            noise: optional array (N, latent_dim).
            labels: class labels for the conditional model (int or array).
            seed: int seed for the noise when `noise` is None.

        Returns:
            float32 array (N, H, W, C).
        """
        if noise is None:
            if count is None or count < 1:
                raise ValueError(f"count must be a positive integer when no noise is given. Received: count={count!r}")
            noise = keras.random.normal((count, self.latent_dim), seed=seed)
        noise = ops.convert_to_tensor(noise, "float32")
        if len(noise.shape) != 2 or noise.shape[-1] != self.latent_dim:
            raise ValueError(f"noise must have shape (N, {self.latent_dim}). Received: shape={tuple(noise.shape)}")
        images = self.sampler(self._sampling_inputs(noise, labels), training=False)
        return ops.convert_to_numpy(ops.cast(images, "float32"))  # float32 under a mixed-precision policy too

    def _sampling_inputs(self, noise, labels):
        check_labels(labels, noise.shape[0], None, conditional=False, model="GAN")  # else silently ignored
        return noise

    def trained_class_ids(self):
        """The classes the model was trained on; None for an unconditional GAN."""
        return None

    # ----- training -------------------------------------------------------------------------------
    # Under a tf.distribute strategy every replica runs these steps on its share of the global batch. The
    # optimizers sum the replicas' gradients, so each replica's loss is divided by the number of replicas
    # (the global batch's mean loss); noise is the single-device run's noise for the global batch, split by
    # replica, so a run on N replicas computes what one device computes at the same global batch; augmentation
    # and penalties draw from the replica's own seed stream. Logits, losses and penalties are float32 under a
    # mixed-precision policy, and a LossScaleOptimizer (float16) scales the loss and unscales the gradients.
    def _noise(self, batch):
        """This replica's `batch` noise vectors: its slice of the noise of the global batch."""
        replica, replicas = replica_context()
        if replicas == 1:
            return keras.random.normal((batch, self.latent_dim), seed=self.seed_generator)
        noise = keras.random.normal((batch * replicas, self.latent_dim), seed=self.seed_generator)
        return ops.slice(noise, (replica * batch, 0), (batch, self.latent_dim))

    def _replica_seeds(self):
        """The seed stream for this replica's augmentation and penalties (the model's own on one replica)."""
        replica, replicas = replica_context()
        return self.seed_generator if replicas == 1 else _ReplicaSeeds(self.seed_generator, replica)

    @staticmethod
    def _gradients(tape, loss, weights):
        """`tape`'s gradients, dense. A label embedding's gradient comes as `IndexedSlices`, which Keras' Adam
        updates differently from the dense gradient (weights moved by ~1e-3 in 3 steps of a tiny conditional
        GAN), and whose all-gather under several replicas clashed with the dense all-reduce in TensorFlow's
        collectives. The tables are small (classes x features), so dense costs nothing that matters."""
        return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                for g in tape.gradient(loss, weights)]

    @staticmethod
    def _scaled(optimizer, loss):
        """The loss to differentiate (inside the tape): this replica's share, times the float16 loss scale."""
        _, replicas = replica_context()
        return optimizer.scale_loss(loss / replicas if replicas > 1 else loss)

    def _discriminate(self, real, fake, labels, seeds):
        """D's float32 logits on augmented real and fake images, in one batched call."""
        images = ops.concatenate([ops.cast(real, fake.dtype), fake], axis=0)
        if self.augment is not None:
            images = self.augment(images, seed_generator=seeds)
        both_labels = None if labels is None else ops.concatenate([labels, labels], axis=0)
        logits = ops.cast(self.discriminator(self._discriminator_inputs(images, both_labels), training=True),
                          "float32")
        batch = ops.shape(real)[0]
        return logits[:batch], logits[batch:], images[:batch], images[batch:]

    def _discriminator_step(self, real, labels):
        batch = ops.shape(real)[0]
        seeds = self._replica_seeds()
        fake = self.generator(self._generator_inputs(self._noise(batch), labels), training=True)
        with tf.GradientTape() as tape:
            real_logits, fake_logits, real_seen, fake_seen = self._discriminate(real, fake, labels, seeds)
            d_loss = self.d_loss_fn(real_logits, fake_logits)
            penalty = 0.0
            critic = lambda x: self.discriminator(self._discriminator_inputs(x, labels), training=True)  # noqa: E731
            if self.loss_name == "wgan-gp" and self.gp_weight > 0:
                penalty += self.gp_weight * ops.cast(
                    gan_losses.gradient_penalty(critic, real_seen, fake_seen, seed=seeds), "float32")
            if self.r1_weight > 0:
                penalty += 0.5 * self.r1_weight * ops.cast(gan_losses.r1_penalty(critic, real_seen), "float32")
            scaled = self._scaled(self.d_optimizer, d_loss + penalty)
        weights = self.discriminator.trainable_variables
        self.d_optimizer.apply(self._gradients(tape, scaled, weights), weights)
        return d_loss, real_logits, fake_logits

    def _generator_step(self, batch, labels):
        noise, seeds = self._noise(batch), self._replica_seeds()
        with tf.GradientTape() as tape:
            fake = self.generator(self._generator_inputs(noise, labels), training=True)
            if self.augment is not None:
                fake = self.augment(fake, seed_generator=seeds)
            fake_logits = ops.cast(self.discriminator(self._discriminator_inputs(fake, labels), training=True),
                                   "float32")
            g_loss = self.g_loss_fn(fake_logits)
            penalty = sum((ops.cast(p(self, self._generator_inputs(noise, labels)), "float32")
                           for p in self._generator_penalties.items), ops.zeros((), "float32"))
            scaled = self._scaled(self.g_optimizer, g_loss + penalty)
        weights = self.generator.trainable_variables
        self.g_optimizer.apply(self._gradients(tape, scaled, weights), weights)
        if self._generator_penalties.items:
            self.g_penalty_tracker.update_state(penalty)
        return g_loss

    def evaluate(self, *args, **kwargs):
        self.eval_seed_generator.state.assign(self._eval_seed_start)
        return super().evaluate(*args, **kwargs)

    def test_step(self, data):
        """Update the sample-quality metrics with a real batch and as many EMA-generator samples."""
        real, labels = self._split_batch(data)
        noise = keras.random.normal((ops.shape(real)[0], self.latent_dim), seed=self.eval_seed_generator)
        fake = ops.cast(self.sampler(self._generator_inputs(noise, labels), training=False), "float32")
        for metric in self.evaluation_metrics:
            metric.update_state(real, fake)
        return _reducible_across_workers({m.name: m.result() for m in self.evaluation_metrics})

    def _update_augment_probability(self, real_logits, batch):
        """ADA: move p by batch/ada_speed towards keeping E[sign(D(real))] at the target.

        Under several replicas the statistic and the batch are the global batch's, so every replica moves
        p by the same amount.
        """
        signs = ops.mean(ops.sign(real_logits))
        _, replicas = replica_context()
        if replicas > 1:
            signs = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.MEAN, signs)
        overfit = signs - self.ada_target
        step = ops.sign(overfit) * ops.cast(batch * replicas, "float32") / self.ada_speed
        self.augment.probability.assign(ops.clip(self.augment.probability + step, 0.0, 1.0))

    def _update_ema(self):
        # Warm-up: early in training the average follows the generator closely (as in TF's
        # ExponentialMovingAverage with num_updates), so short runs still sample well.
        step = ops.cast(self.g_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for average, current in zip(self.ema_generator.weights, self.generator.weights):
            average.assign(decay * average + (1.0 - decay) * current)

    def train_step(self, data):
        real, labels = self._split_batch(data)
        batch = ops.shape(real)[0]
        for _ in range(self.n_critic):
            d_loss, real_logits, fake_logits = self._discriminator_step(real, labels)
        if self.ada_target is not None:
            self._update_augment_probability(real_logits, batch)
        g_loss = self._generator_step(batch, labels)
        if self.ema_generator is not None:
            self._update_ema()
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(ops.mean(real_logits))
        self.d_fake_tracker.update_state(ops.mean(fake_logits))
        logs = {m.name: m.result() for m in self.training_trackers}
        if self.ada_target is not None:
            logs["aug_p"] = ops.convert_to_tensor(self.augment.probability)
        return _reducible_across_workers(logs)
