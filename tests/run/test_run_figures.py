"""The run folder's confusion matrix and learning curve: PNGs a viewer opens, and the same
pictures under TensorBoard's image tags."""
import pytest
from PIL import Image

from hl_detect.run.run_figures import CONFUSION_PNG, LEARNING_CURVE_PNG, write_run_figures
from tensorboard_events import tensorboard_tags


@pytest.mark.parametrize("num_classes", [3, 80])  # counts in the cells / too many classes for names
def test_figures_are_written_and_logged(tmp_path, num_classes):
    from torch.utils.tensorboard import SummaryWriter

    names = [f"class_{i}" for i in range(num_classes)]
    confusion = [[(5 if i == j else 1) for j in range(num_classes)] for i in range(num_classes)]
    train_log = [{"epoch": e, "step": 2 * (e + 1), "loss_classifier": 1.0 / (e + 1), "loss_hypersphere": 1e-3,
                  "grad_ratio": 0.01} for e in range(3)]
    history = [{"epoch": e, "step": 2 * (e + 1), "mAP50_area": 0.1 * e, "box_accuracy": None if e == 0 else 0.2 * e}
               for e in range(3)]
    writer = SummaryWriter(str(tmp_path / "tb"))
    written = write_run_figures(tmp_path, {"confusion_matrix": confusion}, train_log, history, names, writer, step=6)
    writer.close()
    assert sorted(p.name for p in written) == sorted([CONFUSION_PNG, LEARNING_CURVE_PNG])
    for name, smallest in ((CONFUSION_PNG, 400), (LEARNING_CURVE_PNG, 300)):
        with Image.open(tmp_path / name) as picture:
            picture.verify()
        with Image.open(tmp_path / name) as picture:
            assert picture.format == "PNG" and smallest <= min(picture.size) and max(picture.size) <= 2000, picture.size
    assert tensorboard_tags(tmp_path / "tb", ["images"])["images"] == {"figures/confusion_matrix", "figures/learning_curve"}


def test_a_curve_without_evaluations_or_a_confusion_matrix(tmp_path):
    written = write_run_figures(tmp_path, {}, [{"epoch": 0, "step": 2, "loss_classifier": 0.0}], [], ["a"])
    assert [p.name for p in written] == [LEARNING_CURVE_PNG]
