"""What gancore asks of Accelerate beyond its public API (``gancore/accelerate_adapter.py``), pinned: these
tests fail when an Accelerate release behaves otherwise, so an upgrade that breaks the adapter is seen at once."""

from __future__ import annotations

import torch
from accelerate import Accelerator

from gancore import accelerate_adapter
from gancore.config import TrainConfig
from gancore.train_context import TrainContext


def _prepared(accelerator):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    return accelerator.prepare(net, torch.optim.Adam(net.parameters(), lr=0.1))


def test_accelerate_keeps_prepared_objects_in_the_private_lists_that_release_edits():
    accelerator = Accelerator(cpu=True)
    (old, old_opt), (new, new_opt) = _prepared(accelerator), _prepared(accelerator)
    for attribute, first, second in (("_models", old, new), ("_optimizers", old_opt, new_opt)):
        kept = getattr(accelerator, attribute)
        assert isinstance(kept, list) and any(o is first for o in kept) and any(o is second for o in kept), attribute
    accelerate_adapter.release(accelerator, (old, old_opt))
    assert not any(o is old for o in accelerator._models) and any(o is new for o in accelerator._models)
    assert not any(o is old_opt for o in accelerator._optimizers) and any(o is new_opt for o in accelerator._optimizers)


def test_update_without_accelerates_wrapper_matches_it_bit_for_bit():
    """ctx.update steps the torch optimizer itself when Accelerate's wrapper adds nothing: same weights."""
    accelerator = Accelerator(cpu=True)
    (fast, fast_opt), (slow, slow_opt) = _prepared(accelerator), _prepared(accelerator)
    ctx = TrainContext(accelerator, None, None, None, TrainConfig())
    assert accelerate_adapter.bare_optimizer(accelerator, fast_opt) is fast_opt.optimizer
    assert accelerate_adapter.bare_optimizer(accelerator, fast_opt.optimizer) is None  # a plain optimizer goes Accelerate's way
    x = torch.randn(16, 4)
    before = fast[0].weight.detach().clone()
    for _ in range(3):
        ctx.update(fast_opt, fast(x).square().mean())
        slow_opt.zero_grad(set_to_none=True)
        accelerator.backward(slow(x).square().mean())
        slow_opt.step()
    for a, b in zip(fast.parameters(), slow.parameters()):
        assert torch.equal(a, b)
    assert not torch.equal(fast[0].weight, before)  # it trained


def test_the_wrapper_is_skipped_only_when_it_adds_nothing():
    accelerator = Accelerator(cpu=True)
    _, opt = _prepared(accelerator)
    accelerator.gradient_accumulation_steps = 2  # accumulation: Accelerate's backward divides the loss
    assert accelerate_adapter.bare_optimizer(accelerator, opt) is None
