"""Image ids for predict's COCO results (``--coco-results``), where images come as files, not a dataset.

With a COCO annotation file (``--image-ids FILE``) an image takes the id of the entry whose
``file_name`` its path ends with (JPEGImages/000009.jpg matches data/JPEGImages/000009.jpg),
so the results score against that file. Without one: the number in the file name when every
name is a distinct number (the demo's 000009.jpg -> 9, its id in the generated annotation
files), else 1..N in the order the images are listed. summary.json records each image's id.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path, PurePosixPath

from ..data.checks import DatasetError


def numbered_ids(paths) -> tuple[list[int], str]:
    """(ids, the rule used) for images without an annotation file."""
    stems = [Path(p).stem for p in paths]
    if all(s.isdigit() for s in stems) and len({int(s) for s in stems}) == len(stems):
        return [int(s) for s in stems], "the numbers in the file names"
    return list(range(1, len(stems) + 1)), "1..N in the order listed (the file names are not distinct numbers)"


def annotated_ids(paths, ann_file) -> list[int]:
    """The id of each image in ``ann_file`` (a COCO JSON), matched by the end of its path."""
    from ..data.coco import load_coco_json

    by_name = defaultdict(list)  # base name -> (file_name's parts, id)
    for entry in load_coco_json(ann_file)["images"]:
        parts = PurePosixPath(str(entry.get("file_name", "")).replace("\\", "/")).parts
        if parts:
            by_name[parts[-1]].append((parts, int(entry["id"])))
    ids = []
    for path in map(Path, paths):
        parts = path.absolute().parts  # as given, links not followed: file_names name the links
        matches = [(len(entry_parts), i) for entry_parts, i in by_name.get(path.name, [])
                   if parts[-len(entry_parts):] == entry_parts]
        longest = max((n for n, _ in matches), default=0)  # a/x.jpg over x.jpg for .../a/x.jpg
        found = sorted({i for n, i in matches if n == longest})
        if len(found) != 1:
            what = "lists no image" if not found else f"lists several images (ids {found[:5]})"
            raise DatasetError(ann_file, f"{what} whose file_name {path} ends with; the COCO results need "
                                         "each image's id there (or leave out --image-ids)")
        ids.append(found[0])
    return ids
