"""train.threads: auto's decision from measured step times (no timing here), what overrides it, and the trial's
wiring into a run."""

from __future__ import annotations

import pytest
import torch

from gancore import threads
from gancore.config import TrainConfig
from gancore.errors import UserError
from gancore.threads import ThreadTrial, choose, plan

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_choose_keeps_the_setting_with_the_faster_median():
    assert choose({1: [0.010, 0.011, 0.012], 2: [0.006, 0.005, 0.007]}) == 2
    assert choose({1: [0.004, 0.004, 0.005], 2: [0.030, 0.029, 0.031]}) == 1


def test_choose_prefers_fewer_threads_unless_more_are_clearly_faster():
    # 5% faster with two threads is within the margin: one thread keeps a core free for whatever starts later.
    assert choose({1: [0.0100] * 3, 2: [0.0095] * 3}) == 1
    assert choose({1: [0.0100] * 3, 2: [0.0090] * 3}) == 2
    assert choose({1: [0.0100] * 3, 2: [0.0095] * 3}, margin=0.96) == 2


def test_choose_is_not_swayed_by_one_slow_step():
    # One step at one thread that something outside slowed (a checkpoint of another process, a page fault storm).
    assert choose({1: [0.010, 0.010, 0.500], 2: [0.020, 0.021, 0.019]}) == 1


def test_choose_with_more_than_two_settings_and_nothing_timed():
    assert choose({1: [1.0], 2: [0.6], 4: [0.58]}) == 2  # 4 threads gain too little over 2
    assert choose({1: [1.0], 2: [0.6], 4: [0.4]}) == 4
    with pytest.raises(ValueError, match="no step was timed"):
        choose({1: [], 2: []})


def test_plan_overrides_in_order():
    auto = dict(num_processes=1, device=CPU, steps_left=10_000)
    assert plan(3, **auto, environ={"OMP_NUM_THREADS": "1"}).threads == 3  # the run file's number wins
    torch.set_num_threads(1)
    env = plan("auto", **auto, environ={"OMP_NUM_THREADS": "1"})
    assert (env.threads, env.reason) == (1, "OMP_NUM_THREADS is set")
    assert plan("auto", num_processes=2, device=CPU, steps_left=10_000, environ={}).threads == 1
    assert plan("auto", num_processes=1, device=torch.device("cuda"), steps_left=10_000, environ={}).threads is None
    short = plan("auto", num_processes=1, device=CPU, steps_left=threads.TRIAL_MIN_STEPS - 1, environ={})
    assert short.threads == 1 and "too short" in short.reason


def test_resumed_run_takes_the_count_its_checkpoint_was_written_with(gan, write_config, tmp_path, monkeypatch):
    from tests.conftest import TINY_RING

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    assert plan("auto", num_processes=1, device=CPU, steps_left=10_000, resumed_with=2, environ={}).threads == 2
    assert plan("auto", num_processes=1, device=CPU, steps_left=10_000, resumed_with=8, environ={}).threads == 2  # fewer cores now
    assert plan(1, num_processes=1, device=CPU, steps_left=10_000, resumed_with=2, environ={}).threads == 1
    path = write_config(TINY_RING)
    assert gan("run", path, "--output", tmp_path / "run", "--steps", "10", "--set", "train.threads=2").exit_code == 0
    torch.set_num_threads(1)
    result = gan("run", path, "--output", tmp_path / "run", "--steps", "20", "--resume")
    assert result.exit_code == 0, result.output
    assert torch.get_num_threads() == 2  # auto, resumed: not the one thread of a short fresh run


def test_plan_leaves_long_cpu_runs_to_the_trial(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    assert plan("auto", num_processes=1, device=CPU, steps_left=10_000, environ={"OMP_NUM_THREADS": " "}) is None
    monkeypatch.setattr(threads, "available_cores", lambda: 1)
    assert plan("auto", num_processes=1, device=CPU, steps_left=10_000, environ={}).reason == "one core available"


def drive(trial: ThreadTrial, seconds_at, limit: int = 1000) -> list[int]:
    """Run a trial on made-up step times (a dict by thread count, or a function of the steps asked so
    far) until it chooses; returns the thread count of every step."""
    asked = []
    while len(asked) < limit:
        n = trial.next_threads()
        assert torch.get_num_threads() == n
        asked.append(n)
        if trial.record(seconds_at[n] if isinstance(seconds_at, dict) else seconds_at(asked)):
            return asked
    raise AssertionError(f"no choice after {limit} steps")


def test_trial_alternates_settings_and_applies_its_choice():
    trial = ThreadTrial(cores=2)
    asked = drive(trial, {1: 0.05, 2: 0.04})  # 2 threads 20% faster: stops at TRIAL_SECONDS or MAX_ROUNDS
    b = trial.block
    assert b == 1 + 5  # 50 ms steps: blocks of about BLOCK_SECONDS (0.25 s), plus the untimed step after a switch
    # warm-up, then rounds in alternating order (1, 2 | 2, 1): a load that drifts favours neither
    assert asked[:1] == [1] and asked[1:1 + 4 * b] == [1] * b + [2] * b + [2] * b + [1] * b
    switches = sum(1 for x, y in zip(asked, asked[1:]) if x != y)
    assert switches <= 8, "few changes of thread count: each one slows later steps"
    assert trial.result.threads == 2 and torch.get_num_threads() == 2 and not trial.finished
    rounds = len(trial.result.trial[1])
    assert rounds == len(trial.result.trial[2]) >= threads.MIN_ROUNDS
    assert "auto chose 2 after a " in trial.result.message() and "1 thread 50.0 ms/step" in trial.result.message()
    assert trial.result.trial_steps == len(asked)


def test_trial_of_fast_steps_stops_after_max_rounds():
    trial = ThreadTrial(cores=2)
    asked = drive(trial, {1: 0.001, 2: 0.00105})
    assert trial.block == threads.MAX_BLOCK  # 1 ms steps are timed in blocks
    assert len(asked) == threads.WARMUP_STEPS + 2 * threads.MAX_ROUNDS * threads.MAX_BLOCK
    assert trial.result.threads == 1 and torch.get_num_threads() == 1 and trial.finished


def test_fast_steps_are_timed_in_blocks_without_the_step_after_a_switch():
    """Waking or parking threads slows the first step after a change of setting: it is not timed."""
    def seconds(asked):
        switched = len(asked) > 1 and asked[-1] != asked[-2]
        return 0.010 if switched else {1: 0.005, 2: 0.004}[asked[-1]]

    trial = ThreadTrial(cores=2)
    asked = drive(trial, seconds)
    block = trial.block
    assert block == 1 + 50  # 5 ms warm-up step: blocks of about 250 ms
    assert asked[1:1 + 4 * block] == [1] * block + [2] * block + [2] * block + [1] * block
    assert trial.result.threads == 2 and trial.result.trial[2] == pytest.approx([0.004] * len(trial.result.trial[2]))


def test_trial_stops_early_when_a_setting_is_far_slower():
    trial = ThreadTrial(cores=2)
    asked = drive(trial, {1: 1.0, 2: 20.0})  # many threads beside a busy process: one round tells
    assert len(asked) == threads.WARMUP_STEPS + 2 and trial.result.threads == 1
    trial = ThreadTrial(cores=2)
    asked = drive(trial, {1: 1.0, 2: 3.0})  # 3 times slower: two rounds
    assert len(asked) == threads.WARMUP_STEPS + 4 and trial.result.threads == 1
    assert "median of 2 rounds" in trial.result.message()


def test_trial_measures_again_when_the_chosen_setting_slows_down():
    trial = ThreadTrial(cores=2)
    drive(trial, {1: 0.05, 2: 0.03})
    assert trial.result.threads == 2
    for _ in range(threads.WATCH_STEPS):  # 50% slower: not enough to pay for a new trial
        assert trial.next_threads() == 2 and not trial.record(0.045)
    for _ in range(threads.WATCH_STEPS):  # a busy process started: the two threads wait for each other
        assert not trial.record(0.5)
    asked = drive(trial, {1: 0.05, 2: 0.5})
    b = trial.block
    assert asked[:2 + b] == [1] + [1] * b + [2] and trial.result.threads == 1 and trial.finished
    assert "measured again: steps at 2 threads had become 16.7x slower" in trial.result.message()  # 0.5 s against 0.03


def test_threads_option_validation():
    assert TrainConfig().threads == "auto"
    assert TrainConfig(threads=2).threads == 2


@pytest.mark.parametrize("value", ["0", "many"])
def test_bad_threads_value_is_a_user_error(gan, tmp_path, value):
    result = gan("run", "--plugin", "gan", "--set", f"train.threads={value}", "--output", str(tmp_path / "run"))
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit) or isinstance(result.exception, UserError)
    assert "train.threads" in result.output


def test_auto_trial_runs_in_a_real_run(tmp_path, monkeypatch, capsys):
    """A CPU run long enough for the trial: it times steps at both settings and says what it chose, once."""
    from gancore import Run, fit, plugins
    from gancore.config import build_run_config
    from tests.conftest import TINY_RING

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    monkeypatch.setattr(threads, "TRIAL_SECONDS", 0.0)
    monkeypatch.setattr(threads, "BLOCK_SECONDS", 0.0)  # one step per block: the trial fits in 100 steps
    monkeypatch.setattr(threads, "TRIAL_MIN_STEPS", 100)
    config = {**TINY_RING, "train": {**TINY_RING["train"], "steps": 100, "log_every": 50, "checkpoint_every": 0}}
    host = plugins.get_host()
    run = Run.from_config(build_run_config(host.registry, None, config, []), host, tmp_path / "run", training=True)
    fit(run)
    chosen = run.threads
    assert chosen.reason == "auto" and set(chosen.trial) == {1, 2}
    assert 1 <= len(chosen.trial[1]) == len(chosen.trial[2]) <= threads.MIN_ROUNDS  # fewer when far apart
    assert torch.get_num_threads() == chosen.threads
    err = capsys.readouterr().err
    assert err.count("threads: auto chose") == 1


def test_every_session_says_its_thread_count_in_one_line(gan, write_config, tmp_path, monkeypatch):
    from tests.conftest import TINY_RING

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "available_cores", lambda: 2)
    config = write_config({**TINY_RING, "train": {**TINY_RING["train"], "steps": 6, "checkpoint_every": 3}})
    first = gan("run", config, "--output", tmp_path / "r", "--steps", 3)
    assert first.exit_code == 0 and first.output.count("threads: ") == 1
    assert "threads: 1 thread (auto: a run of 3 steps is too short to measure)" in first.output
    resumed = gan("run", config, "--output", tmp_path / "r", "--resume")
    assert resumed.exit_code == 0 and resumed.output.count("threads: ") == 1
    assert "threads: 1 thread (auto: as when the checkpoint was written, so the resume is exact)" in resumed.output
