"""Options of ``cyclegan``. The defaults are the reference's (junyanz/pytorch-CycleGAN-and-pix2pix,
``--model cycle_gan``), with its epochs expressed in steps."""

from __future__ import annotations

from pydantic import Field, model_validator

from gancore import LossRef, ModelRef, StrictModel
from gancore.bounds import AdamBetas


class CycleGANConfig(StrictModel):
    generator: ModelRef = Field(
        default_factory=lambda: ModelRef(name="cyclegan-resnet-generator"),
        description="both generators, G: A->B and F: B->A: cyclegan-resnet-generator (reference resnet_9blocks) or cyclegan-unet-generator",
    )
    discriminator: ModelRef = Field(
        default_factory=lambda: ModelRef(name="patchgan-discriminator"),
        description="both discriminators, D_A (judges domain A) and D_B (domain B): patchgan-discriminator (reference: 70x70 patches)",
    )
    loss: LossRef = Field(
        default_factory=lambda: LossRef(name="least-squares"),
        description="adversarial objective from the registry: least-squares (reference lsgan) or non-saturating (reference vanilla)",
    )
    adversarial_weight: float | None = Field(
        None, ge=0,
        description="weight of each generator's adversarial term; null: the reference's balance against the cycle term, "
        "2 for least-squares (the registry's is ½(D-1)², the reference's (D-1)²) and 1 for any other loss",
    )
    cycle_weight_a: float = Field(10.0, ge=0, description="λ_A: weight of the L1 cycle loss |F(G(a)) - a| (reference lambda_A 10)")
    cycle_weight_b: float = Field(
        10.0, ge=0,
        description="λ_B: weight of the L1 cycle loss |G(F(b)) - b| (reference lambda_B 10); lower it when B holds what A cannot "
        "(colours of coloured digits), which F(b) would otherwise have to hide for G to restore",
    )
    identity_weight: float = Field(
        0.5, ge=0,
        description="identity losses λ_B·identity_weight·|G(b) - b| and λ_A·identity_weight·|F(a) - a|, as the reference pairs them "
        "(lambda_identity 0.5); 0 switches them off. Needs both domains to have the same number of channels",
    )
    identity_weight_a: float | None = Field(
        None, ge=0,
        description="identity_weight for F's term λ_A·identity_weight_a·|F(a) - a| alone; null: identity_weight. "
        "Raise it to make F keep what it is given when lowering λ_B has left F free to redraw the digit",
    )
    identity_weight_b: float | None = Field(
        None, ge=0,
        description="identity_weight for G's term λ_B·identity_weight_b·|G(b) - b| alone; null: identity_weight",
    )
    pool_size: int = Field(50, ge=0, description="past fakes each discriminator also trains on (reference 50, swapped with probability ½); 0: only the newest")
    lr: float = Field(2e-4, gt=0, description="Adam learning rate of all four networks")
    betas: AdamBetas = Field((0.5, 0.999), description="Adam betas")
    lr_constant_steps: int | None = Field(
        None, ge=0,
        description="steps at the full learning rate before it decays linearly to 0 at train.steps; "
        "null: half of train.steps, as the reference's 100 + 100 epochs",
    )
    load_size: int | None = Field(None, ge=4, description="resize training images to this side before cropping (reference 286 for 256 crops); null: as loaded")
    crop_size: int | None = Field(None, ge=4, description="random square crops of this side for training (reference 256); null: no crop")
    flip: bool = Field(True, description="flip training images left-right with probability ½ (reference: on unless --no_flip); off for digits")

    @model_validator(mode="after")
    def _crop_fits(self):
        if self.crop_size and self.load_size and self.crop_size > self.load_size:
            raise ValueError(f"crop_size {self.crop_size} is larger than load_size {self.load_size}")
        return self

    def identity_weights(self) -> tuple[float, float]:
        """The weights of |F(a) − a| and |G(b) − b| in the generators' loss: λ_A·identity_weight_a, λ_B·identity_weight_b."""
        weight_a = self.identity_weight if self.identity_weight_a is None else self.identity_weight_a
        weight_b = self.identity_weight if self.identity_weight_b is None else self.identity_weight_b
        return self.cycle_weight_a * weight_a, self.cycle_weight_b * weight_b

    def generator_adversarial_weight(self) -> float:
        if self.adversarial_weight is not None:
            return self.adversarial_weight
        return 2.0 if self.loss.name == "least-squares" else 1.0


# Run-config defaults for `gan run --plugin cyclegan` with no file: grey <-> coloured 8x8 digits
# upscaled to 16 px, from disjoint halves, with small networks.
CYCLEGAN_DEFAULTS = {
    "algorithm": {
        "generator": {"name": "cyclegan-resnet-generator", "channels": 16, "residual_blocks": 2},
        "discriminator": {"name": "patchgan-discriminator", "channels": 16, "layers": 2},
        "flip": False,
    },
    "data": {
        "name": "unpaired",
        "a": {"name": "half", "half": "first", "of": {"name": "digits", "image_size": 16, "channels": 3}},
        "b": {"name": "half", "half": "second", "of": {"name": "digits", "image_size": 16, "transforms": [{"name": "colorize", "mode": "random"}]}},
    },
    "train": {"steps": 2000, "batch_size": 8, "sample_every": 500, "checkpoint_every": 500},
}
