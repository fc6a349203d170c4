"""predict.py's output names: no image's outputs overwrite another's or the run's summary.json.

Checked against the plain definition: list every file and folder the names make and look for
two that are one path (without case, as macOS and Windows compare them)."""
import itertools
from pathlib import Path, PurePosixPath

import pytest

from hl_detect.output_names import output_names

from hl_detect.run.commands.predict import PER_IMAGE, SUMMARY


def collisions(names, suffixes, reserved):
    """Paths written twice, or written both as a file and as a folder."""
    files = [f.casefold() for f in reserved] + [(n + s).casefold() for n in names for s in suffixes]
    folders = {p.as_posix().casefold() for n in names for p in PurePosixPath(n).parents if p.name}
    return sorted({f for f in files if files.count(f) > 1} | (set(files) & folders))


def test_the_issues_inputs_get_outputs_of_their_own(tmp_path):
    paths = [tmp_path / "summary.jpg", tmp_path / "tray.jpg", tmp_path / "tray.receipt.jpg"]
    names = output_names(paths, PER_IMAGE, reserved=[SUMMARY])
    assert names == ["summary_jpg", "tray", "tray_receipt"]  # the plain name keeps its outputs
    assert collisions(names, PER_IMAGE, [SUMMARY]) == []
    # what the names were before: summary.json twice, tray.receipt.json twice
    plain = ["summary", "tray", "tray.receipt"]
    assert collisions(plain, PER_IMAGE, [SUMMARY]) == ["summary.json", "tray.receipt.json"]


def test_names_that_meet_nothing_are_kept(tmp_path):
    paths = [tmp_path / "cam1" / "0001.jpg", tmp_path / "cam2" / "0001.jpg", tmp_path / "IMG.2024.01.jpg"]
    assert output_names(paths, PER_IMAGE, [SUMMARY]) == ["cam1/0001", "cam2/0001", "IMG.2024.01"]


@pytest.mark.parametrize("files", [
    ["a.jpg", "A.png"],                                        # one file on macOS / Windows
    ["summary.jpg", "summary_jpg.png", "summary_jpg_jpg.bmp"],  # each fallback already taken
    ["x.jpg", "x.json/y.jpg"],                                 # a folder named like an output
    ["t.jpg", "t.receipt.jpg", "t.receipt.receipt.jpg", "t_receipt.jpg", "t.png"],
])
def test_tricky_sets_never_collide(tmp_path, files):
    paths = [tmp_path / f for f in files]
    names = output_names(paths, PER_IMAGE, [SUMMARY])
    assert len(set(names)) == len(names) and collisions(names, PER_IMAGE, [SUMMARY]) == []


def test_every_combination_of_awkward_names(tmp_path):
    # an exhaustive sweep over small sets of names built from the parts that cause trouble
    parts = ["summary", "tray", "tray.receipt", "tray_receipt", "Tray", "tray.json", "summary_jpg"]
    for k in (2, 3):
        for combo in itertools.combinations(parts, k):
            paths = [tmp_path / f"{stem}.jpg" for stem in combo]
            names = output_names(paths, PER_IMAGE, [SUMMARY])
            assert collisions(names, PER_IMAGE, [SUMMARY]) == [], (combo, names)
