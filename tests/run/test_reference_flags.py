"""torchvision's references/detection/train.py flag names: the same config as today's names."""
from hl_detect.run.cli import config_from_args
from hl_detect.run.commands import eval as eval_command
from hl_detect.run.commands.train import get_args_parser


def config(*argv):
    return config_from_args(get_args_parser().parse_args(["--dataset", "demo", *argv]))


def test_reference_names_give_todays_config(tmp_path):
    ours = config("--data-root", str(tmp_path), "--head", "mobilenet", "--batch-size", "3", "--workers", "0",
                  "--set", "log_every=7", "--deterministic", "--set", "model.weights_backbone=IMAGENET1K_V2")
    reference = config("--data-path", str(tmp_path), "--model", "mobilenet", "-b", "3", "-j", "0", "--print-freq", "7",
                       "--use-deterministic-algorithms", "--weights-backbone", "IMAGENET1K_V2")
    assert reference == ours
    # ... and both say what was asked (not two equal defaults)
    assert (ours["data"]["root"], ours["model"]["head"], ours["batch_size"], ours["data"]["workers"]) == (str(tmp_path), "mobilenet", 3, 0)
    assert (ours["log_every"], ours["deterministic"], ours["model"]["weights_backbone"]) == (7, True, "IMAGENET1K_V2")


def test_weights_flags_set_the_model_keys(tmp_path):
    weights = tmp_path / "coco.pth"
    weights.write_bytes(b"")  # the check before any data loads only asks that it exists
    builder = "fasterrcnn_mobilenet_v3_large_320_fpn"
    ours = config("--set", f"model.head={builder}", "--set", f"model.weights={weights}")
    reference = config("--model", builder, "--weights", str(weights))
    assert reference == ours and ours["model"]["weights"] == str(weights)
    assert config("--weights-backbone", "None")["model"]["weights_backbone"] is None  # torchvision's spelling of none
    assert config("--model", builder, "--weights", "COCO_V1")["model"]["weights"] == "COCO_V1"


def test_eval_det_takes_the_reference_names(tmp_path):
    parser = eval_command.get_args_parser()
    ours = parser.parse_args(["RUN", "--data-root", str(tmp_path), "--batch-size", "2", "--workers", "0"])
    reference = parser.parse_args(["RUN", "--data-path", str(tmp_path), "-b", "2", "-j", "0"])
    assert vars(reference) == vars(ours) and (ours.data_root, ours.batch_size, ours.workers) == (str(tmp_path), 2, 0)
