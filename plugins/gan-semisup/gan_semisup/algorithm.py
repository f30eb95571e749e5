"""``sgan``, ``fm-gan`` and the ``supervised-only`` baseline: a discriminator that is also a K-way classifier.

One trainer step of the semi-supervised GANs:

1. a labelled batch from the ``labeled`` stream (``ctx.next_batch(size=L, stream="labeled")``),
   the unlabelled batch the trainer hands over (the ``x`` stream: images, no labels) and a
   batch of generated images;
2. the discriminator minimises the labelled cross-entropy over the K classes plus
   ``unlabeled_weight`` times the real/fake loss, where "fake" is an implicit K+1-th class
   whose logit is fixed at 0 (see ``gan_semisup.losses``);
3. the generator takes one step: ``sgan`` the non-saturating −log D(G(z)); ``fm-gan`` feature
   matching on the discriminator's last hidden layer, against a second unlabelled batch (the
   reference draws it from its own shuffle of the data, as this does from the stream).

``supervised-only`` trains the same classifier with the same labelled batches, optimizer and
schedule on the labelled loss alone: what the unlabelled data and the generator add is the
difference between the two.

The data come from an image dataset with the ``labeled-subset`` transform (``gan_semisup.transforms``):
``data: {name: digits, transforms: [{name: labeled-subset, per_class: 10}]}``.

Every algorithm logs ``loss_d``, what its classifier's optimizer minimised (for the GANs ``loss_lab +
unlabeled_weight · loss_unl``, with both parts logged too), and the GANs ``loss_g``, the generator's.
"""

from __future__ import annotations

import torch
from torch import nn

from gancore import GANAlgorithm, TrainContext, UserError
from gancore.augment import Augmenter
from gancore.schedules import linear_decay, set_lr

from . import losses
from .config import ClassifierConfig, FMGANConfig, SemiSupervisedConfig
from .models import ImprovedGANDiscriminator
from .transforms import LABELED


def labelled_classes(ctx: TrainContext, algorithm: str) -> int:
    """K, from a dataset built with the ``labeled-subset`` transform; a clear error for any other."""
    streams = getattr(ctx.data, "streams", None) or {}
    # Data read through a DataLoader keep their labelled stream beside it, where ctx.data (a sample of the
    # DataLoader's items) does not show it; the transform's info says it is there.
    if LABELED not in streams and not ctx.data.info.get("labels_per_class"):
        raise UserError(
            f"{algorithm} learns from a few labelled samples beside unlabelled ones, so the data needs a labelled stream: "
            "add the labeled-subset transform to the dataset, e.g. data: {name: digits, transforms: [{name: labeled-subset, "
            "per_class: 10}]} for 100 labelled digits (--set 'data.transforms=[{name: labeled-subset, per_class: 10}]'); "
            f"this data has only the streams {sorted(streams) or ['x']}"
        )
    if ctx.data.info.get("num_classes"):
        return int(ctx.data.info["num_classes"])
    return int(ctx.data.tensors["y_labeled"].max()) + 1


class ClassifierBase(GANAlgorithm):
    """The classifier, its optimizer and schedule, labelled batches, ``classify``."""

    config: ClassifierConfig

    def build_classifier(self) -> nn.Module:
        cfg, ctx = self.config, self.ctx
        self.num_classes = labelled_classes(ctx, type(self).name)
        if cfg.augment.enabled and ctx.data.kind != "image":
            raise UserError(f"algorithm.augment transforms images, and the data '{ctx.data.kind}' are not images; leave it out")
        # Only when on (its draws are then declared state; None otherwise).
        self.augment = Augmenter.from_context(cfg.augment, ctx) if cfg.augment.enabled else None
        classifier = ctx.build_model(cfg.discriminator, "algorithm.discriminator", data_shape=ctx.data.sample_shape, out_features=self.num_classes)
        if isinstance(classifier, ImprovedGANDiscriminator) and cfg.init_samples:
            # A random subset (seeded by train.seed: the same on every process and rerun), never the first images:
            # datasets stored class by class (mnist5k) would set every unit's scale from one or two classes only.
            x = ctx.data.tensors["x"]
            pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(ctx.train.seed))[: cfg.init_samples]
            classifier.init_from_data(x[pick.to(x.device)].float().cpu())
        return classifier

    def adam(self, module: nn.Module, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
        return torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=lr, betas=self.config.betas, eps=self.config.eps, weight_decay=weight_decay)

    def lr_factor(self, step: int) -> float:
        start = self.config.lr_decay_start
        return 1.0 if start is None else linear_decay(step, self.ctx.train.steps, decay_start=start)

    def labelled_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.ctx.next_batch(size=self.config.labeled_batch_size, stream=LABELED)
        return batch["x_labeled"], batch["y_labeled"]

    def register_classifier_state(self) -> None:
        self.register_state("discriminator", "opt_d", "augment")

    def augmented(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` through ``algorithm.augment`` (itself when that is off). The transforms fill with 0, mid-grey
        in [-1, 1] pixels: shifted to [0, 2] around them, the fill is black (-1), MNIST's background."""
        return x if self.augment is None else self.augment(x + 1.0) - 1.0

    def ema_modules(self) -> dict[str, nn.Module]:
        modules = super().ema_modules()
        if self.config.average_classifier:
            modules["discriminator"] = self.ctx.unwrap(self.discriminator)
        return modules

    @torch.no_grad()
    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """The K class logits, from the classifier in eval mode (no noise). The fake class's logit is implicit
        (fixed at 0, ``losses.with_fake_logit``) and is not a class of the data, so it is not among them."""
        with self.ctx.evaluating(self.discriminator) as classifier:
            return classifier(x).float()

    @staticmethod
    def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (logits.detach().argmax(dim=1) == labels).float().mean()


class SemiSupervisedGAN(ClassifierBase):
    """SGAN (Odena 2016) with the stable K+1 loss: the generator minimises −log D(G(z))."""

    name = "sgan"
    config: SemiSupervisedConfig

    def __init__(self, config: SemiSupervisedConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        discriminator = self.build_classifier()
        generator = ctx.build_model(
            config.generator, "algorithm.generator", data_shape=ctx.data.sample_shape, latent_dim=config.latent_dim, is_image=ctx.data.kind == "image"
        )
        self.check_discriminator(discriminator)
        opt_d = self.adam(discriminator, config.lr_discriminator)
        opt_g = self.adam(generator, config.lr_generator)
        self.discriminator, self.generator, self.opt_d, self.opt_g = ctx.prepare(discriminator, generator, opt_d, opt_g)
        self.register_classifier_state()
        self.register_state("generator", "opt_g")

    def check_discriminator(self, discriminator: nn.Module) -> None:
        """Refuse a discriminator this variant cannot train."""

    def latents(self, n: int, seed: int | None = None) -> torch.Tensor:
        """Latents from p(z) on the device, through ``GANAlgorithm.noise`` (so ``--truncation`` applies to them)."""
        return self.noise(n, self.config.latent_dim, seed, distribution=self.config.latent_distribution)

    def train_step(self, batch, step):
        cfg = self.config
        factor = self.lr_factor(step)
        set_lr(self.opt_d, cfg.lr_discriminator, factor)
        set_lr(self.opt_g, cfg.lr_generator, factor)

        # The discriminator: K-way cross-entropy on labelled data, real/fake on unlabelled and generated data.
        x_lab, y_lab = self.labelled_batch()
        x_unl = batch["x"]
        with torch.no_grad():
            fake = self.generator(self.latents(len(x_unl)))
        # Three passes, not one concatenated: minibatch discrimination must compare each sample with its own batch.
        x_lab, x_unl, fake = self.augmented(x_lab), self.augmented(x_unl), self.augmented(fake)
        logits_lab, logits_unl, logits_fake = self.discriminator(x_lab), self.discriminator(x_unl), self.discriminator(fake)
        loss_lab = losses.supervised_loss(logits_lab, y_lab)
        loss_unl = losses.unsupervised_loss(logits_unl, logits_fake)
        loss_d = loss_lab + cfg.unlabeled_weight * loss_unl
        self.ctx.update(self.opt_d, loss_d)

        loss_g = self.generator_step(len(x_unl))
        return {
            "loss_d": loss_d.detach(),
            "loss_lab": loss_lab.detach(),
            "loss_unl": loss_unl.detach(),
            "loss_g": loss_g.detach(),
            "train_accuracy": self.accuracy(logits_lab, y_lab),
            # D(x) = Z / (Z + 1): the discriminator's probability that a sample is real
            "d_real": torch.sigmoid(losses.real_log_odds(logits_unl.detach())).mean(),
            "d_fake": torch.sigmoid(losses.real_log_odds(logits_fake.detach())).mean(),
        }

    def generator_step(self, n: int) -> torch.Tensor:
        fake = self.augmented(self.generator(self.latents(n)))  # the gradient reaches G through the augmentation
        with self.ctx.frozen(self.discriminator) as discriminator:
            loss = losses.generator_loss(discriminator(fake))
        self.ctx.update(self.opt_g, loss)
        return loss

    @torch.no_grad()
    def sample(self, n, *, seed=None):
        with self.ctx.evaluating(self.generator) as generator:
            return generator(self.latents(n, seed)).float()


class FeatureMatchingGAN(SemiSupervisedGAN):
    """Improved-GAN (Salimans et al. 2016): the generator matches the mean of the discriminator's last
    hidden layer on real data; the discriminator is the same K-class classifier as in SGAN."""

    name = "fm-gan"
    config: FMGANConfig

    def check_discriminator(self, discriminator: nn.Module) -> None:
        if not (callable(getattr(discriminator, "features", None)) and callable(getattr(discriminator, "head", None))):
            raise UserError(
                f"fm-gan matches the features of an intermediate discriminator layer, so the discriminator must be split "
                f"into features(x) and head(h); '{type(discriminator).__name__}' is not. Use improved-gan-discriminator, "
                "mlp-discriminator or dcgan-discriminator"
            )

    def generator_step(self, n: int) -> torch.Tensor:
        real = self.augmented(self.ctx.next_batch()["x"])  # a second unlabelled batch, as the reference's second shuffle
        fake = self.augmented(self.generator(self.latents(n)))  # as D sees them; the gradient reaches G through it
        with self.ctx.frozen(self.discriminator) as discriminator:
            with torch.no_grad():
                real_features = discriminator.features(real)
            loss = losses.feature_matching_loss(discriminator.features(fake), real_features)
        self.ctx.update(self.opt_g, loss)
        return loss


class SupervisedOnly(ClassifierBase):
    """The baseline: the same classifier, labelled batches, optimizer and schedule; no unlabelled data, no generator."""

    name = "supervised-only"

    def __init__(self, config: ClassifierConfig, ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        classifier = self.build_classifier()
        self.discriminator, self.opt_d = ctx.prepare(classifier, self.adam(classifier, config.lr_discriminator))
        self.register_classifier_state()

    def train_step(self, batch, step):
        set_lr(self.opt_d, self.config.lr_discriminator, self.lr_factor(step))
        x_lab, y_lab = self.labelled_batch()  # the trainer's unlabelled batch is drawn but never looked at
        logits = self.discriminator(self.augmented(x_lab))
        loss = losses.supervised_loss(logits, y_lab)
        self.ctx.update(self.opt_d, loss)
        return {"loss_d": loss.detach(), "train_accuracy": self.accuracy(logits, y_lab)}

    def sample(self, n, *, seed=None):
        raise UserError(
            "supervised-only trains a classifier and has no generator, so it has nothing to sample; "
            "score it with the classifier-accuracy metric (gan eval RUN --metric '{name: classifier-accuracy, test_data: ...}')"
        )

    @torch.no_grad()
    def preview(self, n, seed):
        """The sample grid of a classifier: the labelled samples it learns from, one row per class (data read through
        a DataLoader keep them beside ``ctx.data``, which then holds a sample of the training images: one row of those)."""
        if "x_labeled" not in self.ctx.data.tensors:  # read through a DataLoader: the labelled stream is beside ctx.data
            return [self.ctx.data.tensors["x"][:n]]
        x, y = self.ctx.data.tensors["x_labeled"], self.ctx.data.tensors["y_labeled"]
        per_row = max(1, n // self.num_classes)
        return [x[y == c][:per_row] for c in range(self.num_classes) if (y == c).any()]
