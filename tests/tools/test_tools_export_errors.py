"""tools/export.py's mistakes: two lines naming the file or the value, exit status 2."""
import pytest

from hl_detect.run.commands.export import cli


def run_cli(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli([str(a) for a in argv])
    return stop.value.code, capsys.readouterr().err


def test_a_missing_run_folder_is_named(tmp_path, capsys):
    code, err = run_cli([tmp_path / "no_such_run", "--format", "onnx"], capsys)
    assert code == 2 and "checkpoint not found" in err and "no_such_run" in err and "Traceback" not in err


def test_an_unknown_format_is_named(tmp_path, capsys):
    code, err = run_cli([tmp_path, "--format", "tflite"], capsys)
    assert code == 2 and "'tflite'" in err and "onnx" in err and "torchscript" in err


def test_the_library_names_an_unknown_format():
    from hl_detect.errors import ConfigError
    from hl_detect.export import check_format

    with pytest.raises(ConfigError, match="unknown export format 'tflite'"):
        check_format("tflite")


def test_an_output_that_is_a_folder_is_named_before_loading(tmp_path, capsys):
    code, err = run_cli([tmp_path / "no_such_run", "--format", "torchscript", "--output", tmp_path], capsys)
    assert code == 2 and f"{tmp_path} is a folder" in err  # not the missing run: nothing was loaded
