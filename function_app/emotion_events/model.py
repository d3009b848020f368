"""The behavioural model behind the synthetic events: who feels what, when, where and how strongly.

Plain data plus a few table builders. Everything is keyed by the *names* the contract declares, so a
contract that adds a code the model does not know fails loudly at load time instead of drifting.

Grounding:
- Emotions are Plutchik's eight primaries (the contract's canonical set).
- Valence and arousal place each emotion on Russell's circumplex (valence -1..1, arousal 0..1);
  intensity pushes valence away from neutral and raises arousal.
- Users have habits: a home time zone, a preferred channel, a chronotype (early bird / night owl),
  an occupation (what their weekdays look like), a temperament (which emotions come easily) and an
  activity level (a few heavy users, many light ones).
- Context depends on the local hour and weekday; emotion depends on context and temperament.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .contract import SilverContract

# ---------------------------------------------------------------------------------------------------
# Emotions on Russell's circumplex: (valence -1..1, arousal 0..1) at full intensity, and the typical
# intensity (mean of a logit-normal) with which each is reported.
CIRCUMPLEX: dict[str, tuple[float, float]] = {
    "joy": (0.80, 0.62),
    "trust": (0.55, 0.35),
    "fear": (-0.62, 0.80),
    "surprise": (0.15, 0.85),
    "sadness": (-0.72, 0.22),
    "disgust": (-0.60, 0.50),
    "anger": (-0.68, 0.82),
    "anticipation": (0.40, 0.62),
}
TYPICAL_INTENSITY: dict[str, float] = {
    "joy": 0.56,
    "trust": 0.46,
    "fear": 0.60,
    "surprise": 0.55,
    "sadness": 0.52,
    "disgust": 0.50,
    "anger": 0.62,
    "anticipation": 0.50,
}

# How often each emotion is felt in each context (relative weights, emotion order as CIRCUMPLEX).
# "" is "no context given".
EMOTION_BY_CONTEXT: dict[str, tuple[float, ...]] = {
    #               joy trust fear surp sad  disg anger antic
    "work": (3.0, 2.0, 3.0, 1.5, 1.5, 1.0, 3.5, 3.0),
    "family": (5.0, 4.0, 1.0, 1.5, 2.0, 0.5, 2.0, 1.5),
    "partner": (5.0, 4.5, 1.0, 1.5, 2.0, 0.5, 2.0, 2.5),
    "friends": (6.0, 3.0, 0.5, 2.0, 1.0, 0.5, 1.0, 2.5),
    "health": (1.5, 1.5, 5.0, 1.0, 3.0, 1.5, 1.0, 1.5),
    "commute": (1.0, 0.5, 1.0, 1.0, 1.5, 2.0, 5.0, 2.0),
    "exercise": (5.0, 2.0, 0.5, 1.0, 0.5, 0.5, 1.0, 3.0),
    "leisure": (6.0, 2.0, 0.5, 2.5, 1.0, 0.5, 0.5, 2.5),
    "sleep": (1.0, 1.0, 2.5, 0.5, 3.0, 0.3, 1.0, 1.5),
    "finances": (1.0, 1.0, 5.0, 1.5, 2.5, 1.0, 2.5, 1.5),
    "news": (0.7, 0.5, 3.5, 3.0, 3.0, 3.5, 3.5, 0.8),
    "social_media": (3.0, 0.7, 1.0, 3.0, 1.5, 2.5, 2.5, 1.5),
    "study": (2.0, 1.5, 3.5, 1.0, 1.5, 0.7, 1.5, 3.5),
    "food": (5.0, 1.5, 0.3, 1.5, 0.5, 2.5, 0.3, 3.0),
    "": (3.0, 2.0, 2.0, 1.5, 2.0, 1.0, 2.0, 2.0),
}

# Temperaments: (population share, multiplier per emotion in CIRCUMPLEX order).
TEMPERAMENTS: dict[str, tuple[float, tuple[float, ...]]] = {
    "balanced": (0.45, (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)),
    "anxious": (0.20, (0.8, 0.9, 2.2, 1.0, 1.4, 1.0, 1.0, 1.0)),
    "irritable": (0.15, (0.9, 0.7, 1.0, 1.0, 1.0, 1.5, 2.2, 1.0)),
    "upbeat": (0.20, (1.8, 1.4, 0.7, 1.1, 0.6, 0.8, 0.7, 1.3)),
}

# Base frequency of each context, then hour/weekday/occupation rules in context_table().
CONTEXT_BASE: dict[str, float] = {
    "work": 10,
    "family": 7,
    "partner": 5,
    "friends": 5,
    "health": 3,
    "commute": 4,
    "exercise": 3,
    "leisure": 7,
    "sleep": 3,
    "finances": 2,
    "news": 3,
    "social_media": 5,
    "study": 3,
    "food": 4,
    "": 6,
}
OCCUPATIONS: dict[str, float] = {"employed": 0.62, "student": 0.16, "other": 0.22}

# When people report at all: relative activity per local hour (max 1), before chronotype shift.
ACTIVITY_BY_HOUR = np.array(
    [
        0.18,
        0.08,
        0.04,
        0.03,
        0.03,
        0.06,
        0.22,
        0.55,
        0.80,
        0.80,
        0.72,
        0.74,
        0.90,
        0.80,
        0.66,
        0.65,
        0.70,
        0.85,
        0.95,
        1.00,
        1.00,
        0.92,
        0.66,
        0.38,
    ]
)
WEEKEND_LATE_HOURS = 1.5  # people start (and stay up) later on Saturdays and Sundays

# Where users live (home device time zone); names not listed get weight 1.
TZ_WEIGHTS: dict[str, float] = {
    "Europe/London": 9,
    "Europe/Paris": 8,
    "Europe/Berlin": 9,
    "Europe/Madrid": 5,
    "Europe/Warsaw": 3,
    "America/New_York": 12,
    "America/Chicago": 6,
    "America/Los_Angeles": 8,
    "America/Sao_Paulo": 6,
    "Asia/Tokyo": 6,
    "Asia/Kolkata": 9,
    "Asia/Singapore": 3,
    "Australia/Sydney": 4,
    "Africa/Johannesburg": 2,
    "UTC": 1,
}

# Channels: population share of "home" channel, and how long the platform takes to record an event
# beyond a 1 s floor (log-normal median seconds and sigma; plus a share of delayed syncs with their
# median seconds).
CHANNELS: dict[str, tuple[float, float, float, float, float]] = {
    #              share  median_s sigma  sync_share sync_median_s
    "mobile_app": (0.50, 2.0, 1.0, 0.06, 1800.0),
    "web": (0.20, 0.4, 0.8, 0.00, 0.0),
    "wearable": (0.14, 15.0, 1.0, 0.25, 3600.0),
    "chatbot": (0.11, 1.2, 0.7, 0.00, 0.0),
    "survey": (0.05, 5400.0, 0.9, 0.00, 0.0),  # retrospective questionnaires
}
HOME_CHANNEL_SHARE = 0.85  # otherwise any channel at population rates
EXERCISE_WEARABLE_SHARE = 0.4  # during exercise, a watch often reports instead
MAX_RECORD_DELAY_MS = 3 * 86_400_000  # recorded_at - occurred_at is capped at 3 days
# ... and at least 1 s (a processing floor, plus a log-normal delay), so formats without milliseconds
# never put recorded_at before occurred_at
MIN_RECORD_DELAY_MS = 1_000

INVERSE_CDF_BINS = 1024  # categorical draws use a quantized inverse CDF: one gather per draw


def _inverse_cdf(weights: np.ndarray) -> np.ndarray:
    """uint8 table of INVERSE_CDF_BINS entries per row: table[..., floor(u * bins)] is a draw."""
    w = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(w, axis=-1)
    cum /= cum[..., -1:]
    centers = (np.arange(INVERSE_CDF_BINS) + 0.5) / INVERSE_CDF_BINS
    out = (centers[..., :] >= cum[..., :, None]).sum(axis=-2)
    # shape: weights[..., k] -> out[..., bins]
    return np.minimum(out, w.shape[-1] - 1).astype(np.uint8)


def _activity_by_week_hour() -> np.ndarray:
    """Hour-of-week activity: weekdays as ACTIVITY_BY_HOUR, Saturday and Sunday shifted later."""
    hours = np.arange(168, dtype=np.float64)
    clock = hours % 24 - np.where(hours >= 120, WEEKEND_LATE_HOURS, 0.0)
    base = ACTIVITY_BY_HOUR / ACTIVITY_BY_HOUR.max()
    return np.interp(clock % 24, np.arange(25), np.append(base, base[0]))


def _context_weight(ctx: str, occupation: str, weekend: bool, hour: int) -> float:
    """Multiplier rules: what fills a weekday of an employee, a student or someone at home."""
    w = CONTEXT_BASE[ctx]
    office = 9 <= hour <= 17
    commute = hour in (7, 8, 17, 18, 19)
    evening = 18 <= hour <= 22
    night = hour >= 23 or hour <= 5
    if ctx == "work":
        if occupation == "employed" and not weekend:
            w *= 6.0 if office else (2.0 if hour in (8, 18) else 0.3)
        else:
            w *= 0.3 if occupation == "employed" else 0.1
    elif ctx == "study":
        if occupation == "student":
            w *= (6.0 if office else 2.0 if evening else 0.5) * (0.6 if weekend else 1.0)
        else:
            w *= 0.2
    elif ctx == "commute":
        w *= 6.0 if (commute and not weekend and occupation != "other") else (0.5 if weekend else 0.3)
    elif ctx == "sleep":
        w *= 6.0 if night else (2.0 if hour in (6, 22) else 0.15)
    elif ctx == "exercise":
        w *= 3.0 if hour in (6, 7, 18, 19, 20) or (weekend and 9 <= hour <= 12) else 0.6
    elif ctx == "family":
        w *= (3.0 if evening else 1.0) * (2.0 if weekend else 1.0)
    elif ctx == "partner":
        w *= (3.0 if 19 <= hour <= 23 else 0.8) * (1.5 if weekend else 1.0)
    elif ctx == "friends":
        w *= (2.0 if 19 <= hour <= 23 else 1.0) * (3.0 if weekend else 1.0)
    elif ctx == "leisure":
        w *= (2.5 if evening else 1.0) * (2.5 if weekend else 1.0)
    elif ctx == "food":
        w *= 4.0 if hour in (7, 8, 12, 13, 19, 20) else 0.6
    elif ctx == "news":
        w *= 3.0 if hour in (7, 8, 9) else (1.5 if hour in (12, 21, 22) else 0.8)
    elif ctx == "social_media":
        w *= 3.0 if hour >= 21 or hour <= 0 else (2.0 if hour in (12, 13) else 1.0)
    elif ctx == "finances":
        w *= 1.5 if (office and not weekend) else 0.8
    elif ctx == "health":
        w *= 1.5 if 6 <= hour <= 10 else 1.0
    return w


@dataclass(frozen=True)
class ModelTables:
    """Numeric tables indexed by contract code positions (what the vectorized generator uses)."""

    emotions: tuple[str, ...]  # contract canonical order
    contexts: tuple[str, ...]  # contract canonical order, then "" (no context) last
    channels: tuple[str, ...]
    time_zones: tuple[str, ...]
    context_icdf: np.ndarray  # [occupation, weekend, hour, bins] -> context index
    emotion_icdf: np.ndarray  # [temperament, context, bins] -> emotion index
    valence_center: np.ndarray  # [emotion]
    arousal_center: np.ndarray  # [emotion]
    intensity_logit: np.ndarray  # [emotion]
    channel_share: np.ndarray  # [channel]
    channel_icdf: np.ndarray  # [bins] -> channel index (population rates)
    delay_log_median: np.ndarray  # [channel] ln(ms)
    delay_sigma: np.ndarray  # [channel]
    sync_share: np.ndarray  # [channel]
    sync_log_median: np.ndarray  # [channel] ln(ms)
    tz_share: np.ndarray  # [time zone]
    temperament_share: np.ndarray
    occupation_share: np.ndarray
    activity_by_hour: np.ndarray  # [24], max 1
    activity_by_week_hour: np.ndarray  # [168] from Monday 00:00 local, weekends shifted later
    context_exercise: int
    channel_wearable: int


class ModelError(ValueError):
    """The contract declares a code the behavioural model has no numbers for."""


def _require(names: tuple[str, ...], known: dict, what: str) -> None:
    missing = [n for n in names if n not in known]
    if missing:
        raise ModelError(f"contract {what} {missing} have no entry in emotion_events.model; add them there")


def build_tables(contract: SilverContract) -> ModelTables:
    """Turn the name-keyed model above into index-keyed arrays in the contract's code order."""
    emotions = contract.emotions.canonical
    contexts = (*contract.codes["context"].canonical, "")
    channels = contract.codes["source_channel"].canonical
    _require(emotions, CIRCUMPLEX, "emotions")
    _require(emotions, TYPICAL_INTENSITY, "emotions")
    _require(contexts, EMOTION_BY_CONTEXT, "contexts")
    _require(contexts, CONTEXT_BASE, "contexts")
    _require(channels, CHANNELS, "source channels")

    model_order = tuple(CIRCUMPLEX)
    pick = [model_order.index(e) for e in emotions]

    occupations = tuple(OCCUPATIONS)
    ctx_w = np.array(
        [[[[_context_weight(c, occ, bool(we), h) for c in contexts] for h in range(24)] for we in (0, 1)] for occ in occupations]
    )
    emo_w = np.array(
        [
            [np.array(EMOTION_BY_CONTEXT[c])[pick] * np.array(mult)[pick] for c in contexts]
            for _share, mult in TEMPERAMENTS.values()
        ]
    )
    mean_int = np.array([TYPICAL_INTENSITY[e] for e in emotions])
    ch = np.array([CHANNELS[c] for c in channels])
    tz_share = np.array([TZ_WEIGHTS.get(z, 1.0) for z in contract.time_zones], dtype=np.float64)
    return ModelTables(
        emotions=emotions,
        contexts=contexts,
        channels=channels,
        time_zones=contract.time_zones,
        context_icdf=_inverse_cdf(ctx_w),
        emotion_icdf=_inverse_cdf(emo_w),
        valence_center=np.array([CIRCUMPLEX[e][0] for e in emotions]),
        arousal_center=np.array([CIRCUMPLEX[e][1] for e in emotions]),
        intensity_logit=np.log(mean_int / (1 - mean_int)),
        channel_share=ch[:, 0] / ch[:, 0].sum(),
        channel_icdf=_inverse_cdf(ch[:, 0]),
        delay_log_median=np.log(ch[:, 1] * 1000.0),
        delay_sigma=ch[:, 2],
        sync_share=ch[:, 3],
        sync_log_median=np.log(np.maximum(ch[:, 4], 1.0) * 1000.0),
        tz_share=tz_share / tz_share.sum(),
        temperament_share=np.array([s for s, _m in TEMPERAMENTS.values()]),
        occupation_share=np.array(list(OCCUPATIONS.values())),
        activity_by_hour=ACTIVITY_BY_HOUR / ACTIVITY_BY_HOUR.max(),
        activity_by_week_hour=_activity_by_week_hour(),
        context_exercise=contexts.index("exercise") if "exercise" in contexts else -1,
        channel_wearable=channels.index("wearable") if "wearable" in channels else -1,
    )
