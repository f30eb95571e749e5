"""The plugin contract: every hook a gancore plugin can implement.

A plugin is a module (usually ``<package>.plugin``) with functions decorated by
``gancore.hookimpl`` whose names match the specs below. It is found through the
``gancore`` entry-point group::

    [project.entry-points.gancore]
    myfamily = "gan_myfamily.plugin"

An implementation may take fewer arguments than its spec, so a spec can gain
arguments later without breaking plugins. Registry hooks get a ``register``
callback and return nothing. The plugin module says which version of this
contract it was written for with ``gancore_api = N`` (``gancore.PLUGIN_API``).

The guide that walks through writing each part of a plugin, with code that is
tested, is ``docs/writing-plugins.md``; ``gan new-plugin NAME`` writes a
working plugin distribution to start from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:
    import click

    from .registry import Algorithm, Dataset, FeatureNetwork, Loss, Metric, Model, Transform
    from .run import Run

hookspec = pluggy.HookspecMarker("gancore")


# --------------------------------------------------------------------------
# Registry hooks: called once, when the registry is first needed.
# --------------------------------------------------------------------------


@hookspec
def gan_register_algorithms(register: Callable[[Algorithm], None]) -> None:
    """Register training procedures (GAN families).

    :param register: call it with one ``gancore.Algorithm`` per family.
    :return: nothing.

    The factory is a ``gancore.GANAlgorithm`` subclass (the contract is
    ``gancore.algorithm``'s docstring). ``defaults`` are run-config values used
    when the user gives no file (every family needs a default dataset);
    ``provides`` names what the algorithm gives the losses in its config
    (``real_logits``, ``regularizer``; see ``gancore.losses``).

    Example::

        @hookimpl
        def gan_register_algorithms(register):
            register(Algorithm("my-gan", factory=MyGAN, config=MyGANConfig,
                               description="what makes my family different, in one line"))
    """


@hookspec
def gan_register_models(register: Callable[[Model], None]) -> None:
    """Register network builders.

    :param register: call it with one ``gancore.Model`` per network.
    :return: nothing.

    The factory is called as ``factory(config, **kwargs)`` where the algorithm
    passes shapes, e.g. ``data_shape=(1, 28, 28), latent_dim=64``.
    ``ctx.build_generator`` passes ``data_shape``, ``latent_dim`` and ``is_image``;
    ``ctx.build_discriminator`` passes ``data_shape`` and ``out_features=1``. Take
    ``**_`` too, so that a shape added later does not break the builder.

    Example::

        @hookimpl
        def gan_register_models(register):
            register(Model("resnet-critic", factory=build_critic, config=ResNetConfig))
    """


@hookspec
def gan_register_losses(register: Callable[[Loss], None]) -> None:
    """Register adversarial objectives and regularizers.

    :param register: call it with one ``gancore.Loss`` per objective or regularizer.
    :return: nothing.

    A loss factory is called as ``factory(config)`` and returns an object with
    ``discriminator_loss(real_logits, fake_logits)``, ``generator_loss(fake_logits,
    real_logits=None)`` and, optionally, ``regularizer(discriminator, real, fake)``
    (a tensor added to the discriminator's loss, or None). Subclass
    ``gancore.losses.AdversarialLoss`` for the defaults. A loss that needs more
    than the fake logits says so in ``requires`` (a class attribute, or
    ``Loss(..., requires=...)``): ``"real_logits"`` (its generator loss needs the
    real logits) or ``"regularizer"`` (its regularizer must be called). An
    algorithm says what it gives with ``Algorithm(..., provides=...)``; a run
    that pairs a loss with an algorithm that does not provide what it requires
    is refused when the config is resolved. The full contract is the
    docstring of ``gancore.losses``.

    Example::

        class Paired(AdversarialLoss):  # relativistic pairing (RpGAN)
            requires = frozenset({"real_logits"})

            def discriminator_loss(self, real, fake):
                return F.softplus(fake - real).mean()

            def generator_loss(self, fake, real=None):
                return F.softplus(real - fake).mean()

        @hookimpl
        def gan_register_losses(register):
            register(Loss("paired-relativistic", factory=Paired))
    """


@hookspec
def gan_register_datasets(register: Callable[[Dataset], None]) -> None:
    """Register data sources.

    :param register: call it with one ``gancore.Dataset`` per source.
    :return: nothing.

    The factory is called as ``factory(config, ctx)``, ``ctx`` a
    ``gancore.BuildContext`` (``ctx.build(ref, option)`` builds a dataset or a
    transform that the options name), and returns a ``gancore.data.TensorData``
    (tensors in memory: ``"x"`` the samples, ``"y"`` labels if any, and
    ``streams``, groups of tensors each read in its own order, the first being
    the one the trainer's batches come from) or a ``gancore.data.LoaderData`` (a
    map-style dataset read through a DataLoader, with small ``extra`` streams in
    memory). Algorithms draw other streams with ``ctx.next_batch(size, stream)``;
    the builtin ``unpaired`` dataset gives ``"a"`` and ``"b"``. An image dataset
    takes ``ImageOptions`` (``gancore.data.transforms``) to get ``image_size``,
    ``pad``, ``channels`` and the registered ``transforms``.

    Example::

        @hookimpl
        def gan_register_datasets(register):
            register(Dataset("spiral", factory=make_spiral, config=SpiralConfig))
    """


@hookspec
def gan_register_metrics(register: Callable[[Metric], None]) -> None:
    """Register evaluation metrics.

    :param register: call it with one ``gancore.Metric`` per metric.
    :return: nothing.

    The factory is called as ``factory(config, ctx)``, ``ctx`` a
    ``gancore.BuildContext`` (``ctx.build(ref, option)`` for reference datasets,
    ``ctx.features(name)`` for a feature network); the result is called with a
    ``gancore.metrics.EvalContext`` and returns ``{name: float}``, logged as
    ``<label or metric name>/<name>``. A metric that needs more than samples calls
    the algorithm's optional methods (``classify``, ``encode``, ``translate``),
    checking them with ``gancore.algorithm.has_capability`` first.

    Example::

        @hookimpl
        def gan_register_metrics(register):
            register(Metric("mean-distance", factory=MeanDistance, config=MeanDistanceConfig))
    """


@hookspec
def gan_register_features(register: Callable[[FeatureNetwork], None]) -> None:
    """Register feature networks for the metrics that compare samples in a feature space.

    :param register: call it with one ``gancore.FeatureNetwork`` per network.
    :return: nothing.

    A metric option ``features: NAME`` (FID, KID, inception score,
    precision/recall, and any plugin metric that asks ``ctx.features(NAME)``)
    names one. The factory is called as ``factory(options)`` with the metric's
    ``gancore.metrics.features.ExtractorOptions`` and returns an object with
    ``name``, ``num_features``, ``features(x) -> (B, F)`` and ``logits(x) -> (B, K)``
    for samples ``x`` in data space. It is built once per process.

    Example::

        @hookimpl
        def gan_register_features(register):
            register(FeatureNetwork("my-lenet", factory=lambda options: MyLeNet(), description="..."))
    """


@hookspec
def gan_register_transforms(register: Callable[[Transform], None]) -> None:
    """Register transforms of image data, which an image dataset applies when it is built.

    :param register: call it with one ``gancore.Transform`` per transform.
    :return: nothing.

    A dataset option ``transforms: [{name: NAME, ...}]`` lists them, applied in
    order after the dataset's ``channels``, ``image_size`` and ``pad``. The
    factory is called as ``factory(config)`` and returns a
    ``gancore.data.transforms.ImageTransform``: ``__call__(items, generator)``
    on a batch of items (``x`` images in [-1, 1], ``y`` labels when there are
    any), and, when needed, ``fit`` (learn from the first images, e.g. a
    palette), ``info`` (facts for ``data.info``) and ``finish`` (a step on the
    whole dataset, e.g. a second stream).

    Example::

        @hookimpl
        def gan_register_transforms(register):
            register(Transform("invert", factory=lambda config: Invert(), description="black on white"))
    """


@hookspec
def gan_register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``gan`` command line.

    :param cli: the root click group; add commands or groups to it.
    :return: nothing.

    Example::

        @hookimpl
        def gan_register_commands(cli):
            @cli.group()
            def mygan():
                "My family's tools."

            @mygan.command()
            def prepare(): ...
    """


# --------------------------------------------------------------------------
# Lifecycle hooks: called by ``gancore.trainer.fit``, on every process, for every
# run of every family (check ``run.config.plugin`` to follow one family only).
# --------------------------------------------------------------------------


@hookspec
def gan_train_start(run: Run) -> None:
    """Called once, after the algorithm is built (and restored on resume), before the first step.

    :param run: the ``gancore.Run`` being trained; ``run.step``, ``run.config``,
        ``run.algorithm``, ``run.accelerator`` and ``run.run_dir`` are available.
    :return: nothing.

    Example::

        @hookimpl
        def gan_train_start(run):
            print("starting at step", run.step)
    """


@hookspec
def gan_train_step_end(run: Run, step: int, logs: dict[str, Any]) -> None:
    """Called after every training step.

    :param run: the running ``gancore.Run``. Set ``run.should_stop = True`` to end the
        run cleanly (a checkpoint is written) after this step.
    :param step: the number of steps completed.
    :param logs: what the algorithm's ``train_step`` returned (tensors or floats). Every
        family with one discriminator logs its loss as ``loss_d`` and its generator's as
        ``loss_g`` (see ``gancore.algorithm``). Reading a tensor's value (``float(...)``)
        waits for the device: do it every few steps, not at every one.
    :return: nothing.

    Example::

        @hookimpl
        def gan_train_step_end(run, step, logs):
            # Early stopping, for any family: the discriminator has won, nothing more to learn.
            if step >= 1000 and step % 100 == 0 and float(logs["loss_d"]) < 1e-4:
                run.should_stop = True
    """


@hookspec
def gan_eval_end(run: Run, step: int, metrics: dict[str, float]) -> None:
    """Called after the configured metrics are computed.

    :param run: the running ``gancore.Run``.
    :param step: the number of steps completed.
    :param metrics: metric values, keyed ``<metric>/<value>``.
    :return: nothing.

    Example::

        @hookimpl
        def gan_eval_end(run, step, metrics):
            wandb.log(metrics, step=step)
    """


@hookspec
def gan_train_end(run: Run, step: int, status: str) -> None:
    """Called once when training stops, after the last checkpoint is written.

    :param run: the ``gancore.Run`` that was trained.
    :param step: the number of steps completed.
    :param status: ``"completed"``, ``"interrupted"`` (signal or ``should_stop``) or ``"failed"``.
    :return: nothing.

    Example::

        @hookimpl
        def gan_train_end(run, step, status):
            notify(f"run {run.run_dir} {status} at step {step}")
    """
