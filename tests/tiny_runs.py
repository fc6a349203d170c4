"""A tiny demo run for tool tests: 8 generated images at 128 px, 2 steps per epoch."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# loss=hl: the tool tests need detections from a 2-step model, and CosFace's scaled logits (the
# demo's cosface, s = 64) leave every box of such a model under the 0.02 score threshold.
TINY_OVERRIDES = [
    "loss=hl",
    "data.options.num_train=8", "data.options.num_test=4", "data.options.image_size=128",
    "data.resize.min_size=96", "data.resize.max_size=128", "data.workers=0",
    "model.options.min_size=96", "model.options.max_size=128",
    "model.options.rpn_pre_nms_top_n_train=64", "model.options.rpn_post_nms_top_n_train=32",
    "model.options.rpn_pre_nms_top_n_test=64", "model.options.rpn_post_nms_top_n_test=32",
    "model.options.box_batch_size_per_image=16", "batch_size=2", "max_steps_per_epoch=2",
    "warmup_epochs=0", "lr_warmup_iters=0", "eval_every=1", "log_every=1", "projector_max_points=20", "prediction_pictures=2",
]


def tiny_args(data_root, out_dir, *extra):
    args = ["--dataset", "demo", "--data-root", str(data_root), "--output-dir", str(out_dir), "--no-progress"]
    for override in TINY_OVERRIDES:
        args += ["--set", override]
    return args + list(extra)


def tiny_config(data_root, out_dir, *overrides):
    from hl_detect.run.config import load_config

    cfg = load_config([REPO / "configs" / "demo.yaml"], TINY_OVERRIDES + [f"data.root={data_root}", f"output_dir={out_dir}", *overrides])
    return cfg


def run_tool(script, *args, timeout=300, check=True, launcher=None, env=None):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    command = (launcher or [sys.executable]) + [str(REPO / "tools" / script), *map(str, args)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{script} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc
