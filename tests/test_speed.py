"""median_times: warm-up calls untimed, round-robin rounds, medians of wall and CPU time.

No test here times anything real: the clocks are replaced by counters the functions advance.
"""

import pytest

from spikelearn import speed


def test_median_times_warms_up_alternates_and_takes_medians(monkeypatch):
    clock = {"wall": 0.0, "cpu": 0.0}
    monkeypatch.setattr(speed.time, "perf_counter", lambda: clock["wall"])
    monkeypatch.setattr(speed.time, "process_time", lambda: clock["cpu"])
    calls = []

    def fn(name, durations):
        it = iter(durations)

        def run():
            calls.append(name)
            d = next(it)
            clock["wall"] += d
            clock["cpu"] += d / 2  # half of the wall time on this process's CPU

        return run

    # the first call is the warm-up: its 100 s must not count
    fns = {"a": fn("a", [100, 5, 1, 3]), "b": fn("b", [100, 2, 2, 9])}
    wall, cpu = speed.median_times(fns, repeats=3, warmup=1)
    assert calls == ["a", "b", "a", "b", "a", "b", "a", "b"]
    assert wall == {"a": 3, "b": 2} and cpu == {"a": 1.5, "b": 1}


def test_median_times_bad_input():
    with pytest.raises(TypeError, match="fns must be a dict .* got list"):
        speed.median_times([print])
    with pytest.raises(ValueError, match="fns must hold at least one function"):
        speed.median_times({})
    with pytest.raises(TypeError, match="fns\\['a'\\] must be callable, got int"):
        speed.median_times({"a": 1})
    with pytest.raises(ValueError, match="repeats must be an integer >= 1, got 0"):
        speed.median_times({"a": lambda: None}, repeats=0)
    with pytest.raises(ValueError, match="warmup must be an integer >= 0, got -1"):
        speed.median_times({"a": lambda: None}, warmup=-1)
