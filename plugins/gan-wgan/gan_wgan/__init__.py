"""gan-wgan: Wasserstein GANs for gancore.

Two algorithms, chosen by name in the run file:

* ``wgan`` (Arjovsky et al. 2017): a critic with no sigmoid, its weights
  clipped to [-c, c] after every critic step, RMSProp, ``n_critic`` critic
  steps per generator step (optionally the reference schedule: 100 critic
  steps for the first 25 generator steps and on every 500th).
* ``wgan-gp`` (Gulrajani et al. 2017): a gradient penalty
  λ·(‖∇D(x̂)‖₂ − 1)² on random interpolates instead of clipping (gancore's
  ``GradientPenalty``), Adam.

Quickstart::

    pip install gan-wgan
    gan run --plugin wgan                                   # WGAN (clipping) on the 8x8 digits
    gan run --plugin wgan --set "algorithm={name: wgan-gp}"  # WGAN-GP on the same data
    gan run plugins/gan-wgan/examples/wgan-gp-grid.yaml     # WGAN-GP on the 25-Gaussian grid

Every step logs ``wasserstein`` (mean critic score on real data minus on
generated data), ``grad_norm`` (mean ‖∇D(x̂)‖₂ on interpolates) and
``penalty`` (mean (‖∇D(x̂)‖₂ − 1)², before the weight λ), with ``loss_d``
(the critic's loss) and ``loss_g`` (the generator's); the optimizers are
``opt_d`` (critic) and ``opt_g`` (generator).
"""

__version__ = "0.1.0"
