"""Distributions behave like people: rhythms, habits, emotions that fit their context and circumplex."""

from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from statistics import mean, median
from zoneinfo import ZoneInfo

import pytest

from emotion_events.generator import GeneratorParams, generate

from .reference import CANONICAL_TS


@pytest.fixture(scope="module")
def events(typical_file):
    """Valid first occurrences with both timestamps in the canonical format (local time + offset)."""
    _result, reading = typical_file
    seen, out = set(), []
    for row in reading.rows:
        v = row.values
        if (row.reason is None and v["event_id"] not in seen and CANONICAL_TS.fullmatch(row.raw[9])
                and CANONICAL_TS.fullmatch(row.raw[10])):
            seen.add(v["event_id"])
            out.append(v)
    assert len(out) > 180_000
    return out


def _share(rows, pred):
    rows = list(rows)
    return sum(1 for r in rows if pred(r)) / max(len(rows), 1)


def test_valence_and_arousal_sit_where_the_circumplex_puts_each_emotion(events):
    by = defaultdict(list)
    for e in events:
        by[e["emotion"]].append(e)
    val = {k: mean(e["valence"] for e in v) for k, v in by.items()}
    aro = {k: mean(e["arousal"] for e in v) for k, v in by.items()}
    assert val["joy"] > 0.3 and val["trust"] > 0.2 and val["anticipation"] > 0.1
    assert max(val["fear"], val["sadness"], val["anger"], val["disgust"]) < -0.2
    assert aro["anger"] > aro["sadness"] + 0.35 and aro["fear"] > aro["trust"] + 0.25
    # stronger feelings sit further from neutral
    joy = by["joy"]
    strong = mean(e["valence"] for e in joy if e["intensity"] > 0.7)
    weak = mean(e["valence"] for e in joy if e["intensity"] < 0.3)
    assert strong > weak + 0.15


def test_emotions_depend_on_context(events):
    def p(emotion, context):
        return _share((e for e in events if e["context"] == context), lambda e: e["emotion"] == emotion)
    assert p("anger", "commute") > 2 * p("anger", "leisure")
    assert p("joy", "friends") > 2 * p("joy", "news")
    assert p("fear", "health") > 2 * p("fear", "food")


def test_daily_rhythm_in_local_time(events):
    hours = Counter(e["occurred_at"].hour for e in events)
    total = sum(hours.values())
    night = sum(hours[h] for h in (2, 3, 4)) / total
    evening = sum(hours[h] for h in (18, 19, 20, 21)) / total
    assert night < 0.04 and evening > 0.2
    weekday_work = _share((e for e in events if e["occurred_at"].weekday() < 5 and 10 <= e["occurred_at"].hour <= 16),
                          lambda e: e["context"] == "work")
    weekend_work = _share((e for e in events if e["occurred_at"].weekday() >= 5), lambda e: e["context"] == "work")
    assert weekday_work > 3 * weekend_work
    night_sleep = _share((e for e in events if e["occurred_at"].hour in (23, 0, 1, 2, 3, 4)), lambda e: e["context"] == "sleep")
    day_sleep = _share((e for e in events if 10 <= e["occurred_at"].hour <= 17), lambda e: e["context"] == "sleep")
    assert night_sleep > 5 * day_sleep


def test_users_have_habits(events):
    per_user = defaultdict(list)
    for e in events:
        per_user[e["user_id"]].append(e)
    assert all(len({e["device_tz"] for e in evs}) == 1 for evs in per_user.values())
    regular = [evs for evs in per_user.values() if len(evs) >= 10]
    top_channel = [Counter(e["source_channel"] for e in evs).most_common(1)[0][1] / len(evs) for evs in regular]
    assert mean(top_channel) > 0.7
    sizes = sorted((len(v) for v in per_user.values()), reverse=True)
    assert sum(sizes[: len(sizes) // 10]) > 0.25 * sum(sizes)  # a few heavy users


def test_offsets_are_the_device_time_zone_rules(events):
    for e in events[::97]:
        occurred = e["occurred_at"]
        expected = occurred.astimezone(ZoneInfo(e["device_tz"])).utcoffset()
        assert occurred.utcoffset() == expected, (e["device_tz"], occurred)


def test_recording_delay_depends_on_the_channel(events):
    delay = defaultdict(list)
    for e in events:
        delay[e["source_channel"]].append((e["recorded_at"] - e["occurred_at"]).total_seconds())
    assert median(delay["survey"]) > 600
    assert median(delay["web"]) < 10 and median(delay["mobile_app"]) < 30
    assert max(max(v) for v in delay.values()) <= 3 * 86_400
    everything = [d for v in delay.values() for d in v]
    assert min(everything) >= 1.0 and sum(d == 1.0 for d in everything) < 0.001 * len(everything)  # no pile-up


def test_events_fall_in_the_requested_window(events):
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    assert all(start <= e["occurred_at"] < start + timedelta(hours=168) for e in events)


def test_the_population_is_shared_across_seeds():
    def users(seed):
        found = {}
        for chunk in generate(GeneratorParams(rows=20_000, seed=seed, dirty_ratio=0.0)):
            for line in chunk.split(b"\r\n")[1 if chunk.startswith(b"event_id") else 0:]:
                if line:
                    f = line.split(b",")
                    found[f[1]] = f[8]
        return found
    a, b = users(1), users(2)
    common = set(a) & set(b)
    assert len(common) > 1000
    assert all(a[u] == b[u] for u in common)  # same person, same home time zone
