"""eval_det.py checks the data files named on its command line before it loads the model: a
mistyped --ann-file / --img-dir / --val-ann-file / --val-img-dir is the clean two-line error
at once, even where the checkpoint itself could not be read (it is never reached)."""
import pytest

from hl_detect.run.commands.eval import cli
from test_tools_errors import clean_error
from tiny_runs import run_tool


@pytest.mark.parametrize("flag, what", [("--ann-file", "annotation file"), ("--img-dir", "image folder"),
                                        ("--val-ann-file", "annotation file"), ("--val-img-dir", "image folder")])
def test_a_missing_data_file_is_named_before_the_model_loads(unreadable_run, tmp_path, flag, what, capsys):
    missing = tmp_path / "typo"
    with pytest.raises(SystemExit) as stop:
        cli([str(unreadable_run), "--sweep", flag, str(missing), "--device", "cpu", "--no-progress"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"error: {flag} {missing}: no such {what}" in err and "checkpoint" not in err.split("next step:")[0]


def test_as_a_user_runs_it(unreadable_run, tmp_path):
    error, step = clean_error(run_tool("eval_det.py", unreadable_run, "--sweep", "--val-ann-file", tmp_path / "val.jsn",
                                       "--val-img-dir", tmp_path, "--device", "cpu", check=False, timeout=120))
    assert f"--val-ann-file {tmp_path / 'val.jsn'}: no such annotation file" in error
    assert "check the path" in step
