"""`GAN`: a `keras.Model` whose `train_step` runs one adversarial update with two gradient tapes.

The update itself (noise, seeds, the discriminator and generator steps, adaptive augmentation, EMA) is
`kgantl.models.gan_step.GANTrainStep`; how it runs under `tf.distribute` is in `kgantl.models.replicas`.
"""
import keras
from keras import ops

from kgantl import losses as gan_losses
from kgantl.data.augment import DiffAugment
from kgantl.models.gan_step import GANTrainStep
from kgantl.models.labels import check_labels
from kgantl.models.replicas import reducible_across_workers
# These lived here before kgantl.models.replicas and are still imported from here (tests/test_distribute.py).
from kgantl.models.replicas import ReplicaSeeds as _ReplicaSeeds, replica_context  # noqa: F401


def _check_backend():
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "kgantl trains with tf.GradientTape and needs the TensorFlow backend; set KERAS_BACKEND=tensorflow. "
            f"Received: backend={keras.backend.backend()!r}"
        )


def default_optimizer(learning_rate=2e-4):
    """Adam(learning_rate, beta_1=0.5): the DCGAN setting."""
    return keras.optimizers.Adam(learning_rate, beta_1=0.5)


class _Untracked:
    """A holder Keras does not look into (it tracks and saves layers, variables and lists of them)."""

    def __init__(self):
        self.items = []


@keras.saving.register_keras_serializable(package="kgantl")
class GAN(GANTrainStep, keras.Model):
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

    # ----- evaluation: training is GANTrainStep.train_step (kgantl.models.gan_step) ----------------
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
        return reducible_across_workers({m.name: m.result() for m in self.evaluation_metrics})
