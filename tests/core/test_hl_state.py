"""HL state however the detector is driven: validation passes, accumulation, late classes,
DDP broadcasts, dtype casts, torch.compile, lr warm-up on resume, revert of margin losses."""
import math
import os
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

import hl_detect.losses.base as loss_base_module
from hl_detect import HypersphereLoss, convert_to_hypersphere, revert_to_torchvision
from hl_detect.losses import ASoftmaxLoss, CenterLoss, NormalizedLinear, class_sums, hypersphere_penalty, update_centers

from test_roi_heads import mobilenet, run_train
from local_ports import free_port


def step_inputs(seed, rois=24, dim=16, classes=4):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(rois, dim, generator=g).mul(5).requires_grad_(), torch.randint(0, classes + 1, (rois,), generator=g)


def snapshot(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# 1. validation-loss passes -------------------------------------------------------------------------------

@pytest.mark.parametrize("guard", [torch.no_grad, torch.inference_mode])
def test_validation_pass_changes_no_state_and_runs_no_collective(guard, monkeypatch):
    loss = HypersphereLoss(4, 16, warmup_steps=1).train()
    for step in range(3):
        loss.extra_losses(*step_inputs(step))
    before = snapshot(loss)
    monkeypatch.setattr(loss_base_module, "all_reduce_sum_", lambda *a: pytest.fail("collective in a validation pass"))
    f, y = step_inputs(10)
    with guard():
        values = [loss.extra_losses(f, y)["loss_hypersphere"] for _ in range(3)]
    assert same_state(before, snapshot(loss))
    expected = hypersphere_penalty(f.detach(), y, loss.centers, loss.dead_zone, loss.weight, normalize_by=loss.normalize_by,
                                   power=loss.power)
    assert all(v.item() == pytest.approx(expected.item(), rel=1e-6) for v in values)


def test_validation_pass_leaves_center_loss_and_asoftmax_alone():
    cl = CenterLoss(4, 16).train()
    cl.extra_losses(*step_inputs(0))
    before = snapshot(cl)
    with torch.no_grad():
        cl.extra_losses(*step_inputs(1))
    assert same_state(before, snapshot(cl))
    asl = ASoftmaxLoss(4, 16).train()
    f, y = step_inputs(2)
    with torch.no_grad():
        asl.training_logits(torch.randn(24, 5), f, y)
    assert asl.num_steps.item() == 0
    asl.training_logits(torch.randn(24, 5), f, y)
    assert asl.num_steps.item() == 1


def test_validation_pass_through_the_detector(batch):
    model = convert_to_hypersphere(mobilenet(), "hl")
    run_train(model, *batch)
    before = snapshot(model.roi_heads.cls_loss)
    with torch.no_grad():
        losses = run_train(model, *batch)
    assert losses["loss_hypersphere"].item() > 0
    assert same_state(before, snapshot(model.roi_heads.cls_loss))


# 2. gradient accumulation --------------------------------------------------------------------------------

def test_two_forwards_then_one_backward_use_each_forwards_centers():
    loss = HypersphereLoss(4, 16, normalize_by="foreground", power=2).train()  # the square's closed-form gradient
    (f1, y1), (f2, y2) = step_inputs(0), step_inputs(1)
    l1 = loss.extra_losses(f1, y1)["loss_hypersphere"]
    c1 = loss.centers.clone()
    l2 = loss.extra_losses(f2, y2)["loss_hypersphere"]  # updates the centers in place
    (l1 + l2).backward()  # used to fail: "modified by an inplace operation"
    m1 = int((y1 > 0).sum())
    expected = torch.zeros_like(f1)
    for i, y in enumerate(y1.tolist()):
        if y:
            expected[i] = loss.weight / m1 * (f1[i] - c1[y - 1]).detach()
    torch.testing.assert_close(f1.grad, expected)


def test_accumulation_in_the_detector(batch):
    model = convert_to_hypersphere(mobilenet(), "hl")
    total = sum(run_train(model, *batch, seed=1).values()) + sum(run_train(model, *batch, seed=2).values())
    total.backward()
    assert model.roi_heads.cls_loss.num_steps.item() == 2


# 3. per-class N_c ----------------------------------------------------------------------------------------

def slow_update_per_class(centers, counts_per_class, features, labels, radius, beta, phi):
    """eq. 15-16 with each class's own t_k = N_k + 1 (Python loops, float64)."""
    k_total, d = centers.shape
    new = centers.clone().double()
    for k in range(k_total):
        rows = [f for f, y in zip(features, labels.tolist()) if y == k + 1]
        if not rows:
            continue
        t = counts_per_class[k] + 1
        others = sum((centers[l].double() for l in range(k_total) if l != k), torch.zeros(d, dtype=torch.float64))
        s = sum(((phi * centers[k].double() + (1 - phi) * f.double()) / (1 - phi**t) - beta / (k_total - 1) * others
                 for f in rows), torch.zeros(d, dtype=torch.float64))
        new[k] = radius * s / s.norm()
    return new.float()


def test_per_class_bias_correction_matches_slow_loop():
    g = torch.Generator().manual_seed(3)
    centers = torch.nn.functional.normalize(torch.randn(4, 6, generator=g), dim=1) * 40
    centers[3] = 0  # class 4: never seen yet
    n = torch.tensor([5, 0, 2, 0])
    features = torch.rand(30, 6, generator=g) * 10
    labels = torch.tensor([1, 2, 4, 0, 1, 4] * 5)
    sums, counts = class_sums(features, labels, 4)
    got = update_centers(centers, n, sums, counts, 40.0, 0.1, 0.99)
    torch.testing.assert_close(got, slow_update_per_class(centers, n.tolist(), features, labels, 40.0, 0.1, 0.99),
                               rtol=1e-5, atol=1e-4)


def late_class_cosine(bias_correction, first_seen=20, after=0):
    """Cosine between a late class's center and its features' mean direction."""
    torch.manual_seed(0)
    d = 8
    means = 3.0 + torch.eye(d)[:3] * 10  # positive, correlated class means, as ReLU features are
    loss = HypersphereLoss(3, d, bias_correction=bias_correction).train()
    for step in range(first_seen + 1 + after):
        classes = [1, 2] if step < first_seen else [1, 2, 3]
        labels = torch.tensor(classes * 6)
        features = means[labels - 1] + torch.randn(len(labels), d)
        loss.extra_losses(features, labels)
    return float(torch.nn.functional.cosine_similarity(loss.centers[2], means[2], dim=0))


def test_late_class_points_at_its_features_only_with_per_class_counts():
    # per class: t = 1 at first sight, the center is the class mean's direction minus the
    # separation term (measured: cos 0.97)
    assert late_class_cosine("per_class") > 0.9
    # the paper's single count: weight (1-phi)/(1-phi^21) on the features, the separation term
    # wins and the center points away from them (measured: -0.47), still after 50 more updates
    assert late_class_cosine("global") < 0
    assert late_class_cosine("global", after=50) < 0 < late_class_cosine("per_class", after=50)
    loss = HypersphereLoss(3, 8)
    assert loss.bias_correction == "per_class" and loss.class_updates.shape == (3,)
    with pytest.raises(ValueError, match="bias_correction"):
        HypersphereLoss(3, 8, bias_correction="none")


def test_old_checkpoint_without_per_class_counts_loads():
    old = HypersphereLoss(4, 16).train()
    for step in range(3):
        old.extra_losses(*step_inputs(step))
    state = {k: v for k, v in old.state_dict().items() if k != "class_updates"}
    new = HypersphereLoss(4, 16)
    new.load_state_dict(state)
    seen = old.centers.norm(dim=1) > 0
    assert torch.equal(new.class_updates, torch.where(seen, 3, 0))


# 4. DDP: a checkpoint loaded on rank 0 and broadcast by DDP ----------------------------------------------

class _Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(16, 16)
        self.loss = HypersphereLoss(4, 16, warmup_steps=3)

    def forward(self, f, y):
        return self.loss.extra_losses(self.proj(f), y)["loss_hypersphere"]


def _broadcast_worker(rank, port, state, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=timedelta(seconds=30))
    try:
        torch.manual_seed(0)
        model = _Holder().train()
        if rank == 0:
            model.load_state_dict(state)  # only rank 0 reads the checkpoint
        ddp = nn.parallel.DistributedDataParallel(model)  # broadcasts rank 0's buffers
        f, y = step_inputs(rank)
        ddp(f, y).backward()  # both ranks must agree that this step (5) updates: one all-reduce each
        torch.save({"steps": model.loss.num_steps, "updates": model.loss.num_updates, "centers": model.loss.centers},
                   os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not built")
def test_rank0_checkpoint_then_ddp_broadcast_keeps_ranks_in_step(tmp_path):
    torch.manual_seed(0)
    source = _Holder().train()
    for step in range(5):
        source(*step_inputs(20 + step))
    state = source.state_dict()
    mp.spawn(_broadcast_worker, args=(free_port(), state, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert r0["steps"].item() == r1["steps"].item() == 6
    assert r0["updates"].item() == r1["updates"].item() == 3
    assert torch.equal(r0["centers"], r1["centers"])


def _join_worker(rank, port, out_dir):
    from hl_detect import bind_process_group

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=timedelta(seconds=30))
    try:
        model = _Holder().train()
        model.loss.warmup_steps = 0
        ddp = bind_process_group(nn.parallel.DistributedDataParallel(model))
        assert model.loss.process_group is ddp.process_group
        message = ""
        try:
            with ddp.join():
                ddp(*step_inputs(rank)).backward()
        except RuntimeError as error:
            message = str(error)
        torch.save({"message": message, "updates": model.loss.num_updates}, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not built")
def test_ddp_join_is_a_clear_error_not_a_deadlock(tmp_path):
    mp.spawn(_join_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    for rank in (0, 1):
        out = torch.load(tmp_path / f"rank{rank}.pt")
        assert "DistributedDataParallel.join()" in out["message"] and "same number of batches" in out["message"]
        assert out["updates"].item() == 0  # raised before the collective, on both ranks: no deadlock


# 5. dtype casts ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_centers_stay_float32_under_model_casts(dtype):
    loss = HypersphereLoss(4, 16).train()
    cl = CenterLoss(4, 16).train()
    f, y = step_inputs(0)
    loss.extra_losses(f, y)
    cl.centers.data.normal_()
    exact, exact_cl = loss.centers.clone(), cl.centers.detach().clone()
    loss.to(dtype)
    cl.to(dtype)
    assert loss.centers.dtype == torch.float32 and torch.equal(loss.centers, exact)
    assert cl.centers.dtype == torch.float32 and torch.equal(cl.centers.detach(), exact_cl)
    f_low = f.detach().to(dtype).requires_grad_()
    out = loss.extra_losses(f_low, y)["loss_hypersphere"]  # features are upcast for the loss
    out.backward()
    assert out.dtype == torch.float32 and f_low.grad.dtype == dtype
    assert torch.isfinite(cl.extra_losses(f_low, y)["loss_center"])


def test_half_detector_keeps_float32_centers():
    model = convert_to_hypersphere(mobilenet(), "hl").half()
    assert model.roi_heads.cls_loss.centers.dtype == torch.float32
    assert model.roi_heads.box_predictor.cls_score.weight.dtype == torch.float16


# 6. torch.compile ----------------------------------------------------------------------------------------

def test_compile_does_not_recompile_every_step():
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    compiled, eager = (HypersphereLoss(4, 16, warmup_steps=3, update_every=2).train() for _ in range(2))
    fn = torch.compile(lambda f, y: compiled.extra_losses(f, y)["loss_hypersphere"], backend="eager")
    for step in range(20):
        f, y = step_inputs(step)
        torch.testing.assert_close(fn(f, y), eager.extra_losses(f, y)["loss_hypersphere"])
    assert torch.equal(compiled.centers, eager.centers) and compiled.num_steps.item() == 20
    # warm start / update step / penalty-only step: a few graphs, not one per step (was 14)
    assert counters["stats"]["unique_graphs"] <= 5
    torch._dynamo.reset()


# 8. revert of the margin losses (7, the lr warm-up on resume: tests/engine/test_lr_schedule.py) ------------

@pytest.mark.parametrize("name", ["cosface", "arcface", "asl"])
def test_revert_restores_a_linear_classifier_that_loads_stock_weights(name):
    stock = mobilenet()
    model = convert_to_hypersphere(mobilenet(), name)
    direction = torch.nn.functional.normalize(model.roi_heads.box_predictor.cls_score.weight.detach(), dim=1)
    with pytest.warns(UserWarning, match="plain nn.Linear"):
        revert_to_torchvision(model)
    cls_score = model.roi_heads.box_predictor.cls_score
    assert type(cls_score) is nn.Linear and not isinstance(cls_score, NormalizedLinear)
    torch.testing.assert_close(cls_score.weight.detach(), direction)
    assert torch.count_nonzero(cls_score.bias) == 0
    model.load_state_dict(stock.state_dict())  # strict: torchvision's layout again
    assert math.isfinite(float(cls_score.weight.detach().sum()))


# 2b. counting optimizer steps under accumulation --------------------------------------------------------

def test_optimizer_step_counting_under_accumulation():
    per_forward = HypersphereLoss(4, 16, warmup_steps=2).train()
    per_step = HypersphereLoss(4, 16, warmup_steps=2, count_steps="optimizer").train()
    seen = {"forward": [], "optimizer": []}
    for step in range(4):  # 4 optimizer steps of 2 micro-batches each
        for micro in range(2):
            f, y = step_inputs(10 * step + micro)
            seen["forward"].append(per_forward.extra_losses(f, y)["loss_hypersphere"].item() > 0)
            seen["optimizer"].append(per_step.extra_losses(f, y)["loss_hypersphere"].item() > 0)
        per_step.step()
        per_forward.step()  # a no-op when forwards count
    assert seen["forward"] == [False, False, True, True, True, True, True, True]
    assert seen["optimizer"] == [False, False, False, False, True, True, True, True]
    assert per_step.num_steps.item() == 4 and per_forward.num_steps.item() == 8
    assert per_step.num_updates.item() == 4  # both micro-batches of steps 2 and 3


def test_step_losses_reaches_composed_parts(batch):
    model = convert_to_hypersphere(mobilenet(), "cosface+hl", hl={"count_steps": "optimizer"})
    from hl_detect import step_losses

    step_losses(model)
    assert model.roi_heads.cls_loss.parts["hl"].num_steps.item() == 1


# 4b. DDP's own process group -------------------------------------------------------------------------------

def test_bind_process_group_routes_the_all_reduce(monkeypatch):
    import hl_detect.distributed as distributed
    from hl_detect import bind_process_group

    model = convert_to_hypersphere(mobilenet(), "hl+cl")
    group = object()
    wrapped = type("FakeDDP", (), {"module": model, "process_group": group})()
    bind_process_group(wrapped)
    calls = []
    monkeypatch.setattr(distributed, "is_distributed", lambda: True)
    monkeypatch.setattr(distributed.dist, "all_reduce", lambda t, op=None, group=None: calls.append(group))
    f, y = step_inputs(0, dim=1024)  # mobilenet's box features
    model.roi_heads.cls_loss.train().extra_losses(f, y)
    assert calls == [group, group]  # HL's and the center loss's class sums
