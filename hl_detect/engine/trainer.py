"""``Trainer``: a run's epoch loop, with everything a checkpoint and a resume need in one place.

    trainer = Trainer(TrainerConfig(...), model, optimizer, epoch_scheduler, train_loader, batches, device,
                      hooks=[EvalHook(...), EpochLogHook(...), LossSteps(...)], ...)
    trainer.restore(path)      # optional: continue where a checkpoint stopped, bit for bit
    result = trainer.fit()     # train_epoch -> save -> hooks (evaluation, logs), epoch after epoch

Checkpoints (``save``, atomic: engine/checkpoint.py) are written at the end of every epoch,
inside epochs every ``checkpoint_every_minutes`` / ``checkpoint_every_steps``, and at the end
of the current step when SIGINT or SIGTERM arrives (under DDP: at the next step that is a
multiple of ``log_every``, where the ranks agree to stop together). Each holds the position
(epoch, batches done), every rank's random generators, the epoch's running loss sums, and the model (HL
centers included), optimizer, epoch scheduler, lr warm-up and AMP scaler states (the lr
schedule: lr_schedule.py). The end-of-epoch checkpoint comes before the hooks (evaluation,
logs: hooks.py), so a crash in evaluation keeps the epoch; an older checkpoint is brought up
to date by checkpoint_upgrade.py before it is read. The data
order and augmentations are functions of that position (engine/data_order.py), so
``restore`` + ``fit`` gives the weights the uninterrupted run gives, bit for bit, on the same
machine and thread count (tests/engine/test_exact_resume.py kills a run with SIGKILL).
Nothing non-finite is ever written (engine/finite_state.py), and under DDP every stop, a
non-finite loss, a signal, the bad-image limit or rank 0's failed write, is one decision
that all ranks act on at the same step (tests/engine/test_ddp_stops.py).
"""
from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch

from .. import distributed as dist_utils
from ..signal_handlers import handling
from . import rng_state
from .checkpoint import CheckpointWriteError, copy_checkpoint, load_checkpoint, save_checkpoint
from .checkpoint_schedule import CheckpointSchedule
from .checkpoint_upgrade import upgrade_checkpoint
from .data_order import RULE, EpochBatches
from .finite_state import NonFiniteStateError, first_non_finite
from .hooks import HookBase
from .lr_schedule import warmup_scheduler
from .train_loop import EpochStats, NonFiniteLossError, train_one_epoch
from .trainer_config import TrainerConfig

CHECKPOINT = "checkpoint.pt"
EPOCH_CHECKPOINTS = "epochs"  # keep_epoch_checkpoints: <run>/epochs/epoch_NNN.pt, one per finished epoch
EVAL_KEYS = ("mAP50_area", "mAP50_voc07", "box_accuracy", "box_coverage")


class _Interrupted(Exception):
    pass


class Trainer:
    """Trains ``model`` as ``cfg`` (a TrainerConfig: epochs, checkpoint_every_*, log_every, ...) says.

    hooks: engine/hooks.py's, called in order at their points (evaluation, epoch logs, the
        loss's step hooks); ``record_evaluation`` keeps an evaluation's result in the history.
    train_model: what the steps run (the DDP wrapper under torchrun); ``model`` is what is saved.
    checkpoint_extras: more entries for every checkpoint (e.g. ``class_names``, the run's ``config``).
    stateful: objects whose ``state_dict()`` goes into every checkpoint (read when it is
        written) and whose ``load_state_dict`` runs on restore (e.g. the bad-image counts);
        one with both ``sync()`` and ``check()`` is merged over the ranks before each write
        and checked after it (a collective).
    phase: ``phase(name)`` -> a context manager around the checkpoint writes (the run's
        PhaseTimer, so the timing table shows them apart from the steps); none by default.
    """

    def __init__(self, cfg: TrainerConfig, model: torch.nn.Module, optimizer, epoch_scheduler, train_loader,
                 batches: EpochBatches, device: torch.device, *, hooks: Sequence[HookBase] = (),
                 out_dir, train_model: Optional[torch.nn.Module] = None, scaler=None, writer=None,
                 checkpoint_extras: Optional[dict] = None, stateful: Optional[dict] = None,
                 progress: bool = True, say: Callable = print, phase: Optional[Callable] = None) -> None:
        self.cfg, self.model, self.optimizer, self.epoch_scheduler = cfg, model, optimizer, epoch_scheduler
        self.train_model = train_model or model
        self.train_loader, self.batches, self.device = train_loader, batches, device
        self.hooks = list(hooks)
        for hook in self.hooks:
            hook.trainer = self
        self.out_dir, self.scaler, self.writer, self.progress, self.say = Path(out_dir), scaler, writer, progress, say
        # phase(name) -> context manager: the run's PhaseTimer (run/phase_timer.py) counts the
        # checkpoint writes apart from the steps; a Trainer used alone times nothing
        self.phase = phase or (lambda name: contextlib.nullcontext())
        self.extras = dict(checkpoint_extras or {})
        self.stateful = dict(stateful or {})  # name -> object with state_dict()/load_state_dict(), saved live
        self.main = dist_utils.is_main_process()
        self.lr_warmup = warmup_scheduler(optimizer, cfg.lr_warmup_iters or 0)
        self.schedule = CheckpointSchedule(cfg.checkpoint_every_minutes, cfg.checkpoint_every_steps)
        # the position: epoch, optimizer steps (global), batches of this epoch done, their running sums
        self.epoch, self.step, self.batches_done, self.stats = 0, 0, 0, EpochStats()
        self.epoch_complete = False  # True once every step of ``epoch`` is done (then its evaluation and checkpoint)
        self.history: list[dict] = []
        # one entry per resume of this run: {"step", "exact", "reasons"} (why it is not bit for bit)
        self.resumes: list[dict] = []
        self.train_log: list[dict] = []  # per-epoch loss means and the HL/CE gradient ratio
        self.result: dict = {}
        self.evaluated_epoch: Optional[int] = None  # the epoch ``result`` belongs to
        self.epoch_means: dict = {}
        self.stop_signal: Optional[int] = None
        # wall seconds spent in fit() (steps and evaluations), summed over resumed sessions:
        # the time axis of a learning curve (tools/checkout_curve.py)
        self.seconds_before, self.fit_started = 0.0, None

    # -- one epoch --------------------------------------------------------------------------

    def steps_in_epoch(self) -> int:
        limit = self.cfg.max_steps_per_epoch
        return len(self.batches.batch_sampler) if limit is None else min(len(self.batches.batch_sampler), limit)

    def train_epoch(self, epoch: int) -> dict:
        """Train what is left of ``epoch`` (all of it unless a mid-epoch checkpoint was restored)."""
        if epoch != self.epoch or self.epoch_complete:  # a new epoch, not the rest of a restored one
            self.epoch, self.batches_done, self.stats, self.epoch_complete = epoch, 0, EpochStats(), False
        self.batches.set_epoch(epoch, skip=self.batches_done)
        self.step, means = train_one_epoch(
            self.train_model, self.optimizer, self.train_loader, self.device, epoch, global_step=self.step,
            scaler=self.scaler, iter_scheduler=self.lr_warmup, writer=self.writer, log_every=self.cfg.log_every,
            max_steps=max(0, self.steps_in_epoch() - self.batches_done), clip_grad_norm=self.cfg.clip_grad_norm,
            on_step_end=self._after_step, progress=self.progress, stats=self.stats, hooks=self.hooks, say=self.say,
        )
        self.epoch_lr = self.optimizer.param_groups[0]["lr"]  # the lr this epoch ended with, for its line
        self.epoch_scheduler.step()
        self.epoch_complete = True
        self.train_log.append({"epoch": epoch, "step": self.step, **means})
        self.epoch_means = means
        return means

    def images_per_second(self) -> float:
        """This epoch's training speed, all ranks together."""
        return self.stats.images_per_second() * dist_utils.get_world_size()

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
        if step % max(1, self.cfg.log_every):
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

    # -- evaluation results (hooks.EvalHook evaluates) ----------------------------------------

    def record_evaluation(self, epoch: int, result: dict) -> None:
        self.result, self.evaluated_epoch = result, epoch
        self.history.append({"epoch": epoch, "step": self.step, **{k: result.get(k) for k in EVAL_KEYS}})

    # -- checkpoints ------------------------------------------------------------------------

    def state_dict(self, rng: list, epoch_stats: Optional[list] = None) -> dict:
        """The checkpoint dict (torchvision references' keys + what an exact resume needs)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "lr_scheduler": self.epoch_scheduler.state_dict(),
                "lr_warmup": self.lr_warmup.state_dict() if self.lr_warmup is not None else None,
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "epoch": self.epoch, "step": self.step, "epoch_complete": self.epoch_complete,
                "step_in_epoch": 0 if self.epoch_complete else self.batches_done,
                "epoch_stats": None if self.epoch_complete else epoch_stats,
                "data_order": self.batches.state_dict(), "rng": rng,
                "history": self.history, "train_log": self.train_log, "resumes": self.resumes,
                "stateful": {name: obj.state_dict() for name, obj in self.stateful.items()},
                "train_seconds": self.train_seconds(), **self.extras}

    def train_seconds(self) -> float:
        running = time.monotonic() - self.fit_started if self.fit_started is not None else 0.0
        return self.seconds_before + running

    def save(self) -> Optional[Path]:
        """Write the checkpoint (rank 0), with every rank's random state: a collective, every
        rank calls it at the same step (periodic ones and stops are agreed: _agree).

        Rank 0 first checks that weights and optimizer state are finite (finite_state.py); a
        non-finite state or a failed write leaves the previous checkpoint in place, and its
        error reaches every rank (run_on_main), so all ranks stop together."""
        with self.phase("checkpoints"):
            return self._save()

    def _save(self) -> Optional[Path]:
        rng, epoch_stats = rng_state.gather(), self._gather_epoch_stats()
        shared = [obj for obj in self.stateful.values() if hasattr(obj, "sync") and hasattr(obj, "check")]
        for obj in shared:  # under DDP: every rank's part (e.g. the bad images of each shard)
            obj.sync()
        # the broadcast of the outcome also keeps every rank here while rank 0 writes: no rank
        # may stop (and have torchrun end the job) half-way through the write
        path = dist_utils.run_on_main(lambda: self._write(rng, epoch_stats))
        self.schedule.saved()
        for obj in shared:  # a limit passed stops every rank here, after the work is saved
            obj.check()
        return path

    def _write(self, rng: list, epoch_stats: Optional[list]) -> Path:
        where = f"epoch {self.epoch}, step {self.step}"
        bad = first_non_finite(self.model, self.optimizer)
        if bad is not None:
            raise NonFiniteStateError(f"not saved at {where}: {bad}; {self._kept()}")
        if self.writer is not None:
            self.writer.flush()  # the TensorBoard records up to this checkpoint
        try:
            return save_checkpoint(self.state_dict(rng, epoch_stats), self.out_dir / CHECKPOINT)
        except OSError as error:
            raise CheckpointWriteError(f"could not write the checkpoint of {where}: {error}; {self._kept()}") from error

    def _kept(self) -> str:
        last = self.out_dir / CHECKPOINT
        return f"the last good checkpoint is kept: {last}" if last.exists() else "no checkpoint was written before"

    def _gather_epoch_stats(self) -> Optional[list]:
        """Mid-epoch: every rank's running sums, indexed by rank (a collective under DDP), so each
        rank resumes its own and the epoch means match an unbroken run's."""
        if self.epoch_complete:
            return None
        mine = self.stats.state_dict()
        if not dist_utils.is_distributed():
            return [mine]
        states: list = [None] * dist_utils.get_world_size()
        torch.distributed.all_gather_object(states, mine)
        return states

    def keep_epoch_checkpoint(self, epoch: int, path: Optional[Path]) -> None:
        """With ``keep_epoch_checkpoints``, copy the end-of-epoch checkpoint to
        epochs/epoch_NNN.pt (as torchvision's references keep model_N.pth), so every epoch can
        be evaluated later; written to a temporary file, synced and renamed, like the checkpoint."""
        if path is None or not self.cfg.keep_epoch_checkpoints:
            return
        copy_checkpoint(path, self.out_dir / EPOCH_CHECKPOINTS / f"epoch_{epoch:03d}.pt")

    def restore(self, path, inexact_reasons: Sequence[str] = ()) -> None:
        """Continue from a checkpoint file or run folder: after this, ``fit`` trains on exactly
        as the run that wrote it would have (from the step after the checkpoint).

        ``inexact_reasons``: what the caller changed (e.g. an allowed config change); kept with
        the random-state reasons in ``resumes`` (checkpoint, metrics.json)."""
        path = Path(path)
        path = path / CHECKPOINT if path.is_dir() else path
        ckpt = upgrade_checkpoint(load_checkpoint(path, map_location=self.device))
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])  # the lr too: both schedulers continue from it
        self.epoch_scheduler.load_state_dict(ckpt["lr_scheduler"])
        if self.lr_warmup is not None and ckpt["lr_warmup"] is not None:
            self.lr_warmup.load_state_dict(ckpt["lr_warmup"])
        if self.scaler is not None and ckpt["scaler"]:
            self.scaler.load_state_dict(ckpt["scaler"])
        self.step, self.epoch = int(ckpt["step"]), int(ckpt["epoch"])
        self.history, self.train_log = list(ckpt["history"]), list(ckpt["train_log"])
        self.seconds_before = float(ckpt["train_seconds"])
        self.epoch_complete = bool(ckpt["epoch_complete"])
        self.batches_done = 0 if self.epoch_complete else int(ckpt["step_in_epoch"])
        stats = None if self.epoch_complete else ckpt["epoch_stats"]
        self.stats = EpochStats.from_state(stats[dist_utils.get_rank() % len(stats)] if stats else None)
        for name, obj in self.stateful.items():
            if name in ckpt["stateful"]:
                obj.load_state_dict(ckpt["stateful"][name])
        inexact = self._restore_random_state(ckpt)
        reasons = [*inexact_reasons, *([inexact] if inexact else [])]
        self.resumes = [*ckpt["resumes"], {"step": self.step, "exact": not reasons, "reasons": reasons}]
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
        notes = [rng_state.restore(states[rank])]  # a note where the CUDA generators could not be set
        order = ckpt.get("data_order") or {}
        if order.get("rule") != RULE or order.get("num_batches", len(self.batches.batch_sampler)) != len(self.batches.batch_sampler):
            notes.append("the data order changed since the checkpoint (another dataset, batch size or hl_detect version)")
        return "; ".join(n for n in notes if n) or None

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
                    for hook in self.hooks:
                        hook.before_train()
                    self._epochs(start)
                except _Interrupted:
                    self.save()  # every rank stopped at the same step (_agree): all random states
                    raise SystemExit(self._stopped(epoch_saved=False))
        except NonFiniteLossError as error:  # agreed on every rank (train_loop.py)
            self.say(f"\n[stopped] {error}\n  {self._kept()}")
            raise
        except (NonFiniteStateError, CheckpointWriteError, dist_utils.RankZeroError) as error:  # from save()
            self.say(f"\n[stopped] {error}")
            raise
        for hook in self.hooks:
            hook.after_train()
        return self.result

    def _epochs(self, start: int) -> None:
        for epoch in range(start, self.cfg.epochs):
            self.train_epoch(epoch)
            self.save()  # first: a crash in what follows (evaluation) keeps the epoch
            for hook in self.hooks:
                hook.after_epoch(epoch)
            with self.phase("checkpoints"):
                self.keep_epoch_checkpoint(epoch, self.out_dir / CHECKPOINT if self.main else None)
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

        with handling(on_signal):
            yield

