"""SWD at every stage's resolution (4x4 to 32x32), and the stage-swd metric through `gan eval`."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from gan_progressive.metrics import StageSWDConfig, fitting_patch, stage_swd
from gancore.errors import UserError
from gancore.metrics.swd import swd

SMALL = dict(num_samples=64, patches_per_image=16, directions=32, repeats=1)


@pytest.mark.parametrize("side", [4, 8, 16, 32])
def test_stage_swd_works_at_every_stage_resolution(side):
    torch.manual_seed(0)
    real = torch.rand(64, 1, side, side) * 2 - 1
    config = StageSWDConfig(**SMALL)
    result = stage_swd(real, real.clone(), config)
    levels = [k for k in result if k != "avg"]
    assert levels == [str(s) for s in (32, 16, 8, 4) if s <= side]
    assert all(v == 0 for v in result.values()), "a set against itself"
    noise = stage_swd(real, torch.rand(64, 1, side, side) * 0.2 - 1, config)
    assert all(noise[k] > 0 for k in levels)


def test_gancore_swd_refuses_levels_smaller_than_its_patch_which_stage_swd_fits():
    # This is why stage-swd exists for the 4x4 stage (see the README's note for gancore).
    with pytest.raises(UserError, match="raise min_resolution"):
        swd(torch.zeros(8, 1, 4, 4), torch.zeros(8, 1, 4, 4), patches_per_image=4, directions=8, repeats=1)
    assert [fitting_patch(s, 7) for s in (4, 5, 8, 16)] == [3, 5, 7, 7]


def test_stage_swd_ranks_a_closer_distribution_lower():
    torch.manual_seed(1)
    real = torch.rand(64, 1, 8, 8) * 2 - 1
    near = (real + 0.05 * torch.randn_like(real)).clamp(-1, 1)
    far = F.avg_pool2d(real, 2).repeat_interleave(2, -1).repeat_interleave(2, -2)  # a blocky 4x4 image upsampled
    config = StageSWDConfig(**SMALL)
    assert stage_swd(real, near, config)["8"] < stage_swd(real, far, config)["8"]


def test_gan_eval_scores_the_current_stage(gan, write_config, tiny_digits, tmp_path):
    tiny_digits["train"].update(steps=4, checkpoint_every=0)  # the last step of the 4x4 stage
    out = gan("run", write_config(tiny_digits), "--output", tmp_path / "r")
    assert out.exit_code == 0, out.output
    metrics = ["{name: stage-swd, num_samples: 64, patches_per_image: 8, directions: 16, repeats: 1}",
               "{name: swd, num_samples: 64, patches_per_image: 8, directions: 16, repeats: 1, min_resolution: 8}",
               "{name: ms-ssim, num_samples: 64}"]  # fmt: skip
    out = gan("eval", tmp_path / "r", "--json", *[x for m in metrics for x in ("--metric", m)])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)["metrics"]
    assert result["stage-swd/resolution"] == 4 and set(result) >= {"stage-swd/4", "stage-swd/avg", "swd/8", "ms-ssim/ms_ssim"}
    assert "stage-swd/8" not in result, "the 4x4 stage is scored at 4x4"


def test_stage_swd_needs_a_progressive_gan(gan, tmp_path):
    out = gan("run", "--plugin", "gan", "--output", tmp_path / "r", "--steps", 2, "--set", "train.progress=false", "--set", "train.tensorboard=false",
              "--set", "algorithm.generator.base_channels=4", "--set", "algorithm.discriminator.base_channels=4")  # fmt: skip
    assert out.exit_code == 0, out.output
    out = gan("eval", tmp_path / "r", "--metric", "{name: stage-swd, num_samples: 16}")
    assert out.exit_code == 2 and "progressive" in out.output
