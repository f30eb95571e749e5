"""BGAN with gancore's differentiable augmentation (algorithm.augment), ADA included."""

from __future__ import annotations

import json

from gancore.testing import check_resume


def test_bgan_with_ada_logs_p_and_resumes_exactly(gan, write_config, tiny_binary, tmp_path):
    tiny_binary["algorithm"]["augment"] = {"policy": ["translation", "cutout"], "adaptive": True, "probability": 0.2, "interval": 1, "adjust_images": 200}
    tiny_binary["train"]["log_every"] = 1
    check_resume(gan, write_config(tiny_binary), tmp_path, stop_at=3)
    records = [json.loads(line) for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    p = [r["augment_p"] for r in records if "augment_p" in r]
    assert len(p) == 6 and len(set(p)) > 1  # adjusted every step


def test_bgan_continuous_trains_with_augmentation(gan, write_config, tmp_path):
    cfg = {
        "plugin": "bgan",
        "algorithm": {"name": "bgan-continuous", "latent_dim": 8, "generator": {"name": "dcgan-generator", "base_channels": 8},
                      "discriminator": {"name": "dcgan-discriminator", "base_channels": 8}, "augment": {"policy": ["translation"]}},
        "data": {"name": "digits"},
        "train": {"steps": 4, "batch_size": 16, "checkpoint_every": 0, "sample_every": 0, "progress": False, "tensorboard": False, "log_every": 2},
    }
    result = gan("run", write_config(cfg), "--output", tmp_path / "run")
    assert result.exit_code == 0, result.output
