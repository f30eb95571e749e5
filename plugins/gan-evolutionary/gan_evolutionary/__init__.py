"""gan-evolutionary: Evolutionary GAN (E-GAN, Wang et al. 2018) for gancore.

One discriminator and a population of generators. Every iteration the
discriminator takes ``d_steps`` updates; then each of the μ parents makes one
child per mutation (one generator update under that loss: by default
non-saturating, minimax and least-squares, looked up by name in the loss
registry), every child is scored by F = F_q + γ·F_d (quality: mean σ(D(G(z)));
diversity: −log ‖∇_θD L_D‖), and the best μ children become the parents.
Defaults follow the authors' PyTorch code (μ = 1, γ = 0.05, d_steps = 3,
Adam 2e-4 (0.5, 0.999), batch 32, 256 samples per child for the fitness).

Quickstart::

    pip install gan-evolutionary
    gan run --plugin evolutionary                                        # DCGAN networks on the 8x8 digits
    gan run plugins/gan-evolutionary/examples/egan-ring.yaml --output runs/egan-ring
    gan egan plot runs/egan-ring                                         # share of wins per mutation

Every step logs ``won_<mutation>`` (1 when that mutation made the survivor; the
trainer's average over ``log_every`` steps is its share of wins) and each
child's ``fq_<mutation>``, ``fd_<mutation>`` and ``fitness_<mutation>``. When the
run ends, ``RUN/mutations.png`` plots the share of wins per mutation over time.
"""

__version__ = "0.1.0"
