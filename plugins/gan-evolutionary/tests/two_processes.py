"""Run by test_multiprocess.py under torchrun: ``gan run CONFIG --output RUN`` in this process, then
each rank writes its final generator to RUN/generator-rank<R>.safetensors. With ``--no-reduce`` the
fitness is not averaged over processes (Accelerator.reduce does nothing), to show what that changes."""

from __future__ import annotations

import sys
from pathlib import Path

from safetensors.torch import save_file

from gancore import hookimpl, plugins


class DumpGenerator:
    @hookimpl
    def gan_train_end(self, run, step, status):
        algorithm = run.algorithm
        state = {k: v.detach().cpu().contiguous() for k, v in algorithm.ctx.unwrap(algorithm.generator).state_dict().items()}
        save_file(state, str(Path(run.run_dir) / f"generator-rank{run.accelerator.process_index}.safetensors"))


def main() -> None:
    config, run_dir, *flags = sys.argv[1:]
    if "--no-reduce" in flags:
        from accelerate import Accelerator

        Accelerator.reduce = lambda self, tensor, reduction="sum", scale=1.0: tensor.clone()
    plugins.get_host().register_plugin(DumpGenerator(), "dump-generator")
    from gancore.cli import cli

    cli(["run", config, "--output", run_dir], standalone_mode=False)


if __name__ == "__main__":
    main()
