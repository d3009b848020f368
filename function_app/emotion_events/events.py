"""Users with habits, and the vectorized sampler that turns them into a chunk of events.

A population is a pure function of ``(population_seed, users)``, so hourly batches with different
event seeds still come from the same people with the same habits. Events are drawn column-wise with
numpy: who reports (heavy users more often), when (uniform over the window, thinned by each user's
circadian rhythm in *local* time), what they were doing (context by local hour, weekday and
occupation), what they felt (emotion by context and temperament) and how (intensity, then valence and
arousal around the emotion's place on Russell's circumplex).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .model import (
    EXERCISE_WEARABLE_SHARE,
    HOME_CHANNEL_SHARE,
    INVERSE_CDF_BINS,
    MAX_RECORD_DELAY_MS,
    MIN_RECORD_DELAY_MS,
    ModelTables,
)
from .render import ChunkColumns
from .siphash import siphash24, siphash24_u64
from .tzgrid import OffsetGrid

TICKETS_PER_USER = 8  # activity weights are quantized into this many lottery tickets per average user
_MS_PER_HOUR = 3_600_000


@dataclass(frozen=True)
class Population:
    ids: np.ndarray  # (users, 18) ASCII: 'u_' + 16 hex digits, keyed hash of the user index
    tz: np.ndarray  # home time zone index
    home_channel: np.ndarray
    chronotype: np.ndarray  # hours: > 0 night owl, < 0 early bird
    valence_bias: np.ndarray
    temperament: np.ndarray
    occupation: np.ndarray
    tickets: np.ndarray  # user index per ticket: sampling a ticket samples users by activity


def _draw(seed: int, stream: int) -> np.random.Generator:
    # One independent stream per attribute keeps each attribute's first k users identical whatever
    # the population size.
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x5EED, stream])))


def _user_key(population_seed: int) -> bytes:
    """The 128-bit SipHash key of a population (a function of its seed)."""
    return hashlib.sha256(b"emotion-events/user-id/v1/" + str(population_seed).encode()).digest()[:16]


def user_ids(population_seed: int, users: int) -> tuple[str, ...]:
    """Pseudonymous ids: 'u_' + the 16 hex digits of SipHash-2-4 (a keyed hash) of the user number;
    the key comes from the population seed. (The definition; :func:`user_id_table` is the bulk form.)"""
    key = _user_key(population_seed)
    return tuple(f"u_{siphash24(key, i.to_bytes(8, 'little')):016x}" for i in range(users))


def user_id_table(population_seed: int, users: int) -> np.ndarray:
    """The ids of :func:`user_ids` as an (users, 18) uint8 ASCII matrix, computed with numpy."""
    digest = siphash24_u64(_user_key(population_seed), np.arange(users, dtype=np.uint64))
    raw = digest.astype(">u8").view(np.uint8).reshape(users, 8)  # big-endian: hex reads as the number
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    table = np.empty((users, 18), dtype=np.uint8)
    table[:, 0], table[:, 1] = ord("u"), ord("_")
    table[:, 2::2], table[:, 3::2] = hexdigits[raw >> 4], hexdigits[raw & 15]
    return table


def build_population(tables: ModelTables, population_seed: int, users: int) -> Population:
    def categorical(stream: int, share: np.ndarray) -> np.ndarray:
        cum = np.cumsum(share)
        return np.minimum(
            np.searchsorted(cum / cum[-1], _draw(population_seed, stream).random(users), side="right"), len(share) - 1
        ).astype(np.int64)

    activity = _draw(population_seed, 6).lognormal(0.0, 1.0, users)
    per_user = np.maximum(1, np.rint(activity / activity.mean() * TICKETS_PER_USER)).astype(np.int64)
    return Population(
        ids=user_id_table(population_seed, users),
        tz=categorical(1, tables.tz_share),
        home_channel=categorical(2, tables.channel_share),
        chronotype=np.clip(_draw(population_seed, 3).normal(0.0, 1.3, users), -3.0, 3.5),
        valence_bias=np.clip(_draw(population_seed, 4).normal(0.0, 0.12, users), -0.3, 0.3),
        temperament=categorical(5, tables.temperament_share),
        occupation=categorical(7, tables.occupation_share),
        tickets=np.repeat(np.arange(users, dtype=np.int64), per_user),
    )


# Quantized standard normal: 12 bits of a random word pick one of 4096 equal-probability quantiles,
# so one 64-bit draw yields five normals (tails cut at +-3.4 sigma, plenty for noise terms).
_NORMAL_BITS = 12
_NORMAL_TABLE = np.array([NormalDist().inv_cdf((i + 0.5) / (1 << _NORMAL_BITS)) for i in range(1 << _NORMAL_BITS)])
_BIN_BITS = 10  # INVERSE_CDF_BINS == 1 << _BIN_BITS: six categorical draws per 64-bit word
assert INVERSE_CDF_BINS == 1 << _BIN_BITS


def _split_bits(raw: np.ndarray, bits: int, count: int) -> list[np.ndarray]:
    mask = (1 << bits) - 1
    return [((raw >> (bits * j)) & mask).astype(np.int64) for j in range(count)]


CHRONO_STEPS_PER_HOUR = 2  # chronotypes are bucketed to half hours for the activity table


class EventSampler:
    """Draws base events (no dirt) for a window [start_ms, start_ms + span_ms).

    Who reports when: candidates (user by activity, instant uniform in the window) are thinned by
    ``activity[user's time zone and chronotype, hour of the window]``, a table computed once from the
    exact offsets, so each candidate costs a handful of vectorized operations.
    """

    def __init__(self, tables: ModelTables, population: Population, grid: OffsetGrid, start_ms: int, span_ms: int) -> None:
        self.t = tables
        self.pop = population
        self.grid = grid
        self.start_ms = start_ms
        self.span_ms = span_ms
        self._sleep = tables.contexts.index("sleep") if "sleep" in tables.contexts else -1
        self._home_cut = int(HOME_CHANNEL_SHARE * INVERSE_CDF_BINS)
        self._watch_cut = int(EXERCISE_WEARABLE_SHARE * INVERSE_CDF_BINS)
        self._sync_cut = np.rint(tables.sync_share * INVERSE_CDF_BINS).astype(np.int64)
        n_ctx, n_emo = len(tables.contexts), len(tables.emotions)
        # flat inverse-CDF tables: one gather per draw
        self._ctx_flat = tables.context_icdf.reshape(-1)  # [occupation, weekend, hour, bin]
        self._ctx_key = population.occupation * (2 * 24 * INVERSE_CDF_BINS)
        self._emo_flat = tables.emotion_icdf.reshape(-1)  # [temperament, context, bin]
        self._emo_key = population.temperament * (n_ctx * INVERSE_CDF_BINS)
        assert tables.emotion_icdf.shape == (len(tables.temperament_share), n_ctx, INVERSE_CDF_BINS) and n_emo < 256
        # instants are drawn in units of 1 ms (or coarser for windows over 49 days: 32 random bits)
        self._unit_ms = max(1, -(-span_ms // (1 << 32)))
        self._span_units = span_ms // self._unit_ms
        self._build_activity()

    def _build_activity(self) -> None:
        t, pop = self.t, self.pop
        self.hours = -(-self.span_ms // _MS_PER_HOUR)
        shifts = (
            np.arange(
                np.floor(pop.chronotype.min() * CHRONO_STEPS_PER_HOUR), np.ceil(pop.chronotype.max() * CHRONO_STEPS_PER_HOUR) + 1
            )
            / CHRONO_STEPS_PER_HOUR
        )
        mid = self.start_ms + (np.arange(self.hours) + 0.5) * _MS_PER_HOUR
        zones = np.arange(len(t.time_zones))
        off = self.grid.lookup(np.repeat(zones, self.hours), np.tile(mid.astype(np.int64), len(zones)))
        local_h = mid[None, :] / _MS_PER_HOUR + off.reshape(len(zones), self.hours) / 60.0 + 72.0  # from a Monday
        week = np.append(t.activity_by_week_hour, t.activity_by_week_hour[0])
        clock = (local_h[:, None, :] - shifts[None, :, None]) % 168.0
        act = np.interp(clock, np.arange(169), week)  # [zone, shift, hour of window]
        self._activity = act.reshape(-1)
        bucket = np.rint((pop.chronotype - shifts[0]) * CHRONO_STEPS_PER_HOUR).astype(np.int64)
        self._user_key = (pop.tz * len(shifts) + bucket) * self.hours
        # expected acceptance, to size candidate batches (a constant: chunks stay independent)
        per_user = act.reshape(-1, self.hours).mean(axis=1)[self._user_key // self.hours]
        weight = np.bincount(pop.tickets, minlength=len(pop.tz))
        self._accept = max(float((per_user * weight).sum() / weight.sum()), 0.02)

    def _when_and_who(self, rng: np.random.Generator, n: int):
        """Users and instants, thinned so each user reports at their own local waking hours."""
        users, times = [], []
        need = n
        tickets = self.pop.tickets
        while need > 0:
            k = int(need / self._accept * 1.08) + 64
            raw = rng.bit_generator.random_raw(k)  # low 32 bits pick the ticket, the high 32 the instant
            u = tickets[(((raw & 0xFFFFFFFF) * len(tickets)) >> 32).view(np.int64)]
            t = (((raw >> 32) * self._span_units) >> 32).view(np.int64) * self._unit_ms
            keep = rng.random(k) < self._activity[self._user_key[u] + t // _MS_PER_HOUR]
            idx = np.flatnonzero(keep)[:need]
            users.append(u[idx])
            times.append(t[idx])
            need -= len(idx)
        u = users[0] if len(users) == 1 else np.concatenate(users)
        t = (times[0] if len(times) == 1 else np.concatenate(times)) + self.start_ms
        return u, t, self.grid.lookup(self.pop.tz[u], t)

    def sample(self, rng: np.random.Generator, n: int) -> ChunkColumns:
        """Columns of n clean events (lookup-table codes, epoch milliseconds, offsets in minutes)."""
        t = self.t
        pop = self.pop
        u, occurred, off = self._when_and_who(rng, n)
        week_hour = ((occurred // 1000 + off * 60) // 3600 + 72) % 168  # hours since a Monday 00:00, local
        b_ctx, b_emo, b_chan, b_home, b_watch, b_sync = _split_bits(rng.bit_generator.random_raw(n), _BIN_BITS, 6)
        # [occupation, weekend, hour] as one flat index: weekend * 24 + hour
        slot = np.where(week_hour >= 120, 24 + week_hour % 24, week_hour % 24)
        context = self._ctx_flat[self._ctx_key[u] + slot * INVERSE_CDF_BINS + b_ctx].astype(np.int64)
        emotion = self._emo_flat[self._emo_key[u] + context * INVERSE_CDF_BINS + b_emo].astype(np.int64)
        channel = np.where(b_home < self._home_cut, pop.home_channel[u], t.channel_icdf[b_chan].astype(np.int64))
        if t.context_exercise >= 0 and t.channel_wearable >= 0:
            watch = (context == t.context_exercise) & (b_watch < self._watch_cut)
            channel[watch] = t.channel_wearable

        z = [_NORMAL_TABLE[i] for i in _split_bits(rng.bit_generator.random_raw(n), _NORMAL_BITS, 5)]
        intensity = 1.0 / (1.0 + np.exp(-(t.intensity_logit[emotion] + 0.85 * z[0])))
        valence = t.valence_center[emotion] * (0.45 + 0.55 * intensity) + pop.valence_bias[u] + 0.07 * z[1]
        arousal = t.arousal_center[emotion] + 0.30 * (intensity - 0.5) + 0.06 * z[2]
        if self._sleep >= 0:
            arousal -= 0.12 * (context == self._sleep)
        int_code = np.rint(intensity * 100).astype(np.int64)
        val_code = np.rint(np.clip(valence, -1.0, 1.0) * 1000).astype(np.int64) + 1000
        aro_code = np.rint(np.clip(arousal, 0.0, 1.0) * 1000).astype(np.int64)

        delay = np.exp(t.delay_log_median[channel] + t.delay_sigma[channel] * z[3])
        synced = b_sync < self._sync_cut[channel]
        if synced.any():
            delay[synced] += np.exp(t.sync_log_median[channel[synced]] + 0.8 * z[4][synced])
        recorded = occurred + np.minimum(MIN_RECORD_DELAY_MS + delay, MAX_RECORD_DELAY_MS).astype(np.int64)
        tz = pop.tz[u]
        cols = ChunkColumns(
            event_id=rng.bit_generator.random_raw(2 * n).reshape(n, 2),
            user=u,
            emotion=emotion,
            intensity=int_code,
            valence=val_code,
            arousal=aro_code,
            context=context,
            channel=channel,
            tz=tz,
            occurred_ms=occurred,
            occurred_off=off,
            recorded_ms=recorded,
            recorded_off=self.grid.lookup(tz, recorded),
        )
        return cols
