"""BigBiGAN: the three score terms, the direction each loss moves its networks, encode and the grid, resume."""

from __future__ import annotations

import copy

import pytest
import torch

from gan_semisup.bigbigan import SCORES, discriminator_terms, encoder_generator_terms
from gancore.testing import check_resume

from .conftest import QUIET

TINY_BIGBIGAN = {
    "plugin": "semisup",
    "algorithm": {
        "name": "bigbigan",
        "latent_dim": 4,
        "generator": {"name": "biggan-generator", "channels": 2, "attention_resolution": None},
        "encoder": {"name": "bigbigan-encoder", "channels": 2, "hidden_dim": 8},
        "discriminator": {"name": "bigbigan-discriminator", "channels": 2, "hidden_dim": 8, "layers": 1},
    },
    "data": {"name": "digits"},
    "train": {"steps": 8, "batch_size": 16, "checkpoint_every": 4, **QUIET},
}


@pytest.fixture
def tiny_bigbigan() -> dict:
    return copy.deepcopy(TINY_BIGBIGAN)


def test_the_hinge_terms_push_encoder_pair_scores_up_and_generator_pair_scores_down():
    encoder_scores = torch.zeros(4, 3, requires_grad=True)
    generator_scores = torch.zeros(4, 3, requires_grad=True)
    d = discriminator_terms(encoder_scores, generator_scores)
    assert d.shape == (3,) and torch.equal(d, torch.full((3,), 2.0))
    d.sum().backward()
    assert (encoder_scores.grad < 0).all() and (generator_scores.grad > 0).all()  # D: raise s on encoder pairs, lower on generator pairs
    # Beyond the margin, a pair costs D nothing.
    assert torch.equal(discriminator_terms(torch.full((2, 3), 1.5), torch.full((2, 3), -1.5)), torch.zeros(3))
    encoder_scores.grad = generator_scores.grad = None
    encoder_generator_terms(encoder_scores, generator_scores).sum().backward()
    assert (encoder_scores.grad > 0).all() and (generator_scores.grad < 0).all()  # E and G: the opposite, without a hinge


@pytest.mark.parametrize("term", range(3), ids=SCORES)
def test_each_term_moves_its_networks_in_the_right_direction(term, make_run, tiny_bigbigan):
    torch.manual_seed(0)
    alg = make_run(tiny_bigbigan).algorithm
    d, e, g = (alg.ctx.unwrap(m) for m in (alg.discriminator, alg.encoder, alg.generator))
    device = alg.ctx.device  # the networks' and the data's
    x, z = alg.ctx.data.tensors["x"][:32], torch.randn(32, 4, device=device)
    one_hot = torch.zeros(3, device=device)
    one_hot[term] = 1.0
    optimizer_d = torch.optim.SGD(d.parameters(), lr=0.05)
    optimizer_eg = torch.optim.SGD([*e.parameters(), *g.parameters()], lr=0.05)

    def gap() -> float:
        """Encoder pairs' mean score less generator pairs', for this term (eval mode: no batch-norm updates)."""
        e.eval(), g.eval()
        with torch.no_grad():
            value = (d(x, e(x))[:, term].mean() - d(g(z), z)[:, term].mean()).item()
        e.train(), g.train()
        return value

    before = gap()
    optimizer_d.zero_grad()
    (one_hot * discriminator_terms(d(x, e(x).detach()), d(g(z).detach(), z))).sum().backward()
    optimizer_d.step()
    after_d = gap()
    assert after_d > before, f"D's {SCORES[term]} term did not separate the pairs ({before:.4f} -> {after_d:.4f})"
    optimizer_eg.zero_grad()
    (one_hot * encoder_generator_terms(d(x, e(x)), d(g(z), z))).sum().backward()
    optimizer_eg.step()
    after_eg = gap()
    assert after_eg < after_d, f"E and G's {SCORES[term]} term did not bring the pairs together ({after_d:.4f} -> {after_eg:.4f})"


def test_bigbigan_trains_encodes_shows_reconstructions_and_resumes(gan, write_config, make_run, tiny_bigbigan, tmp_path):
    alg = make_run(tiny_bigbigan).algorithm
    x = alg.ctx.data.tensors["x"][:6]
    assert alg.encode(x).shape == (6, 4)
    logs = alg.train_step({"x": alg.ctx.data.tensors["x"][:16]}, 1)
    assert {"loss_d", "loss_g", "d_s_x", "d_s_z", "d_s_xz"} <= set(logs) and all(torch.isfinite(v) for v in logs.values())
    assert torch.allclose(logs["loss_d"], logs["d_s_x"] + logs["d_s_z"] + logs["d_s_xz"]), "loss_d: the weighted sum of the terms (weights 1)"
    assert alg.state_names == ("generator", "encoder", "discriminator", "opt_d", "opt_g")
    rows = alg.preview(16, seed=3)
    assert torch.allclose(rows[1], alg.reconstruct(rows[0])), "each real row is followed by its reconstructions G(E(x))"
    # Bit for bit on the CPU (gancore.testing.check_resume's promise): GPU convolutions need not be deterministic.
    check_resume(gan, write_config(tiny_bigbigan), tmp_path, stop_at=4, sets=["train.cpu=true"])
