"""eval.csv holds rounded fractions (no 1.0000000000000002) and the table says "N of M images"
whenever fewer images were scored than the split lists."""
import csv

from hl_detect.evaluation import DetectionEvaluator, format_table, save_report
from hl_detect.evaluation.report import CSV_DIGITS, images_note
from hl_detect.evaluation.synthetic_results import synthetic_results


def result():
    preds, tgts = synthetic_results(6, 2, max_dets=10, seed=3)
    ev = DetectionEvaluator(2, ["a", "b"])
    ev.update(preds, tgts)
    return ev.compute()


def test_csv_is_rounded(tmp_path):
    r = result()
    r["per_class"]["accuracy"][0] = 1.0000000000000002
    r["mAP50_area"] = 2 / 3
    save_report(r, tmp_path, "eval")
    rows = list(csv.reader(open(tmp_path / "eval.csv")))
    assert rows[1][3] == "1.0" and rows[-1][2] == f"{round(2 / 3, CSV_DIGITS)}" == "0.666667"
    assert all(len(cell.split(".")[-1]) <= CSV_DIGITS for row in rows[1:] for cell in row[1:4] if "." in cell)


def test_n_of_m_images():
    r = result()
    assert images_note(r) == "" and "of" not in format_table(r).splitlines()[-1]
    r["num_images_listed"] = r["num_images"] + 3
    note = f"scored on {r['num_images']} of {r['num_images'] + 3} images"
    assert images_note(r) == note and note in format_table(r)
    r["num_images_listed"] = r["num_images"]
    assert images_note(r) == ""
