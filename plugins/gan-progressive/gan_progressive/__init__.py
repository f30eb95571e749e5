"""gan-progressive: Progressive Growing of GANs (Karras et al. 2018) for gancore.

The networks start at 4x4 and double their resolution stage by stage until
they reach the data's; each new block fades in (α from 0 to 1 over
``fade_in_images`` real images), then trains at α = 1 for ``stabilize_images``.
Equalized learning rate, pixel norm, minibatch stddev, WGAN-GP with a drift
term, Adam (0, 0.99) at 1e-3, a batch size per resolution.

Quickstart::

    pip install gan-progressive
    gan run --plugin progressive                               # the 8x8 digits, 4x4 -> 8x8, about 4 CPU minutes
    gan run plugins/gan-progressive/examples/progressive-mnist5k.yaml --output runs/pg-mnist
    gan progressive schedule plugins/gan-progressive/examples/progressive-mnist5k.yaml   # which step is which stage
    gan eval runs/pg-mnist --metric stage-swd                  # SWD per level at the current stage

Every step logs ``stage``, ``alpha``, ``resolution`` and ``kimg`` (thousands
of real images shown), with ``wasserstein``, ``grad_norm``, ``penalty`` and
``drift`` for WGAN-GP.
"""

__version__ = "0.1.0"
