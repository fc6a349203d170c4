"""hl_detect/tables.py, the one table layout, and stats.percent, the one percent cell."""
from hl_detect.stats import percent
from hl_detect.tables import aligned_lines, markdown_table, rule, table, text_table

HEADER = ["arm", "seeds", "acc"]
ROWS = [["softmax", "3", "41.07"], ["cosface+hl[weight=0.2]", "12", "9.50"]]


def test_text_columns_left_numbers_right_two_spaces_apart():
    head, first, second = aligned_lines(HEADER, ROWS)
    assert head == "arm                     seeds    acc"
    assert first == "softmax                     3  41.07"
    assert second == "cosface+hl[weight=0.2]     12   9.50"  # decimal points line up
    assert len({len(head), len(first), len(second)}) == 1


def test_several_text_columns_and_cells_that_are_not_text():
    lines = aligned_lines(["level", "rule", "images"], [["easy", "per class", 12], ["hard", "agnostic", 3]], text_columns=2)
    assert lines == ["level  rule       images",
                     "easy   per class      12",
                     "hard   agnostic        3"]


def test_text_table_rules_the_header_off():
    text = text_table(HEADER, ROWS)
    head, dashes, *body = text.split("\n")
    assert dashes == rule(head) == "-" * len(head) and body == aligned_lines(HEADER, ROWS)[1:]
    assert text_table(HEADER, []) == "arm  seeds  acc\n---------------"  # no rows: the header alone


def test_markdown_is_unpadded_with_one_separator_cell_per_column():
    assert markdown_table(HEADER, ROWS) == ("| arm | seeds | acc |\n|---|---|---|\n"
                                            "| softmax | 3 | 41.07 |\n| cosface+hl[weight=0.2] | 12 | 9.50 |")
    assert table(HEADER, ROWS, markdown=True) == markdown_table(HEADER, ROWS)
    assert table(HEADER, ROWS, markdown=False) == text_table(HEADER, ROWS)


def test_percent_cells():
    assert percent(0.8123) == "81.23" and percent(1) == "100.00" and percent(0.0) == "0.00"
    assert percent(0.12346) == "12.35" and percent(0.123456, 1) == "12.3"  # rounded, not cut
    assert percent(None) == "-" and percent(None, missing="n/a") == "n/a"
    assert percent(float("nan")) == "nan"  # an undefined std stays visible, not a blank
