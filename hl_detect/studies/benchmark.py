"""What the hypersphere loss costs per training step: stock RoIHeads vs the HL plugin (issue 8).

Shapes: N images of S x S pixels, R = N * rois_per_image sampled RoIs, d box-feature
size (2048 for the paper's heads), C foreground classes.

Timing is interleaved: every round runs each candidate once, on the same batch and with
the same RNG seed (torchvision's RoI sampler draws from the global generator), in an
order that rotates from round to round, so a slow spell of a shared machine hits all
candidates alike. Ratios are taken per round and summarized by their median and spread.

Memory: on CUDA the peak allocation of a step (``torch.cuda.max_memory_allocated``); on
every device the bytes autograd saves for backward (``saved_tensors_hooks``), counted
once per storage and without parameters and buffers: deterministic, and what HL could
add. The HL state itself (centers, counters) is reported as the model's extra buffers.
"""
from __future__ import annotations

import copy
import statistics
import time
from typing import Callable, Optional

import torch
from torch import Tensor, nn
from torchvision.models import detection
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.roi_heads import fastrcnn_loss

from ..convert import convert_to_hypersphere, revert_to_torchvision
from ..losses.hypersphere import HypersphereLoss
from ..models import fasterrcnn_resnet50_c4_hl, fasterrcnn_resnet50_fpn_hl

MODELS = ("mlp2048", "c4", "mobilenet")


def build_stock_detector(
    model: str, num_classes: int, image_size: int, rois_per_image: int, trainable_backbone_layers: int = 3, seed: int = 0
) -> nn.Module:
    """Torchvision's Faster R-CNN (stock RoIHeads), random weights from ``seed``; C = num_classes."""
    kwargs = dict(num_classes=num_classes + 1, min_size=image_size, max_size=image_size, box_batch_size_per_image=rois_per_image)
    torch.manual_seed(seed)
    if model == "mlp2048":
        net = fasterrcnn_resnet50_fpn_hl(trainable_backbone_layers=trainable_backbone_layers, **kwargs)
    elif model == "c4":
        net = fasterrcnn_resnet50_c4_hl(trainable_backbone_layers=trainable_backbone_layers, **kwargs)
    elif model == "mobilenet":
        # without pretrained weights torchvision trains every mobilenet layer (and warns otherwise)
        net = detection.fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, **kwargs)
    else:
        raise ValueError(f"unknown model {model!r}; choose one of {MODELS}")
    return revert_to_torchvision(net)


def stock_and_hl(stock: nn.Module, update_every: tuple[int, ...] = (1,)) -> dict[str, nn.Module]:
    """{"stock": stock, "hl(k=1)": converted deep copy, ...}: same weights, HL active from step 1."""
    models = {"stock": stock}
    for k in update_every:
        models[f"hl(k={k})"] = convert_to_hypersphere(copy.deepcopy(stock), "hl", update_every=k, warmup_steps=0)
    return models


def synthetic_batch(
    num_images: int, image_size: int, num_classes: int, boxes_per_image: int = 4, seed: int = 0
) -> tuple[list[Tensor], list[dict[str, Tensor]]]:
    """Random images and boxes (float xyxy, labels 1..C), the torchvision target format."""
    g = torch.Generator().manual_seed(seed)
    images = [torch.rand(3, image_size, image_size, generator=g) for _ in range(num_images)]
    targets = []
    for _ in range(num_images):
        xy = torch.rand(boxes_per_image, 2, generator=g) * image_size * 0.6
        wh = (torch.rand(boxes_per_image, 2, generator=g) * 0.35 + 0.05) * image_size
        labels = torch.randint(1, num_classes + 1, (boxes_per_image,), generator=g)
        targets.append({"boxes": torch.cat([xy, xy + wh], dim=1), "labels": labels})
    return images, targets


def to_device(images, targets, device):
    return [i.to(device) for i in images], [{k: v.to(device) for k, v in t.items()} for t in targets]


def make_optimizer(model: nn.Module, lr: float = 0.0) -> torch.optim.SGD:
    """SGD as torchvision's detection references (momentum 0.9, weight decay 1e-4).

    The default lr = 0 still runs all of the optimizer's arithmetic but keeps the weights
    of every candidate equal, so all of them get the same proposals and RoIs every round."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, images, targets, seed: int) -> None:
    """One full training step: forward, sum of the loss dict, backward, optimizer step."""
    model.train()
    torch.manual_seed(seed)  # the same RoIs for every candidate of a round
    losses = model(images, targets)
    optimizer.zero_grad(set_to_none=True)
    sum(losses.values()).backward()
    optimizer.step()


def interleaved(
    steps: dict[str, Callable[[int], None]], rounds: int, warmup: int = 2, device: Optional[torch.device] = None
) -> dict[str, dict[str, list[float]]]:
    """Seconds per call of each ``steps[name](round)``, run in a rotating order every round.

    Returns {name: {"wall": [...], "cpu": [...]}}: wall-clock time and this process's CPU
    time. On a shared CPU the CPU time hardly sees other processes (with one thread; more
    threads add their spin-waits); on CUDA only the wall clock means anything.
    """
    sync = torch.cuda.synchronize if device is not None and device.type == "cuda" else (lambda: None)
    names = list(steps)
    times = {name: {"wall": [], "cpu": []} for name in names}
    for r in range(-warmup, rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            sync()
            wall, cpu = time.perf_counter(), time.process_time()
            steps[name](r)
            sync()
            if r >= 0:
                times[name]["wall"].append(time.perf_counter() - wall)
                times[name]["cpu"].append(time.process_time() - cpu)
    return times


def report(times: dict[str, dict[str, list[float]]], baseline: str, clocks: tuple[str, ...] = ("wall", "cpu")) -> list[str]:
    """Lines with each candidate's median time and its per-round ratio to ``baseline``."""
    lines = []
    for clock in clocks:
        for name, t in times.items():
            t = sorted(t[clock])
            lines.append(f"{clock:>4} {name:>12}: median {t[len(t) // 2] * 1e3:9.2f} ms  (min {t[0] * 1e3:.2f}, max {t[-1] * 1e3:.2f})")
        for name in times:
            if name != baseline:
                lines.append(f"{clock:>4} " + ratio_line(f"{name}/{baseline}", times[baseline][clock], times[name][clock]))
    return lines


def summarize(ratios: list[float]) -> dict[str, float]:
    """Median, quartiles, min and max of per-round ratios."""
    q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
    return {"median": statistics.median(ratios), "q1": q1, "q3": q3, "min": min(ratios), "max": max(ratios)}


def ratio_line(label: str, base: list[float], other: list[float]) -> str:
    s = summarize([b / a for a, b in zip(base, other)])
    return (
        f"ratio {label}: median {s['median']:.4f}  IQR [{s['q1']:.4f}, {s['q3']:.4f}]  "
        f"min/max [{s['min']:.4f}, {s['max']:.4f}]  (n={len(base)} rounds)"
    )


def saved_for_backward_bytes(model: nn.Module, run: Callable[[], Tensor]) -> int:
    """Bytes autograd saves for backward during ``run()`` (which returns the loss; backward is
    run too), each storage counted once, parameters and buffers excluded."""
    skip = {t.untyped_storage().data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    seen: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in skip:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = run()
    loss.backward()
    return sum(seen.values())


def step_memory(model: nn.Module, images, targets, seed: int, device: torch.device) -> dict[str, int]:
    """Saved-for-backward bytes of one training step (and the CUDA peak, on a GPU)."""
    model.train()
    out: dict[str, int] = {}
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
    torch.manual_seed(seed)
    out["saved"] = saved_for_backward_bytes(model, lambda: sum(model(images, targets).values()))
    model.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
        out["cuda_peak"] = torch.cuda.max_memory_allocated(device)
    out["buffers"] = sum(b.numel() * b.element_size() for b in model.buffers())
    return out


# --- the HL terms alone against the box head, at the paper's sizes -------------------------------


def box_head_inputs(num_rois: int, num_classes: int, in_features: int, seed: int = 0, fg_fraction: float = 0.25):
    """RoIAlign-like inputs [R, 256*7*7] (requiring grad, as with a trainable backbone), labels
    with torchvision's 25 % foreground, and regression targets."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(num_rois, in_features, generator=g).requires_grad_()
    labels = torch.randint(1, num_classes + 1, (num_rois,), generator=g)
    labels[int(num_rois * fg_fraction):] = 0
    return x, labels, torch.randn(num_rois, 4, generator=g)


class BoxHeadStep:
    """Forward + backward of torchvision's box head (TwoMLPHead) and predictor with its losses,
    optionally plus the HL terms (center update + penalty), as RoIHeads runs them."""

    def __init__(self, num_rois: int, num_classes: int, dim: int = 2048, update_every: int = 1, seed: int = 0):
        torch.manual_seed(seed)
        in_features = 256 * 7 * 7
        self.head = TwoMLPHead(in_features, dim)
        self.predictor = FastRCNNPredictor(dim, num_classes + 1)
        self.hl = HypersphereLoss(num_classes, dim, update_every=update_every).train()
        self.x, self.labels, self.targets = box_head_inputs(num_rois, num_classes, in_features, seed)
        # features as the predictor sees them, as a leaf: the HL terms timed on their own
        with torch.no_grad():
            self.features = self.head(self.x).requires_grad_()

    def _clear(self) -> None:
        for p in list(self.head.parameters()) + list(self.predictor.parameters()):
            p.grad = None
        self.x.grad = None
        self.features.grad = None

    def head_only(self, _round: int = 0) -> None:
        self._step(with_hl=False)

    def head_with_hl(self, _round: int = 0) -> None:
        self._step(with_hl=True)

    def hl_memory(self) -> dict[str, int]:
        """What the HL terms add in memory, in bytes: saved for backward beyond the features
        (which the head saves anyway), the loss's buffers, and the largest temporary tensor any
        of its ops returns (an upper bound on a single allocation; [R, d] when no [R, K] exists)."""
        from torch.overrides import TorchFunctionMode

        class Largest(TorchFunctionMode):
            largest = 0

            def __torch_function__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                # an in-place op returns its input (e.g. the centers after index_copy_): no allocation
                inputs = {a.data_ptr() for a in list(args) + list((kwargs or {}).values()) if isinstance(a, Tensor)}
                for t in out if isinstance(out, (tuple, list)) else (out,):
                    if isinstance(t, Tensor) and t.data_ptr() not in inputs:
                        Largest.largest = max(Largest.largest, t.numel() * t.element_size())
                return out

        self._clear()
        features_storage = self.features.untyped_storage().data_ptr()
        saved: dict[int, int] = {}

        def pack(t: Tensor) -> Tensor:
            storage = t.untyped_storage()
            if storage.data_ptr() != features_storage:
                saved[storage.data_ptr()] = storage.nbytes()
            return t

        with Largest(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = self.hl.extra_losses(self.features, self.labels)["loss_hypersphere"]
            loss.backward()
        buffers = sum(b.numel() * b.element_size() for b in self.hl.buffers())
        return {"saved": sum(saved.values()), "buffers": buffers, "largest_temporary": Largest.largest}

    def hl_only(self, _round: int = 0) -> None:
        self._clear()
        self.hl.extra_losses(self.features, self.labels)["loss_hypersphere"].backward()

    def _step(self, with_hl: bool) -> None:
        self._clear()
        features = self.head(self.x)
        logits, box_regression = self.predictor(features)
        loss_cls, loss_box = fastrcnn_loss(logits, box_regression, [self.labels], [self.targets])
        loss = loss_cls + loss_box
        if with_hl:
            loss = loss + self.hl.extra_losses(features, self.labels)["loss_hypersphere"]
        loss.backward()
