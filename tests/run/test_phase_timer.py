"""PhaseTimer's arithmetic on a fake clock (no real durations are measured or asserted):
nested phases are taken out of the phase around them, the rest is ``other``, the rows add up."""
import pytest

from hl_detect.run.phase_timer import PhaseTimer, timing_block


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def test_nested_phases_count_once_and_the_rest_is_other():
    clock = FakeClock()
    timer = PhaseTimer(clock)
    clock.advance(1)  # before any phase: other
    with timer.phase("training"):
        clock.advance(10)
        with timer.phase("evaluation"):
            clock.advance(3)
            with timer.phase("tensorboard"):
                clock.advance(0.5)
        clock.advance(10)
        with timer.phase("evaluation"):  # every pass adds to the same row
            clock.advance(2)
    with timer.phase("pictures"):
        clock.advance(4)
    clock.advance(0.25)
    rows = timer.breakdown(timer.elapsed())
    assert rows == {"training": 20, "evaluation": 5, "tensorboard": 0.5, "pictures": 4, "other": 1.25, "total": 30.75}
    assert sum(v for k, v in rows.items() if k != "total") == pytest.approx(rows["total"])


def test_a_phase_that_raises_still_counts_and_closes():
    clock = FakeClock()
    timer = PhaseTimer(clock)
    with pytest.raises(RuntimeError):
        with timer.phase("training"):
            clock.advance(2)
            with timer.phase("evaluation"):
                clock.advance(1)
                raise RuntimeError("boom")
    with timer.phase("report"):  # not nested in the phases the error left
        clock.advance(1)
    assert timer.breakdown(timer.elapsed()) == {"training": 2, "evaluation": 1, "report": 1, "other": 0, "total": 4}


def test_the_block_lists_every_row_largest_first_with_shares():
    rows = {"evaluation": 1.0, "training": 3.0, "other": 1.0, "total": 5.0}
    lines = timing_block(rows, "where the time went").splitlines()
    assert all(line.startswith("[time] ") for line in lines)
    assert lines[0] == "[time] where the time went"
    names = [line.split()[1] for line in lines[2:]]
    assert names == ["training", "evaluation", "other", "total"]
    assert lines[2].split()[2:] == ["3.0", "60.0", "%"] and lines[-1].split()[2:] == ["5.0", "100.0", "%"]
