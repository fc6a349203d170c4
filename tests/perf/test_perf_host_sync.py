"""A training step with the HL plugin makes no host-synchronizing call that torchvision's stock
step does not make: every sync-prone torch call (``.item()``, ``bool(t)``, ``nonzero``, boolean
masks, ...) is counted, through ``__torch_function__``, over a stock and a converted step."""
import collections
import copy

import pytest
import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode

import hl_detect
from hl_detect.studies.benchmark import synthetic_batch
from hl_detect.losses import HypersphereLoss
from hl_detect.models import fasterrcnn_tiny_hl

SYNC_CALLS = {
    Tensor.item: "item", Tensor.tolist: "tolist", Tensor.numpy: "numpy", Tensor.cpu: "cpu",
    Tensor.__bool__: "bool", Tensor.__int__: "int", Tensor.__float__: "float", Tensor.__index__: "index",
    Tensor.nonzero: "nonzero", torch.nonzero: "nonzero", torch.argwhere: "nonzero",
    Tensor.masked_select: "masked_select", torch.masked_select: "masked_select",
    torch.unique: "unique", Tensor.unique: "unique", torch.unique_consecutive: "unique",
}


def _is_bool_mask(index):
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, Tensor) and i.dtype == torch.bool for i in items)


class SyncCounter(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = SYNC_CALLS.get(func)
        if func in (torch.where, Tensor.where) and len(args) + len(kwargs) == 1:
            name = "where(cond)"  # = nonzero
        elif func in (torch.repeat_interleave, Tensor.repeat_interleave) and "output_size" not in kwargs:
            name = "repeat_interleave"
        elif func in (Tensor.__getitem__, Tensor.__setitem__) and len(args) > 1 and _is_bool_mask(args[1]):
            name = "bool-mask index"
        if name:
            self.counts[name] += 1
        return func(*args, **kwargs)


def tiny_stock():
    torch.manual_seed(0)
    model = fasterrcnn_tiny_hl(num_classes=6, width=8, representation_size=64, min_size=96, max_size=96,
                               rpn_pre_nms_top_n_train=64, rpn_post_nms_top_n_train=32, box_batch_size_per_image=32)
    return hl_detect.revert_to_torchvision(model)


def count_step(model, batch, seed=1):
    images, targets = batch
    model.train()
    torch.manual_seed(seed)
    counter = SyncCounter()
    with counter:
        losses = model(images, targets)
        sum(losses.values()).backward()
    return counter.counts, losses


@pytest.mark.parametrize("update_every", [1, 2])
def test_hl_step_adds_no_sync_prone_call(update_every):
    stock = tiny_stock()
    hl = hl_detect.convert_to_hypersphere(copy.deepcopy(stock), "hl", update_every=update_every)
    batch = synthetic_batch(2, 96, 5, seed=0)
    for step in range(2):  # with k = 2: one step with a center update, one without
        expected, stock_losses = count_step(stock, batch, seed=step)
        got, hl_losses = count_step(hl, batch, seed=step)
        assert sum(expected.values()) > 0  # the counter sees torchvision's own syncs
        assert got == expected, f"HL step: {dict(got)}, stock step: {dict(expected)}"
        assert hl_losses["loss_hypersphere"].requires_grad
    assert hl.roi_heads.cls_loss.num_updates.item() == (2 if update_every == 1 else 1)


class ItemLoss(HypersphereLoss):
    def extra_losses(self, features, labels):
        out = super().extra_losses(features, labels)
        out["loss_hypersphere"].item()  # a planted host sync
        return out


def test_counter_catches_a_planted_sync():
    stock = tiny_stock()
    hl = copy.deepcopy(stock)
    hl_detect.convert_to_hypersphere(hl, ItemLoss(num_classes=5, feature_dim=64))
    batch = synthetic_batch(2, 96, 5, seed=0)
    expected, _ = count_step(stock, batch)
    got, _ = count_step(hl, batch)
    assert got["item"] == expected["item"] + 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: torch.cuda.set_sync_debug_mode")
def test_cuda_sync_debug_mode_hl_adds_no_sync(recwarn):
    stock = tiny_stock().cuda()
    hl = hl_detect.convert_to_hypersphere(copy.deepcopy(stock), "hl")
    images, targets = synthetic_batch(2, 96, 5, seed=0)
    images = [i.cuda() for i in images]
    targets = [{k: v.cuda() for k, v in t.items()} for t in targets]

    def syncs(model):
        model.train()
        for _ in range(2):  # the first step warms up
            torch.manual_seed(1)
            recwarn.clear()
            torch.cuda.set_sync_debug_mode("warn")
            try:
                sum(model(images, targets).values()).backward()
            finally:
                torch.cuda.set_sync_debug_mode(0)
        return sum("synchroniz" in str(w.message) for w in recwarn.list)

    assert syncs(hl) <= syncs(stock)
