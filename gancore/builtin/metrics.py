"""Builtin plugin ``metrics``: sample-quality metrics, and ``gan train-features``.

Metrics that compare distributions in a feature space (fid, kid, inception-score,
precision-recall) take ``features: inception | lenet-mnist | lenet-digits | pixels``
(see ``gancore.metrics.features``). Every metric gives the same value on one
process or many.
"""

from gancore import LazyCommand, hookimpl
from gancore.registry import Metric


@hookimpl
def gan_register_metrics(register):
    # Imported here, not at import: `gan --help` loads this module and needs no torch.
    from gancore.metrics import (
        classification,
        conditional,
        fid_kid,
        mode_coverage,
        ms_ssim,
        precision_recall,
        swd,
    )

    register(Metric("mode-coverage", mode_coverage.ModeCoverage, mode_coverage.ModeCoverageConfig,
                    "modes captured and % high-quality samples on ring/grid mixtures"))
    register(Metric("fid", fid_kid.FID, fid_kid.FIDConfig,
                    "Fréchet distance between real and generated features (Inception or LeNet)"))
    register(Metric("kid", fid_kid.KID, fid_kid.KIDConfig,
                    "kernel inception distance: unbiased polynomial MMD of features, mean and std over subsets"))
    register(Metric("inception-score", fid_kid.InceptionScoreMetric, fid_kid.InceptionScoreConfig,
                    "inception score from the feature network's class logits"))
    register(Metric("precision-recall", precision_recall.PrecisionRecall, precision_recall.PrecisionRecallConfig,
                    "k-NN precision and recall (Kynkäänniemi 2019), density and coverage (Naeem 2020)"))
    register(Metric("swd", swd.SWD, swd.SWDConfig,
                    "sliced Wasserstein distance x1e3 on Laplacian-pyramid 7x7 patches (Progressive GAN)"))
    register(Metric("ms-ssim", ms_ssim.MSSSIM, ms_ssim.MSSSIMConfig,
                    "mean MS-SSIM of pairs of generated images (diversity), with the real-data value"))
    register(Metric("classifier-accuracy", classification.ClassifierAccuracy, classification.ClassifierAccuracyConfig,
                    "accuracy % of algorithm.classify(x) on a labelled test split"))
    register(Metric("linear-probe", classification.LinearProbe, classification.LinearProbeConfig,
                    "accuracy % of logistic regression on algorithm.encode(x) features, fixed train/test splits"))
    register(Metric("conditional-accuracy", conditional.ConditionalAccuracy, conditional.ConditionalAccuracyConfig,
                    "% of samples generated for each class that a domain classifier (lenet-mnist) labels with that class"))


@hookimpl
def gan_register_commands(cli):
    cli.add_command(LazyCommand("train-features", "gancore.metrics.train_features:add_command",
                                "Train the LeNet feature network of FID/KID/IS/precision-recall for digits (features: lenet-*)."))
