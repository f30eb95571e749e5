"""Builtin plugin ``threads``: torch's CPU thread count for each training session (``train.threads``).

``gancore.threads`` decides: a fixed count, or with ``auto`` on a long enough CPU run a trial that
times the first steps at one thread and at every core. The trial is driven from the lifecycle hooks,
outside the loop: each step is timed from one ``gan_train_step_end`` to the next. The choice is
said in one line on stderr at the start of every session (``threads: ...``), and the trial's result
when it has measured; it is kept as ``run.threads``.
"""

from __future__ import annotations

import time

from gancore import hookimpl

_trials: dict[int, list] = {}  # id(run) -> [the trial, when the step it times began]


@hookimpl
def gan_train_start(run):
    from gancore import threads

    cfg = run.config.train
    resumed_with = run.restored_meta.get("threads") if run.restored is not None else None
    plan = threads.plan(cfg.threads, num_processes=run.accelerator.num_processes, device=run.accelerator.device,
                        steps_left=cfg.steps - run.step, resumed_with=resumed_with)
    if plan is not None:
        _chosen(run, plan)
        return
    trial = threads.ThreadTrial()
    run.say(f"threads: auto times the first steps at {' and at '.join(str(n) for n in trial.settings)} threads, then keeps the faster")
    trial.next_threads()
    _trials[id(run)] = [trial, time.perf_counter()]


@hookimpl
def gan_train_step_end(run, step, logs):
    timing = _trials.get(id(run))
    if timing is None:
        return
    trial, began = timing
    if trial.record(time.perf_counter() - began):
        _chosen(run, trial.result)
        if trial.finished:
            del _trials[id(run)]
            return
    trial.next_threads()
    timing[1] = time.perf_counter()


@hookimpl
def gan_train_end(run, step, status):
    _trials.pop(id(run), None)


def _chosen(run, plan) -> None:
    import torch

    if plan.threads is not None and plan.threads != torch.get_num_threads():
        torch.set_num_threads(plan.threads)
    run.threads = plan
    run.say(plan.message())
