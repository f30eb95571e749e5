"""Each mutation is the registry's loss of that name, and a child is its parent after exactly one
Adam step on that loss: the same weights and optimizer state as a plain PyTorch step."""

from __future__ import annotations

import copy

import pytest
import torch

from gancore import LossRef, losses
from gancore.plugins import get_host


def _train(run, steps):
    for step in range(1, steps + 1):
        run.algorithm.train_step(run.next_batch(), step)


def _registry():
    return get_host().registry


def test_each_mutation_generator_loss_equals_the_builtin_loss(make_run, tiny_ring):
    algorithm = make_run(tiny_ring).algorithm
    builtin = {"minimax": losses.Minimax, "non-saturating": losses.NonSaturating, "least-squares": losses.LeastSquares}
    logits = torch.linspace(-6, 6, 49).view(-1, 1)
    assert algorithm.mutation_names == ["non-saturating", "minimax", "least-squares"]
    for name, mutation in zip(algorithm.mutation_names, algorithm.mutations):
        assert type(mutation) is builtin[name]
        assert torch.equal(mutation.generator_loss(logits), _registry().build(LossRef(name=name)).generator_loss(logits))
    p = torch.sigmoid(logits)
    by_name = dict(zip(algorithm.mutation_names, algorithm.mutations))
    # The paper's mutations: minimax ½E[log(1 − D)], heuristic −½E[log D], least-squares E[(D − 1)²], here on logits and without the ½.
    assert by_name["minimax"].generator_loss(logits).item() == pytest.approx(torch.log1p(-p).mean().item(), rel=1e-5)
    assert by_name["non-saturating"].generator_loss(logits).item() == pytest.approx(-torch.log(p).mean().item(), rel=1e-5)
    assert by_name["least-squares"].generator_loss(logits).item() == pytest.approx(0.5 * ((logits - 1) ** 2).mean().item(), rel=1e-6)


@pytest.mark.parametrize("mutation", [0, 1, 2], ids=["non-saturating", "minimax", "least-squares"])
def test_a_child_is_its_parent_after_one_adam_step_on_the_mutation_loss(make_run, tiny_ring, mutation):
    run = make_run(tiny_ring)
    algorithm = run.algorithm
    _train(run, 2)  # the parent now has an Adam state of its own
    parent = copy.deepcopy(algorithm.parents[0])

    # The same step in plain PyTorch, on a copy of the plain generator (allowed in a test, not in the plugin).
    replica = copy.deepcopy(algorithm.ctx.unwrap(algorithm.generator))
    replica.load_state_dict(parent["generator"])
    optimizer = torch.optim.Adam(replica.parameters(), lr=algorithm.config.lr_generator, betas=algorithm.config.betas)
    optimizer.load_state_dict(copy.deepcopy(parent["optimizer"]))
    z = torch.randn(32, algorithm.config.latent_dim, device=algorithm.ctx.device)
    loss = _registry().build(LossRef(name=algorithm.mutation_names[mutation]))
    with algorithm.ctx.frozen(algorithm.discriminator) as discriminator:
        expected_loss = loss.generator_loss(discriminator(replica(z)))
    optimizer.zero_grad()
    expected_loss.backward()
    optimizer.step()

    child = algorithm.make_child(0, mutation, z)
    assert child.loss.item() == expected_loss.item()
    for key, value in replica.state_dict().items():
        assert torch.equal(child.generator[key], value), key
    assert not torch.equal(child.generator["net.0.weight"], parent["generator"]["net.0.weight"]), "the step moved the weights"
    expected_state = optimizer.state_dict()["state"]
    for index, state in child.optimizer["state"].items():
        for key, value in state.items():
            assert torch.equal(value, expected_state[index][key]), (index, key)


def test_every_child_starts_from_its_parent_untouched(make_run, tiny_ring):
    # The optimizer updates its state in place: without copies on restore, the second child would start
    # from the first child's Adam state, and the parent's snapshot would change under it.
    run = make_run(tiny_ring)
    algorithm = run.algorithm
    _train(run, 2)
    parent = copy.deepcopy(algorithm.parents[0])
    z = torch.randn(32, algorithm.config.latent_dim, device=algorithm.ctx.device)
    first = algorithm.make_child(0, 2, z)
    algorithm.make_child(0, 0, z)
    again = algorithm.make_child(0, 2, z)
    assert all(torch.equal(first.generator[k], again.generator[k]) for k in first.generator)
    assert all(torch.equal(parent["generator"][k], algorithm.parents[0]["generator"][k]) for k in parent["generator"])
    for index, state in parent["optimizer"]["state"].items():
        assert all(torch.equal(v, algorithm.parents[0]["optimizer"]["state"][index][k]) for k, v in state.items())
