"""gan-semisup: semi-supervised GANs and BiGAN for gancore.

Four algorithms, chosen by name in the run file:

* ``fm-gan`` (Salimans et al. 2016, "Improved Techniques for Training GANs"):
  the discriminator is a K-class classifier whose
  "fake" class is implicit (its logit fixed at 0); the generator is trained by
  feature matching on the discriminator's last hidden layer. The networks are
  the paper's MNIST model: Gaussian noise and weight normalisation in the
  discriminator, minibatch discrimination as an option.
* ``sgan`` (Odena 2016): the same K+1-class discriminator, and a generator
  trained with the non-saturating loss −log D(G(z)).
* ``supervised-only``: the baseline, the same classifier trained on the
  labelled samples alone.
* ``bigan`` (Donahue et al. 2016): a generator, an encoder, and a discriminator
  on (x, z) pairs; ``encode`` feeds the ``linear-probe`` metric, and the sample
  grid shows x beside G(E(x)).

The data: any labelled image dataset with the plugin's ``labeled-subset`` transform,
``data: {name: digits, transforms: [{name: labeled-subset, per_class: 10}]}``, gives an
unlabelled stream (the images, no labels) and a ``labeled`` stream of ``per_class``
samples of each class.

Quickstart::

    pip install gan-semisup
    gan run plugins/gan-semisup/examples/fm-gan-digits.yaml       # fm-gan on the 8x8 digits, 10 labels per class
    gan run --plugin semisup                                    # bigan on the 8x8 digits (gancore's default: first by name)
    gan run plugins/gan-semisup/examples/fm-gan-mnist5k-100.yaml  # 100 labelled MNIST digits, scored on the test split
    gan run plugins/gan-semisup/examples/bigan-mnist5k.yaml       # BiGAN, scored by a linear probe

Every algorithm logs ``loss_d`` (what the discriminator's optimizer minimised;
the classifier's loss for ``supervised-only``) and the GANs ``loss_g`` (what the
generator's, or for BiGAN the generator and encoder's, minimised). The classifiers
add ``train_accuracy`` (on the labelled batch); the semi-supervised GANs the two
parts of ``loss_d``, ``loss_lab`` (labelled cross-entropy) and ``loss_unl``
(real/fake), and ``d_real`` and ``d_fake`` (D(x) = Z/(Z+1) on unlabelled and on
generated data).
"""

__version__ = "0.1.0"
