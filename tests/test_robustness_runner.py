"""The robustness runner's bookkeeping (.ci/robustness.py): margins, spreads and the rule."""

import importlib.util
from pathlib import Path

import pytest

_path = Path(__file__).resolve().parent.parent / ".ci" / "robustness.py"
_spec = importlib.util.spec_from_file_location("robustness", _path)
robustness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(robustness)


def _record(config, values, notebook="04_training"):
    claims = [
        {"name": n, "value": v, "op": ">=", "threshold": 0.9, "margin": v - 0.9} for n, v in values
    ]
    return {"config": config, "notebook": notebook, "claims": claims, "error": None}


def test_worst_margin_and_spread_over_runs():
    records = [_record("seed0", [("acc", 0.97)]), _record("seed1", [("acc", 0.95)])]
    row = robustness.tabulate(records, ["seed0", "seed1"])[("04_training", "acc")]
    assert row["worst"] == pytest.approx(0.05)
    assert row["spread"] == pytest.approx(0.02)
    assert row["ok"]  # 0.05 >= 0.02 / 2


def test_a_margin_below_half_the_spread_breaks_the_rule():
    records = [_record("seed0", [("acc", 0.99)]), _record("seed1", [("acc", 0.91)])]
    row = robustness.tabulate(records, ["seed0", "seed1"])[("04_training", "acc")]
    assert row["worst"] == pytest.approx(0.01) and row["spread"] == pytest.approx(0.08)
    assert not row["ok"]


def test_a_claim_missing_from_a_run_is_flagged():
    records = [_record("seed0", [("acc", 0.97)]), _record("seed1", [])]
    row = robustness.tabulate(records, ["seed0", "seed1"])[("04_training", "acc")]
    assert row["missing"] == ["seed1"] and not row["ok"]


def test_repeated_names_are_kept_apart():
    records = [_record("seed0", [("gain", 0.95), ("gain", 0.99)])]
    rows = robustness.tabulate(records, ["seed0"])
    assert set(rows) == {("04_training", "gain"), ("04_training", "gain (2)")}


def test_every_configuration_sets_what_it_says():
    assert robustness.CONFIGS["seed3"] == {"SPIKELEARN_SEED": "3"}
    assert robustness.CONFIGS["sse41-1thread"]["ONEDNN_MAX_CPU_ISA"] == "SSE41"
    assert robustness.CONFIGS["sse41-1thread"]["OMP_NUM_THREADS"] == "1"
    assert robustness.CONFIGS["avx2"]["MKL_CBWR"] == "AVX2"
    # a variable set outside must not leak into a run that does not set it
    assert set(robustness.CLEARED) >= {k for env in robustness.CONFIGS.values() for k in env}
