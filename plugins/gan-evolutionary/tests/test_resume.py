"""A run stopped half way and resumed ends bit for bit as one done in one go: the live networks, the
parents (weights and Adam states), the wins per mutation, the EMA, data positions and RNG."""

from __future__ import annotations

import pytest

from gancore.testing import check_resume, checkpoint_tensors


@pytest.mark.parametrize(
    "base,sets",
    [
        ("ring", []),
        ("ring", ["algorithm.parents=2", "algorithm.scoring=vmap"]),
        ("digits", []),
    ],
    ids=["ring-one-parent", "ring-two-parents-vmap", "digits-batch-norm"],
)
def test_resumed_run_equals_an_uninterrupted_one(gan, write_config, tiny_ring, tiny_digits, tmp_path, base, sets):
    cfg = tiny_ring if base == "ring" else tiny_digits
    cfg["train"]["ema_decay"] = 0.9
    stop_at = cfg["train"]["checkpoint_every"]
    check_resume(gan, write_config(cfg), tmp_path, stop_at=stop_at, sets=sets)
    _, _, state = checkpoint_tensors(tmp_path / "full")
    algorithm = dict(dict(state["__dict__"])["algorithm"]["__dict__"])
    assert set(algorithm) == {"parents", "mutation_wins", "generator", "opt_g", "discriminator", "opt_d"}, "exactly the declared state"
    assert len(algorithm["parents"]) == (2 if "algorithm.parents=2" in sets else 1)
