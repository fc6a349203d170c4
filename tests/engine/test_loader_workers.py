"""Loader workers end with the run and obey their parent's terminate().

Regression: CI hung for 90 minutes after its last test passed. An in-process run with
persistent workers left its worker alive; at interpreter exit multiprocessing sent it the
parent's SIGTERM (terminate) and joined it. The SIGTERM landed in a thread torch's worker loop
had started before ``worker_init`` blocked the signal, reached the Python fallback handler,
which cannot see the sender, and was ignored: the parent waited for ever."""
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from torch.utils.data import DataLoader

from hl_detect.engine.worker_signals import release_workers, start_workers, worker_init
from tiny_runs import REPO, tiny_config

needs_sigwaitinfo = pytest.mark.skipif(not hasattr(signal, "sigwaitinfo"), reason="the rule needs sigwaitinfo (Linux)")


class Numbers(torch.utils.data.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return torch.tensor([i])


def _a_thread_first_then_worker_init(worker_id: int) -> None:
    """As in the hung CI run: a thread of the worker that exists before ``worker_init`` runs
    (there torch's or a library's; here one we start) must not take the parent's SIGTERM."""
    import threading

    threading.Thread(target=threading.Event().wait, daemon=True).start()
    worker_init(worker_id)


def _threads_with_sigterm_deliverable(pid: int) -> list[str]:
    """Threads of ``pid`` a process-directed SIGTERM can be delivered to through a handler:
    those that neither block it nor wait for it in sigwaitinfo."""
    open_to_it = []
    for task in os.listdir(f"/proc/{pid}/task"):
        status = open(f"/proc/{pid}/task/{task}/status").read()
        blocked = int(next(l for l in status.splitlines() if l.startswith("SigBlk:")).split()[1], 16)
        waiting = "sigtimedwait" in open(f"/proc/{pid}/task/{task}/wchan").read()
        if not blocked & (1 << (signal.SIGTERM - 1)) and not waiting:
            open_to_it.append(task)
    return open_to_it


@needs_sigwaitinfo
@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads /proc")
def test_a_real_loader_worker_has_sigterm_blocked_in_every_thread_and_obeys_terminate():
    loader = DataLoader(Numbers(), batch_size=2, num_workers=1, persistent_workers=True,
                        worker_init_fn=_a_thread_first_then_worker_init, multiprocessing_context="fork")
    batches = start_workers(loader)
    assert next(batches).tolist() == [[0], [1]]
    (worker,) = batches._workers
    try:
        # only the hl_detect-sigterm thread (in sigwaitinfo) may take a SIGTERM: it sees the sender
        assert _threads_with_sigterm_deliverable(worker.pid) == []
        subprocess.run(["kill", "-TERM", str(worker.pid)], check=True)  # a foreign SIGTERM: ignored
        worker.join(1.0)
        assert worker.is_alive()
        worker.terminate()  # the parent's, as multiprocessing's exit handler sends it
        worker.join(30)
        assert worker.exitcode == 0
    finally:
        if worker.is_alive():
            worker.kill()
        release_workers(loader)
    assert loader._iterator is None


def test_release_workers_ends_persistent_workers_and_a_new_pass_starts_fresh():
    loader = DataLoader(Numbers(), batch_size=4, num_workers=1, persistent_workers=True, worker_init_fn=worker_init)
    assert [b.tolist() for b in start_workers(loader)] == [[[0], [1], [2], [3]], [[4], [5], [6], [7]]]
    (worker,) = loader._iterator._workers
    release_workers(loader)
    worker.join(30)
    assert not worker.is_alive()
    assert len(list(start_workers(loader))) == 2  # the loader still works
    release_workers(loader)
    release_workers(loader)  # twice, or on a loader without workers: nothing to do
    release_workers(DataLoader(Numbers()))


@pytest.mark.slow
def test_an_in_process_run_with_workers_leaves_no_process_and_its_interpreter_exits(tiny_data, tmp_path):
    """The run ends its workers; and a Python that ran it exits (the 90-minute hang of CI)."""
    script = textwrap.dedent(f"""
        import multiprocessing, sys
        sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'tests')!r}]
        from hl_detect.run.train import run_training
        from tiny_runs import tiny_config
        cfg = tiny_config({str(tiny_data)!r}, {str(tmp_path / 'run')!r}, "data.workers=1", "threads=1", "epochs=1",
                          "eval_coco=false", "projector=false", "prediction_pictures=0", "tensorboard_pictures=0")
        run_training(cfg, progress=False)
        # a worker told to stop may still be on its way out on a busy machine: it must end by
        # itself (a persistent worker nobody stopped would wait for work for ever)
        for child in multiprocessing.active_children():
            child.join(60)
        print("children after the run:", [c.name for c in multiprocessing.active_children()])
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "children after the run: []" in proc.stdout, proc.stdout[-500:]
