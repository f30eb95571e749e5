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


def averaged_net(form: str) -> tuple[nn.Module, EMA]:
    """A spectrally normalised linear layer whose EMA averages two unrelated weights (and their u, v)."""
    wrap, original = FORMS[form]
    torch.manual_seed(0)
    net = wrap(nn.Linear(6, 5))
    ema = EMA({"g": net}, decay=0.5)
    for step, scale in enumerate((1.0, -3.0), start=1):
        with torch.no_grad():
            original(net).copy_(torch.randn(5, 6) * scale)
        net.train()
        for _ in range(50):  # the live u, v converge to the live weight's singular vectors
            net(torch.zeros(1, 6))
        ema.update(step)
    return net, ema


def largest_singular_value(net: nn.Module) -> float:
    net.eval()
    net(torch.zeros(1, 6))  # the hook form sets net.weight in its forward pre-hook
    return torch.linalg.matrix_norm(net.weight.detach(), 2).item()


@pytest.mark.parametrize("form", sorted(FORMS))
def test_swapped_average_has_unit_spectral_norm(form):
    net, ema = averaged_net(form)
    with ema.swapped():
        assert largest_singular_value(net) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("form", sorted(FORMS))
def test_without_the_refresh_the_average_is_mis_scaled(form, monkeypatch):
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
