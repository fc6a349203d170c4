"""``run_training(cfg)``: the whole train -> evaluate -> report job behind tools/train_det.py.

Reads a resolved config (hl_detect.run.config), builds data, model, optimizer and schedule,
and hands them to the ``Trainer`` (hl_detect/engine/trainer.py: the epoch loop, checkpoints
at every epoch end, every ``checkpoint_every_minutes``/``_steps`` and on Ctrl-C/SIGTERM, and
exact resume). Evaluates every ``eval_every`` epochs and at the end, writes TensorBoard
events, the per-class report and ``metrics.json`` (with the software environment) into the
run folder, and returns the final metrics. Works under torchrun (DDP; rank 0 prints and saves).
What rank 0 prints is also kept in the run folder's ``train.log`` (console_log.py), and the
confusion matrix and learning curve are drawn there after each evaluation (figures_hook.py).
Every session ends with a ``[time]`` block, also in metrics.json under ``timing``: where its
wall time went, phase by phase (phase_timer.py), so the cost of what is not training shows.
"""
from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .. import distributed as dist_utils
from ..atomic_files import write_text_atomic
from ..convert import bind_process_group
from ..data.bad_images import BadImageTracker, SkipBadImages
from ..data.splits import build_datasets
from ..data.splits import describe_split as data_problems_line
from ..engine.reproducibility import environment, reproducible
from ..engine.hooks import EpochLogHook, EvalHook
from ..engine.lr_schedule import epoch_scheduler as step_schedule
from ..engine.trainer import Trainer
from ..engine.trainer_config import TrainerConfig
from ..engine.worker_signals import release_workers
from ..errors import ConfigError
from ..evaluation import format_table, save_report
from .config import save_config
from .console_log import TRAIN_LOG, ConsoleLog
from .evaluate import RunEvaluation, save_prediction_pictures, summary_line
from .figures_hook import RunFigures
from .run_figures import CONFUSION_PNG, LEARNING_CURVE_PNG
from .load import build_model_from_config, select_device
from .loaders import build_loaders
from .loss_hooks import LossSteps
from .phase_timer import PhaseTimer, timing_block
from .resume_config import apply_optimizer_changes, check_classes, check_resume_config, config_changes, read_resume_source
from .run_folder import claim_run_folder, release_run_folder


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_output_dir(cfg: dict) -> str:
    return f"runs/{cfg['dataset']}_{cfg['loss']}_{cfg['model']['head']}_seed{cfg['seed']}"


def build_optimizer(cfg: dict, model: torch.nn.Module):
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg["optimizer"] == "adam":
        optimizer = torch.optim.Adam(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    elif cfg["optimizer"] == "sgd":
        optimizer = torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"])
    else:
        raise ConfigError(f"optimizer must be adam or sgd, got {cfg['optimizer']!r}")
    return optimizer, step_schedule(optimizer, cfg["lr_step_epochs"], cfg["lr_gamma"])


def run_training(cfg: dict, resume: Optional[str] = None, progress: bool = True, *, overwrite: bool = False,
                 allow_config_change: bool = False) -> dict:
    """Train and evaluate as ``cfg`` says; returns the final evaluation (plus run info).

    ``cfg["threads"]`` / ``cfg["deterministic"]`` hold for the run and are put back after it.
    The run folder is locked for the run; a fresh run into a folder with a checkpoint is
    refused unless ``overwrite`` (run_folder.py). A resume checks ``cfg`` against the
    checkpoint's config; ``allow_config_change`` lets it differ (resume_config.py)."""
    with reproducible(cfg.get("threads"), bool(cfg.get("deterministic"))):
        try:
            return _run_training(cfg, resume, progress, overwrite, allow_config_change)
        finally:  # under torchrun: end the process group now, not in Python's exit (distributed.py)
            dist_utils.shutdown_distributed()


def _run_training(cfg: dict, resume: Optional[str], progress: bool, overwrite: bool, allow_config_change: bool) -> dict:
    timer = PhaseTimer()  # from the first thing the job does: its total is the run's elapsed_s
    device_name = cfg["device"]
    wants_cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
    distributed, local_rank = dist_utils.init_distributed("cuda" if wants_cuda else "cpu")
    device = select_device(device_name, local_rank)
    seed_everything(cfg["seed"] + dist_utils.get_rank())
    cfg = dict(cfg)
    cfg["output_dir"] = cfg.get("output_dir") or default_output_dir(cfg)
    out_dir = Path(cfg["output_dir"])
    say = ConsoleLog(enabled=dist_utils.is_main_process())  # prints, and keeps the lines for train.log
    source, changed = {}, []
    if resume:  # every rank reads it: each restores from it anyway
        source = read_resume_source(resume)
        changed = check_resume_config(source["config"], cfg, allow_config_change, say)
    # a refusal on rank 0 (folder in use, an old run in it) stops every rank
    lock = dist_utils.run_on_main(lambda: claim_run_folder(out_dir, bool(resume), overwrite, say))
    try:
        return _train(cfg, resume, progress, source, changed, timer, device, distributed, say)
    except Exception as error:
        say.note(f"[error] {type(error).__name__}: {error}")  # the console shows it after the run (main_guard)
        raise
    finally:
        say.close()
        release_run_folder(lock)


def _train(cfg: dict, resume: Optional[str], progress: bool, source: dict, changed: list, timer: PhaseTimer,
           device: torch.device, distributed: bool, say) -> dict:
    main, out_dir = dist_utils.is_main_process(), Path(cfg["output_dir"])
    with timer.phase("data"):  # generates the embedded dataset on first use, else reads the annotations
        train_set, test_set = build_datasets(cfg)
    class_names = list(train_set.classes)
    if resume:
        check_classes(source.get("class_names"), class_names, source.get("categories"), train_set.categories)
    for name, ds in (("train", train_set), ("test", test_set)):
        line = data_problems_line(name, ds)
        if line:
            say(line)
    # unusable images: counted at load and while running, the run stops past data.max_bad_images;
    # every rank logs the files it meets (its own shard), so no say() here
    tracker_say = say if main else functools.partial(print, flush=True)  # rank 0's go into train.log too
    bad_images = {name: BadImageTracker(name, ds, cfg["data"].get("max_bad_images"), say=tracker_say)
                  for name, ds in (("train", train_set), ("test", test_set))}
    with timer.phase("data"):
        train_loader, test_loader, batches = build_loaders(cfg, train_set, test_set, distributed)
    train_loader, test_loader = bad_images["train"].wrap(train_loader), bad_images["test"].wrap(test_loader)
    for tracker in bad_images.values():  # one rank must not stop alone: the limit is checked at checkpoints
        tracker.deferred = distributed
    steps_per_epoch = len(batches) if cfg.get("max_steps_per_epoch") is None else min(len(batches), cfg["max_steps_per_epoch"])
    warmup_steps = int(round(cfg["warmup_epochs"] * steps_per_epoch))

    with timer.phase("setup"):  # model, optimizer, run folder, TensorBoard writer (a resume's restore: below)
        model, ddp_model, optimizer, epoch_scheduler, scaler = _model_and_optimizer(cfg, len(class_names), warmup_steps,
                                                                                    device, distributed, say, bool(resume))
        use_amp = scaler is not None
        writer = _open_run_folder(cfg, out_dir, resume, say) if main else None
    evaluation = RunEvaluation(cfg, SkipBadImages(test_set, refill=True), test_loader, device, class_names, use_amp,
                               progress, writer, say, bad_images, timer=timer)
    # the order is the order of their after_epoch calls: the [eval] line, then the [epoch] line
    hooks = [EvalHook(evaluation, cfg["eval_every"], cfg["epochs"], cfg["eval_last_epochs"]), EpochLogHook(say, writer),
             LossSteps(ddp_model, cfg["log_every"]), RunFigures(out_dir, class_names, writer, say, enabled=main, timer=timer)]
    trainer = Trainer(TrainerConfig.from_mapping(cfg), model, optimizer, epoch_scheduler, train_loader, batches, device, hooks=hooks,
                      out_dir=out_dir, train_model=ddp_model, scaler=scaler, writer=writer,
                      checkpoint_extras={"config": cfg, "class_names": class_names, "categories": train_set.categories},
                      stateful={f"bad_images_{name}": tracker for name, tracker in bad_images.items()},
                      progress=progress, say=say, phase=timer.phase)
    try:
        if resume:
            with timer.phase("setup"):
                trainer.restore(resume, inexact_reasons=changed)
                if changed:  # allowed: the restored optimizer and schedule states take the new values
                    apply_optimizer_changes(config_changes(source["config"], cfg), optimizer, epoch_scheduler, trainer.lr_warmup)
        say(f"[run] {out_dir}  device={device}  world_size={dist_utils.get_world_size()}  loss={cfg['loss']}  head={cfg['model']['head']}")
        say(f"[data] train {len(train_set)} images, test {len(test_set)} images, {len(class_names)} classes; {steps_per_epoch} steps/epoch, warm start {warmup_steps} steps")
        # the steps, epoch by epoch; what the epoch ends run (checkpoints, evaluations, figures,
        # TensorBoard extras) are phases of their own, nested in this one and taken out of it
        with timer.phase("training"):
            result = trainer.fit()
    finally:
        release_workers(train_loader)  # persistent workers end with the run, not at interpreter exit
        if writer is not None:
            with timer.phase("tensorboard"):
                writer.flush()
                writer.close()

    result["output_dir"] = str(out_dir)
    _finish(cfg, result, trainer, model, test_set, device, class_names, timer, resume, bad_images, say)
    return result


def _finish(cfg: dict, result: dict, trainer: Trainer, model: torch.nn.Module, test_set, device: torch.device,
            class_names: list, timer: PhaseTimer, resume: Optional[str], bad_images: dict, say) -> None:
    """After the last epoch: the final table and report, prediction pictures, metrics.json and
    the [done] lines with where the time went (rank 0); ``result["elapsed_s"]`` on every rank."""
    main, out_dir = dist_utils.is_main_process(), Path(cfg["output_dir"])
    if main:
        with timer.phase("report"):
            say(format_table(result))
            save_report(result, out_dir, name="eval")
        with timer.phase("pictures"):
            pictures = save_prediction_pictures(model, SkipBadImages(test_set, refill=False), device, out_dir, class_names,
                                                cfg["prediction_pictures"])
    # read once, after the last phase: elapsed_s and the timing table's total are the same number
    # (metrics.json's own write, milliseconds, is after it and in neither)
    result["elapsed_s"] = timer.elapsed()
    if main:
        timing = timer.breakdown(result["elapsed_s"])
        summary = _run_summary(cfg, result, trainer, timing, resume, device, bad_images)
        write_text_atomic(out_dir / "metrics.json", json.dumps(summary, indent=1, default=float))
        say("[done] " + summary_line(result))
        say(f"[done] run folder {out_dir} (metrics.json, eval.csv/json, checkpoint.pt, {TRAIN_LOG}, "
            f"{CONFUSION_PNG}, {LEARNING_CURVE_PNG}, tb/); prediction pictures in {pictures}")
        say(f"[done] {result['elapsed_s']:.0f} s; TensorBoard: tensorboard --logdir {out_dir / 'tb'}")
        say(timing_block(timing, "where the time went" + (" (this session of a resumed run)" if resume else "")))


FINAL_KEYS = ("mAP50_area", "mAP50_voc07", "mAP_50_95", "box_accuracy", "box_coverage", "coco", "checkout",
              "num_images", "num_images_listed")


def _run_summary(cfg: dict, result: dict, trainer: Trainer, timing: dict, resume: Optional[str],
                 device: torch.device, bad_images: dict) -> dict:
    """metrics.json: the final evaluation, the per-epoch history, where the time went, the
    environment, the bad images met and every resume."""
    return {"config": cfg, "final": {k: result.get(k) for k in FINAL_KEYS},
            "history": trainer.history, "train_log": trainer.train_log, "elapsed_s": result["elapsed_s"], "step": trainer.step,
            # wall seconds per phase of this invocation: a resumed run's earlier sessions are not in it
            "timing": {"seconds": timing, "covers": "this invocation" + (f" (resumed from {resume})" if resume else "")},
            "environment": environment(device, bool(cfg.get("deterministic")), dist_utils.get_world_size()),
            "bad_images": {name: tracker.counts() for name, tracker in bad_images.items()},
            # every resume of the run, and whether all of them were bit for bit
            "exact": all(r["exact"] for r in trainer.resumes), "resumes": trainer.resumes}


def _model_and_optimizer(cfg: dict, num_classes: int, warmup_steps: int, device: torch.device, distributed: bool, say,
                         resuming: bool = False):
    """(model, what the steps run (DDP's wrapper under torchrun), optimizer, epoch schedule,
    the AMP grad scaler or None). A resume builds the --weights model without reading the
    weights file (it may be gone): the checkpoint restores every tensor right after."""
    model = build_model_from_config(cfg, num_classes, warmup_steps, read_weights=not resuming).to(device)
    optimizer, epoch_scheduler = build_optimizer(cfg, model)
    use_amp = bool(cfg.get("amp")) and device.type == "cuda"
    if cfg.get("amp") and not use_amp:
        say("[amp] mixed precision needs CUDA; training in float32 on", device)
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    ddp_model = model
    if distributed:
        ddp_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        bind_process_group(ddp_model)  # HL's class-sum all-reduce over DDP's group
    return model, ddp_model, optimizer, epoch_scheduler, scaler


def _open_run_folder(cfg: dict, out_dir: Path, resume: Optional[str], say):
    """Rank 0: the folder, its train.log and config.yaml; returns the TensorBoard writer."""
    out_dir.mkdir(parents=True, exist_ok=True)
    say.open(out_dir, resumed_from=resume)
    save_config(cfg, out_dir / "config.yaml")
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(out_dir / "tb"))
