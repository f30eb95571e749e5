"""Selection keeps the fittest children exactly (weights and Adam state), agrees across processes through
the averaged fitness, counts the wins per mutation, and the run's EMA follows the selected child."""

from __future__ import annotations

import pytest
import torch

from gan_evolutionary.algorithm import select


def _record_children(algorithm) -> list:
    made = []
    original = algorithm.make_child

    def recording(*args, **kwargs):
        made.append(original(*args, **kwargs))
        return made[-1]

    algorithm.make_child = recording
    return made


def _equal_states(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _equal_optimizer(a: dict, b: dict) -> bool:
    return a["param_groups"] == b["param_groups"] and all(_equal_states(a["state"][i], b["state"][i]) for i in a["state"])


def test_select_takes_the_highest_fitness_ties_to_the_earlier_child_nan_last():
    assert select(torch.tensor([0.1, 0.7, 0.3]), 1) == [1]
    assert select(torch.tensor([0.5, 0.9, 0.9, float("nan")]), 2) == [1, 2]
    assert select(torch.tensor([float("nan"), -1.0]), 1) == [1]
    assert select(torch.tensor([2.0, 1.0, 3.0, 0.0]), 3) == [2, 0, 1]


@pytest.mark.parametrize("parents", [1, 2])
def test_the_parents_after_selection_are_the_fittest_children_exactly(make_run, tiny_ring, parents):
    run = make_run(tiny_ring, (f"algorithm.parents={parents}",))
    algorithm = run.algorithm
    for step in range(1, 4):
        made = _record_children(algorithm)
        logs = algorithm.train_step(run.next_batch(), step)
        assert len(made) == parents * 3
        fitness = torch.tensor([logs[f"fitness_{algorithm.child_label(c)}"].item() for c in made])
        ranked = sorted(range(len(made)), key=lambda i: -fitness[i].item())[:parents]
        assert [algorithm.child_label(made[i]) for i in ranked] == [algorithm.child_label(made[i]) for i in select(fitness, parents)]
        for parent, i in zip(algorithm.parents, ranked):
            assert _equal_states(parent["generator"], made[i].generator)
            assert _equal_optimizer(parent["optimizer"], made[i].optimizer)
        # The live generator and its optimizer hold the best child: sampling and the EMA use it.
        best = made[ranked[0]]
        assert _equal_states(algorithm.ctx.unwrap(algorithm.generator).state_dict(), best.generator)
        assert _equal_optimizer(algorithm.opt_g.state_dict(), best.optimizer)
        assert logs["loss_g"] == best.loss
        winners = [made[i].mutation for i in ranked]
        for m, name in enumerate(algorithm.mutation_names):
            assert logs[f"won_{name}"] == pytest.approx(winners.count(m) / parents)
    assert sum(algorithm.mutation_wins) == 3 * parents
    assert algorithm.wins() == dict(zip(algorithm.mutation_names, algorithm.mutation_wins))


def test_all_processes_select_by_the_fitness_averaged_over_processes(make_run, tiny_ring, monkeypatch):
    run = make_run(tiny_ring)
    algorithm = run.algorithm
    made = _record_children(algorithm)
    local = []
    score = algorithm.score
    algorithm.score = lambda children: local.append(score(children)) or local[-1]
    calls = []

    def reduce(tensor, reduction="sum"):
        # Stands in for the other process: the mean over both ranks reverses this rank's order.
        calls.append((tuple(tensor.shape), reduction))
        averaged = tensor.clone()
        averaged[2] = -tensor[2]
        return averaged

    monkeypatch.setattr(algorithm.ctx.accelerator, "reduce", reduce)
    algorithm.train_step(run.next_batch(), 1)
    assert calls == [((3, 3), "mean")], "F_q, F_d and F of the 3 children, averaged in one call"
    quality, diversity = local[0]
    own = quality + algorithm.config.gamma * diversity
    assert own.argmax() != own.argmin()
    chosen = made[int(own.argmin())]  # the best by the averaged fitness, the worst by this rank's own
    assert _equal_states(algorithm.ctx.unwrap(algorithm.generator).state_dict(), chosen.generator)


def test_the_ema_follows_the_selected_child(make_run, tiny_ring):
    run = make_run(tiny_ring, ("train.ema_decay=0.5",))
    algorithm = run.algorithm
    made = _record_children(algorithm)
    shadow = {k: v.clone() for k, v in run.ema.shadow["generator"].items()}
    algorithm.train_step(run.next_batch(), 1)
    run.ema.update(1)
    live = algorithm.ctx.unwrap(algorithm.generator).state_dict()
    assert any(_equal_states(live, child.generator) for child in made)
    decay = min(0.5, 2 / 11)  # gancore's EMA warm-up at its first update
    for key, value in run.ema.shadow["generator"].items():
        assert torch.allclose(value, shadow[key] + (1 - decay) * (live[key] - shadow[key]), atol=1e-6), key



class _Stop(Exception):
    pass


def test_every_discriminator_step_sees_samples_of_every_parent(make_run, tiny_ring):
    run = make_run(tiny_ring, ("algorithm.parents=2", "algorithm.d_steps=2"))
    algorithm = run.algorithm
    # Two parents that are easy to tell apart: every sample of parent 0 is (-50, -50), of parent 1 (50, 50).
    last = max(int(k.split(".")[1]) for k in algorithm.parents[0]["generator"])  # the output layer
    for parent, value in zip(algorithm.parents, (-50.0, 50.0)):
        parent["generator"][f"net.{last}.weight"].zero_()
        parent["generator"][f"net.{last}.bias"].fill_(value)
    seen = []
    plain = algorithm.ctx.unwrap(algorithm.discriminator)
    handle = plain.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach().clone()))

    def stop(*args, **kwargs):  # the discriminator steps are done: no children needed
        raise _Stop

    algorithm.make_child = stop
    with pytest.raises(_Stop):
        algorithm.train_step(run.next_batch(), 1)
    handle.remove()
    fakes = seen[1::2]  # each discriminator step scores the real batch, then the fake one
    assert len(fakes) == 2 and all(f.abs().eq(50).all() for f in fakes)
    signs = [torch.sign(f[:, 0]) for f in fakes]
    assert all((s < 0).any() and (s > 0).any() for s in signs), "both parents in every step"
    assert int(sum((s > 0).sum() for s in signs)) == 32, "an equal share of each parent over the steps"
