"""Class-conditional generation in the core: the layers, the contract (sample(labels=...)),
truncation, the gan family's `conditional: true`, sample grids, `gan sample --class`, the
conditional-accuracy metric, and the errors a user can run into."""

from __future__ import annotations

import json

import numpy as np

import pytest
import torch
from PIL import Image
from torch import nn

from gancore.algorithm import draw_samples
from gancore.nn.conditional import ConditionalBatchNorm2d, ProjectionHead, orthogonal_penalty, resample_beyond
from gancore.testing import check_resume

from .conftest import TINY_DIGITS

# 8x8 digits, tiny BigGAN networks: one residual block each, attention at 8x8.
CONDITIONAL_DIGITS = {
    **TINY_DIGITS,
    "algorithm": {
        "name": "gan",
        "conditional": True,
        "latent_dim": 8,
        "loss": {"name": "hinge"},
        "generator": {"name": "biggan-generator", "channels": 2, "shared_dim": 4, "attention_resolution": 8},
        "discriminator": {"name": "biggan-discriminator", "channels": 2, "attention_resolution": 4},
    },
    "train": {**TINY_DIGITS["train"], "sample_count": 20},
}


def test_conditional_batch_norm_of_one_class_is_batch_norm_with_that_class_gain_and_bias():
    torch.manual_seed(0)
    embed = nn.Embedding(3, 5)
    ccbn = ConditionalBatchNorm2d(4, condition_dim=5)
    x = torch.randn(6, 4, 3, 3)
    labels = torch.full((6,), 2)
    gain, bias = ccbn.affine(embed(labels), 6)
    plain = nn.BatchNorm2d(4, eps=ccbn.norm.eps)
    with torch.no_grad():
        plain.weight.copy_(gain[0])
        plain.bias.copy_(bias[0])
    assert not torch.allclose(gain[0], torch.ones(4))  # the class changes the gain
    torch.testing.assert_close(ccbn(x, embed(labels)), plain(x))


def test_projection_output_is_the_unconditional_output_plus_the_class_embedding_inner_product():
    torch.manual_seed(0)
    head = ProjectionHead(6, 4, spectral_norm=True)
    features, labels = torch.randn(5, 6), torch.tensor([0, 3, 1, 1, 2])
    unconditional = head(features)
    expected = unconditional + (head.embed(labels) * features).sum(dim=1, keepdim=True)
    torch.testing.assert_close(head(features, labels), expected)
    assert not torch.allclose(head(features, labels), unconditional)


def test_truncation_redraws_every_value_beyond_the_threshold_and_only_those():
    z = torch.randn(2000, 16, generator=torch.Generator().manual_seed(0))
    rng = torch.Generator().manual_seed(1)
    truncated = resample_beyond(z, 0.5, lambda count: torch.randn(count, generator=rng))
    inside = z.abs() <= 0.5
    assert truncated.abs().max() <= 0.5
    assert torch.equal(truncated[inside], z[inside])
    assert (truncated[~inside] != z[~inside]).all()
    with pytest.raises(ValueError):
        resample_beyond(z, 0.0, lambda count: torch.randn(count))


def test_uniform_latents_are_truncated_by_drawing_uniform_values_again(make_run):
    algorithm = make_run(TINY_DIGITS).algorithm
    with algorithm.truncated(0.25):
        z = algorithm.noise(500, 8, seed=3, distribution="uniform")
        again = algorithm.noise(500, 8, seed=3, distribution="uniform")
    assert z.abs().max() <= 0.25 and torch.equal(z, again), "seeded: the same truncated latents every time"
    plain = algorithm.noise(500, 8, seed=3, distribution="uniform")
    assert plain.abs().max() > 0.9 and plain.min() >= -1 and plain.max() <= 1, "uniform on [-1, 1] outside the block"


def test_the_orthogonal_regulariser_is_zero_for_an_orthogonal_weight_and_positive_otherwise():
    layer = nn.Linear(8, 8, bias=False)
    nn.init.orthogonal_(layer.weight)
    with torch.no_grad():
        layer.weight.mul_(3.0)  # the off-diagonal form leaves each filter's norm free
    assert orthogonal_penalty(layer, 1e-4).item() == pytest.approx(0.0, abs=1e-9)
    conv = nn.utils.parametrizations.spectral_norm(nn.Conv2d(2, 4, 3))  # penalised through the raw weight
    assert orthogonal_penalty(conv, 1e-4).item() > 0


def test_noise_is_truncated_only_inside_the_block_and_seeded_draws_keep_their_values(make_run):
    algorithm = make_run(CONDITIONAL_DIGITS).algorithm
    plain = algorithm.noise(300, 8, seed=3)
    with algorithm.truncated(1.0):
        cut = algorithm.noise(300, 8, seed=3)
    assert cut.abs().max() <= 1.0 and plain.abs().max() > 1.0
    assert torch.equal(cut[plain.abs() <= 1.0], plain[plain.abs() <= 1.0])
    assert torch.equal(algorithm.noise(300, 8, seed=3), plain)  # no truncation once the block is left


def test_sample_with_labels_gives_the_requested_classes_in_order(make_run):
    run = make_run(CONDITIONAL_DIGITS)
    algorithm = run.algorithm
    assert algorithm.conditional_classes == 10
    labels = torch.tensor([3, 1, 4, 1, 5, 9])
    samples = algorithm.sample(6, seed=7, labels=labels)
    with run.algorithm.ctx.evaluating(algorithm.generator) as g:
        expected = g(algorithm.noise(6, 8, seed=7), labels)
    torch.testing.assert_close(samples, expected)
    # Changing the third class changes the third sample only (eval-mode batch norm: samples are independent).
    other = algorithm.sample(6, seed=7, labels=torch.tensor([3, 1, 7, 1, 5, 9]))
    changed = (other - samples).flatten(1).abs().amax(dim=1) > 0
    assert changed.tolist() == [False, False, True, False, False, False]
    assert algorithm.sample(5, seed=1).shape == (5, 1, 8, 8)  # random classes when none are given


def test_draw_samples_refuses_classes_for_an_unconditional_run_and_out_of_range_classes(make_run):
    unconditional = make_run(TINY_DIGITS).algorithm
    with pytest.raises(Exception, match="not class-conditional"):
        draw_samples(unconditional, 2, 0, labels=torch.tensor([1, 2]))
    conditional = make_run(CONDITIONAL_DIGITS).algorithm
    with pytest.raises(Exception, match="class 10 is out of range: this run has 10 classes, 0 to 9"):
        draw_samples(conditional, 2, 0, labels=torch.tensor([1, 10]))


def test_conditional_on_data_without_labels_is_a_clear_error(gan, write_config):
    folder = write_config({}).parent / "unlabelled"
    folder.mkdir()
    for i in range(4):  # an image folder without class sub-folders: images, no labels
        Image.fromarray(np.full((8, 8), 40 * i, dtype=np.uint8)).save(folder / f"{i}.png")
    cfg = {**CONDITIONAL_DIGITS, "data": {"name": "image-folder", "root": str(folder)}}
    out = gan("run", write_config(cfg))
    assert out.exit_code == 2
    assert "this dataset gives no labels to train on" in out.output and "algorithm.conditional: false" in out.output
    cfg = {**CONDITIONAL_DIGITS, "algorithm": {**CONDITIONAL_DIGITS["algorithm"], "generator": {"name": "dcgan-generator"}}}
    out = gan("run", write_config(cfg))
    assert out.exit_code == 2 and "'dcgan-generator' cannot be conditioned on a class" in out.output


@pytest.mark.parametrize("head", ["projection", "acgan"])
def test_a_conditional_run_resumes_bit_exactly_and_draws_one_row_per_class(head, gan, write_config, tmp_path):
    cfg = {**CONDITIONAL_DIGITS, "algorithm": {**CONDITIONAL_DIGITS["algorithm"], "class_head": head, "d_steps": 2, "orthogonal_reg": 1e-4},
           "train": {**CONDITIONAL_DIGITS["train"], "ema_decay": 0.9}}
    check_resume(gan, write_config(cfg), tmp_path, stop_at=6)
    logs = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    assert any("reg_orthogonal" in record for record in logs)
    # 20 samples for 10 classes: 10 rows of 2 tiles (8x8 digits are enlarged to 32 px, 1 px padding).
    grid = Image.open(tmp_path / "full" / "samples" / "step-000012.png")
    assert grid.size == (2 * 33 + 1, 10 * 33 + 1)


def test_gan_sample_class_classes_and_truncation_from_the_cli(gan, write_config, tmp_path):
    run = tmp_path / "run"
    assert gan("run", write_config({**CONDITIONAL_DIGITS, "train": {**CONDITIONAL_DIGITS["train"], "steps": 2}}), "-o", run).exit_code == 0
    out = gan("sample", run, "--class", 3, "-n", 5, "-o", tmp_path / "three.pt", "--truncation", 0.5)
    assert out.exit_code == 0, out.output
    assert torch.load(tmp_path / "three.pt").shape == (5, 1, 8, 8)
    out = gan("sample", run, "--classes", "0-2,7", "-n", 3, "-o", tmp_path / "rows.png")
    assert out.exit_code == 0 and "wrote 12 samples" in out.output
    assert Image.open(tmp_path / "rows.png").size == (3 * 33 + 1, 4 * 33 + 1)
    out = gan("sample", run, "--class", 10, "-o", tmp_path / "x.png")
    assert out.exit_code == 2 and "class 10 is out of range: this run has 10 classes, 0 to 9" in out.output
    out = gan("sample", run, "--classes", "two", "-o", tmp_path / "x.png")
    assert out.exit_code == 2 and "give class indices and ranges" in out.output


def test_gan_sample_class_on_an_unconditional_run_is_a_clear_error(gan, write_config, tmp_path):
    run = tmp_path / "run"
    assert gan("run", write_config({**TINY_DIGITS, "train": {**TINY_DIGITS["train"], "steps": 2}}), "-o", run).exit_code == 0
    out = gan("sample", run, "--class", 3, "-o", tmp_path / "x.png")
    assert out.exit_code == 2 and "is not class-conditional, so it cannot generate a chosen class" in out.output
    # Truncation works for any family that draws its latents with GANAlgorithm.noise.
    assert gan("sample", run, "-n", 4, "--truncation", 1.0, "-o", tmp_path / "t.pt").exit_code == 0


def test_conditional_accuracy_metric_and_eval_truncation(gan, write_config, tmp_path):
    run = tmp_path / "run"
    assert gan("run", write_config({**CONDITIONAL_DIGITS, "train": {**CONDITIONAL_DIGITS["train"], "steps": 2}}), "-o", run).exit_code == 0
    metric = "{name: conditional-accuracy, classifier: lenet-digits, num_per_class: 20, classes: [0, 5]}"
    out = gan("eval", run, "--metric", metric, "--json", "--truncation", 0.5)
    assert out.exit_code == 0, out.output
    values = json.loads(out.output)["metrics"]
    assert set(values) == {"conditional-accuracy/accuracy", "conditional-accuracy/class_0", "conditional-accuracy/class_5"}
    assert values["conditional-accuracy/accuracy"] == pytest.approx((values["conditional-accuracy/class_0"] + values["conditional-accuracy/class_5"]) / 2)
    assert all(0 <= v <= 100 for v in values.values())
    out = gan("eval", run, "--metric", "{name: conditional-accuracy, classifier: lenet-digits, classes: [12]}")
    assert out.exit_code == 2 and "out of range" in out.output


@pytest.mark.parametrize("class_head", ["projection", "acgan"])
def test_r1_in_a_conditional_run_penalises_the_logit_of_the_real_class(make_run, class_head):
    config = {**CONDITIONAL_DIGITS, "algorithm": {**CONDITIONAL_DIGITS["algorithm"], "class_head": class_head,
                                                  "regularizer": {"name": "r1", "gamma": 2.0}}}
    algorithm = make_run(config).algorithm
    torch.manual_seed(0)
    real, labels = torch.rand(6, 1, 8, 8) * 2 - 1, torch.tensor([0, 1, 2, 3, 4, 5])
    logs = {}
    penalty = algorithm.regularization(real, real, logs, labels)
    x = real.clone().requires_grad_(True)
    logit = algorithm.discriminator(x, labels)[:, :1]  # the real/fake logit, with the projection of class y
    (grad,) = torch.autograd.grad(logit.sum(), x)
    torch.testing.assert_close(penalty, grad.pow(2).flatten(1).sum(1).mean() * 2.0 / 2)
    assert "reg_r1" in logs
    other = algorithm.regularization(real, real, {}, (labels + 1) % 10)
    if class_head == "projection":
        assert not torch.allclose(penalty, other), "the class enters D's output, so the penalty"
