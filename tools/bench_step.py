"""Time full Faster R-CNN training steps: torchvision's stock RoIHeads vs the HL plugin (issue 8).

python tools/bench_step.py                        # R50-FPN 2x2048 MLP head, 2 x 224 px, 128 RoIs/image
python tools/bench_step.py --update-every 1 10    # also HL(10), the paper's Table IV variant
python tools/bench_step.py --model c4 --classes 113 --device cuda --image-size 600 --rois 512
python tools/bench_step.py --quick                # under a minute on a 2-core CPU

Same weights (one build, deep copies), same batch and RNG seed per round, steps run
A/B/A/B in a rotating order after warm-up; prints per-round ratio median and spread.
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from hl_detect.studies.benchmark import (  # noqa: E402
    MODELS,
    build_stock_detector,
    interleaved,
    make_optimizer,
    report,
    step_memory,
    stock_and_hl,
    synthetic_batch,
    to_device,
    train_step,
)
from hl_detect.run.cli import add_debug_argument, help_layout  # noqa: E402
from hl_detect.errors import main_guard  # noqa: E402


def get_args_parser():
    p = argparse.ArgumentParser(**help_layout(__doc__))
    p.add_argument("--model", choices=MODELS, default="mlp2048")
    p.add_argument("--image-size", type=int, default=224, help="min_size = max_size = this (square images)")
    p.add_argument("--batch-size", type=int, default=2, help="images per step")
    p.add_argument("--rois", type=int, default=128, help="sampled RoIs per image (box_batch_size_per_image)")
    p.add_argument("--classes", type=int, default=20, help="C, foreground classes (20 VOC, 113 RPC)")
    p.add_argument("--update-every", type=int, nargs="+", default=[1], help="k of HL(k); several allowed")
    p.add_argument("--trainable-backbone-layers", type=int, default=3, help="as torchvision with pretrained weights")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--steps", type=int, default=20, help="timed rounds (one step of each model per round)")
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    p.add_argument("--batches", type=int, default=4, help="distinct synthetic batches, cycled")
    p.add_argument("--lr", type=float, default=0.0, help="SGD lr; 0 keeps all weights equal (same RoIs each round)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="mobilenet, 2 x 128 px, 32 RoIs, 3 rounds, 1 thread: a smoke run")
    add_debug_argument(p)
    return p


def main(args):
    if args.quick:
        args.model, args.image_size, args.rois, args.steps, args.warmup = "mobilenet", 128, 32, 3, 1
        args.threads = args.threads or 1  # small ops on a busy CPU: OpenMP spin-waits dominate 2 threads
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_flush_denormal(True)  # denormal weights would time the values, not the code
    stock = build_stock_detector(args.model, args.classes, args.image_size, args.rois, args.trainable_backbone_layers, args.seed)
    models = {name: m.to(device) for name, m in stock_and_hl(stock, tuple(args.update_every)).items()}
    optimizers = {name: make_optimizer(m, args.lr) for name, m in models.items()}
    batches = [to_device(*synthetic_batch(args.batch_size, args.image_size, args.classes, seed=args.seed + i), device)
               for i in range(args.batches)]

    def stepper(name):
        def step(r):
            images, targets = batches[r % len(batches)]
            train_step(models[name], optimizers[name], images, targets, seed=args.seed + 1000 + r)
        return step

    print(f"model {args.model}, {args.batch_size} x {args.image_size}px, {args.rois} RoIs/image, C={args.classes}, "
          f"device {device}, threads {torch.get_num_threads()}, torch {torch.__version__}")
    times = interleaved({name: stepper(name) for name in models}, args.steps, args.warmup, device)
    clocks = ("wall",) if device.type == "cuda" else ("wall", "cpu")
    print("\n".join(report(times, "stock", clocks)))
    images, targets = batches[0]
    memory = {name: step_memory(m, images, targets, args.seed, device) for name, m in models.items()}
    for name, mem in memory.items():
        extra = f", CUDA peak {mem['cuda_peak'] / 2**20:.1f} MiB" if "cuda_peak" in mem else ""
        print(f"{name:>9}: saved for backward {mem['saved'] / 2**20:.2f} MiB "
              f"({mem['saved'] - memory['stock']['saved']:+d} B vs stock), "
              f"buffers {mem['buffers'] - memory['stock']['buffers']:+d} B vs stock{extra}")


if __name__ == "__main__":
    main_guard(main, get_args_parser().parse_args())
