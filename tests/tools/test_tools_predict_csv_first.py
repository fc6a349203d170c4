"""predict.py --csv PATH: a path the table cannot be written to (a folder there, a file where
a folder must be) is the clean two-line error before the model loads, even where the
checkpoint could not be read; a path in folders still to be made passes and makes nothing."""
import pytest

from hl_detect.checkout.count_table import check_table_path
from hl_detect.run.commands.predict import cli


def csv_path(tmp_path, problem):
    """(the --csv path, the reason the error gives)."""
    if problem == "folder":
        return tmp_path, "a folder is there"
    (tmp_path / "a_file").write_text("")
    return tmp_path / "a_file" / "counts.csv", f"{tmp_path / 'a_file'} is a file, not a folder"


@pytest.mark.parametrize("problem", ["folder", "file"])
def test_an_unwritable_csv_path_is_refused_before_the_model_loads(unreadable_run, tmp_path, problem, capsys):
    image = tmp_path / "tray.jpg"
    image.write_bytes(b"never read: the command stops before")
    path, reason = csv_path(tmp_path, problem)
    with pytest.raises(SystemExit) as stop:
        cli([str(unreadable_run), str(image), "--csv", str(path), "--device", "cpu", "--output-dir", str(tmp_path / "out")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"error: --csv {path}: cannot write it ({reason})" in err and "next step: give --csv a file path" in err
    assert not (tmp_path / "out").exists()


def test_folders_still_to_be_made_pass_and_nothing_is_made(tmp_path):
    path = tmp_path / "new" / "deeper" / "counts.csv"
    assert check_table_path(path) == path
    assert not (tmp_path / "new").exists()
