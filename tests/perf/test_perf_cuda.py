"""CUDA-only checks (skipped without a GPU; tools/gpu_check.sh runs them): no host sync in the HL
terms under torch.cuda.set_sync_debug_mode("error"), and AMP fp16 / bf16 with float32 centers."""
import copy

import pytest
import torch

import hl_detect
from hl_detect.studies.benchmark import synthetic_batch
from hl_detect.losses import build_classification_loss

from test_perf_host_sync import tiny_stock

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@needs_cuda
@pytest.mark.parametrize("name", ["hl", "hl_authors_code", "cosface+hl"])
def test_hl_terms_make_no_host_sync(name):
    loss = build_classification_loss(name, 20, 256).cuda().train()
    g = torch.Generator(device="cuda").manual_seed(0)
    for step in range(4):  # first update, later updates, penalty each time
        features = torch.rand(512, 256, device="cuda", generator=g).requires_grad_()
        labels = torch.randint(0, 21, (512,), device="cuda", generator=g)
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            terms = loss.extra_losses(features, labels, [256, 256])
            sum(terms.values()).backward()
        finally:
            torch.cuda.set_sync_debug_mode(0)
    assert torch.isfinite(features.grad).all()


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_amp_training_keeps_float32_centers(dtype):
    model = hl_detect.convert_to_hypersphere(copy.deepcopy(tiny_stock()), "hl").cuda().train()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    images, targets = synthetic_batch(2, 96, 5, seed=0)
    images = [i.cuda() for i in images]
    targets = [{k: v.cuda() for k, v in t.items()} for t in targets]
    for _ in range(3):
        with torch.autocast("cuda", dtype=dtype):
            losses = model(images, targets)
        total = sum(losses.values())
        assert torch.isfinite(total) and losses["loss_hypersphere"].dtype == torch.float32
        optimizer.zero_grad()
        scaler.scale(total).backward()
        scaler.step(optimizer)
        scaler.update()
    loss = model.roi_heads.cls_loss
    assert loss.centers.dtype == torch.float32 and loss.num_updates.item() == 3
    assert torch.allclose(loss.centers.norm(dim=1)[loss.class_updates > 0], torch.tensor(40.0, device="cuda"))
