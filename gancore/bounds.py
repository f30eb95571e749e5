"""Bounded option types for config models: the ranges that torch, numpy and Python check again.

An option that torch or numpy would refuse with a ``ValueError`` in the middle of a run (``train.seed: -1``,
``algorithm.betas: [2, 3]``) is refused by the config model instead, so that the error is the usual
"invalid configuration" message naming the option (exit status 2, no traceback)::

    from gancore.bounds import AdamBetas, Seed

    class MyConfig(StrictModel):
        betas: AdamBetas = Field((0.5, 0.999), description="Adam betas")
        seed: Seed = Field(0, description="seed of ...")

Learning rates, epsilons and weight decays are ordinary ``Field(gt=0)``/``Field(ge=0)`` options; see
``tests/test_faults_bounds.py``, which checks every registered entry's options by their names.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

#: seeds are ``0 <= seed < SEED_LIMIT``. numpy's legacy seeding (``np.random.seed``, which Accelerate's
#: ``set_seed`` calls with ``train.seed`` plus the process index, and scikit-learn's ``random_state``) takes
#: ``0 .. 2**32 - 1``; torch's generators take ``-2**63 .. 2**64 - 1``. 2**31 leaves room below numpy's limit
#: for the process index, and below torch's for the offsets and products gancore seeds its generators with
#: (``seed + 1``, ``seed + start`` of a sample chunk, ``seed + 1000 * side`` in SWD, ``seed * 1_000_003 + index``).
SEED_LIMIT = 2**31

#: a seed given in a config (``train.seed``, a dataset's ``data_seed``, a metric's ``seed``...)
Seed = Annotated[int, Field(ge=0, lt=SEED_LIMIT)]

#: one of Adam's (AdamW's) betas: torch refuses anything outside ``[0, 1)``
Beta = Annotated[float, Field(ge=0.0, lt=1.0)]

#: Adam's ``(beta1, beta2)``
AdamBetas = tuple[Beta, Beta]

#: a count or a width that must be at least 1 (an element of a list of layer widths)
PositiveInt = Annotated[int, Field(ge=1)]

#: a weight of a loss term: at least 0
Weight = Annotated[float, Field(ge=0.0)]
