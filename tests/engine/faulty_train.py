"""train_det with a fault put in from outside, for the tests of how every rank stops together
(test_ddp_stops.py). The library has no test hooks: this script patches it, then runs the tool.

    NAN_LOSS_AT="RANK:N"   that rank's N-th training forward pass (1-based) returns a NaN loss
    FAIL_SAVE_AT="N"       rank 0's N-th checkpoint write fails with "No space left on device"
"""
import errno
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import hl_detect.engine.trainer as trainer_module  # noqa: E402
import hl_detect.run.train as run_module  # noqa: E402
from hl_detect.run.commands.train import cli  # noqa: E402


def nan_loss_at(rank: int, call: int) -> None:
    build = run_module.build_model_from_config

    def build_faulty(*args, **kwargs):
        model = build(*args, **kwargs)
        forward, calls = model.forward, [0]

        def faulty_forward(*a, **k):
            out = forward(*a, **k)
            if model.training:
                calls[0] += 1
                if calls[0] == call and int(os.environ.get("RANK", 0)) == rank:
                    out = dict(out, loss_classifier=out["loss_classifier"] * float("nan"))
            return out

        model.forward = faulty_forward  # DDP calls the module, which calls this
        return model

    run_module.build_model_from_config = build_faulty


def fail_save_at(call: int) -> None:
    save, calls = trainer_module.save_checkpoint, [0]

    def faulty_save(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(*args, **kwargs)

    trainer_module.save_checkpoint = faulty_save


if __name__ == "__main__":
    if os.environ.get("NAN_LOSS_AT"):
        nan_loss_at(*map(int, os.environ["NAN_LOSS_AT"].split(":")))
    if os.environ.get("FAIL_SAVE_AT"):
        fail_save_at(int(os.environ["FAIL_SAVE_AT"]))
    cli()
