"""``Trainer``: a run's epoch loop, with everything a checkpoint and a resume need in one place.

    trainer = Trainer(cfg, model, optimizer, epoch_scheduler, train_loader, batches, device, ...)
    trainer.restore(path)      # optional: continue where a checkpoint stopped, bit for bit
    result = trainer.fit()     # train_epoch -> evaluate -> save, epoch after epoch

Checkpoints (``save``, atomic: engine/checkpoint.py) are written at the end of every epoch,
inside epochs every ``checkpoint_every_minutes`` / ``checkpoint_every_steps``, and at the end
of the current step when SIGINT or SIGTERM arrives (under DDP: at the next step that is a
multiple of ``log_every``, where the ranks agree to stop together). Each holds the position
(epoch, batches done), every rank's random generators, the epoch's running loss sums, and the model (HL
centers included), optimizer, epoch scheduler, lr warm-up and AMP scaler states. The data
order and augmentations are functions of that position (engine/data_order.py), so
``restore`` + ``fit`` gives the weights the uninterrupted run gives, bit for bit, on the same
machine and thread count (tests/tools/test_tools_exact_resume.py kills a run with SIGKILL).
"""
from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path
from typing import Callable, Optional

import torch

from .. import distributed as dist_utils
from . import rng_state
from .checkpoint import copy_checkpoint, load_checkpoint, save_checkpoint
from .checkpoint_schedule import CheckpointSchedule
from .data_order import RULE, EpochBatches
from .lr_warmup import IterWarmup
from .train_loop import EpochStats, NonFiniteLossError, train_one_epoch

CHECKPOINT = "checkpoint.pt"
EPOCH_CHECKPOINTS = "epochs"  # keep_epoch_checkpoints: <run>/epochs/epoch_NNN.pt, one per finished epoch
EVAL_KEYS = ("mAP50_area", "mAP50_voc07", "box_accuracy", "box_coverage")


class _Interrupted(Exception):
    pass


class Trainer:
    """Trains ``model`` as ``cfg`` says (epochs, eval_every, checkpoint_every_*, log_every, ...).

    evaluation: ``evaluation(model, step, epoch) -> result dict`` (metrics, and whatever
        logging the run wants); the trainer keeps the history and the epoch lines.
    train_model: what the steps run (the DDP wrapper under torchrun); ``model`` is what is saved.
    checkpoint_extras: more entries for every checkpoint (e.g. ``class_names``).
    stateful: objects whose ``state_dict()`` goes into every checkpoint (read when it is
        written) and whose ``load_state_dict`` runs on restore (e.g. the bad-image counts);
        one with both ``sync()`` and ``check()`` is merged over the ranks before each write
        and checked after it (a collective).
    """

    def __init__(self, cfg: dict, model: torch.nn.Module, optimizer, epoch_scheduler, train_loader,
                 batches: EpochBatches, device: torch.device, *, evaluation: Callable[..., dict],
                 out_dir, train_model: Optional[torch.nn.Module] = None, scaler=None, writer=None,
                 checkpoint_extras: Optional[dict] = None, stateful: Optional[dict] = None,
                 progress: bool = True, say: Callable = print) -> None:
        self.cfg, self.model, self.optimizer, self.epoch_scheduler = cfg, model, optimizer, epoch_scheduler
        self.train_model = train_model or model
        self.train_loader, self.batches, self.device, self.evaluation = train_loader, batches, device, evaluation
        self.out_dir, self.scaler, self.writer, self.progress, self.say = Path(out_dir), scaler, writer, progress, say
        self.extras = dict(checkpoint_extras or {})
        self.stateful = dict(stateful or {})  # name -> object with state_dict()/load_state_dict(), saved live
        self.main = dist_utils.is_main_process()
        self.iter_warmup = IterWarmup(optimizer, cfg.get("lr_warmup_iters", 0) or 0)
        self.schedule = CheckpointSchedule(cfg.get("checkpoint_every_minutes", 10), cfg.get("checkpoint_every_steps", 0))
        # the position: epoch, optimizer steps (global), batches of this epoch done, their running sums
        self.epoch, self.step, self.batches_done, self.stats = 0, 0, 0, EpochStats()
        self.epoch_complete = False  # True once every step of ``epoch`` is done (then its evaluation and checkpoint)
        self.history: list[dict] = []
        self.train_log: list[dict] = []  # per-epoch loss means and the HL/CE gradient ratio
        self.result: dict = {}
        self.stop_signal: Optional[int] = None
        # wall seconds spent in fit() (steps and evaluations), summed over resumed sessions:
        # the time axis of a learning curve (tools/checkout_curve.py)
        self.seconds_before, self.fit_started = 0.0, None

    # -- one epoch --------------------------------------------------------------------------

    def steps_in_epoch(self) -> int:
        limit = self.cfg.get("max_steps_per_epoch")
        return len(self.batches.batch_sampler) if limit is None else min(len(self.batches.batch_sampler), limit)

    def train_epoch(self, epoch: int) -> dict:
        """Train what is left of ``epoch`` (all of it unless a mid-epoch checkpoint was restored)."""
        if epoch != self.epoch or self.epoch_complete:  # a new epoch, not the rest of a restored one
            self.epoch, self.batches_done, self.stats, self.epoch_complete = epoch, 0, EpochStats(), False
        self.batches.set_epoch(epoch, skip=self.batches_done)
        self.step, means = train_one_epoch(
            self.train_model, self.optimizer, self.train_loader, self.device, epoch, global_step=self.step,
            scaler=self.scaler, iter_scheduler=self.iter_warmup, writer=self.writer, log_every=self.cfg.get("log_every", 20),
            max_steps=max(0, self.steps_in_epoch() - self.batches_done), clip_grad_norm=self.cfg.get("clip_grad_norm"),
            on_step_end=self._after_step, progress=self.progress, stats=self.stats,
        )
        self.epoch_lr = self.optimizer.param_groups[0]["lr"]  # the lr this epoch ended with, for its line
        self.epoch_scheduler.step()
        self.epoch_complete = True
        self.train_log.append({"epoch": epoch, "step": self.step, **means})
        return means

    def _after_step(self, step: int) -> None:
        self.step, self.batches_done = step, self.batches_done + 1
        stop, due_by_time = self._agree(step)
        if stop:
            raise _Interrupted()
        # the epoch's last step is followed by the end-of-epoch checkpoint anyway
        if self.batches_done < self.steps_in_epoch() and (self.schedule.due_by_steps(step) or due_by_time):
            self.save()
            self.say(f"[checkpoint] step {step} (epoch {self.epoch}, {self.batches_done} of {self.steps_in_epoch()} batches)")

    def _agree(self, step: int) -> tuple[bool, bool]:
        """(stop now?, a checkpoint due by the clock?), the same answer on every rank.

        Under DDP clocks differ between ranks and a signal may reach one rank only (a ``kill``
        of rank 0) or all of them (torchrun, ``scancel``). Every rank listens, and every
        ``log_every`` steps one all-reduce of (signal, clock) makes the ranks stop or save at
        the same step, so an interrupted run still holds every rank's random state. No host
        sync on the steps in between; a pre-emption's grace (torchrun, SLURM: 30 s) must cover
        ``log_every`` steps."""
        if not dist_utils.is_distributed():
            return self.stop_signal is not None, self.schedule.due_by_time()
        if step % max(1, self.cfg.get("log_every", 20)):
            return False, False
        signum, due = self._max_over_ranks([self.stop_signal or 0, float(self.schedule.due_by_time())])
        return signum > 0, due > 0

    def _max_over_ranks(self, values: list) -> list:
        """``values`` reduced by max over the ranks; a stop signal seen anywhere becomes this rank's."""
        flags = dist_utils.all_reduce_max_(torch.tensor(values, dtype=torch.float64, device=self.device)).tolist()
        if flags[0] > 0 and self.stop_signal is None:
            self.stop_signal = int(flags[0])
        return flags

    def _stop_at_epoch_end(self) -> bool:
        """Did a signal arrive on any rank during the epoch's tail or its evaluation? Decided on
        the reduced value: a signal landing after the all-reduce waits for the next agreement."""
        if dist_utils.is_distributed():
            return self._max_over_ranks([self.stop_signal or 0])[0] > 0
        return self.stop_signal is not None

    # -- evaluation -------------------------------------------------------------------------

    def evaluate(self, epoch: int) -> dict:
        self.result = self.evaluation(self.model, step=self.step, epoch=epoch)
        self.history.append({"epoch": epoch, "step": self.step, **{k: self.result.get(k) for k in EVAL_KEYS}})
        return self.result

    def _evaluate_now(self, epoch: int) -> bool:
        return (epoch + 1) % max(1, self.cfg.get("eval_every", 1)) == 0 or epoch + 1 == self.cfg["epochs"]

    # -- checkpoints ------------------------------------------------------------------------

    def state_dict(self, rng: list) -> dict:
        """The checkpoint dict (torchvision references' keys + what an exact resume needs)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "lr_scheduler": self.epoch_scheduler.state_dict(), "lr_warmup": self.iter_warmup.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "epoch": self.epoch, "step": self.step, "epoch_complete": self.epoch_complete,
                "step_in_epoch": 0 if self.epoch_complete else self.batches_done,
                "epoch_stats": None if self.epoch_complete else self.stats.state_dict(),
                "data_order": self.batches.state_dict(), "rng": rng,
                "config": self.cfg, "history": self.history, "train_log": self.train_log,
                "stateful": {name: obj.state_dict() for name, obj in self.stateful.items()},
                "train_seconds": self.train_seconds(), **self.extras}

    def train_seconds(self) -> float:
        running = time.monotonic() - self.fit_started if self.fit_started is not None else 0.0
        return self.seconds_before + running

    def save(self) -> Optional[Path]:
        """Write the checkpoint (rank 0), with every rank's random state: a collective, every
        rank calls it at the same step (periodic ones and stops are agreed: _agree)."""
        rng = rng_state.gather()
        shared = [obj for obj in self.stateful.values() if hasattr(obj, "sync") and hasattr(obj, "check")]
        for obj in shared:  # under DDP: every rank's part (e.g. the bad images of each shard)
            obj.sync()
        path = None
        if self.main:
            if self.writer is not None:
                self.writer.flush()  # the TensorBoard records up to this checkpoint
            path = save_checkpoint(self.state_dict(rng), self.out_dir / CHECKPOINT)
        self.schedule.saved()
        if shared:
            dist_utils.barrier()  # no rank may stop (and have torchrun end the job) while rank 0 writes
        for obj in shared:  # a limit passed stops every rank here, after the work is saved
            obj.check()
        return path

    def keep_epoch_checkpoint(self, epoch: int, path: Optional[Path]) -> None:
        """With ``keep_epoch_checkpoints``, copy the end-of-epoch checkpoint to
        epochs/epoch_NNN.pt (as torchvision's references keep model_N.pth), so every epoch can
        be evaluated later; written to a temporary file, synced and renamed, like the checkpoint."""
        if path is None or not self.cfg.get("keep_epoch_checkpoints", False):
            return
        copy_checkpoint(path, self.out_dir / EPOCH_CHECKPOINTS / f"epoch_{epoch:03d}.pt")

    def restore(self, path) -> None:
        """Continue from a checkpoint file or run folder: after this, ``fit`` trains on exactly
        as the run that wrote it would have (from the step after the checkpoint)."""
        path = Path(path)
        path = path / CHECKPOINT if path.is_dir() else path
        ckpt = load_checkpoint(path, map_location=self.device)
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.epoch_scheduler.load_state_dict(ckpt["lr_scheduler"])
        if self.scaler is not None and ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.step, self.epoch = int(ckpt["step"]), int(ckpt["epoch"])
        # checkpoints written before the warm-up was saved: it had run min(step, iters) steps from the epoch lr
        warmup = ckpt.get("lr_warmup") or {"count": min(self.step, self.iter_warmup.iters), "base": self.epoch_scheduler.get_last_lr()}
        self.iter_warmup.load_state_dict(warmup)
        self.history, self.train_log = list(ckpt.get("history", [])), list(ckpt.get("train_log", []))
        self.seconds_before = float(ckpt.get("train_seconds", 0.0))
        self.epoch_complete = bool(ckpt.get("epoch_complete", True))
        self.batches_done = 0 if self.epoch_complete else int(ckpt["step_in_epoch"])
        self.stats = EpochStats.from_state(None if self.epoch_complete else ckpt.get("epoch_stats"))
        for name, obj in self.stateful.items():
            if name in (ckpt.get("stateful") or {}):
                obj.load_state_dict(ckpt["stateful"][name])
        inexact = self._restore_random_state(ckpt)
        start = self.epoch + 1 if self.epoch_complete else self.epoch
        self.say(f"[resume] {path}: epoch {start}, step {self.step}" + (f" (+{self.batches_done} batches done)" if self.batches_done else ""))
        if inexact:
            self.say(f"[resume] note: {inexact}; training continues, but not bit for bit as an uninterrupted run")

    def _restore_random_state(self, ckpt: dict) -> Optional[str]:
        """Restore this rank's generators; returns why the resume cannot be exact, if it cannot."""
        states, rank, world = ckpt.get("rng"), dist_utils.get_rank(), dist_utils.get_world_size()
        if not states:
            return "the checkpoint holds no random state (written by an older hl_detect)"
        if len(states) != world:
            return f"the checkpoint was written by {len(states)} processes, this run has {world}"
        if states[rank] is None:
            return f"rank {rank}'s random state was not saved (written at a stop by an older hl_detect, which saved rank 0's alone)"
        rng_state.restore(states[rank])
        order = ckpt.get("data_order") or {}
        if order.get("rule") != RULE or order.get("num_batches", len(self.batches.batch_sampler)) != len(self.batches.batch_sampler):
            return "the data order changed since the checkpoint (another dataset, batch size or hl_detect version)"
        return None

    # -- the loop ---------------------------------------------------------------------------

    def fit(self) -> dict:
        """Train the remaining epochs; returns the last evaluation (evaluating once if none ran)."""
        start = self.epoch + 1 if self.epoch_complete else self.epoch
        self.fit_started = time.monotonic()
        try:
            # the handlers stay in place through the stop checkpoint: a second Ctrl-C or SIGTERM
            # must not kill a rank in the middle of the collective save
            with self._stop_on_signals():
                try:
                    self._epochs(start)
                except _Interrupted:
                    self.save()  # every rank stopped at the same step (_agree): all random states
                    raise SystemExit(self._stopped(epoch_saved=False))
        except NonFiniteLossError as error:
            last = self.out_dir / CHECKPOINT
            self.say(f"\n[stopped] {error}\n  the last good checkpoint is kept: {last if last.exists() else 'none written yet'}")
            raise
        if not self.result:  # nothing left to train (e.g. resumed a finished run): evaluate once
            self.result = self.evaluation(self.model, step=self.step, epoch=None)
        return self.result

    def _epochs(self, start: int) -> None:
        for epoch in range(start, self.cfg["epochs"]):
            means = self.train_epoch(epoch)
            evaluated = self.evaluate(epoch) if self._evaluate_now(epoch) else None
            self.say(epoch_line(epoch, means, self.epoch_lr,
                                self.stats.images_per_second() * dist_utils.get_world_size(), evaluated))
            if self.writer is not None:
                for key, value in means.items():
                    self.writer.add_scalar(f"epoch/{key}", value, epoch)
            self.keep_epoch_checkpoint(epoch, self.save())
            # a signal that arrived during evaluation: the epoch is saved; under DDP this is an
            # all-reduce, so no rank runs ahead into the next epoch while rank 0 writes
            if self._stop_at_epoch_end():
                raise SystemExit(self._stopped(epoch_saved=True))

    def _stopped(self, epoch_saved: bool) -> int:
        where = f"end of epoch {self.epoch}" if epoch_saved else f"epoch {self.epoch}, step {self.step}"
        self.say(f"\n[interrupted] signal {self.stop_signal}: saved a resumable checkpoint {self.out_dir / CHECKPOINT} "
                 f"({where}); continue with --resume {self.out_dir}")
        return 128 + int(self.stop_signal or signal.SIGINT)

    @contextlib.contextmanager
    def _stop_on_signals(self):
        """SIGINT/SIGTERM ask for a stop, then a checkpoint, at the end of the current step
        (under DDP every rank listens, and the stop comes at the next agreed step: _agree);
        the previous handlers come back afterwards."""
        def on_signal(signum, frame):
            self.stop_signal = signum

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"


def epoch_line(epoch: int, means: dict, lr: float, images_per_second: float, result: Optional[dict] = None) -> str:
    """One line per epoch, so a log without progress bars is never silent between evaluations:
    the loss means, lr, speed, the HL/CE gradient ratio where measured, and the evaluation if one ran."""
    terms = " ".join(f"{k}={v:.4f}" for k, v in means.items() if k.startswith("loss"))
    line = f"[epoch {epoch}] {terms} lr={lr:.3g} {images_per_second:.1f} img/s"
    ratio = means.get("grad_ratio")
    if ratio is not None:
        line += f" | extra/CE gradient ratio at the box features {ratio:.3g}"
    if result:
        line += f" | AP@0.5 (area) {_pct(result.get('mAP50_area'))} box accuracy {_pct(result.get('box_accuracy'))}"
    return line

