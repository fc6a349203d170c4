"""Every key a run config may hold: its type, its default and the values it may take.

This is the one place a default is written. configs/base.yaml is the paper's preset over it
(its values equal these defaults: tests/run/test_schema.py keeps them equal) and the dataset
YAML files are presets over base.yaml. ``schema_check.check_config`` reads these classes to
refuse a value of the wrong type or out of range and an unknown key, and to fill a key a
config leaves out, before any data loads.

Free-form keyword arguments (``*options``, ``train_transform_options``) are plain dicts:
what they take is the callee's business; ``loss_options`` is checked against each loss's
constructor (loss_options_check.py).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from ..data.factory import KINDS

FLOAT32_MAX = 3.4028234663852886e38


def setting(default: Any, *, at_least=None, above=None, at_most=None, below=None, choices=None):
    """A field with its default and the range its values must lie in (``None`` is always let
    through where the type is Optional: null means "not set")."""
    rules = {k: v for k, v in dict(at_least=at_least, above=above, at_most=at_most, below=below,
                                   choices=choices).items() if v is not None}
    if isinstance(default, (dict, list)):  # a fresh copy per config, as dataclasses require
        return field(default_factory=lambda: copy.deepcopy(default), metadata=rules)
    return field(default=default, metadata=rules)


def section(cls, **values):
    """A nested section whose defaults differ from its class's (e.g. each split's name)."""
    return field(default_factory=lambda: cls(**values))


@dataclass
class ResizeConfig:
    """hl_detect.data transforms: ``image_size`` (square, or [h, w]) or ``min_size``/``max_size``."""

    fill_missing = False  # one way of sizing is given, the other left out (not filled with nulls)

    image_size: Optional[Union[int, list]] = setting(600, at_least=1)  # the paper's 600 x 600 input
    min_size: Optional[int] = setting(None, at_least=1)
    max_size: Optional[int] = setting(None, at_least=1)


@dataclass
class SplitConfig:
    """One split's name and what differs for it; any data key may be given here too
    (hl_detect/data/splits.py lays the section over the shared data keys)."""

    fill_missing = False  # a key left out here is the shared data key (splits.py), not a default

    split: Optional[str] = None
    root: Optional[str] = None
    options: dict = setting({})


@dataclass
class DataConfig:
    kind: str = setting("voc", choices=KINDS)
    root: Optional[str] = "datasets/VOCdevkit"
    resize: ResizeConfig = section(ResizeConfig)
    options: dict = setting({})
    train: SplitConfig = section(SplitConfig, split="voc0712")
    test: SplitConfig = section(SplitConfig, split="voc07_test")
    val: SplitConfig = section(SplitConfig)  # no validation split unless named
    allow_train_test_overlap: bool = False
    # a count (int) or a fraction of the split (0 <= x < 1); null: 1 % (data/bad_images.py)
    max_bad_images: Optional[float] = setting(None, at_least=0)
    max_image_pixels: Optional[int] = setting(40_000_000, at_least=1)
    train_transform_options: dict = setting({})
    # true: training samples are trays composed on the fly from the training split's exemplars
    # (data/copy_paste.py); its options are tray_synthesis.TrayConfig's keys
    copy_paste: bool = False
    copy_paste_options: dict = setting({})
    plus_one: bool = True  # VOC devkit +1 pixel IoU convention in evaluation
    # k of torchvision's aspect-ratio grouping; a negative value turns grouping off
    aspect_ratio_group_factor: Optional[int] = setting(3, at_least=-1)
    workers: int = setting(4, at_least=0)


@dataclass
class ModelConfig:
    head: str = "mlp2048"  # checked against hl_detect.models.MODELS (config.check_names)
    # a stock torchvision builder's whole-detector weights: a name (COCO_V1) or a .pth file
    # (models/detector_weights.py); over them, weights_backbone is not used
    weights: Optional[str] = None
    weights_backbone: Optional[str] = "IMAGENET1K_V1"
    trainable_backbone_layers: Optional[int] = setting(None, at_least=0, at_most=5)
    options: dict = setting({"min_size": 600, "max_size": 600, "box_score_thresh": 0.02, "box_nms_thresh": 0.5,
                             "box_detections_per_img": 100})


# the paper's values (Sec. IV-H) and the comparison losses' published ones; hl's penalty form
# (power 4, lambda 0.003: the authors' code) is the loss study's (configs/base.yaml says which row)
LOSS_OPTIONS = {
    "hl": {"radius": 40.0, "weight": 0.003, "beta": 0.1, "epsilon": 0.05, "phi": 0.99, "update_every": 1,
           "background_center": False, "normalize_by": "elements", "power": 4, "bias_correction": "per_class"},
    "hl_authors_code": {},
    "softmax": {},
    "cl": {"weight": 0.003, "alpha": 0.5},
    "ccl": {"radius": 40.0, "weight": 0.002},
    "cosface": {"scale": 64.0, "margin": 0.35},
    "arcface": {"scale": 64.0, "margin": 0.5},
    "asl": {"margin": 4},
    "er": {"weight": 1.0},
}


@dataclass
class RunConfig:
    """The whole run; configs/base.yaml says what each key does."""

    dataset: str = "voc0712"
    input_size: Optional[Union[int, list]] = None  # checked by input_size.py
    data: DataConfig = section(DataConfig)
    model: ModelConfig = section(ModelConfig)
    loss: str = "hl"  # checked against the loss registry (config.check_loss_name)
    loss_options: dict = setting(LOSS_OPTIONS)
    warmup_epochs: float = setting(5, at_least=0)
    epochs: int = setting(100, at_least=1)
    batch_size: int = setting(4, at_least=1)
    optimizer: str = setting("adam", choices=("adam", "sgd"))
    # at most float32's largest value: torch's optimizers turn these into float32 scalars
    # (a larger one ends in "cannot be converted to type float without overflow" mid-step)
    lr: float = setting(1.0e-4, above=0, at_most=FLOAT32_MAX)
    momentum: float = setting(0.9, at_least=0)
    weight_decay: float = setting(0.0, at_least=0, at_most=FLOAT32_MAX)
    lr_step_epochs: int = setting(10, at_least=1)
    lr_gamma: float = setting(0.6, above=0)
    lr_warmup_iters: Optional[int] = setting(0, at_least=0)
    clip_grad_norm: Optional[float] = setting(None, above=0)
    amp: bool = False
    device: str = "auto"
    seed: int = 0
    threads: Optional[int] = setting(None, at_least=1)
    deterministic: bool = False
    checkpoint_every_minutes: Optional[float] = setting(10, at_least=0)  # null or 0: off
    checkpoint_every_steps: Optional[int] = setting(0, at_least=0)
    keep_epoch_checkpoints: bool = False
    eval_every: int = setting(10, at_least=1)
    eval_last_epochs: int = setting(1, at_least=0)
    eval_coco: bool = True
    eval_checkout: bool = False
    checkout_threshold: float = setting(0.5, at_least=0, at_most=1)
    checkout_count_rule: str = setting("per_class", choices=("per_class", "agnostic"))
    checkout_agnostic_iou: float = setting(0.5, at_least=0, at_most=1)
    max_steps_per_epoch: Optional[int] = setting(None, at_least=1)
    max_eval_images: Optional[int] = setting(None, at_least=1)
    log_every: int = setting(20, at_least=1)
    projector: bool = True
    projector_max_points: int = setting(1000, at_least=0)
    prediction_pictures: int = setting(6, at_least=0)
    tensorboard_pictures: int = setting(4, at_least=0)
    output_dir: Optional[str] = None


def default_config() -> dict:
    """Every key at its default, as the nested dict a run reads."""
    from dataclasses import asdict

    return asdict(RunConfig())


def default_of(dotted: str) -> Any:
    """The default of one key, e.g. ``default_of("data.plus_one")``, for code that reads a
    config a checkpoint stored, which may predate the key."""
    value: Any = default_config()
    for key in dotted.split("."):
        value = value[key]
    return value


def stored_value(cfg: dict, dotted: str) -> Any:
    """``cfg``'s value of a key, or its default where ``cfg`` (a config a checkpoint stored, which
    no load filled in) predates the key; a loaded config always has every key."""
    node: Any = cfg
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return default_of(dotted)
        node = node[key]
    return node
