"""Time our evaluation against pycocotools' COCOeval on the same detections (issue 4, item 6).

python tools/bench_eval.py            # VOC07-test scale: 4,952 images, ~15k objects, <=100 dets
python tools/bench_eval.py --quick    # 300 images, for smoke tests
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from hl_detect.run.cli import add_debug_argument, help_layout  # noqa: E402
from hl_detect.errors import main_guard  # noqa: E402
from hl_detect.evaluation import DetectionEvaluator, coco_ap  # noqa: E402
from hl_detect.evaluation.evaluator import flatten_records, gather_records  # noqa: E402
from hl_detect.evaluation.synthetic_results import synthetic_results  # noqa: E402


def get_args_parser():
    p = argparse.ArgumentParser(**help_layout(__doc__))
    p.add_argument("--images", type=int, default=4952)
    p.add_argument("--classes", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="300 images instead of --images")
    add_debug_argument(p)
    return p


def main(args):
    n_images = 300 if args.quick else args.images
    predictions, targets = synthetic_results(n_images, args.classes, seed=args.seed)
    evaluator = DetectionEvaluator(args.classes, plus_one=True)
    t0 = time.perf_counter()
    for i in range(0, n_images, args.batch_size):
        evaluator.update(predictions[i:i + args.batch_size], targets[i:i + args.batch_size])
    t1 = time.perf_counter()
    ours = evaluator.compute()
    t2 = time.perf_counter()
    dets, gts, image_ids = flatten_records(gather_records(evaluator._records))
    t3 = time.perf_counter()
    coco = coco_ap(dets, gts, args.classes, image_ids)
    t4 = time.perf_counter()
    print(f"input: {n_images} images, {len(gts.labels)} objects "
          f"({int(gts.difficult.sum())} difficult), {len(dets.scores)} detections")
    print(f"ours: update {t1 - t0:.2f} s, compute {t2 - t1:.2f} s (AP07 + area at 10 IoU "
          f"thresholds, box accuracy); total {t2 - t0:.2f} s")
    print(f"pycocotools COCOeval (build GT + loadRes + evaluate/accumulate/summarize): "
          f"{t4 - t3:.2f} s")
    print(f"ours: mAP50 area {ours['mAP50_area']:.4f}  voc07 {ours['mAP50_voc07']:.4f}  "
          f"mAP50:95 {ours['mAP_50_95']:.4f}  box acc {ours['box_accuracy']:.4f}")
    print(f"coco: AP50 {coco['AP50']:.4f}  AP {coco['AP']:.4f}")
    print(f"ratio COCOeval / ours (compute): {(t4 - t3) / (t2 - t1):.1f}x; "
          f"incl. update: {(t4 - t3) / (t2 - t0):.1f}x")


if __name__ == "__main__":
    main_guard(main, get_args_parser().parse_args())
