"""Time the HL terms alone (center update + penalty forward/backward) against the box head (issue 8).

python tools/bench_hl_terms.py                    # paper sizes: 2 x 512 RoIs, d = 2048, C = 20 and 113
python tools/bench_hl_terms.py --images 4 --threads 1
python tools/bench_hl_terms.py --quick            # small sizes, a smoke run

"head" is torchvision's TwoMLPHead (256*7*7 -> d -> d) + FastRCNNPredictor + fastrcnn_loss,
forward and backward (input gradient included, as with a trainable backbone); "hl" is
HypersphereLoss.extra_losses (update every step, k = 1) + backward on the same features;
"head+hl" is both in one graph, as the RoIHeads plugin runs them. Interleaved rounds.
Then what HL adds in memory: bytes saved for backward beyond the features, its buffers
(the centers and counters) and the largest temporary tensor of its ops.
"""
import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from hl_detect.studies.benchmark import BoxHeadStep, interleaved, report  # noqa: E402
from hl_detect.run.cli import add_debug_argument, help_layout  # noqa: E402
from hl_detect.errors import main_guard  # noqa: E402


def get_args_parser():
    p = argparse.ArgumentParser(**help_layout(__doc__))
    p.add_argument("--images", type=int, default=2, help="images per batch (the paper's sizes: 2-4)")
    p.add_argument("--rois", type=int, default=512, help="sampled RoIs per image")
    p.add_argument("--dim", type=int, default=2048, help="d, box-head feature size")
    p.add_argument("--classes", type=int, nargs="+", default=[20, 113],
                   help="C values to run, e.g. 20 200 1203 5000 10000")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="64 RoIs/image, d = 256, C = 20, 3 rounds")
    add_debug_argument(p)
    return p


def main(args):
    if args.quick:
        args.rois, args.dim, args.classes, args.rounds, args.warmup = 64, 256, [20], 3, 1
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    num_rois = args.images * args.rois
    for num_classes in args.classes:
        bench = BoxHeadStep(num_rois, num_classes, args.dim)
        steps = {"head": bench.head_only, "hl": bench.hl_only, "head+hl": bench.head_with_hl}
        times = interleaved(steps, args.rounds, args.warmup)
        print(f"R = {args.images} x {args.rois} RoIs, d = {args.dim}, C = {num_classes}, "
              f"threads {torch.get_num_threads()}, torch {torch.__version__}")
        print("\n".join(report(times, "head")))
        mem = bench.hl_memory()
        print(f"hl memory: saved for backward {mem['saved']} B beyond the features, buffers {mem['buffers']} B, "
              f"largest temporary {mem['largest_temporary'] / 2**20:.2f} MiB (features [R, d]: "
              f"{num_rois * args.dim * 4 / 2**20:.2f} MiB)")


if __name__ == "__main__":
    main_guard(main, get_args_parser().parse_args())
