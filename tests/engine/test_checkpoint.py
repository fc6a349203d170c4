"""Atomic checkpoints, safe loading, and Ctrl-C/SIGTERM -> resumable mid-epoch checkpoint."""
import os
import signal

import pytest
import torch

import hl_detect.engine.trainer as trainer_module
import hl_detect.run.train as runner
from hl_detect.engine import load_checkpoint, save_checkpoint
from tiny_runs import tiny_config


def test_kill_mid_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    save_checkpoint({"epoch": 1, "w": torch.ones(3)}, path)
    real_save = torch.save

    def dying_save(obj, handle, *args, **kwargs):
        handle.write(b"partial bytes of a checkpoint")
        raise KeyboardInterrupt  # the process is killed half-way through the write

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"epoch": 2, "w": torch.zeros(3)}, path)
    monkeypatch.setattr(torch, "save", real_save)
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left behind


def test_checkpoint_cannot_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"model": Evil()}, path)
    with pytest.raises(RuntimeError, match="not a loadable hl_detect checkpoint"):
        load_checkpoint(path)
    (tmp_path / "torn.pt").write_bytes(b"\x80\x02garbage")
    with pytest.raises(RuntimeError, match="torn.pt"):
        load_checkpoint(tmp_path / "torn.pt")


def test_sigterm_saves_resumable_checkpoint_mid_epoch(tiny_data, tmp_path, monkeypatch):
    run = tmp_path / "run"
    cfg = tiny_config(tiny_data, run, "epochs=1", "max_steps_per_epoch=3", "batch_size=2")
    real_train = trainer_module.train_one_epoch

    def train_then_sigterm(*args, on_step_end=None, **kwargs):
        def hook(step):
            if step == 1:
                os.kill(os.getpid(), signal.SIGTERM)  # as if the scheduler preempted the job
            on_step_end(step)

        return real_train(*args, on_step_end=hook, **kwargs)

    monkeypatch.setattr(trainer_module, "train_one_epoch", train_then_sigterm)
    with pytest.raises(SystemExit) as stopped:
        runner.run_training(cfg, progress=False)
    assert stopped.value.code == 128 + signal.SIGTERM
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert (ckpt["epoch"], ckpt["step"], ckpt["epoch_complete"], ckpt["step_in_epoch"]) == (0, 1, False, 1)

    monkeypatch.setattr(trainer_module, "train_one_epoch", real_train)
    result = runner.run_training(cfg, resume=str(run), progress=False)
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert (ckpt["epoch"], ckpt["step"], ckpt["epoch_complete"]) == (0, 3, True)  # continued, not restarted
    assert "mAP50_area" in result


def test_a_crash_in_evaluation_keeps_the_epoch(tiny_data, tmp_path, monkeypatch):
    """The end-of-epoch checkpoint comes before evaluation; the resumed run evaluates that epoch."""
    import hl_detect.run.evaluate as run_evaluate

    run = tmp_path / "run"
    cfg = tiny_config(tiny_data, run, "epochs=1", "max_steps_per_epoch=2", "eval_coco=false", "projector=false")
    real_evaluate = run_evaluate.evaluate_run

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory in evaluation")

    monkeypatch.setattr(run_evaluate, "evaluate_run", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        runner.run_training(cfg, progress=False)
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert (ckpt["epoch"], ckpt["step"], ckpt["epoch_complete"], ckpt["history"]) == (0, 2, True, [])

    monkeypatch.setattr(run_evaluate, "evaluate_run", real_evaluate)
    result = runner.run_training(cfg, resume=str(run), progress=False)
    ckpt = load_checkpoint(run / "checkpoint.pt")
    assert ckpt["step"] == 2 and [h["epoch"] for h in ckpt["history"]] == [0]  # evaluated, not trained again
    assert "mAP50_area" in result
