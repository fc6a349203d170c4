"""Study arms: a loss name plus config overrides, and the sweeps that multiply them.

An *arm* is one training recipe, written ``LOSS`` or ``LOSS[key=value,key=value]``; a key
without a dot is a top-level config key when configs/base.yaml has one of that name (``lr``,
``epochs``, ...) and otherwise an option of the loss (``loss_options.<LOSS>.key``; for a
composed loss such as ``cosface+hl``, of its last part); a dotted key is any config key::

    hl[normalize_by=elements,weight=0.02]      cosface+hl[weight=0.2]      softmax[lr=5e-4]

A sweep ``loss_options.hl.weight=0.002,0.02`` turns every arm whose loss uses that
options block (``hl``, ``cosface+hl``, ...) into one arm per value. Runs live in
``<out>/<arm folder>/seed<k>``; a plain arm's folder is its loss name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

from ..errors import ConfigError
from ..losses.registry import loss_parts

@lru_cache(maxsize=1)
def _top_level_keys() -> frozenset:
    import yaml

    from ..run.config import CONFIG_DIR

    return frozenset(yaml.safe_load((CONFIG_DIR / "base.yaml").read_text()))


@dataclass(frozen=True)
class Arm:
    loss: str
    options: tuple = ()  # ((short key, value), ...) as written, in order

    def full_key(self, key: str) -> str:
        """A short option key -> its config key (``weight`` -> ``loss_options.hl.weight``)."""
        if "." in key or key in _top_level_keys():
            return key
        return f"loss_options.{loss_parts(self.loss)[-1]}.{key}"

    @property
    def overrides(self) -> dict[str, str]:
        """Full config keys -> values (strings, parsed as YAML by the config loader)."""
        return {self.full_key(k): v for k, v in self.options}

    def without(self, key: str) -> "Arm":
        """This arm minus the option that sets config key ``key``."""
        return Arm(self.loss, tuple((k, v) for k, v in self.options if self.full_key(k) != key))

    @property
    def label(self) -> str:
        if not self.options:
            return self.loss
        return f"{self.loss}[{','.join(f'{k}={v}' for k, v in self.options)}]"

    @property
    def folder(self) -> str:
        """A file-system-safe folder name; a plain arm's is its loss name."""
        if not self.options:
            return self.loss
        parts = [self.loss] + [f"{k.rsplit('.', 1)[-1] if k.startswith('loss_options.') else k}-{v}" for k, v in self.options]
        return re.sub(r"[^A-Za-z0-9_.+=-]", "_", "__".join(parts))

    def option(self, key: str) -> Optional[str]:
        """The value this arm sets for a full config key, or None."""
        return self.overrides.get(key)


def parse_arm(spec: str) -> Arm:
    """``"hl[weight=0.02,normalize_by=elements]"`` -> Arm; the loss name is checked."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_+]+)\s*(?:\[(.*)\])?\s*", spec)
    if not match:
        raise ConfigError(f"arm {spec!r}: write LOSS or LOSS[key=value,...]")
    loss, body = match.group(1), match.group(2)
    loss_parts(loss)  # unknown names fail here, with the list of known ones
    options = []
    for item in filter(None, (s.strip() for s in (body or "").split(","))):
        if "=" not in item:
            raise ConfigError(f"arm {spec!r}: {item!r} is not key=value")
        key, value = (s.strip() for s in item.split("=", 1))
        options.append((key, value))
    return Arm(loss, tuple(options))


def parse_sweep(spec: str) -> tuple[str, list[str]]:
    """``"loss_options.hl.weight=0.002,0.02"`` -> (key, ["0.002", "0.02"])."""
    if "=" not in spec:
        raise ConfigError(f"sweep {spec!r}: write KEY=V1,V2,...")
    key, values = spec.split("=", 1)
    values = [v.strip() for v in values.split(",") if v.strip()]
    if not values:
        raise ConfigError(f"sweep {spec!r} has no values")
    return key.strip(), values


def _uses(arm: Arm, key: str) -> bool:
    parts = key.split(".")
    if parts[0] != "loss_options":
        return True  # a general config key applies to every arm
    return len(parts) > 2 and parts[1] in loss_parts(arm.loss)


def expand_sweeps(arms: list[Arm], sweeps: list[tuple[str, list[str]]]) -> list[Arm]:
    """Each sweep multiplies the arms that use its key (and do not already set it)."""
    for key, values in sweeps:
        out = []
        for arm in arms:
            if not _uses(arm, key) or arm.option(key) is not None:
                out.append(arm)
                continue
            prefix = f"loss_options.{loss_parts(arm.loss)[-1]}."
            short = key[len(prefix):] if key.startswith(prefix) else key
            out += [Arm(arm.loss, arm.options + ((short, v),)) for v in values]
        arms = out
    # the same recipe listed twice is trained once
    return list(dict.fromkeys(arms))


def run_folder(out_dir: Path, arm: Arm, seed: int) -> Path:
    """Where one (arm, seed) run lives: ``<out>/<arm folder>/seed<k>``."""
    return Path(out_dir) / arm.folder / f"seed{seed}"
