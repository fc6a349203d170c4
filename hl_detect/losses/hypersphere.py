"""``HypersphereLoss``: the state of the hypersphere loss and its per-step schedule.

Shapes: R RoIs, d feature size, C foreground classes, K = C centers (C + 1 with a
background center). Buffers: ``centers`` [K, d] float32, ``num_updates`` (global N_c,
center updates done), ``class_updates`` [K] (per-class N_c: updates in which the class
was present), ``num_steps`` (training steps seen). They travel with state_dict, .to()
and DDP; the centers stay float32 under ``.half()`` / ``.to(bfloat16)``.

Per training step (Algorithm 1 of the paper, adapted to detection):
  1. steps < warmup_steps: CE only (warm start t1), the penalty is an exact 0;
  2. else every ``update_every``-th step (HL(k)): update centers, eqs. 15-16, under
     no_grad, with per-class sums all-reduced across ranks;
  3. penalty of eq. 17 with the (now fixed) centers, as ``loss_hypersphere``.
A "training step" is a forward in train mode with gradients enabled: a validation-loss
pass (``model.train()`` under ``torch.no_grad()`` / ``inference_mode``) returns the
penalty with the current centers and changes no buffer and runs no collective.
The schedule decision uses a host-side mirror of ``num_steps`` so a step never reads a
device value (no sync); the mirror is re-read from the buffer whenever something other
than this module wrote it (load_state_dict, a DDP broadcast, ``.to()``), which the
buffer's version counter tells without touching the device.
"""
from __future__ import annotations

import math
import warnings

import torch
from torch import Tensor

from .base import ClassificationLoss
from ..distributed import is_distributed
from .hypersphere_functional import NORMALIZATIONS, POWERS, class_sums, hypersphere_penalty, update_centers
from .hypersphere_present import present_center_update
from .sphere_radius import feature_sphere_radius


def check_strength(radius: float, weight: float, epsilon: float, beta: float, power: int) -> None:
    """Refuse hyperparameters that make the loss meaningless rather than weak (each says why)."""
    values = {"radius": radius, "weight": weight, "epsilon": epsilon, "beta": beta}
    bad = [k for k, v in values.items() if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v)]
    if bad:
        raise ValueError(f"hypersphere loss: {', '.join(f'{k}={values[k]!r}' for k in bad)} must be finite numbers")
    if radius <= 0:
        raise ValueError(f"hypersphere loss: radius r must be > 0 (r <= 0 puts the centers at the antipode), got {radius}")
    if weight < 0:
        raise ValueError(f"hypersphere loss: weight (lambda) must be >= 0 (a negative one is unbounded below), got {weight}")
    if not 0.0 <= epsilon < 1.0:
        raise ValueError(f"hypersphere loss: epsilon must be in [0, 1) (the dead zone eps*a; eps >= 1 "
                         f"swallows every feature, eps < 0 acts as |eps|), got {epsilon}")
    if power not in POWERS:
        raise ValueError(f"hypersphere loss: power must be one of {POWERS} (2: eq. 17 as printed, "
                         f"4: the authors' code), got {power!r}")


class HypersphereLoss(ClassificationLoss):
    """Hypersphere loss (Wang et al., IEEE TII 2024): CE + generalized center penalty.

    Args:
        num_classes: C, foreground classes (torchvision's num_classes - 1).
        feature_dim: d, size of the box-head features the predictor receives.
        radius: r, radius of the center sphere (paper: 40).
        weight: lambda of eq. 17 (default 0.003, the authors' ``train.py`` default; the paper
            prints 0.002, which with ``power=4`` is the same strength order).
        beta: class-center separation weight of eq. 16 (paper: 0.1).
        epsilon: eps, the dead zone is eps * a (eq. 11; paper: 0.05).
        phi: EWMA factor of eq. 15 (paper: 0.99).
        warmup_steps: training steps with CE only (the paper's t1 epochs, in steps).
        update_every: k, update the centers every k-th step (paper's HL(k); 1 = always).
        background_center: also keep a center for background RoIs (label 0), as the
            authors' code does. Off by default (the spec keeps C foreground centers).
        normalize_by: the denominator of eq. 17: ``"elements"`` (default; R * d, all sampled
            RoIs times the feature size, as the authors' code divides) or ``"foreground"``
            (the RoIs with a center, the paper's text; ~4 d times stronger at the same
            lambda). With the square (``power=2``) and ``"elements"``, lambda = 0.002 is about
            10^3 times weaker than the authors' trained strength, not equal to it: their
            code's penalty is quartic (``power``). docs/loss_study.md gives the measured
            gradient ratios of each form.
        power: 4 (default; the authors' code, ``gCL``: ||f - c||^4 strictly beyond the dead
            zone, ``>``) or 2 (eq. 17 as printed, ||f - c||^2 beyond the dead zone). At
            ||f - c|| ~ 40 the quartic term is ~1,600 times the square at the same lambda.
            The default form (4, elements, lambda 0.003) is the one HL arm that beat softmax
            in the powered loss study (docs/loss_study.md, protocol 2: +0.54 +- 0.38 box
            accuracy, 8 paired seeds, Holm p = 0.045); the square at 0.002 was equivalent.
        bias_correction: N_c of eq. 15's 1/(1 - phi^t): ``"per_class"`` (default; the
            updates in which class k was present) or ``"global"`` (the paper's single
            count). They agree when every class is in every batch (classification); in
            detection most classes are absent from most batches, and with a global
            count a class first seen at update n gets weight (1-phi)/(1-phi^(n+1)) on
            its features, so its center starts near minus the separation term, away
            from its features (tests/core: cos -0.7 after 20 updates).
        count_steps: what a "step" of the warm start and of HL(k) is. ``"forward"``
            (default): every training forward (train mode, gradients enabled). With
            gradient accumulation use ``"optimizer"``: the count advances only when the
            training loop calls ``hl_detect.step_losses(model)`` (or ``loss.step()``) after
            ``optimizer.step()``, and every micro-batch of an update step updates the
            centers with its own RoIs. Any number of forwards may precede one backward.
    """

    name = "hl"
    float32_state = ("centers",)
    float64_state = ("center_sum",)

    def __init__(
        self,
        num_classes: int,
        feature_dim: int,
        radius: float = 40.0,
        weight: float = 0.003,
        beta: float = 0.1,
        epsilon: float = 0.05,
        phi: float = 0.99,
        warmup_steps: int = 0,
        update_every: int = 1,
        background_center: bool = False,
        normalize_by: str = "elements",
        bias_correction: str = "per_class",
        count_steps: str = "forward",
        power: int = 4,
    ) -> None:
        super().__init__()
        if num_classes < 1 or feature_dim < 2:
            raise ValueError(f"need num_classes >= 1 and feature_dim >= 2, got {num_classes}, {feature_dim}")
        check_strength(radius=radius, weight=weight, epsilon=epsilon, beta=beta, power=power)
        if not 0.0 <= phi < 1.0:
            raise ValueError(f"phi must be in [0, 1), got {phi}")
        if update_every < 1 or warmup_steps < 0:
            raise ValueError(f"need update_every >= 1 and warmup_steps >= 0, got {update_every}, {warmup_steps}")
        if normalize_by not in NORMALIZATIONS:
            raise ValueError(f"normalize_by must be one of {NORMALIZATIONS}, got {normalize_by!r}")
        if bias_correction not in ("per_class", "global"):
            raise ValueError(f"bias_correction must be 'per_class' or 'global', got {bias_correction!r}")
        if count_steps not in ("forward", "optimizer"):
            raise ValueError(f"count_steps must be 'forward' or 'optimizer', got {count_steps!r}")
        self.count_steps = count_steps
        self.power = int(power)
        self.normalize_by = normalize_by
        self.bias_correction = bias_correction
        self.num_classes = num_classes
        self.feature_dim = feature_dim
        self.radius = float(radius)
        self.weight = float(weight)
        self.beta = float(beta)
        self.epsilon = float(epsilon)
        self.phi = float(phi)
        self.warmup_steps = int(warmup_steps)
        self.update_every = int(update_every)
        self.background_center = bool(background_center)
        self.label_offset = 0 if background_center else 1
        num_centers = num_classes + (1 if background_center else 0)
        # a from the cap-area condition over the K centers that share the sphere (Sec. III-A)
        self.sphere_radius = feature_sphere_radius(feature_dim, num_centers, self.radius)
        self.register_buffer("centers", torch.zeros(num_centers, feature_dim, dtype=torch.float32))
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.int64))
        self.register_buffer("class_updates", torch.zeros(num_centers, dtype=torch.int64))
        self.register_buffer("num_steps", torch.zeros((), dtype=torch.int64))
        # sum_l c_l for the separation term of the present-rows update (K > R), kept exactly in
        # step with the centers and saved with them, so a resumed run continues bit for bit
        self.register_buffer("center_sum", torch.zeros(feature_dim, dtype=torch.float64))
        self._host_steps = 0
        self._mirror_of = self._buffer_stamp()
        self._sum_stamp = self._centers_stamp()  # center_sum matches the centers as of this stamp

    def _buffer_stamp(self) -> tuple[int, int]:
        """(identity, version) of the num_steps buffer: host-side, changes on any write."""
        return id(self.num_steps), self.num_steps._version

    def _host_step(self) -> int:
        """num_steps as a Python int, without a device read unless someone else wrote the buffer."""
        if self._buffer_stamp() != self._mirror_of:
            # the buffer was written from outside (load, DDP broadcast, .to()): one host read
            self._host_steps = int(self.num_steps)
            self._mirror_of = self._buffer_stamp()
        return self._host_steps

    def _next_step(self) -> int:
        """Count one training step; returns the step index before it (host side, no sync)."""
        step = self._host_step()
        self._host_steps += 1
        self.num_steps += 1
        self._mirror_of = self._buffer_stamp()
        return step

    def step(self) -> None:
        """One optimizer step done (``count_steps="optimizer"``); a no-op when forwards count."""
        if self.count_steps == "optimizer":
            self._next_step()

    @torch.compiler.disable
    def schedule(self, training_step: bool) -> tuple[bool, bool]:
        """(in warm start, update the centers now) for this forward; counts the step if it trains.

        Kept out of torch.compile: the step count is a Python int that would otherwise
        be a guard and recompile the graph at every step; compiled code sees only the
        two booleans (three combinations in all)."""
        counts_here = training_step and self.count_steps == "forward"
        step = self._next_step() if counts_here else self._host_step()
        in_warmup = step < self.warmup_steps
        update = training_step and not in_warmup and (step - self.warmup_steps) % self.update_every == 0
        return in_warmup, update

    @property
    def dead_zone(self) -> float:
        """eps * a, the radius inside which a feature is not penalized (eq. 11)."""
        return self.epsilon * self.sphere_radius

    def extra_losses(self, features: Tensor, labels: Tensor, rois_per_image=None) -> dict[str, Tensor]:
        if not self.training:
            return {}
        features = features.flatten(start_dim=1)
        # a validation-loss pass (no grad) gets the value with today's centers, no state change
        in_warmup, update = self.schedule(self.is_training_step())
        if update:
            self.update(features, labels)
        if in_warmup:
            # warm start: CE only; an exact zero that keeps the graph (sum of nothing)
            return {"loss_hypersphere": features[:0].sum()}
        return {"loss_hypersphere": self.penalty(features, labels)}

    def penalty(self, features: Tensor, labels: Tensor) -> Tensor:
        """Eq. 17's penalty with the current centers (no state change)."""
        # centers and distances in float32 even under autocast (the spec's AMP rule)
        with torch.autocast(device_type=features.device.type, enabled=False):
            return hypersphere_penalty(
                features.float(), labels, self.centers, self.dead_zone, self.weight, self.label_offset,
                self.normalize_by, self.power,
            )

    @torch.no_grad()
    def update(self, features: Tensor, labels: Tensor) -> None:
        """One EWMA center update (eqs. 15-16) from this step's RoIs, synced across ranks."""
        count = self.class_updates if self.bias_correction == "per_class" else self.num_updates
        with torch.autocast(device_type=features.device.type, enabled=False):
            if features.shape[0] == 0 and not is_distributed():
                # no RoI in this step (a shape, known on the host): nothing present, nothing moves
                present = torch.zeros_like(self.class_updates, dtype=torch.bool)
            elif self.centers.shape[0] > features.shape[0] and not is_distributed():
                # more classes than RoIs (a large catalogue): rewrite only the present rows
                rows, values, present, change = present_center_update(
                    self.centers, count, features, labels, self.label_offset, self._current_center_sum(),
                    self.radius, self.beta, self.phi)
                self.centers.index_copy_(0, rows, values)
                self.center_sum += change
            else:
                sums, counts = class_sums(features, labels, self.centers.shape[0], self.label_offset)
                # one collective: [K, d + 1] = per-class feature sums and counts, summed over ranks
                sums, counts = self.sum_over_ranks(sums, counts)
                self.centers.copy_(update_centers(self.centers, count, sums, counts, self.radius, self.beta, self.phi))
                self.center_sum.copy_(self.centers.sum(dim=0, dtype=torch.float64))
                present = counts > 0
            self._sum_stamp = self._centers_stamp()
        self.num_updates += 1
        self.class_updates += present.to(self.class_updates.dtype)

    def _apply(self, fn, recurse=True):
        # a move (.to(device), .cuda()) carries center_sum along with the centers: still in step
        in_step = getattr(self, "_sum_stamp", None) == self._centers_stamp()
        result = super()._apply(fn, recurse)
        if in_step:
            self._sum_stamp = self._centers_stamp()
        return result

    def _centers_stamp(self) -> tuple:
        return id(self.centers), self.centers._version, self.centers.device

    @torch.compiler.disable
    def _current_center_sum(self) -> Tensor:
        """``center_sum``, recomputed exactly if anything but an update or a load wrote the
        centers since (the buffer's version counter tells, without a device read)."""
        if self._sum_stamp != self._centers_stamp():
            self.center_sum.copy_(self.centers.sum(dim=0, dtype=torch.float64))
            self._sum_stamp = self._centers_stamp()
        return self.center_sum

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        if prefix + "centers" in state_dict and prefix + "class_updates" not in state_dict:
            # written before per-class N_c existed: every class with a center has seen the
            # global count of updates at most; that count is the closest we can restore
            state_dict = dict(state_dict)
            seen = state_dict[prefix + "centers"].norm(dim=1) > 0
            global_count = state_dict.get(prefix + "num_updates", torch.zeros((), dtype=torch.int64))
            state_dict[prefix + "class_updates"] = torch.where(seen, global_count, torch.zeros_like(global_count))
        if prefix + "centers" in state_dict and prefix + "center_sum" not in state_dict:
            # written before the running sum existed: the exact sum of the loaded centers
            state_dict = dict(state_dict)
            state_dict[prefix + "center_sum"] = state_dict[prefix + "centers"].sum(dim=0, dtype=torch.float64)
        absent = [prefix + name for name in ("centers", "num_updates", "class_updates", "num_steps") if prefix + name not in state_dict]
        if absent:
            # torch reports them as missing keys (an error under strict=True); say why and what to do
            warnings.warn(
                f"the checkpoint has no hypersphere-loss state ({', '.join(absent)}): it was saved from a "
                "model without the hl_detect plugin. Load it into the torchvision model first and then "
                "convert it with hl_detect.convert_to_hypersphere(model), or load with strict=False to "
                "start the centers from zero.",
                stacklevel=2,
            )
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        self._sum_stamp = self._centers_stamp()  # the loaded sum belongs to the loaded centers
        if prefix + "num_steps" in state_dict:
            # one host read at load time (never inside a step) to resume the warm-up/HL(k) schedule
            self._host_steps = int(state_dict[prefix + "num_steps"])
            self._mirror_of = self._buffer_stamp()

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, feature_dim={self.feature_dim}, r={self.radius}, "
            f"lambda={self.weight}, beta={self.beta}, eps={self.epsilon}, a={self.sphere_radius:.4f}, "
            f"phi={self.phi}, warmup_steps={self.warmup_steps}, k={self.update_every}, "
            f"background_center={self.background_center}, normalize_by={self.normalize_by}, power={self.power}, "
            f"bias_correction={self.bias_correction}, count_steps={self.count_steps}"
        )
