"""The process group a run joins is destroyed by the run, not left to Python's exit.

Left to interpreter exit, gloo's threads can be torn down mid-finalization and abort a rank
("terminate called without an active exception", SIGABRT) after a run that succeeded; CI saw
this once under torchrun. shutdown_distributed ends the group init_distributed created, and
leaves alone a group the caller created.
"""
import os

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

from hl_detect import distributed as dist_utils
from local_ports import free_port


def worker(rank, port, caller_port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
                      LOCAL_RANK=str(rank))
    seen = []
    # the run's own group: init_distributed creates it, shutdown_distributed ends it
    distributed, _ = dist_utils.init_distributed("cpu")
    seen.append(f"joined={distributed} initialized={dist.is_initialized()}")
    dist_utils.shutdown_distributed()
    seen.append(f"after shutdown initialized={dist.is_initialized()}")
    # a caller's group: init_distributed joins it, shutdown_distributed leaves it to the caller
    os.environ["MASTER_PORT"] = str(caller_port)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    dist_utils.init_distributed("cpu")
    dist_utils.shutdown_distributed()
    seen.append(f"caller's group kept={dist.is_initialized()}")
    dist.destroy_process_group()
    with open(os.path.join(out_dir, f"rank{rank}.txt"), "w") as f:
        f.write("\n".join(seen))


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not built")
def test_the_run_ends_its_own_group_and_not_the_callers(tmp_path):
    mp.spawn(worker, args=(free_port(), free_port(), str(tmp_path)), nprocs=2, join=True)
    for rank in (0, 1):
        assert (tmp_path / f"rank{rank}.txt").read_text().splitlines() == [
            "joined=True initialized=True", "after shutdown initialized=False", "caller's group kept=True"]


def test_without_a_group_shutdown_does_nothing():
    assert not dist.is_initialized()
    dist_utils.shutdown_distributed()
    assert not dist.is_initialized()
