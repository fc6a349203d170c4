"""Progress without a terminal: whole lines at the logging steps (no bar redraws), and the
evaluation's count is the batches it evaluates, not the loader's length."""
import torch
from torch.utils.data import DataLoader

from hl_detect.engine import evaluate, progress
from hl_detect.engine.evaluate import batches_to_evaluate


def test_lines_come_at_multiples_of_every_with_an_eta_until_the_last():
    lines, now = [], [0.0]  # a clock the test moves: 10 s a step
    shown = progress.LineProgress(6, "[train] epoch 1 step", every=2, say=lines.append, initial=1, clock=lambda: now[0])
    for position in range(4, 9):  # global steps 4..8 of a resumed epoch (1 of 6 done before)
        now[0] += 10.0
        shown.update(position, line_text=lambda: f"loss at {position}")
    shown.close()  # no final line for the training loop: only the logging steps print
    assert lines == ["[train] epoch 1 step 2/6 loss at 4 eta 0:00:40",
                     "[train] epoch 1 step 4/6 loss at 6 eta 0:00:20",
                     "[train] epoch 1 step 6/6 loss at 8"]


def test_a_final_line_says_the_count_actually_done():
    lines = []
    shown = progress.LineProgress(10, "[eval] batch", every=4, say=lines.append, final_line=True)
    for position in range(1, 7):  # fewer than estimated
        shown.update(position)
    shown.close()
    assert lines[0].startswith("[eval] batch 4/10 eta") and lines[-1] == "[eval] batch 6/6"


def test_the_bar_only_on_a_terminal(monkeypatch):
    options = dict(every=1, say=print, bar_desc="epoch 0", line_prefix="[train]")
    assert type(progress.step_progress(3, enabled=False, **options)) is progress.NoProgress
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: False)
    assert type(progress.step_progress(3, enabled=True, **options)) is progress.LineProgress
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    bar = progress.step_progress(5, enabled=True, **options)
    assert type(bar) is progress.BarProgress
    for position in range(1, 4):
        bar.update(position, bar_fields={"loss": "1.0"})
    bar.close()
    assert bar.bar.total == 3  # ended at what was done, not at the estimate


class Constant(torch.nn.Module):
    def forward(self, images):
        return [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64),
                 "scores": torch.zeros(0)} for _ in images]


class Counting:
    def reset(self):
        self.images = 0

    def update(self, predictions, targets):
        self.images += len(predictions)

    def compute(self):
        return {"num_images": self.images}


def collate(batch):
    return [image for image, _ in batch], [target for _, target in batch]


def test_evaluation_counts_the_batches_it_evaluates(monkeypatch):
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: False)
    samples = [(torch.zeros(3, 8, 8), {"image_id": i}) for i in range(76)]
    loader = DataLoader(samples, batch_size=2, collate_fn=collate)  # 38 batches
    assert batches_to_evaluate(loader, None) == 38 and batches_to_evaluate(loader, 4) == 2
    assert batches_to_evaluate(loader, 5) == 3 and batches_to_evaluate(loader, 1000) == 38
    lines = []
    result, _ = evaluate(Constant(), loader, Counting(), torch.device("cpu"), max_images=4, say=lines.append)
    assert result["num_images"] == 4
    assert [line.split(" eta ")[0] for line in lines] == ["[eval] batch 1/2", "[eval] batch 2/2"]  # not 1/38
