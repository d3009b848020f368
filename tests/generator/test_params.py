"""GeneratorParams is validated once: every bad value raises a ValueError naming parameter, value, rule."""

from dataclasses import FrozenInstanceError
from datetime import datetime, timezone

import pytest

from emotion_events.generator import DEFAULT_START, GeneratorParamError, GeneratorParams, dirty_target


@pytest.mark.parametrize("kwargs, param", [
    ({"rows": 0}, "rows"),
    ({"rows": -5}, "rows"),
    ({"rows": 2.5}, "rows"),
    ({"rows": "100"}, "rows"),
    ({"rows": True}, "rows"),
    ({"rows": 2_000_000_001}, "rows"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**63}, "seed"),
    ({"seed": "7"}, "seed"),
    ({"dirty_ratio": -0.01}, "dirty_ratio"),
    ({"dirty_ratio": 0.51}, "dirty_ratio"),
    ({"dirty_ratio": float("nan")}, "dirty_ratio"),
    ({"dirty_ratio": "0.1"}, "dirty_ratio"),
    ({"users": 0}, "users"),
    ({"hours": 0}, "hours"),
    ({"hours": 24 * 366 + 1}, "hours"),
    ({"start": datetime(2026, 1, 1)}, "start"),  # naive
    ({"start": "2026-01-01"}, "start"),
    ({"start": datetime(1990, 1, 1, tzinfo=timezone.utc)}, "start"),
])
def test_bad_values_name_the_parameter_value_and_rule(kwargs, param):
    args = {"rows": 10, "seed": 1, **kwargs}
    with pytest.raises(GeneratorParamError) as err:
        GeneratorParams(**args)
    assert isinstance(err.value, ValueError)
    assert err.value.param == param
    assert err.value.rule and "must" in err.value.rule
    assert param in str(err.value) and repr(err.value.value)[:10] in str(err.value)


def test_defaults_are_valid_and_frozen():
    p = GeneratorParams(rows=10, seed=3)
    assert (p.dirty_ratio, p.start, p.hours) == (0.05, DEFAULT_START, 168)
    with pytest.raises(FrozenInstanceError):
        p.rows = 11  # type: ignore[misc]


def test_start_is_normalized_to_utc():
    from datetime import timedelta
    p = GeneratorParams(rows=1, seed=0, start=datetime(2026, 3, 1, 9, tzinfo=timezone(timedelta(hours=9))))
    assert p.start == datetime(2026, 3, 1, 0, tzinfo=timezone.utc)
    assert p.as_dict()["start"] == "2026-03-01T00:00:00Z"


def test_dirty_target_adds_up_across_chunks():
    # per-chunk targets are differences of the cumulative target, so they always sum to the total
    total, ratio = 100_003, 0.173
    parts = [dirty_target(min(a + 8192, total), ratio) - dirty_target(a, ratio) for a in range(0, total, 8192)]
    assert sum(parts) == dirty_target(total, ratio) == round(total * ratio)
