"""KID's subsets must differ from one another, or kid_std says nothing.

torchmetrics draws every subset without replacement from all the features; a subset as large as the
set is the set in another order, so every subset gives the same MMD. ``gan eval RUN --metric kid -n 1000``
with the default subsets of 1,000 printed ``kid_std 1.9e-13``.
"""

from __future__ import annotations

import json

import pytest
import torch

from gancore.metrics import inception
from gancore.metrics.fid_kid import kernel_distance, kid_subset_size

from .conftest import TINY_DIGITS


def test_the_subset_size_is_at_most_half_of_the_smaller_set():
    assert kid_subset_size(1000, 1000, 1000) == 500
    assert kid_subset_size(1000, 1797, 1000) == 500
    assert kid_subset_size(1000, 5000, 4000) == 1000, "enough samples: the configured size is kept"
    assert kid_subset_size(100, 1000, 1000) == 100
    assert kid_subset_size(1000, 5, 7) == 2, "an MMD needs two samples"


def test_kid_std_over_subsets_of_1000_samples_is_the_spread_of_the_estimate():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(1000, 16, generator=g), torch.randn(1000, 16, generator=g) + 0.3
    mean, std = kernel_distance(real, fake, subsets=100, subset_size=1000, seed=0)
    # The spread of the same estimate over fresh, independent draws of 500 samples per side.
    fresh = torch.stack([
        torch.tensor(kernel_distance(torch.randn(500, 16, generator=g), torch.randn(500, 16, generator=g) + 0.3, 1, 500, 0)[0])
        for _ in range(30)
    ])  # fmt: skip
    assert mean > 0 and std > 1e-3 * mean, (mean, std)
    # Subsets of 500 from 1,000 overlap, so they vary less than independent draws, but not by orders of magnitude.
    assert fresh.std() / 10 < std < fresh.std() * 2, (std, fresh.std())


def test_gan_eval_kid_with_n_1000_gives_a_real_std(gan, write_config, tmp_path, monkeypatch):
    monkeypatch.delenv("GANCORE_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(inception, "DEFAULT_DIR", tmp_path / "no-inception")  # lenet-digits, whatever this machine caches
    config = {**TINY_DIGITS, "train": {**TINY_DIGITS["train"], "steps": 3, "sample_every": 0, "checkpoint_every": 0}}
    run_dir = tmp_path / "run"
    assert gan("run", write_config(config), "--output", run_dir).exit_code == 0
    result = gan("eval", run_dir, "--metric", "kid", "-n", 1000, "--json")
    assert result.exit_code == 0, result.output
    values = json.loads(result.output)["metrics"]
    assert values["kid/kid_std"] > 1e-3 * abs(values["kid/kid"]), values


@pytest.mark.parametrize("n", [2000, 4000])
def test_enough_samples_keep_the_configured_subsets(n):
    """With at least twice subset_size samples nothing changes: the same value as torchmetrics' own KID."""
    from torchmetrics.image.kid import KernelInceptionDistance

    from gancore.metrics.fid_kid import Precomputed, _seeded

    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(n, 8, generator=g), torch.randn(n, 8, generator=g) + 0.2
    direct = KernelInceptionDistance(feature=Precomputed(8), subsets=10, subset_size=1000, sync_on_compute=False)
    direct.update(real.double(), real=True)
    direct.update(fake.double(), real=False)
    with _seeded(3):
        expected = tuple(float(v) for v in direct.compute())
    assert kernel_distance(real, fake, subsets=10, subset_size=1000, seed=3) == pytest.approx(expected, rel=1e-12)
