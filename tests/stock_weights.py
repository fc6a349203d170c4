"""A stock torchvision detector's weights saved to a file, for the --weights tests (no network).

The small fasterrcnn_mobilenet_v3_large_320_fpn, built with weights=None and shifted by 0.5 so
that no freshly initialized model equals it: a model that did not load the file fails the
comparison."""
import torch

STOCK = "fasterrcnn_mobilenet_v3_large_320_fpn"
PREDICTOR = "roi_heads.box_predictor."
SMALL = [arg for size in ("data.resize.min_size=64", "data.resize.max_size=64", "model.options.min_size=64",
                          "model.options.max_size=64") for arg in ("--set", size)]  # 64 px: seconds on a CPU


def save_stock_weights(path):
    from torchvision.models import detection

    torch.manual_seed(0)
    model = detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, min_size=64, max_size=64)
    state = {k: v + 0.5 if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(state, path)
    return state


def loaded_from(model, state) -> int:
    """How many of ``state``'s tensors ``model`` holds unchanged (the predictor and BatchNorm's
    step counters left out: the predictor is new, frozen BatchNorm keeps no counter); raises on
    the first that differs."""
    own, compared = model.state_dict(), 0
    for key, value in state.items():
        if key.startswith(PREDICTOR) or key.endswith("num_batches_tracked"):
            continue
        assert torch.equal(own[key], value), key
        compared += 1
    return compared
