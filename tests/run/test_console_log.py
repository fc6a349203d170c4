"""train.log: what the run said, lines before the folder was ready included, one marker per
session, appended on resume; nothing on a rank that does not print."""
from hl_detect.run.console_log import TRAIN_LOG, ConsoleLog


def test_lines_said_before_and_after_open_are_kept_under_the_session_marker(tmp_path, capsys):
    log = ConsoleLog()
    log("[run] early", 1)
    log.open(tmp_path)
    log("[epoch 0] loss=1.0")
    log.note("[error] only in the log")
    log.close()
    assert capsys.readouterr().out == "[run] early 1\n[epoch 0] loss=1.0\n"
    lines = (tmp_path / TRAIN_LOG).read_text().splitlines()
    assert lines[0].startswith("===== started at ") and lines[1:] == ["[run] early 1", "[epoch 0] loss=1.0",
                                                                       "[error] only in the log"]

    resumed = ConsoleLog()
    resumed.open(tmp_path, resumed_from="runs/x")
    resumed("[epoch 1] loss=0.5")
    resumed.close()
    lines = (tmp_path / TRAIN_LOG).read_text().splitlines()
    assert lines[:4][1:] == ["[run] early 1", "[epoch 0] loss=1.0", "[error] only in the log"]  # kept
    assert lines[4].startswith("===== resumed from runs/x at ") and lines[5:] == ["[epoch 1] loss=0.5"]


def test_a_rank_that_does_not_print_keeps_no_log(tmp_path, capsys):
    log = ConsoleLog(enabled=False)
    log("[run] rank 1")
    log.open(tmp_path)
    log.close()
    assert capsys.readouterr().out == "" and not (tmp_path / TRAIN_LOG).exists()
