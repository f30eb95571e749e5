"""Networks, builtin datasets and the mode-coverage metric."""

from __future__ import annotations

import pytest
import torch

from gancore.data import Batches, TensorData
from gancore.data.toy import GridConfig, RingConfig, grid, ring
from gancore.errors import UserError
from gancore.metrics.mode_coverage import mode_coverage
from gancore.nn import MinibatchStdDev
from gancore.nn.dcgan import DCGANDiscriminator, DCGANDiscriminatorConfig, DCGANGenerator, DCGANGeneratorConfig


@pytest.mark.parametrize("size", [8, 16, 28, 32, 64])
def test_dcgan_shapes(size):
    g = DCGANGenerator(DCGANGeneratorConfig(base_channels=8), (3, size, size), latent_dim=16)
    d = DCGANDiscriminator(DCGANDiscriminatorConfig(base_channels=8, minibatch_std=True), (3, size, size), out_features=11)
    x = g(torch.randn(4, 16))
    assert x.shape == (4, 3, size, size) and x.abs().max() <= 1
    assert d(x).shape == (4, 11)


def test_dcgan_rejects_unsupported_sizes_clearly():
    with pytest.raises(UserError, match="not 25; resize the data"):
        DCGANGenerator(DCGANGeneratorConfig(), (1, 25, 25), latent_dim=4)


def test_minibatch_stddev_adds_one_constant_feature():
    x = torch.randn(8, 5)
    out = MinibatchStdDev(group_size=4)(x)
    assert out.shape == (8, 6)
    assert torch.allclose(out[:, :5], x)
    assert MinibatchStdDev()(torch.ones(8, 5))[:, 5].abs().max() < 1e-3, "identical samples have ~0 spread"


def test_ring_and_grid_match_the_protocol():
    r = ring(RingConfig(num_samples=1000), None)
    assert r.info["modes"].shape == (8, 2) and torch.allclose(r.info["modes"].norm(dim=1), torch.full((8,), 2.0))
    g = grid(GridConfig(num_samples=1000), None)
    assert sorted(set(g.info["modes"][:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0] and g.info["std"] == 0.05


@pytest.mark.parametrize("make,config", [(ring, RingConfig), (grid, GridConfig)])
def test_mode_coverage_on_exact_samples(make, config):
    data = make(config(num_samples=2500, data_seed=3), None)
    result = mode_coverage(data.tensors["x"], data.info["modes"], data.info["std"])
    assert result["modes"] == result["num_modes"]
    assert 98.5 < result["high_quality"] <= 100.0  # 3 std in 2-D holds ~98.9% of a Gaussian


def test_mode_coverage_sees_collapse():
    modes = ring(RingConfig(num_samples=10), None).info["modes"]
    collapsed = modes[0] + 0.01 * torch.randn(2500, 2)
    result = mode_coverage(collapsed, modes, 0.02)
    assert result["modes"] == 1 and result["high_quality"] > 95


def test_digits_are_real_and_scaled():
    from gancore.data.images import DigitsConfig, digits

    data = digits(DigitsConfig(), None)
    assert data.tensors["x"].shape == (1797, 1, 8, 8) and data.tensors["y"].unique().numel() == 10
    assert data.tensors["x"].min() == -1 and data.tensors["x"].max() == 1
    assert digits(DigitsConfig(image_size=16), None).sample_shape == (1, 16, 16)
    assert len(digits(DigitsConfig(classes=[0, 1]), None)) < 400


def test_batches_cover_an_epoch_without_repeats_and_shard_across_processes():
    data = TensorData({"x": torch.arange(20).float().unsqueeze(1)}, "points")
    stream = Batches(data, 5, seed=0)
    epoch = torch.cat([next(stream)["x"] for _ in range(4)]).flatten()
    assert sorted(epoch.tolist()) == list(range(20))
    next_epoch = torch.cat([next(stream)["x"] for _ in range(4)]).flatten()
    assert sorted(next_epoch.tolist()) == list(range(20)) and not torch.equal(epoch, next_epoch), "reshuffled each epoch"
    rank0, rank1 = Batches(data, 5, 0, rank=0, world_size=2), Batches(data, 5, 0, rank=1, world_size=2)
    both = torch.cat([next(rank0)["x"], next(rank1)["x"], next(rank0)["x"], next(rank1)["x"]]).flatten()
    assert torch.equal(both, epoch), "two processes split each global batch of the single-process order"


def test_batches_resume_from_a_position_and_straddle_epochs():
    data = TensorData({"x": torch.arange(7).float().unsqueeze(1)}, "points")
    a = Batches(data, 3, seed=1)
    seen = [next(a)["x"].flatten().tolist() for _ in range(5)]
    b = Batches(data, 3, seed=1)
    for _ in range(2):
        next(b)
    b2 = Batches(data, 3, seed=1)
    b2.load_state_dict(b.state_dict())
    assert [next(b2)["x"].flatten().tolist() for _ in range(3)] == seen[2:]
    assert sorted(sum(seen, [])[:7]) == list(range(7)), "the first 7 samples are one full epoch"


def test_small_stream_beside_a_large_one():
    data = TensorData(
        {"x": torch.arange(100).float().unsqueeze(1), "x_labeled": torch.arange(4).float().unsqueeze(1), "y_labeled": torch.arange(4)},
        "points",
        streams={"x": ["x"], "labeled": ["x_labeled", "y_labeled"]},
    )
    batches = Batches(data, 10, seed=0)
    batch = next(batches)
    assert set(batch) == {"x"} and batch["x"].shape == (10, 1), "the run's batches come from the first stream only"
    labelled = batches.next(size=3, stream="labeled")
    assert set(labelled) == {"x_labeled", "y_labeled"} and labelled["x_labeled"].shape == (3, 1)
    assert torch.equal(labelled["x_labeled"].flatten().long(), labelled["y_labeled"]), "a stream's tensors stay aligned"
    assert batches.state_dict() == {"positions": {"x": 10, "labeled": 3}}, "each stream keeps its own position"
