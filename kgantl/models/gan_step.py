"""`GANTrainStep`: the adversarial update of `GAN.train_step` (D steps, G step, adaptive augmentation, EMA)."""
import keras
import tensorflow as tf
from keras import ops

from kgantl import losses as gan_losses
from kgantl.models.replicas import ReplicaSeeds, reducible_across_workers, replica_context


class GANTrainStep:
    """The training half of `kgantl.models.gan.GAN`, a mixin: `train_step` and the updates it is made of.

    Each `train_step` does `n_critic` discriminator updates, then one generator update, then moves the EMA
    generator (and, in adaptive augmentation mode, the augmentation probability). It uses what `GAN` sets up:
    the networks, `augment`, the optimizers and losses of `compile`, the seed generator, the metric trackers,
    the generator penalties, and the input hooks `_split_batch`, `_generator_inputs` and
    `_discriminator_inputs` (which `ConditionalGAN` overrides).
    """

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
        return self.seed_generator if replicas == 1 else ReplicaSeeds(self.seed_generator, replica)

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
        return reducible_across_workers(logs)
