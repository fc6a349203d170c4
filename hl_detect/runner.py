"""``run_training(cfg)``: the whole train -> evaluate -> report job behind tools/train_det.py.

Reads a resolved config (hl_detect.config), builds data, model, optimizer and schedule,
and hands them to the ``Trainer`` (hl_detect/engine/trainer.py: the epoch loop, checkpoints
at every epoch end, every ``checkpoint_every_minutes``/``_steps`` and on Ctrl-C/SIGTERM, and
exact resume). Evaluates every ``eval_every`` epochs and at the end, writes TensorBoard
events, the per-class report and ``metrics.json`` (with the software environment) into the
run folder, and returns the final metrics. Works under torchrun (DDP; rank 0 prints and saves).
"""
from __future__ import annotations

import inspect
import json
import random
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler, SequentialSampler
from torch.utils.data.distributed import DistributedSampler

from . import distributed as dist_utils
from .config import save_config
from .checkout_settings import image_levels
from .convert import bind_process_group, hypersphere_loss_of
from .data import (
    GroupedBatchSampler,
    collate_fn,
    create_aspect_ratio_groups,
)
from .data.bad_images import BadImageTracker, SkipBadImages
from .data.categories import checkpoint_categories
from .data.splits import build_datasets, build_eval_dataset  # noqa: F401 (build_eval_dataset: eval tools)
from .data.splits import describe_split as data_problems_line
from .engine import center_stats, evaluate, load_checkpoint
from .engine.data_order import EpochBatches, SeededSamples
from .engine.worker_signals import worker_init
from .engine.reproducibility import environment, reproducible
from .engine.trainer import CHECKPOINT, Trainer
from .errors import CheckpointError, ConfigError, as_user_error
from .evaluation import DetectionEvaluator, format_table, save_report
from .evaluation.report import images_note
from .losses import LOSSES, loss_parts
from .models import build_detector
from .output_names import relative_names
from .visualize import draw_detections, save_picture

class ShardSampler(torch.utils.data.Sampler):
    """Every rank takes indices rank, rank + W, ...: no padding, so no image is evaluated twice."""

    def __init__(self, size: int, rank: int, world: int) -> None:
        self.indices = list(range(rank, size, world))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def select_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available", hint="use --device cpu (or auto)")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def default_output_dir(cfg: dict) -> str:
    return f"runs/{cfg['dataset']}_{cfg['loss']}_{cfg['model']['head']}_seed{cfg['seed']}"


def build_model_from_config(cfg: dict, num_classes: int, warmup_steps: int = 0, pretrained: bool = True) -> torch.nn.Module:
    """The detector of ``cfg`` for C = ``num_classes`` foreground classes.

    ``pretrained=False`` skips ImageNet backbone weights (a checkpoint brings its own)."""
    model_cfg = cfg["model"]
    return build_detector(
        model_cfg["head"], num_classes=num_classes + 1, loss=cfg["loss"], loss_kwargs=loss_kwargs(cfg, warmup_steps),
        weights_backbone=model_cfg.get("weights_backbone") if pretrained else None,
        trainable_backbone_layers=model_cfg.get("trainable_backbone_layers"), **(model_cfg.get("options") or {}),
    )


def load_model_from_checkpoint(path, device: torch.device, overrides: Optional[dict] = None):
    """(model in eval mode, the run's config, class names) from a checkpoint file or run folder."""
    model, cfg, categories = load_run(path, device)
    return model, cfg, [c["name"] for c in categories]


def load_run(path, device: torch.device):
    """(model in eval mode, the run's config, its categories in label order: dicts with id,
    name, supercategory; hl_detect/data/categories.py). A checkpoint from before categories
    were stored gives names only (id None), which evaluation then matches by name."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    ckpt = load_checkpoint(path, map_location=device)
    cfg = ckpt["config"]
    class_names = ckpt.get("class_names")
    if not class_names:
        raise CheckpointError(f"{path}: the checkpoint has no class_names; was it written by hl_detect?")
    categories = checkpoint_categories(ckpt)
    model = build_model_from_config(cfg, len(categories), pretrained=False)
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as error:
        raise as_user_error(error) or error
    model.to(device).eval()
    return model, cfg, list(categories)


def build_loaders(cfg: dict, train_set, test_set, distributed: bool):
    """(train loader, test loader, the train loader's EpochBatches: set its epoch before each pass).

    The training order and augmentations follow engine/data_order.py's rule, and both loaders
    have their own generators, so neither draws from torch's global one (which the RoI sampler
    uses and a checkpoint saves): evaluating more or less often does not change training."""
    rank, world = dist_utils.get_rank(), dist_utils.get_world_size()
    generator = torch.Generator().manual_seed(cfg["seed"])
    if distributed:
        sampler = DistributedSampler(train_set, shuffle=True, seed=cfg["seed"])
    else:
        sampler = RandomSampler(train_set, generator=generator)
    factor = cfg["data"].get("aspect_ratio_group_factor", -1)
    if factor is not None and factor >= 0:
        batch_sampler = GroupedBatchSampler(sampler, create_aspect_ratio_groups(train_set, k=factor), cfg["batch_size"])
    else:
        batch_sampler = torch.utils.data.BatchSampler(sampler, cfg["batch_size"], drop_last=True)
    batches = EpochBatches(batch_sampler, sampler, cfg["seed"], rank, loader_generator=torch.Generator())
    workers = cfg["data"].get("workers", 0)
    # an image that fails to decode is replaced (train) or left out (test), never raised: bad_images.py
    train_loader = DataLoader(SeededSamples(SkipBadImages(train_set, refill=True)), batch_sampler=batches, num_workers=workers, collate_fn=collate_fn,
                              persistent_workers=workers > 0, worker_init_fn=worker_init, generator=batches.loader_generator)
    eval_sampler = ShardSampler(len(test_set), rank, world) if distributed else SequentialSampler(test_set)
    test_loader = DataLoader(SkipBadImages(test_set, refill=False), batch_size=max(1, cfg["batch_size"]), sampler=eval_sampler, num_workers=workers,
                             collate_fn=collate_fn, worker_init_fn=worker_init, generator=torch.Generator().manual_seed(cfg["seed"]))
    return train_loader, test_loader, batches


def loss_kwargs(cfg: dict, warmup_steps: int) -> dict[str, Any]:
    """The chosen loss's ``loss_options`` (+ the warm start in steps where it takes one).

    A composed loss (``cosface+hl``) gets one dict per part, from each part's options."""
    parts = loss_parts(cfg["loss"])
    per_part = {}
    for name in parts:
        kwargs = dict((cfg.get("loss_options") or {}).get(name) or {})
        builder = LOSSES[name]
        target = builder.__init__ if inspect.isclass(builder) else builder
        if "warmup_steps" in inspect.signature(target).parameters and "warmup_steps" not in kwargs:
            kwargs["warmup_steps"] = warmup_steps
        per_part[name] = kwargs
    return per_part[parts[0]] if len(parts) == 1 else per_part


def build_optimizer(cfg: dict, model: torch.nn.Module):
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg["optimizer"] == "adam":
        optimizer = torch.optim.Adam(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    elif cfg["optimizer"] == "sgd":
        optimizer = torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"])
    else:
        raise ConfigError(f"optimizer must be adam or sgd, got {cfg['optimizer']!r}")
    epoch_scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg["lr_step_epochs"], gamma=cfg["lr_gamma"])
    return optimizer, epoch_scheduler


def log_evaluation(writer, result: dict, embedding, model, class_names, step: int, cfg: dict) -> None:
    if writer is None:
        return
    for key in ("mAP50_area", "mAP50_voc07", "mAP_50_95", "box_accuracy", "box_coverage"):
        if result.get(key) is not None:
            writer.add_scalar(f"eval/{key}", result[key], step)
    for key, value in (result.get("coco") or {}).items():
        writer.add_scalar(f"eval/coco_{key}", value, step)
    for key, value in (result.get("checkout") or {}).items():
        if isinstance(value, (int, float)):
            writer.add_scalar(f"eval/checkout_{key}", value, step)
    if embedding is None:
        return
    features, labels = embedding
    loss = hypersphere_loss_of(model)
    stats = center_stats(features, labels, loss)
    writer.add_histogram("hl/feature_norm", stats["feature_norm"], step)
    for key in ("fraction_inside_dead_zone", "mean_center_angle_deg", "mean_distance_to_center"):
        if key in stats:
            writer.add_scalar(f"hl/{key}", stats[key], step)
    offset = getattr(loss, "label_offset", 1)
    for k, value in stats.get("distance_to_center", {}).items():
        label = k + offset
        name = class_names[label - 1] if label >= 1 else "background"
        writer.add_scalar(f"hl_distance_to_center/{name}", value, step)
    if cfg.get("projector"):
        metadata = [class_names[int(y) - 1] for y in labels]
        points = features
        centers = getattr(loss, "centers", None)
        if centers is not None:
            names = (["background"] if offset == 0 else []) + list(class_names)
            points = torch.cat([features, centers.detach().float().cpu()])
            metadata += [f"center:{n}" for n in names]
        writer.add_embedding(points, metadata=metadata, global_step=step, tag="roi_features")


def save_prediction_pictures(model, test_set, device, out_dir: Path, class_names, count: int = 6) -> Optional[Path]:
    if count <= 0 or len(test_set) == 0:
        return None
    model.eval()
    folder = out_dir / "predictions"
    records = getattr(test_set, "records", None)  # named by file, as predict.py names them
    names = relative_names([r.path for r in records]) if records else None
    with torch.no_grad():
        for i in range(min(count, len(test_set))):
            image, target = test_set[i]
            if image is None:  # unreadable (test_set is a SkipBadImages view): left out, counted elsewhere
                continue
            prediction = model([image.to(device)])[0]
            picture = draw_detections(image, prediction, class_names, score_threshold=0.5)
            save_picture(picture, folder / f"{names[i] if names else target['image_id']}.png")
    return folder


def log_prediction_pictures(writer, model, test_set, device, class_names, step: int, count: int = 4) -> None:
    """The first ``count`` test images in TensorBoard's image tab (``eval/predictions/<image_id>``):
    predicted boxes (score >= 0.5) in class colours over the ground truth in white.

    The same images at every evaluation, so the step slider shows them change; the cost is
    one batched forward of ``count`` images per evaluation."""
    from .visualize import draw_ground_truth, to_pil

    count = min(int(count or 0), len(test_set))
    if writer is None or count <= 0:
        return
    was_training = model.training
    model.eval()
    try:
        samples = [test_set[i] for i in range(count)]
        with torch.no_grad():
            predictions = model([image.to(device) for image, _ in samples])
        for (image, target), prediction in zip(samples, predictions):
            picture = draw_ground_truth(to_pil(image), target["boxes"])
            picture = draw_detections(picture, prediction, class_names, score_threshold=0.5)
            writer.add_image(f"eval/predictions/{int(target['image_id'])}", np.asarray(picture), step, dataformats="HWC")
    finally:
        model.train(was_training)


def _pct(value, digits: int = 2) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}"


def _summary_line(result: dict) -> str:
    return (f"AP@0.5 (area) {_pct(result.get('mAP50_area'))} | AP@0.5 (VOC07 11-pt) {_pct(result.get('mAP50_voc07'))}"
            f" | box accuracy {_pct(result.get('box_accuracy'))} (coverage {_pct(result.get('box_coverage'), 1)}%)"
            + images_note(result, " | "))


class RunEvaluation:
    """The evaluation a run does every ``eval_every`` epochs: the metrics, their TensorBoard
    scalars and HL diagnostics, the prediction pictures, and the ``[eval]`` line (rank 0)."""

    def __init__(self, cfg: dict, test_set, test_loader, device, class_names, amp: bool, progress: bool, writer, say,
                 bad_images: Optional[dict] = None) -> None:
        self.cfg, self.test_set, self.test_loader, self.device = cfg, test_set, test_loader, device
        self.class_names, self.amp, self.progress, self.writer, self.say = class_names, amp, progress, writer, say
        self.bad_images = bad_images or {}  # split -> BadImageTracker, logged with each evaluation

    def __call__(self, model, step: int, epoch: Optional[int] = None) -> dict:
        result, embedding = _evaluate(self.cfg, model, self.test_loader, self.device, self.class_names, self.amp, self.progress)
        for tracker in self.bad_images.values():  # every rank's files in the logged counts (a collective)
            tracker.sync()
        if epoch is not None and dist_utils.is_main_process():
            log_evaluation(self.writer, result, embedding, model, self.class_names, step, self.cfg)
            for name, tracker in self.bad_images.items():
                self.writer.add_scalar(f"data/bad_images_{name}", tracker.counts()["bad_images"], step)
            log_prediction_pictures(self.writer, model, self.test_set, self.device, self.class_names, step,
                                    self.cfg.get("tensorboard_pictures", 4))
            self.say(f"[eval] epoch {epoch}: " + _summary_line(result))
        return result


def run_training(cfg: dict, resume: Optional[str] = None, progress: bool = True) -> dict:
    """Train and evaluate as ``cfg`` says; returns the final evaluation (plus run info).

    ``cfg["threads"]`` / ``cfg["deterministic"]`` hold for the run and are put back after it."""
    with reproducible(cfg.get("threads"), bool(cfg.get("deterministic"))):
        return _run_training(cfg, resume, progress)


def _run_training(cfg: dict, resume: Optional[str], progress: bool) -> dict:
    start_time = time.time()
    device_name = cfg.get("device", "auto")
    wants_cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
    distributed, local_rank = dist_utils.init_distributed("cuda" if wants_cuda else "cpu")
    device = select_device(device_name, local_rank)
    main = dist_utils.is_main_process()
    seed_everything(cfg["seed"] + dist_utils.get_rank())
    cfg = dict(cfg)
    cfg["output_dir"] = cfg.get("output_dir") or default_output_dir(cfg)
    out_dir = Path(cfg["output_dir"])
    say = print if main else (lambda *a, **k: None)

    train_set, test_set = build_datasets(cfg)
    class_names = list(train_set.classes)
    for name, ds in (("train", train_set), ("test", test_set)):
        line = data_problems_line(name, ds)
        if line:
            say(line)
    # unusable images: counted at load and while running, the run stops past data.max_bad_images;
    # every rank logs the files it meets (its own shard), so no say() here
    bad_images = {name: BadImageTracker(name, ds, cfg["data"].get("max_bad_images"))
                  for name, ds in (("train", train_set), ("test", test_set))}
    train_loader, test_loader, batches = build_loaders(cfg, train_set, test_set, distributed)
    train_loader, test_loader = bad_images["train"].wrap(train_loader), bad_images["test"].wrap(test_loader)
    for tracker in bad_images.values():  # one rank must not stop alone: the limit is checked at checkpoints
        tracker.deferred = distributed
    steps_per_epoch = len(batches) if cfg.get("max_steps_per_epoch") is None else min(len(batches), cfg["max_steps_per_epoch"])
    warmup_steps = int(round(cfg.get("warmup_epochs", 0) * steps_per_epoch))

    model = build_model_from_config(cfg, len(class_names), warmup_steps).to(device)
    optimizer, epoch_scheduler = build_optimizer(cfg, model)
    use_amp = bool(cfg.get("amp")) and device.type == "cuda"
    if cfg.get("amp") and not use_amp:
        say("[amp] mixed precision needs CUDA; training in float32 on", device)
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    ddp_model = model
    if distributed:
        ddp_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        bind_process_group(ddp_model)  # HL's class-sum all-reduce over DDP's group

    writer = None
    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, out_dir / "config.yaml")
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out_dir / "tb"))
    evaluation = RunEvaluation(cfg, SkipBadImages(test_set, refill=True), test_loader, device, class_names, use_amp,
                               progress, writer, say, bad_images)
    trainer = Trainer(cfg, model, optimizer, epoch_scheduler, train_loader, batches, device, evaluation=evaluation,
                      out_dir=out_dir, train_model=ddp_model, scaler=scaler, writer=writer,
                      checkpoint_extras={"class_names": class_names, "categories": train_set.categories},
                      stateful={f"bad_images_{name}": tracker for name, tracker in bad_images.items()},
                      progress=progress, say=say)
    try:
        if resume:
            trainer.restore(resume)
        say(f"[run] {out_dir}  device={device}  world_size={dist_utils.get_world_size()}  loss={cfg['loss']}  head={cfg['model']['head']}")
        say(f"[data] train {len(train_set)} images, test {len(test_set)} images, {len(class_names)} classes; {steps_per_epoch} steps/epoch, warm start {warmup_steps} steps")
        result = trainer.fit()
    finally:
        if writer is not None:
            writer.flush()
            writer.close()

    result["elapsed_s"] = time.time() - start_time
    result["output_dir"] = str(out_dir)
    if main:
        say(format_table(result))
        save_report(result, out_dir, name="eval")
        pictures = save_prediction_pictures(model, SkipBadImages(test_set, refill=False), device, out_dir, class_names,
                                            cfg.get("prediction_pictures", 6))
        summary = {"config": cfg, "final": {k: result.get(k) for k in ("mAP50_area", "mAP50_voc07", "mAP_50_95", "box_accuracy", "box_coverage", "coco", "checkout",
                                                               "num_images", "num_images_listed")},
                   "history": trainer.history, "train_log": trainer.train_log, "elapsed_s": result["elapsed_s"], "step": trainer.step,
                   "environment": environment(device, bool(cfg.get("deterministic")), dist_utils.get_world_size()),
                   "bad_images": {name: tracker.counts() for name, tracker in bad_images.items()}}
        (out_dir / "metrics.json").write_text(json.dumps(summary, indent=1, default=float))
        say("[done] " + _summary_line(result))
        say(f"[done] run folder {out_dir} (metrics.json, eval.csv/json, checkpoint.pt, tb/); prediction pictures in {pictures}")
        say(f"[done] {result['elapsed_s']:.0f} s; TensorBoard: tensorboard --logdir {out_dir / 'tb'}")
    return result


def build_evaluator(cfg: dict, class_names, **overrides) -> DetectionEvaluator:
    """The evaluator a run config asks for (VOC +1 convention, COCO AP, checkout metrics)."""
    options = dict(plus_one=cfg["data"].get("plus_one", False), coco=cfg.get("eval_coco", True),
                   checkout=cfg.get("eval_checkout", False), checkout_threshold=cfg.get("checkout_threshold", 0.5),
                   checkout_count_rule=cfg.get("checkout_count_rule", "per_class"),
                   checkout_agnostic_iou=cfg.get("checkout_agnostic_iou", 0.5))
    return DetectionEvaluator(len(class_names), class_names, **{**options, **overrides})


def _evaluate(cfg, model, test_loader, device, class_names, amp, progress):
    """(evaluation result, (features, labels) of ground-truth RoIs for the projector or None)."""
    evaluator = build_evaluator(cfg, class_names, image_levels=image_levels(test_loader.dataset))  # RPC levels
    collect = cfg.get("projector_max_points", 0) if cfg.get("projector", True) else 0
    result, embedding = evaluate(model, test_loader, evaluator, device, max_images=cfg.get("max_eval_images"),
                                 collect_features=collect, progress=progress, amp=amp)
    return result, embedding
