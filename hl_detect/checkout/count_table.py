"""``predict.py --csv``: the product counts of every image as one table a spreadsheet opens.

    image,<product 1>,...,<product C>,total
    trays/0001.jpg,0,2,...,1,5

One row per image read (images that could not be read are in predict's summary.json, not
here); one column per model category in label order, headed by its name; the counts are
the receipt's, so the table and the receipts never disagree. Each row is written and
flushed as its image is done: a folder of many thousand trays is never held in memory, and
an interrupted run leaves the rows it finished.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Sequence

from ..errors import UserError
from .products import Category


HINT = "give --csv a file path in a folder you can write to"


def check_table_path(path) -> Path:
    """``path`` as --csv's file, checked before the model loads and without creating anything:
    the problems CountTable's open would meet (a folder there, a file where a folder must be,
    no permission) end the command at once instead of after a slow model load."""
    path = Path(path)
    folder = path.parent
    while not folder.exists():  # the folders CountTable would make: their nearest existing ancestor
        folder = folder.parent
    if path.is_dir():
        problem = "a folder is there"
    elif not folder.is_dir():
        problem = f"{folder} is a file, not a folder"
    elif not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        problem = "no permission to write there"
    else:
        return path
    raise UserError(f"--csv {path}: cannot write it ({problem})", hint=HINT)


class CountTable:
    """A CSV file open for rows; use as a context manager so it is closed on any exit."""

    def __init__(self, path, categories: Sequence[Category]) -> None:
        self.path, self.labels = Path(path), [c.label for c in categories]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "w", newline="", encoding="utf-8")
        except OSError as error:  # a folder in the way, no permission: the user's path, not a bug
            raise UserError(f"--csv {self.path}: cannot write it ({error.strerror or error})", hint=HINT) from None
        self._writer = csv.writer(self._file)
        self._row(["image", *(c.name for c in categories), "total"])

    def add(self, image, receipt: dict) -> None:
        """One image's row from its receipt (receipt.make_receipt)."""
        counts = {item["label"]: item["count"] for item in receipt["items"]}
        self._row([str(image), *(counts.get(label, 0) for label in self.labels), receipt["total_items"]])

    def _row(self, values) -> None:
        self._writer.writerow(values)
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "CountTable":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
