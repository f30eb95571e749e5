"""gan-cyclegan: unpaired image-to-image translation (CycleGAN, Zhu et al. 2017) for gancore.

Two generators, G: A -> B and F: B -> A, and two PatchGAN discriminators learn
to carry images between two domains from unpaired examples, held together by
the cycle losses |F(G(a)) - a| and |G(F(b)) - b|. The defaults are the authors'
own code's (junyanz/pytorch-CycleGAN-and-pix2pix): a ResNet generator with 9
blocks, 70x70 PatchGANs, least-squares loss, λ = 10, identity 0.5·λ, pools of
50 past fakes, Adam 2e-4 constant for half the run and then decaying to 0.

Quickstart::

    pip install gan-cyclegan
    gan run --plugin cyclegan                                        # grey <-> coloured 8x8 digits at 16 px, small networks
    gan run plugins/gan-cyclegan/examples/cyclegan-mnist-colored.yaml --output runs/mnist-colored
    gan cyclegan translate runs/mnist-colored --direction a2b my_digits/ translated/   # writes translated/index.html
    gan eval runs/mnist-colored --metric '{name: translation-accuracy, classifier_a: lenet-mnist, classifier_b: lenet-mnist-strokes}'

Every step logs ``loss_g`` (the generators' loss) and each of its terms,
``adversarial_a2b``, ``adversarial_b2a``, ``cycle_a``, ``cycle_b``, ``identity_a``,
``identity_b``; ``loss_d`` (the discriminators' summed loss) with ``loss_d_a`` and
``loss_d_b``; and ``lr``. Sample grids show real A, G(A), F(G(A)), real B,
F(B), G(F(B)) in rows.
"""

__version__ = "0.1.0"
