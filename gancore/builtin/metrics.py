"""Builtin plugin ``metrics``: sample-quality metrics, and ``gan train-features``.

Metrics that compare distributions in a feature space (fid, kid, inception-score,
precision-recall) take ``features: inception | lenet-mnist | lenet-digits | pixels``
(see ``gancore.metrics.features``). Every metric gives the same value on one
process or many.
"""

from gancore import LazyCommand, hookimpl
from gancore.registry import FeatureNetwork, Metric


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
                    "sliced Wasserstein distance x1e3 on Laplacian-pyramid 7x7 patches (Karras et al. 2018)"))
    register(Metric("ms-ssim", ms_ssim.MSSSIM, ms_ssim.MSSSIMConfig,
                    "mean MS-SSIM of pairs of generated images (diversity), with the real-data value"))
    register(Metric("classifier-accuracy", classification.ClassifierAccuracy, classification.ClassifierAccuracyConfig,
                    "accuracy % of algorithm.classify(x) on a labelled test split"))
    register(Metric("linear-probe", classification.LinearProbe, classification.LinearProbeConfig,
                    "accuracy % of logistic regression on algorithm.encode(x) features, fixed train/test splits"))
    register(Metric("conditional-accuracy", conditional.ConditionalAccuracy, conditional.ConditionalAccuracyConfig,
                    "% of samples generated for each class that a domain classifier (lenet-mnist) labels with that class"))


@hookimpl
def gan_register_features(register):
    from gancore.metrics import features

    register(FeatureNetwork("pixels", features.pixels, description="the samples themselves, flattened (points, or images without a network)"))
    register(FeatureNetwork("lenet-mnist", features.lenet_mnist, description="a LeNet trained on mnist5k (ships with gancore): 128 features, 10 digit logits"))
    register(FeatureNetwork("lenet-digits", features.lenet_digits, description="a LeNet trained on scikit-learn's 8x8 digits (ships with gancore)"))
    register(FeatureNetwork("inception", features.inception, description="the FID Inception-v3 of pytorch-fid (needs its weights file; never downloaded by a run)"))


@hookimpl
def gan_register_commands(cli):
    cli.add_command(LazyCommand("train-features", "gancore.metrics.train_features:add_command",
                                "Train the LeNet feature network of FID/KID/IS/precision-recall for digits (features: lenet-*)."))
