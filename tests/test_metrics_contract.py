"""Metrics a two-domain or multi-stage family can use: labels, translation, features: auto,
one labelled-subset choice, one batched apply; and the commands around them
(`gan eval`, `gan weights fetch`, `gan config --set`)."""

from __future__ import annotations

import json
import math
import urllib.error
from pathlib import Path

import pytest
import torch
import yaml

from gancore.algorithm import GANAlgorithm
from gancore.config import build_run_config
from gancore.data import TensorData
from gancore.data.images import DigitsConfig, MNIST5kConfig, digits, mnist5k
from gancore.data.transforms import per_class_subset
from gancore.errors import UserError
from gancore.metrics import EvalContext, build_metrics, evaluate, inception
from gancore.metrics.base import BATCH, apply_batched
from gancore.metrics.features import auto_extractor, extract, get_extractor
from gancore.plugins import get_host
from gancore.registry import DatasetRef, MetricRef

from .conftest import TINY_DIGITS
from .test_metrics import on_two_processes

SEED = 12345


@pytest.fixture
def no_inception(monkeypatch, tmp_path):
    """No Inception weights anywhere, whatever the machine has in its cache."""
    monkeypatch.delenv("GANCORE_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(inception, "DEFAULT_DIR", tmp_path / "cache")
    return tmp_path / "cache"


def build(name: str, **options):
    return get_host().registry.build(MetricRef(name=name, **options))


@pytest.fixture(scope="module")
def digit_images():
    return digits(DigitsConfig(), None).tensors["x"][:400]


def two_domains(images: torch.Tensor) -> TensorData:
    """Domain a: digits; domain b: the same digits inverted (as the unpaired dataset names them)."""
    info = {"num_classes": 10, "domain": "digits", "domain_b": {"num_classes": 10, "domain": "digits"}}
    return TensorData({"x": images, "x_b": -images}, "image", info, {"a": ["x"], "b": ["x_b"]})


class Inverter:
    """A perfect translator between the two domains above, and a generator of uniform noise."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []

    def translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        self.calls.append((len(x), direction))
        return -x

    def sample(self, n: int, seed: int) -> torch.Tensor:
        return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def context(data: TensorData, algorithm=None, accelerator=None) -> EvalContext:
    algorithm = algorithm or Inverter()
    return EvalContext(algorithm.sample, data, algorithm, accelerator)


# ------------------------------------------------------------------- 1. labels


def test_a_metric_listed_twice_needs_labels_and_labels_are_unique():
    registry = get_host().registry
    base = {**TINY_DIGITS}
    with pytest.raises(UserError, match=r"metric 'fid' is listed twice.*give each copy a label, e.g. \{name: fid, label: fid-2"):
        build_run_config(registry, None, {**base, "eval": {"metrics": [{"name": "fid"}, {"name": "fid", "features": "pixels"}]}}, [])
    with pytest.raises(UserError, match="same label 'x'; labels must be unique"):
        build_run_config(registry, None, {**base, "eval": {"metrics": [{"name": "fid", "label": "x"}, {"name": "kid", "label": "x"}]}}, [])
    with pytest.raises(UserError, match="listed twice"):
        build_metrics(registry, [MetricRef(name="swd"), MetricRef(name="swd")])


def test_labels_key_the_results_and_are_not_metric_options(digit_images):
    config = build_run_config(get_host().registry, None, {**TINY_DIGITS, "eval": {"metrics": [
        {"name": "fid", "label": "fid-pixels", "features": "pixels", "num_samples": 300},
        {"name": "fid", "label": "fid-lenet", "features": "lenet-digits", "num_samples": 300},
        {"name": "mode-coverage"},
    ]}}, [])  # fmt: skip
    refs = config.eval.metrics
    assert [r.label for r in refs] == ["fid-pixels", "fid-lenet", None] and "label" not in refs[0].options
    # The label survives the round trip through the run folder's config.yaml.
    again = build_run_config(get_host().registry, None, yaml.safe_load(yaml.safe_dump(config.model_dump(mode="json"))), [])
    assert [r.label for r in again.eval.metrics] == ["fid-pixels", "fid-lenet", None]
    metrics = build_metrics(get_host().registry, refs[:2])
    assert [key for key, _ in metrics] == ["fid-pixels", "fid-lenet"]
    results = evaluate(metrics, context(two_domains(digit_images)))
    assert set(results) == {"fid-pixels/fid", "fid-lenet/fid"} and results["fid-pixels/fid"] != results["fid-lenet/fid"]


# ------------------------------------------------- 2. real_key, source, direction


@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_translate_compares_with_the_target_domain(digit_images, direction):
    data, algorithm = two_domains(digit_images), Inverter()
    ctx = context(data, algorithm)
    small = dict(features="lenet-digits", num_samples=300, source="translate", direction=direction)
    fid = build("fid", **small)(ctx)["fid"]
    assert abs(fid) < 1e-3, fid  # a perfect translation of the same shuffle: the very same images
    assert algorithm.calls and all(d == direction for _, d in algorithm.calls) and max(n for n, _ in algorithm.calls) <= BATCH
    source = "x" if direction == "a2b" else "x_b"
    assert build("fid", **small, real_key=source)(ctx)["fid"] > 100  # against the domain it came from
    assert build("swd", num_samples=300, patches_per_image=8, min_resolution=8, source="translate", direction=direction)(ctx)["avg"] == 0
    assert build("kid", **small, subsets=5, subset_size=100)(ctx)["kid"] < 1e-3
    assert build("precision-recall", **small)(ctx)["precision"] == 1.0
    score = build("inception-score", **small)(ctx)["inception_score"]
    assert 1 < score < 10
    # Sampling (noise) compared with domain b instead of the default x.
    assert build("fid", features="lenet-digits", num_samples=300, real_key="x_b")(ctx)["fid"] > 100


def test_translate_has_one_process_semantics(digit_images):
    data = two_domains(digit_images)
    metric = build("fid", features="lenet-digits", num_samples=1200, num_real=700, source="translate", direction="a2b")
    bigger = two_domains(torch.cat([digit_images] * 4))  # 1,600 images: chunks of 500 dealt to two processes
    bigger.tensors["x_b"] = bigger.tensors["x_b"].flip(0)  # not the same shuffle as x: a nonzero FID
    single = metric(context(bigger))
    assert single["fid"] > 0 and on_two_processes(metric, lambda acc: context(bigger, accelerator=acc)) == [single, single]
    assert metric(context(data))["fid"] < 1e-3  # fewer source images than num_samples: as many as there are


def test_translate_errors_are_clear(digit_images):
    fid = build("fid", features="pixels", num_samples=50, source="translate", direction="a2b")
    with pytest.raises(UserError, match=r"needs an algorithm with a translate\(x, direction\) method; 'object' has none"):
        fid(EvalContext(None, two_domains(digit_images), object()))

    class OneWay(Inverter):
        def translate(self, x, direction):
            if direction == "a2b":
                raise NotImplementedError
            return -x

    with pytest.raises(UserError, match="'OneWay' does not implement translate"):
        fid(context(two_domains(digit_images), OneWay()))

    class NoTranslation(GANAlgorithm):  # the base class declares translate; this family does not implement it
        pass

    with pytest.raises(UserError, match="'NoTranslation' has none"):
        fid(EvalContext(None, two_domains(digit_images), NoTranslation.__new__(NoTranslation)))
    one_domain = TensorData({"x": digit_images}, "image", {"domain": "digits"})
    with pytest.raises(UserError, match="run's data have no 'x_b'.*two-domain dataset such as unpaired"):
        fid(context(one_domain))
    with pytest.raises(UserError, match="real_key: x_b: the run's data has no tensor 'x_b'"):
        build("kid", features="pixels", num_samples=50, real_key="x_b")(context(one_domain))
    with pytest.raises(UserError, match="source: translate needs direction"):
        build("fid", source="translate")
    with pytest.raises(UserError, match="direction: a2b is for source: translate"):
        build("swd", direction="a2b")


# ------------------------------------------------------- 3. one labelled subset


def test_linear_probe_fits_on_the_per_class_subset_its_seed_picks():
    data = digits(DigitsConfig(), None)
    y = data.tensors["y"]
    keep = per_class_subset(y, 3, seed=0)
    assert keep.tolist() == sorted(keep.tolist()) and torch.equal(keep, per_class_subset(y, 3, seed=0))
    assert y[keep].bincount().tolist() == [3] * 10

    class Recorder:
        def __init__(self):
            self.seen = []

        def encode(self, x):
            self.seen.append(x)
            return x.flatten(1)

    probe = build("linear-probe", train_data={"name": "digits"}, test_data={"name": "digits"}, labels_per_class=3, num_test=20)
    recorder = Recorder()
    probe(EvalContext(None, data, algorithm=recorder))
    fitted = recorder.seen[0]  # the probe encodes its training subset first, in a fixed shuffle
    as_rows = lambda t: sorted(map(tuple, t.flatten(1).tolist()))  # noqa: E731
    assert len(fitted) == 30 and as_rows(fitted) == as_rows(data.tensors["x"][keep])


# ------------------------------------------------------- 4. one batched apply


def test_one_batched_apply_serves_features_encoders_and_translators():
    from gancore.metrics import classification, features

    assert not hasattr(classification, "_apply") and not hasattr(features, "BATCH")
    calls = []

    def double(x):
        calls.append(len(x))
        return x.flatten(1) * 2

    x = torch.arange(250 * 4, dtype=torch.float64).view(250, 1, 2, 2)
    out = apply_batched(double, x)
    assert calls == [100, 100, 50] and out.dtype == torch.float32 and torch.equal(out, x.flatten(1).float() * 2)
    assert apply_batched(double, x[:0]).shape == (0, 4)  # a process with no share still knows the width
    pixels = get_extractor(get_host().registry, "pixels")
    assert torch.equal(extract(pixels, x), x.flatten(1).float())


# ------------------------------------------------------------ 5. features: auto


def test_features_auto_picks_a_network_from_the_data(no_inception, monkeypatch):
    assert auto_extractor(get_host().registry, "image", {"domain": "digits"}) == "lenet-digits"
    assert auto_extractor(get_host().registry, "image", {"domain": "mnist"}) == "lenet-mnist"
    assert auto_extractor(get_host().registry, "points", {}) == "pixels"
    assert digits(DigitsConfig(), None).info["domain"] == "digits" and mnist5k(MNIST5kConfig(), None).info["domain"] == "mnist"
    with pytest.raises(UserError) as info:
        auto_extractor(get_host().registry, "image", {"num_classes": 2})  # lfw-subset: not digits
    message = str(info.value)
    assert "pt_inception-2015-12-05-6726825d.pth" in message and "gan weights fetch inception" in message
    assert str(no_inception) in message and "features option" in message
    # With the weights present, Inception wins (the network is not loaded here).
    monkeypatch.setattr(inception, "inception_weights_path", lambda option=None: Path("present.pth"))
    assert auto_extractor(get_host().registry, "image", {"domain": "digits"}) == "inception"


def test_features_auto_is_decided_when_the_metric_runs(no_inception, digit_images):
    fid = build("fid", num_samples=300)  # no weights needed to build it
    data = two_domains(digit_images)
    assert fid(context(data)) == build("fid", features="lenet-digits", num_samples=300)(context(data))
    # Comparing with domain b uses domain b's info.
    data.info["domain_b"] = {"domain": "mnist"}
    assert fid.extractor(context(data)).name == "lenet-digits"
    to_b = build("fid", num_samples=300, source="translate", direction="a2b")
    assert to_b.extractor(context(data)).name == "lenet-mnist"
    faces = TensorData({"x": digit_images}, "image", {})
    with pytest.raises(UserError, match="features: auto found no feature network"):
        fid(context(faces))


# ------------------------------------------------- 6. gan weights fetch inception


def test_weights_fetch_offline_exits_2_and_says_where_to_put_the_file(gan, no_inception, monkeypatch):
    def offline(url, timeout=60.0):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(inception, "download", offline)
    result = gan("weights", "fetch", "inception")
    assert result.exit_code == 2 and "Traceback" not in result.output
    message = result.output
    assert "could not download" in message and "Temporary failure in name resolution" in message
    assert inception.INCEPTION_URL in message and str(no_inception / inception.INCEPTION_FILE) in message
    assert inception.INCEPTION_SHA256 in message and message.count("\n") == 1


def test_weights_fetch_refuses_a_wrong_checksum_and_leaves_no_file(gan, no_inception, monkeypatch):
    monkeypatch.setattr(inception, "download", lambda url, timeout=60.0: b"not the weights")
    result = gan("weights", "fetch", "inception")
    assert result.exit_code == 2 and "is not pytorch-fid's" in result.output and "nothing was written" in result.output
    assert not no_inception.exists() or list(no_inception.iterdir()) == []


def test_weights_fetch_writes_a_checked_file(gan, no_inception, monkeypatch):
    import hashlib

    body = b"pretend weights"
    monkeypatch.setattr(inception, "download", lambda url, timeout=60.0: body)
    monkeypatch.setattr(inception, "INCEPTION_SHA256", hashlib.sha256(body).hexdigest())
    result = gan("weights", "fetch", "inception")
    assert result.exit_code == 0, result.output
    assert [p.name for p in no_inception.iterdir()] == [inception.INCEPTION_FILE] and "downloaded" in result.output
    assert (no_inception / inception.INCEPTION_FILE).read_bytes() == body
    monkeypatch.setattr(inception, "download", lambda url, timeout=60.0: pytest.fail("downloaded again"))
    assert "already present" in gan("weights", "fetch", "inception").output


def test_the_inception_checksum_is_the_one_its_file_name_encodes():
    assert inception.INCEPTION_FILE.endswith(f"-{inception.INCEPTION_SHA256[:8]}.pth")


# ----------------------------------------------- 7. gan eval on a digits run, offline


def test_gan_eval_fid_and_kid_on_a_digits_run_offline(gan, write_config, tmp_path, no_inception):
    config = {**TINY_DIGITS, "train": {**TINY_DIGITS["train"], "steps": 3, "sample_every": 0, "checkpoint_every": 0}}
    run_dir = tmp_path / "run"
    assert gan("run", write_config(config), "--output", run_dir).exit_code == 0
    result = gan("eval", run_dir, "--metric", "fid", "--metric", "kid", "-n", 200, "--json")
    assert result.exit_code == 0, result.output
    values = json.loads(result.output)["metrics"]
    assert {"fid/fid", "kid/kid", "kid/kid_std"} <= set(values) and all(math.isfinite(v) for v in values.values())
    # The same metric twice, under labels; without labels, a clear error.
    labelled = gan("eval", run_dir, "--metric", "fid", "--metric", "{name: fid, label: fid-pixels, features: pixels}", "-n", 200, "--json")
    assert labelled.exit_code == 0, labelled.output
    both = json.loads(labelled.output)["metrics"]
    assert both["fid/fid"] == values["fid/fid"] and both["fid-pixels/fid"] != both["fid/fid"]
    twice = gan("eval", run_dir, "--metric", "fid", "--metric", "{name: fid, features: pixels}")
    assert twice.exit_code == 2 and "give each copy a label" in twice.output


# ------------------------------------------------------------ 8. gan config --set


def test_gan_config_set_shows_the_options_of_the_chosen_entries(gan):
    out = gan("config", "--plugin", "gan", "--set", "data.name=mnist5k")
    assert out.exit_code == 0, out.output
    printed = yaml.safe_load(out.output)
    assert printed["data"]["name"] == "mnist5k" and printed["data"]["split"] == "train" and "# fixed stratified split" in out.output
    # Choosing another model drops the old one's options (base_channels), not those given with it.
    out = gan("config", "--plugin", "gan", "--set", "algorithm.generator.name=mlp-generator", "--set", "algorithm.loss.name=hinge",
              "--set", "algorithm.generator.hidden_dim=48")  # fmt: skip
    assert out.exit_code == 0, out.output
    printed = yaml.safe_load(out.output)
    assert printed["algorithm"]["generator"]["name"] == "mlp-generator" and printed["algorithm"]["generator"]["hidden_dim"] == 48
    assert printed["algorithm"]["loss"]["name"] == "hinge" and "--set algorithm.generator.name=mlp-generator" in out.output.splitlines()[0]
    bad = gan("config", "--plugin", "gan", "--set", "data.name=nodata")
    assert bad.exit_code == 2 and "unknown dataset 'nodata'" in bad.output
