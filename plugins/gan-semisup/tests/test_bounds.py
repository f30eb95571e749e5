"""gan-semisup's options that torch checks again are bounded in its config models (gancore issue 29, item 14):
the widths of the improved-GAN networks, BigBiGAN's score weights and every algorithm's Adam betas are refused
out of range as a config error naming the option, before any network is built."""

from __future__ import annotations

import re

import pytest

from gancore import UserError, plugins
from gancore.config import build_run_config


def build(*overrides: str):
    return build_run_config(plugins.get_host().registry, "semisup", None, list(overrides))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["algorithm.discriminator.hidden=[32, 0]"], "algorithm.discriminator.hidden.1: Input should be greater than or equal to 1"),
        (["algorithm.generator.hidden=[-1]"], "algorithm.generator.hidden.0: Input should be greater than or equal to 1"),
        (["algorithm.name=bigbigan", "algorithm.score_weights=[1, -1, 1]"], "algorithm.score_weights.1: Input should be greater than or equal to 0"),
        (["algorithm.betas=[0.5, 1.0]"], "algorithm.betas.1: Input should be less than 1"),
        (["algorithm.name=bigan", "algorithm.betas=[2, 0.9]"], "algorithm.betas.0: Input should be less than 1"),
        (["algorithm.name=supervised-only", "algorithm.betas=[-0.5, 0.9]"], "algorithm.betas.0: Input should be greater than or equal to 0"),
    ],
)
def test_out_of_range_options_are_a_config_error(overrides, message):
    with pytest.raises(UserError, match=re.escape(message)):
        build(*overrides)


def test_the_edges_are_accepted():
    assert build("algorithm.discriminator.hidden=[1]").algorithm.options["discriminator"]["hidden"] == [1]
    config = build("algorithm.name=bigbigan", "algorithm.score_weights=[0, 0, 1]", "algorithm.betas=[0, 0.999]")
    assert list(config.algorithm.options["score_weights"]) == [0, 0, 1]
