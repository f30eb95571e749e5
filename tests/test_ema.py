"""The EMA of a spectrally normalised network: the swapped-in average must be scaled by its own largest
singular value, not by one read from averaged power-iteration vectors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gancore import ema as ema_module
from gancore.ema import EMA

FORMS = {
    "parametrization": (nn.utils.parametrizations.spectral_norm, lambda net: net.parametrizations.weight.original),
    "hook": (nn.utils.spectral_norm, lambda net: net.weight_orig),
}


# Layers, their input, and how torch's spectral norm views their weight as a matrix (ConvTranspose: dim 1).
LAYERS = {
    "linear": (lambda: nn.Linear(6, 5), (1, 6), lambda w: w),
    "conv": (lambda: nn.Conv2d(3, 4, 3), (1, 3, 5, 5), lambda w: w.flatten(1)),
    "conv-transpose": (lambda: nn.ConvTranspose2d(3, 4, 3), (1, 3, 5, 5), lambda w: w.transpose(0, 1).flatten(1)),
}


def averaged_net(form: str, layer: str = "linear") -> tuple[nn.Module, EMA]:
    """A spectrally normalised layer whose EMA averages its initial weight and two unrelated ones (and their u, v)."""
    wrap, original = FORMS[form]
    make, shape, _ = LAYERS[layer]
    torch.manual_seed(0)
    net = wrap(make())
    ema = EMA({"g": net}, decay=0.5)  # the warm-up makes the first two updates 0.18 and 0.25
    for step, scale in enumerate((1.0, -3.0), start=1):
        with torch.no_grad():
            weight = original(net)
            weight.copy_(torch.randn(weight.shape) * scale)
        net.train()
        for _ in range(50):  # the live u, v converge to the live weight's singular vectors
            net(torch.zeros(shape))
        ema.update(step)
    return net, ema


def largest_singular_value(net: nn.Module, layer: str = "linear") -> float:
    _, shape, as_matrix = LAYERS[layer]
    net.eval()
    net(torch.zeros(shape))  # the hook form sets net.weight in its forward pre-hook
    return torch.linalg.matrix_norm(as_matrix(net.weight.detach()), 2).item()


@pytest.mark.parametrize("layer", sorted(LAYERS))
@pytest.mark.parametrize("form", sorted(FORMS))
def test_swapped_average_has_unit_spectral_norm(form, layer):
    net, ema = averaged_net(form, layer)
    with ema.swapped():
        assert largest_singular_value(net, layer) == pytest.approx(1.0, abs=1e-3)


def test_spectral_norm_after_another_parametrization_and_on_a_vector():
    """Spectral norm sees what the parametrizations before it return; on a 1-D tensor torch keeps no u, v."""

    class Shear(nn.Module):  # changes the singular vectors, not only the scale
        def forward(self, w):
            return w + torch.triu(w, diagonal=1)

    torch.manual_seed(0)
    net = nn.Linear(6, 5)
    nn.utils.parametrize.register_parametrization(net, "weight", Shear())
    nn.utils.parametrizations.spectral_norm(net)
    nn.utils.parametrizations.spectral_norm(net, name="bias")
    ema = EMA({"g": net}, decay=0.5)
    for step, scale in enumerate((1.0, -3.0), start=1):
        with torch.no_grad():
            net.parametrizations.weight.original.copy_(torch.randn(5, 6) * scale)
        net.train()
        for _ in range(50):
            net(torch.zeros(1, 6))
        ema.update(step)
    with ema.swapped():
        net.eval()
        assert torch.linalg.matrix_norm(net.weight, 2).item() == pytest.approx(1.0, abs=1e-3)
        assert net.bias.norm().item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_without_the_refresh_the_average_is_mis_scaled(form, monkeypatch):  # the fixture makes the bug show
    """What the refresh is for: with the averaged u, v as they are, sigma is read wrongly."""
    monkeypatch.setattr(ema_module, "refresh_spectral_norms", lambda module: None)
    net, ema = averaged_net(form)
    with ema.swapped():
        assert abs(largest_singular_value(net) - 1.0) > 0.05


@pytest.mark.parametrize("form", sorted(FORMS))
def test_swapping_leaves_shadow_and_live_state_as_they_were(form):
    net, ema = averaged_net(form)
    shadow = {k: v.clone() for k, v in ema.shadow["g"].items()}
    live = {k: v.clone() for k, v in net.state_dict().items()}
    with ema.swapped():
        net(torch.zeros(1, 6))
    assert all(torch.equal(shadow[k], ema.shadow["g"][k]) for k in shadow)
    assert all(torch.equal(live[k], net.state_dict()[k]) for k in live)
