"""``gan new-plugin NAME``: a complete plugin distribution that works at once.

It writes::

    NAME/                          (or --dir DIR)
      pyproject.toml               the gancore entry point, gancore as a dependency with the range this core supports
      README.md  LICENSE  .gitignore
      gan_NAME/__init__.py         the quickstart (module docstring)
      gan_NAME/plugin.py           hookimpls only: what the plugin registers, and gancore_api
      gan_NAME/config.py           the algorithm's options (ModelRef / LossRef fields pick networks and losses)
      gan_NAME/algorithm.py        a small working GAN on the builtin networks: change train_step to make it yours
      gan_NAME/models.py           a network of its own (MLP generator and discriminator)
      examples/NAME-digits.yaml    a run file
      tests/                       gancore.testing: installed, conformance, a run, bit-exact resume

so that ``pip install -e gan-NAME && pytest gan-NAME && gan run --plugin NAME --steps 20`` pass.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from . import PLUGIN_API, __version__
from .errors import UserError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
RESERVED_NAMES = ("gan", "datasets", "metrics", "tools")


def names(name: str) -> dict[str, str]:
    """The names a plugin called ``name`` uses: distribution, package, classes, its entries."""
    if not NAME_PATTERN.match(name):
        raise UserError(
            f"plugin name '{name}' must be lower-case letters and digits, words joined by '-', starting with a letter "
            "(e.g. 'relgan' or 'my-family'); it names the plugin, its algorithm and the distribution gan-NAME"
        )
    if name.startswith("gan-"):
        raise UserError(f"give the plugin's name without the 'gan-' prefix: gan new-plugin {name[4:]} (the distribution is then {name})")
    if name in RESERVED_NAMES:
        raise UserError(f"'{name}' is the name of a builtin plugin; choose another name")
    camel = "".join(part.capitalize() for part in name.split("-"))
    family = camel[:-3] if camel.lower().endswith("gan") and len(camel) > 3 else camel
    return {
        "name": name,
        "dist": f"gan-{name}",
        "package": f"gan_{name.replace('-', '_')}",
        "cls": f"{family}GAN",
        "config_cls": f"{camel}Config",
        "api": str(PLUGIN_API),
        "gancore_range": gancore_range(),
        "year": str(date.today().year),
    }


def gancore_range(version: str = __version__) -> str:
    """The gancore versions a new plugin supports: this one up to the next breaking release
    (the next minor release while gancore is 0.x, the next major one after)."""
    parts = [int(p) for p in re.findall(r"\d+", version)[:2]] + [0, 0]
    major, minor = parts[0], parts[1]
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f"gancore>={major}.{minor},<{upper}"


def files(name: str) -> dict[str, str]:
    """Relative path -> text of every file of the new distribution."""
    n = names(name)
    return {_fill(path, n): _fill(text, n) for path, text in TEMPLATES.items()}


def write_plugin(name: str, dest: str | Path | None = None, *, force: bool = False) -> tuple[Path, list[Path]]:
    """Write the distribution into ``dest`` (default ``./NAME``); returns the folder and the files written."""
    n = names(name)
    folder = Path(dest) if dest is not None else Path(name)
    if folder.exists() and any(folder.iterdir()) and not force:
        raise UserError(f"'{folder}' exists and is not empty; choose another --dir, or pass --force to write into it")
    written = []
    for rel, text in files(name).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return folder, written


def _fill(text: str, n: dict[str, str]) -> str:
    # [[key]] placeholders: the templates are full of braces (dicts, f-strings, TOML tables).
    return re.sub(r"\[\[(\w+)\]\]", lambda m: n[m.group(1)], text)


TEMPLATES: dict[str, str] = {}

TEMPLATES["pyproject.toml"] = '''\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "[[dist]]"
version = "0.1.0"
description = "gancore plugin: the [[name]] GAN family"
readme = "README.md"
requires-python = ">=3.10"
license = "MIT"
license-files = ["LICENSE"]
# The gancore releases this plugin was written for (its plugin API is gancore_api in [[package]]/plugin.py).
dependencies = ["[[gancore_range]]"]

[project.optional-dependencies]
test = ["pytest>=7"]

# How gancore finds the plugin: `gan plugins` lists it under this name.
[project.entry-points.gancore]
[[name]] = "[[package]].plugin"

[tool.setuptools]
packages = ["[[package]]"]

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra --import-mode=importlib"
'''

TEMPLATES[".gitignore"] = """\
__pycache__/
*.egg-info/
build/
dist/
runs/
.pytest_cache/
"""

TEMPLATES["LICENSE"] = '''\
MIT License

Copyright (c) [[year]] the [[dist]] authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
'''

TEMPLATES["README.md"] = '''\
# [[dist]]

A [gancore](https://pypi.org/project/gancore/) plugin: the `[[name]]` GAN family.

    pip install -e .                                  # or, once published: pip install [[dist]]
    gan plugins                                       # lists [[name]] and what it registers
    gan run --plugin [[name]] --steps 20              # the defaults: DCGAN networks on the 8x8 digits
    gan run examples/[[name]]-digits.yaml             # a run file
    gan config --plugin [[name]]                      # every option, with its description
    pytest                                            # installed, conformance, a short run, exact resume

What is where:

| file | what |
| --- | --- |
| `[[package]]/plugin.py` | what the plugin registers (hook implementations only) and `gancore_api` |
| `[[package]]/config.py` | the algorithm's options; `ModelRef`/`LossRef` fields choose networks and losses by name |
| `[[package]]/algorithm.py` | `[[cls]]`: what one training step does |
| `[[package]]/models.py` | the plugin's own networks, `[[name]]-generator` and `[[name]]-discriminator` |
| `examples/` | run files |
| `tests/` | tests built on `gancore.testing` |

The guide to every part of a plugin is gancore's `docs/writing-plugins.md`.

Publishing: `python -m build` writes a wheel and an sdist into `dist/`; `twine upload dist/*` publishes
them, after which users `pip install [[dist]]`.
'''

TEMPLATES["[[package]]/__init__.py"] = '''\
"""[[dist]]: the [[name]] GAN family for gancore.

Quickstart::

    pip install [[dist]]
    gan run --plugin [[name]] --steps 20        # DCGAN networks on scikit-learn's 8x8 digits
    gan config --plugin [[name]]                # every option

The algorithm is ``[[package]].algorithm.[[cls]]``; its options are
``[[package]].config.[[config_cls]]``.
"""

__version__ = "0.1.0"
'''

TEMPLATES["[[package]]/plugin.py"] = '''\
"""What [[dist]] registers: the ``[[name]]`` algorithm and two networks of its own."""

from gancore import Algorithm, Model, hookimpl

# Each hook imports what it registers, so that importing this module (as `gan --help` does for
# every plugin) does not import torch.

# The gancore plugin API this plugin was written for (gancore.PLUGIN_API). gancore refuses to load a
# plugin written for an API it does not support, and `gan plugins` says so with both versions.
gancore_api = [[api]]


@hookimpl
def gan_register_algorithms(register):
    from gancore import REAL_LOGITS

    from .algorithm import [[cls]]
    from .config import DEFAULTS, [[config_cls]]

    register(
        Algorithm(
            "[[name]]",
            [[cls]],
            [[config_cls]],
            "the [[name]] family: a GAN with its loss chosen by name",
            defaults=DEFAULTS,  # what `gan run --plugin [[name]]` trains with no file: a dataset at least
            provides={REAL_LOGITS},  # train_step passes real logits to generator_loss: relativistic losses work
        )
    )


@hookimpl
def gan_register_models(register):
    from . import models

    register(Model("[[name]]-generator", models.build_generator, models.MLPConfig, "[[name]]: MLP generator with residual blocks"))
    register(Model("[[name]]-discriminator", models.build_discriminator, models.MLPConfig, "[[name]]: MLP discriminator with residual blocks"))
'''

TEMPLATES["[[package]]/config.py"] = '''\
"""Options of the ``[[name]]`` algorithm, and the run it trains when given no file."""

from __future__ import annotations

from pydantic import Field

from gancore import LossRef, ModelRef, StrictModel


class [[config_cls]](StrictModel):
    # No field may be called `name`: in a run file, algorithm.name chooses the algorithm.
    latent_dim: int = Field(32, ge=1, description="size of the generator's Gaussian input")
    generator: ModelRef = Field(
        default_factory=lambda: ModelRef(name="dcgan-generator", base_channels=16),
        description="generator network: dcgan-generator, mlp-generator, [[name]]-generator, ...",
    )
    discriminator: ModelRef = Field(
        default_factory=lambda: ModelRef(name="dcgan-discriminator", base_channels=16),
        description="discriminator network: dcgan-discriminator, mlp-discriminator, [[name]]-discriminator, ...",
    )
    loss: LossRef = Field(
        default_factory=lambda: LossRef(name="non-saturating"),
        description="adversarial loss: non-saturating, hinge, least-squares, relativistic, ... (`gan list losses`)",
    )
    lr_generator: float = Field(2e-4, gt=0, description="Adam learning rate of the generator")
    lr_discriminator: float = Field(2e-4, gt=0, description="Adam learning rate of the discriminator")
    betas: tuple[float, float] = Field((0.5, 0.999), description="Adam betas of both networks")


# Every algorithm needs a default dataset: `gan run --plugin [[name]]` with no file trains this.
DEFAULTS = {
    "data": {"name": "digits"},
    "train": {"steps": 2000, "batch_size": 64, "sample_every": 500, "checkpoint_every": 500},
}
'''

TEMPLATES["[[package]]/algorithm.py"] = '''\
"""``[[cls]]``: one discriminator update and one generator update per step.

This is the plain GAN of Goodfellow et al. with the loss chosen by name. Make
it your family by changing ``train_step``; the contract (data streams, the
EMA, what state is saved, optional capabilities) is gancore's
``docs/writing-plugins.md`` and the docstring of ``gancore.algorithm``.
"""

from __future__ import annotations

import torch

from gancore import REAL_LOGITS, GANAlgorithm, TrainContext

from .config import [[config_cls]]


class [[cls]](GANAlgorithm):
    def __init__(self, config: [[config_cls]], ctx: TrainContext) -> None:
        super().__init__(config, ctx)
        generator = ctx.build_generator(config.generator, config.latent_dim)
        discriminator = ctx.build_discriminator(config.discriminator)
        self.loss = ctx.build_loss(config.loss, "algorithm.loss")
        # Only a loss that needs them costs the discriminator pass on real data in the generator step.
        self.real_logits_for_generator = REAL_LOGITS in ctx.registry.get("loss", config.loss.name).requires
        opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr_generator, betas=config.betas)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_discriminator, betas=config.betas)
        # Modules and optimizers held as attributes are saved in checkpoints and restored on --resume.
        self.generator, self.discriminator, self.opt_g, self.opt_d = ctx.prepare(generator, discriminator, opt_g, opt_d)

    def train_step(self, batch, step):
        cfg, real = self.config, batch["x"]
        n = real.shape[0]

        # The discriminator learns to tell real from generated (no gradient into the generator).
        with torch.no_grad():
            fake = self.generator(self.noise(n, cfg.latent_dim))
        loss_d = self.loss.discriminator_loss(self.discriminator(real), self.discriminator(fake))
        self.ctx.update(self.opt_d, loss_d)

        # The generator learns to fool it: gradients pass through the discriminator, whose weights stay put.
        fake = self.generator(self.noise(n, cfg.latent_dim))
        with self.ctx.frozen(self.discriminator) as discriminator:
            real_logits = discriminator(real).detach() if self.real_logits_for_generator else None
            loss_g = self.loss.generator_loss(discriminator(fake), real_logits)
        self.ctx.update(self.opt_g, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}

    # sample(n, seed=...) and ema_modules() come from GANAlgorithm: they use self.generator and
    # config.latent_dim. Override them when the family samples differently.
'''

TEMPLATES["[[package]]/models.py"] = '''\
"""The plugin's own networks: MLPs with residual blocks, for points or flattened images.

A network builder is called as ``build(config, **shapes)``. Generators get
``data_shape``, ``latent_dim`` and ``is_image``; discriminators get
``data_shape`` and ``out_features``. Take ``**_`` too, so that a shape argument
added later does not break the builder.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import nn

from gancore import StrictModel


class MLPConfig(StrictModel):
    hidden_dim: int = Field(128, ge=1, description="width of the residual blocks")
    num_blocks: int = Field(2, ge=1, description="number of residual blocks")


class Residual(nn.Module):
    def __init__(self, width: int, slope: float) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(width, width), nn.LeakyReLU(slope), nn.Linear(width, width))
        self.out = nn.LeakyReLU(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(x + self.body(x))


class Generator(nn.Module):
    def __init__(self, config: MLPConfig, data_shape, latent_dim: int, is_image: bool) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        blocks = [Residual(config.hidden_dim, 0.0) for _ in range(config.num_blocks)]
        self.net = nn.Sequential(nn.Linear(latent_dim, config.hidden_dim), nn.ReLU(), *blocks, nn.Linear(config.hidden_dim, math.prod(self.data_shape)))
        self.squash = nn.Tanh() if is_image else nn.Identity()  # images live in [-1, 1]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.squash(self.net(z)).view(z.shape[0], *self.data_shape)


class Discriminator(nn.Module):
    def __init__(self, config: MLPConfig, data_shape, out_features: int) -> None:
        super().__init__()
        blocks = [Residual(config.hidden_dim, 0.2) for _ in range(config.num_blocks)]
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(data_shape), config.hidden_dim), nn.LeakyReLU(0.2), *blocks, nn.Linear(config.hidden_dim, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_generator(config: MLPConfig, *, data_shape, latent_dim, is_image=False, **_) -> nn.Module:
    return Generator(config, data_shape, latent_dim, is_image)


def build_discriminator(config: MLPConfig, *, data_shape, out_features=1, **_) -> nn.Module:
    return Discriminator(config, data_shape, out_features)
'''

TEMPLATES["examples/[[name]]-digits.yaml"] = '''\
# The [[name]] family on scikit-learn's 8x8 digits: `gan run examples/[[name]]-digits.yaml`
plugin: [[name]]
algorithm:
  name: [[name]]
  latent_dim: 32
  generator: {name: dcgan-generator, base_channels: 16}
  discriminator: {name: dcgan-discriminator, base_channels: 16}
  loss: {name: hinge}
data: {name: digits}
train: {steps: 2000, batch_size: 64, sample_every: 500, checkpoint_every: 500, ema_decay: 0.99}
'''

TEMPLATES["tests/conftest.py"] = '''\
"""Fixtures from gancore.testing (fresh plugins per test, the in-process `gan`, config files), and a tiny run."""

from __future__ import annotations

import copy

import pytest

from gancore.testing import fresh_host, gan, make_trainer, write_config  # noqa: F401

TINY = {
    "plugin": "[[name]]",
    "algorithm": {
        "name": "[[name]]",
        "latent_dim": 8,
        "generator": {"name": "dcgan-generator", "base_channels": 8},
        "discriminator": {"name": "dcgan-discriminator", "base_channels": 8},
    },
    "data": {"name": "digits"},
    "train": {"steps": 8, "batch_size": 16, "log_every": 4, "sample_every": 0, "checkpoint_every": 4,
              "progress": False, "tensorboard": False},
}


@pytest.fixture
def tiny() -> dict:
    """A few steps of 8-channel DCGAN networks on the 8x8 digits: a copy to change freely."""
    return copy.deepcopy(TINY)
'''

TEMPLATES["tests/test_plugin.py"] = '''\
"""The plugin is installed and discovered, passes gancore's conformance checks, trains and resumes exactly."""

from __future__ import annotations

import json
from importlib import metadata

import gancore
from pathlib import Path

from gancore.testing import check_plugin, check_resume, checkpoint_tensors

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_plugin_is_installed():
    (ep,) = [ep for ep in metadata.entry_points(group="gancore") if ep.name == "[[name]]"]
    assert ep.value == "[[package]].plugin"
    assert ep.dist.name == "[[dist]]"


def test_it_was_written_for_this_gancores_plugin_api():
    from [[package]] import plugin

    assert plugin.gancore_api in gancore.SUPPORTED_PLUGIN_APIS


def test_gan_plugins_lists_what_it_registers(gan):
    out = gan("plugins", "--json")
    assert out.exit_code == 0, out.output
    (mine,) = [p for p in json.loads(out.output)["plugins"] if p["name"] == "[[name]]"]
    assert mine["registered"] == {"algorithms": ["[[name]]"], "models": ["[[name]]-generator", "[[name]]-discriminator"]}


def test_conformance():
    check_plugin("[[name]]")


def test_a_short_run_writes_samples_and_a_checkpoint(gan, write_config, tiny, tmp_path):
    out = gan("run", write_config(tiny), "--output", tmp_path / "run")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "run" / "samples" / "step-000008.png").is_file()
    name, tensors, _ = checkpoint_tensors(tmp_path / "run")
    assert name == "step-000008" and tensors


def test_resume_is_bit_exact(gan, write_config, tiny, tmp_path):
    check_resume(gan, write_config(tiny), tmp_path, stop_at=4)


def test_its_own_networks_learn_points_with_a_relativistic_loss(gan, write_config, tiny, tmp_path):
    tiny["algorithm"].update(
        latent_dim=2,
        generator={"name": "[[name]]-generator", "hidden_dim": 16, "num_blocks": 1},
        discriminator={"name": "[[name]]-discriminator", "hidden_dim": 16, "num_blocks": 1},
        loss={"name": "relativistic"},
    )
    tiny["data"] = {"name": "ring", "num_samples": 512}
    out = gan("run", write_config(tiny), "--output", tmp_path / "run")
    assert out.exit_code == 0, out.output


def test_the_example_config_runs(gan, tmp_path):
    sets = ["train.steps=2", "train.batch_size=8", "train.progress=false", "train.tensorboard=false"]
    out = gan("run", EXAMPLES / "[[name]]-digits.yaml", "--output", tmp_path / "run", *[a for s in sets for a in ("--set", s)])
    assert out.exit_code == 0, out.output
'''
