"""Config validation and the errors a user sees: field paths, exit status 2, no traceback."""

from __future__ import annotations

import json

import yaml

from gancore.config import RunConfig

from .conftest import TINY_RING, run_gan_subprocess


def _error(out):
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output
    return out.output


def test_misspelled_key_names_the_field(gan):
    text = _error(gan("run", "--plugin", "gan", "--set", "trian.steps=3"))
    assert "trian: unknown key" in text


def test_wrong_type_names_the_field(gan):
    text = _error(gan("run", "--plugin", "gan", "--set", "train.steps=lots"))
    assert "train.steps: Input should be a valid integer" in text and "'lots'" in text


def test_entry_options_are_validated_with_their_path(gan):
    text = _error(gan("run", "--plugin", "gan", "--set", "algorithm.generator.base_chanels=8"))
    assert "algorithm.generator.base_chanels: unknown key" in text
    text = _error(gan("run", "--plugin", "gan", "--set", "algorithm.loss.label_smoothing=1.5"))
    assert "algorithm.loss.label_smoothing: Input should be less than 1" in text
    text = _error(gan("run", "--plugin", "gan", "--set", "data.radius=-1", "--set", "data.name=ring"))
    assert "data.radius: Input should be greater than 0" in text


def test_unknown_entry_names_suggest_a_fix(gan):
    text = _error(gan("run", "--plugin", "gan", "--set", "data.name=rings"))
    assert "unknown dataset 'rings'" in text and "did you mean 'ring'?" in text
    text = _error(gan("run", "--plugin", "gan", "--set", "algorithm.loss.name=hinje"))
    assert "unknown loss 'hinje'" in text and "did you mean 'hinge'?" in text


def test_missing_and_malformed_config_files(gan, tmp_path):
    text = _error(gan("run", "--plugin", "gan", tmp_path / "nope.yaml"))
    assert "config file" in text and "nope.yaml' does not exist" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed")
    assert "is not valid YAML" in _error(gan("run", "--plugin", "gan", bad))


def test_set_without_equals_is_an_error(gan):
    assert "not of the form key.path=value" in _error(gan("run", "--plugin", "gan", "--set", "train.steps"))


def test_plugin_and_file_must_agree(gan, write_config):
    assert "disagrees" in _error(gan("run", "--plugin", "metrics", write_config(TINY_RING)))


def test_cli_errors_from_a_real_process_have_exit_2_and_one_paragraph():
    out = run_gan_subprocess("run", "--plugin", "gan", "--set", "trian.steps=3")
    assert out.returncode == 2 and out.stderr.startswith("Error: invalid configuration") and "Traceback" not in out.stderr
    out = run_gan_subprocess("run", "--plugin", "gan", "--set", "train.steps=lots")
    assert out.returncode == 2 and "train.steps" in out.stderr


def test_gan_config_prints_complete_commented_defaults(gan, tmp_path):
    out = gan("config", "--plugin", "gan")
    assert out.exit_code == 0
    assert "# adversarial objective" in out.output and "label_smoothing: 0.0  # one-sided label smoothing" in out.output
    printed = yaml.safe_load(out.output)
    assert printed["algorithm"]["generator"] == {"name": "dcgan-generator", "base_channels": 32, "max_channels": 512, "batch_norm": True, "activation": "relu"}
    assert printed["train"]["steps"] > 0
    # The printed file is itself a valid run file.
    RunConfig.model_validate(printed)
    path = tmp_path / "defaults.yaml"
    path.write_text(out.output)
    run = gan("run", path, "--steps", 2, "--set", "train.progress=false", "--output", tmp_path / "r")
    assert run.exit_code == 0, run.output


def test_gan_config_schema_is_json_schema(gan):
    out = gan("config", "--plugin", "gan", "--schema")
    schema = json.loads(out.output)
    assert schema["properties"]["train"]
    assert "lr_generator" in json.dumps(schema["$defs"]["AlgorithmRef"])


def test_resolved_config_is_written_to_the_run(gan, write_config, tmp_path):
    assert gan("run", write_config(TINY_RING), "--output", tmp_path / "r", "--set", "train.seed=7").exit_code == 0
    saved = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    assert saved["train"]["seed"] == 7 and saved["data"]["radius"] == 2.0 and saved["output_dir"] == str(tmp_path / "r")


def test_plugin_without_algorithm_cannot_run(gan):
    assert "registers no algorithm" in _error(gan("run", "--plugin", "metrics"))


def test_a_chosen_algorithm_brings_its_own_defaults(gan, inline_plugin):
    from gancore import Algorithm, GANAlgorithm, StrictModel, hookimpl

    class TwoAlgorithms:
        @hookimpl
        def gan_register_algorithms(self, register):
            register(Algorithm("two", GANAlgorithm, StrictModel, "main", defaults={"data": {"name": "digits"}, "train": {"steps": 7}}))
            register(Algorithm("two-ring", GANAlgorithm, StrictModel, "second", defaults={"data": {"name": "ring"}}))

    inline_plugin(TwoAlgorithms(), "two")
    main = yaml.safe_load(gan("config", "--plugin", "two").output)
    assert main["data"]["name"] == "digits" and main["train"]["steps"] == 7
    out = gan("config", "--plugin", "two", "--set", "algorithm.name=two-ring")
    assert out.exit_code == 0, out.output
    second = yaml.safe_load(out.output)
    assert second["algorithm"]["name"] == "two-ring" and second["data"]["name"] == "ring", "the second algorithm's data, not the main one's"
    assert second["train"]["steps"] == 2000, "and none of the main algorithm's train settings"


def test_set_steps_into_a_list_by_index(gan):
    out = gan("config", "--plugin", "gan", "--set", "eval.metrics=[{name: fid, features: lenet-digits}]", "--set", "eval.metrics.0.num_samples=50")
    assert out.exit_code == 0, out.output
    metrics = yaml.safe_load(out.output)["eval"]["metrics"]
    assert isinstance(metrics, list) and metrics[0]["name"] == "fid" and metrics[0]["num_samples"] == 50
