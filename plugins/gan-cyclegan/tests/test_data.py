"""The half dataset: two domains made from one dataset share no image, and keep its class balance."""

from __future__ import annotations

import pytest
import torch

from gan_cyclegan.data import half_indices
from gancore import DatasetRef, plugins


def _build(**options):
    return plugins.get_host().registry.build(DatasetRef(name="half", **options), "data")


def test_the_two_halves_are_disjoint_and_make_the_whole():
    first = _build(half="first", of={"name": "digits"}).tensors
    second = _build(half="second", of={"name": "digits"}).tensors
    assert len(first["x"]) + len(second["x"]) == 1797
    distances = torch.cdist(first["x"].flatten(1), second["x"].flatten(1))
    duplicates_within = torch.cdist(first["x"].flatten(1), first["x"].flatten(1)).fill_diagonal_(1).eq(0).any(dim=1).sum()
    # No image of one half is an image of the other (beyond digits the source itself holds twice).
    assert int(distances.eq(0).any(dim=1).sum()) <= int(duplicates_within)
    for c in range(10):
        assert abs(int((first["y"] == c).sum()) - int((second["y"] == c).sum())) <= 1


def test_a_coloured_copy_takes_the_same_half():
    grey = _build(half="second", of={"name": "digits"}).tensors
    coloured = _build(half="second", of={"name": "digits", "transforms": [{"name": "colorize", "mode": "random"}]}).tensors
    assert coloured["x"].shape[1] == 3 and torch.equal(coloured["y"], grey["y"])
    # colorize paints w*fg + (1-w)*bg: the per-image stroke intensity w is grey's, up to the affine colour map.
    w = (grey["x"][:, 0] + 1) / 2
    rgb = (coloured["x"] + 1) / 2
    for i in range(5):
        design = torch.stack([w[i].flatten(), torch.ones(64)], 1).double()
        target = rgb[i].flatten(1).T.double()
        solution = torch.linalg.lstsq(design, target).solution
        assert (design @ solution - target).abs().max() < 1e-5


def test_indices_depend_only_on_labels_and_seed():
    labels = torch.tensor([0, 1] * 10)
    first, second = half_indices(20, labels, "first", 3), half_indices(20, labels, "second", 3)
    assert torch.equal(torch.cat([first, second]).sort().values, torch.arange(20))
    assert int((labels[first] == 0).sum()) == 5
    assert not torch.equal(first, half_indices(20, labels, "first", 4))
    assert len(half_indices(7, None, "first", 0)) == 3


def test_unpaired_domains_from_halves_are_read_in_independent_orders(make_run, tiny_digits):
    run = make_run(tiny_digits)
    a = run.batches.orders["a"].take(0, 200)
    b = run.batches.orders["b"].take(0, 200)
    assert not torch.equal(a, b)


def test_half_builds_its_dataset_with_the_path_of_its_option(gan, write_config, tiny_digits, tmp_path):
    tiny_digits["data"]["b"]["of"]["transforms"] = [{"name": "colorize", "mode": "sometimes"}]
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r")
    assert out.exit_code == 2 and "data.b.of.transforms.0.mode" in out.output and "Traceback" not in out.output


def test_half_of_a_dataset_with_two_streams_is_refused():
    from gancore import UserError

    with pytest.raises(UserError, match="several streams"):
        _build(half="first", of={"name": "unpaired", "a": {"name": "digits"}, "b": {"name": "digits"}})
