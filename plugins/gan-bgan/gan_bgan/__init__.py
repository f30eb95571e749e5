"""gan-bgan: Boundary-Seeking GANs (Hjelm et al. 2017) for gancore.

Two algorithms, chosen by name in the run file:

* ``bgan``: discrete images. The generator outputs logits for every pixel, a
  Bernoulli for binary images or a softmax over the K colours of a palette.
  For every z it draws ``n_mc_samples`` (m, default 20) samples, scores all of
  them in one batched discriminator pass, and weights them by
  w̃ = softmax over the m samples of D's logits (no gradient through w̃).
  The generator minimises −Σ w̃ · log g(x | z); by default log g is the *mean*
  over pixels (``log_prob_reduction: mean``), so the loss scale does not
  depend on the resolution; ``sum`` gives the paper's exact log-likelihood.
  The discriminator uses sigmoid cross-entropy.
* ``bgan-continuous``: real-valued data; the generator minimises
  ½·(log D − log(1 − D))².

Data: any image dataset with the plugin's ``binarize`` transform
(``transforms: [{name: binarize, threshold: 0.5}]``, or ``threshold: stochastic``)
or its ``quantize`` transform (``transforms: [{name: quantize, num_colors: 16}]``,
a k-means palette), or a folder of palette PNGs written by ``gan bgan quantize``
and read with the plugin's ``palette-folder`` dataset.

Quickstart::

    pip install gan-bgan
    gan run --plugin bgan                                             # binarized 8x8 digits, a few minutes on a CPU
    gan run --plugin bgan plugins/gan-bgan/examples/bgan-binary-mnist5k.yaml
    gan run --plugin bgan plugins/gan-bgan/examples/bgan-quantized-lfw.yaml
    gan bgan quantize --num-colors 16 --size 64 SRC DST               # palette PNGs, then:
    gan run --plugin bgan --set data.name=palette-folder --set data.root=DST

Every step logs ``loss_d``, ``loss_g``, ``d_real``/``d_fake`` (mean D output)
and, for ``bgan``, ``ess``: the effective sample size 1/Σw̃² of the importance
weights, out of m.
"""

__version__ = "0.1.0"
