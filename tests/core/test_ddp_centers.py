"""Centers under torch.distributed (2 gloo processes on CPU) equal one process on the global batch."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from hl_detect import HypersphereLoss, convert_to_hypersphere
from local_ports import free_port

STEPS, ROIS, DIM, CLASSES = 3, 12, 8, 5


def global_batch(step):
    g = torch.Generator().manual_seed(100 + step)
    features = torch.rand(2 * ROIS, DIM, generator=g) * 4
    labels = torch.randint(0, CLASSES + 1, (2 * ROIS,), generator=g)
    labels[ROIS:] = labels[ROIS:].clamp(max=3)  # rank 1 never sees classes 4, 5: they must still agree
    return features, labels


def worker(rank, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        loss = HypersphereLoss(CLASSES, DIM).train()
        for step in range(STEPS):
            features, labels = global_batch(step)
            part = slice(rank * ROIS, (rank + 1) * ROIS)
            loss.extra_losses(features[part], labels[part])
        # a converted detector wrapped in DDP keeps working and agreeing across ranks
        from torchvision.models import detection

        torch.manual_seed(0)
        model = detection.fasterrcnn_mobilenet_v3_large_320_fpn(
            weights=None, weights_backbone=None, num_classes=4, min_size=64, max_size=64,
            rpn_post_nms_top_n_train=16, box_batch_size_per_image=8,
        )
        convert_to_hypersphere(model, "hl")
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        g = torch.Generator().manual_seed(rank)
        images = [torch.rand(3, 64, 64, generator=g)]
        targets = [{"boxes": torch.tensor([[4.0, 6.0, 40.0, 50.0]]), "labels": torch.tensor([rank + 1])}]
        losses = ddp(images, targets)
        sum(losses.values()).backward()
        torch.save(
            {"centers": loss.centers, "n": loss.num_updates, "model_centers": model.roi_heads.cls_loss.centers},
            os.path.join(out_dir, f"rank{rank}.pt"),
        )
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not built")
def test_two_gloo_ranks_match_single_process(tmp_path):
    mp.spawn(worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert torch.equal(r0["centers"], r1["centers"])
    assert torch.equal(r0["model_centers"], r1["model_centers"])
    assert r0["model_centers"][:2].norm(dim=1).allclose(torch.tensor([40.0, 40.0]))  # labels 1 and 2, one per rank
    single = HypersphereLoss(CLASSES, DIM).train()
    for step in range(STEPS):
        single.extra_losses(*global_batch(step))
    torch.testing.assert_close(r0["centers"], single.centers, rtol=1e-5, atol=1e-5)
    assert r0["n"].item() == single.num_updates.item() == STEPS
