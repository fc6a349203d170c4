"""Where torchvision's weight files live on a machine without network, and what to say when one is missing.

torchvision downloads the file of a weights name (``ResNet50_Weights.IMAGENET1K_V1``,
``FasterRCNN_..._Weights.COCO_V1``) into torch's hub cache, <torch.hub.get_dir()>/checkpoints/
<the URL's file name>, and reads it from there, without network, on every later run. Offline,
a person has to put that file there by hand, so every message about missing weights names the
exact file and folder (the backbone's and the whole detector's alike).
"""
from __future__ import annotations


def cache_folder() -> str:
    """torch.hub's checkpoints folder, as TORCH_HOME (or torch.hub.set_dir) sets it now."""
    import torch.hub

    return f"{torch.hub.get_dir()}/checkpoints"


def cache_file(url: str) -> str:
    """The path torchvision reads ``url``'s file from, and downloads it to when it is not there."""
    return f"{cache_folder()}/{url.rsplit('/', 1)[-1]}"


def offline_message(what: str, url: str, error: Exception, alternative: str) -> str:
    """``what`` could not be loaded: where it comes from, where to place it offline, and what else to do."""
    return (
        f"could not load {what} ({type(error).__name__}: {error}).\n"
        f"  - with network access torchvision downloads them from {url}\n"
        f"  - offline: download that file elsewhere and place it at {cache_file(url)}\n"
        f"  - {alternative}"
    )
