"""The vectorized renderer writes exactly what the row-by-row formatters write, and the time-zone grid
agrees with zoneinfo; every alternate timestamp format parses back to the same instant."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from emotion_events import dirt
from emotion_events.generator import EventStream, GeneratorParams
from emotion_events.render import TIMESTAMP_RENDERERS, RenderError, fmt_iso_offset, lookup_table
from emotion_events.tzgrid import OffsetGrid

from .reference import parse_timestamp


def test_vectorized_timestamps_equal_the_python_formatter():
    stream = EventStream(GeneratorParams(rows=10, seed=1))
    rng = np.random.default_rng(3)
    cols = stream.sampler.sample(rng, 4000)
    text = stream.renderer.render(cols).tobytes().decode()
    lines = text.split("\r\n")[:-1]
    assert len(lines) == 4000
    for i in range(0, 4000, 7):
        fields = lines[i].split(",")
        assert fields[9] == fmt_iso_offset(int(cols.occurred_ms[i]), int(cols.occurred_off[i]))
        assert fields[10] == fmt_iso_offset(int(cols.recorded_ms[i]), int(cols.recorded_off[i]))


@pytest.mark.parametrize("name", sorted(TIMESTAMP_RENDERERS))
def test_every_format_parses_back_with_the_contract_pattern(contract, name):
    fmt = contract.timestamp_format(name)
    rng = np.random.default_rng(len(name))
    for utc_ms, offset in zip(rng.integers(1_700_000_000_000, 1_900_000_000_000, 300).tolist(),
                              (rng.integers(-48, 57, 300) * 15).tolist()):
        text = TIMESTAMP_RENDERERS[name](utc_ms, offset)
        if fmt.kind == "pattern":
            parsed = datetime.strptime(text, fmt.python)
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        else:
            parsed = datetime.fromtimestamp(int(text) / 1000, tz=timezone.utc)
        expected = utc_ms if name in ("iso_offset", "iso_utc", "epoch_ms") else utc_ms - utc_ms % 1000
        assert round(parsed.timestamp() * 1000) == expected, (name, text)
        assert parse_timestamp(text, contract) == parsed


def test_examples_of_the_contract_are_reproduced(contract):
    # the contract's own examples: 2026-11-26T07:15:30.123Z, shown in +01:00
    utc_ms = int(datetime(2026, 11, 26, 7, 15, 30, 123000, tzinfo=timezone.utc).timestamp() * 1000)
    for fmt in contract.timestamp_formats:
        assert TIMESTAMP_RENDERERS[fmt.name](utc_ms, 60) == fmt.example


def test_generator_only_writes_comma_free_alternate_formats(contract):
    alt = dirt.alternate_timestamp_formats(contract)
    assert "rfc2822" not in alt and {"iso_utc", "slash_offset", "epoch_ms"} <= set(alt)


def test_offset_grid_matches_zoneinfo_across_dst_changes(contract):
    start = int(datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp() * 1000)
    end = int(datetime(2026, 11, 30, tzinfo=timezone.utc).timestamp() * 1000)
    grid = OffsetGrid(contract.time_zones, start, end)
    rng = np.random.default_rng(0)
    tz = rng.integers(0, len(contract.time_zones), 5000)
    t = rng.integers(start, end, 5000)
    got = grid.lookup(tz, t.copy())
    for i in range(5000):
        zone = ZoneInfo(contract.time_zones[tz[i]])
        off = datetime.fromtimestamp(t[i] / 1000, tz=timezone.utc).astimezone(zone).utcoffset()
        assert got[i] == off.total_seconds() // 60


def test_lookup_values_that_would_need_quoting_are_quoted_per_rfc_4180():
    table, lengths, width = lookup_table(["fine", "not, fine", 'say "hi"'], "context")
    assert [bytes(v).rstrip(b"\0") for v in table] == [b"fine", b'"not, fine"', b'"say ""hi"""']
    assert lengths.tolist() == [4, 11, 12] and width == 12
    with pytest.raises(RenderError, match="NUL"):
        lookup_table(["a\0b"], "context")


def test_every_variant_normalizes_back_and_unknown_codes_do_not(contract):
    for column in ("emotion", "context", "source_channel"):
        vocab = dirt.build_vocabulary(contract, column, unknown=dirt.UNKNOWN_EMOTIONS if column == "emotion" else ())
        codes = contract.code_set(column)
        for c, code in enumerate(codes.canonical):
            forms = {vocab.entries[i] for i in vocab.variants[c][: vocab.variant_count[c]]}
            assert forms and code not in forms
            for form in forms:
                assert codes.normalize(" ".join(form.split()).lower()) == code
        for i in vocab.unknown:
            assert codes.normalize(" ".join(vocab.entries[i].split()).lower()) is None


def test_the_generator_refuses_a_contract_with_a_defect_kind_it_cannot_inject(contract):
    from emotion_events.contract import contract_with

    other = contract_with(defects={"kinds": {**contract.defect_kinds, "encoding_error": "invalid: bad bytes"}})
    with pytest.raises(dirt.DirtError, match="encoding_error"):
        EventStream(GeneratorParams(rows=5, seed=1), contract=other)


def test_vectorized_edits_equal_their_row_by_row_definition():
    from emotion_events.render import FORMAT_CODES, LineEdits

    stream = EventStream(GeneratorParams(rows=10, seed=1))
    cols = stream.sampler.sample(np.random.default_rng(9), 64)
    clean = stream.renderer.render(cols).tobytes().decode().split("\r\n")[:-1]
    n = 64
    fmt_codes = np.zeros(n, dtype=np.int64)
    names = {v: k for k, v in FORMAT_CODES.items()}
    fmt_codes[:30] = np.resize([1, 2, 3], 30)
    rec_codes = np.zeros(n, dtype=np.int64)
    rec_codes[:30] = np.resize([2, 3, 0, 1], 30)
    edits = LineEdits(formats={"occurred_at": (np.flatnonzero(fmt_codes), fmt_codes[fmt_codes > 0]),
                               "recorded_at": (np.flatnonzero(rec_codes), rec_codes[rec_codes > 0])},
                      blank={"user_id": np.array([40]), "event_id": np.array([41])},
                      truncate={2: np.array([42]), 4: np.array([43])},
                      decimal_comma={"valence": np.array([44]), "intensity": np.array([45])})
    lines = stream.renderer.render(cols, edits).tobytes().decode().split("\r\n")[:-1]
    assert len(lines) == n
    for i in range(n):
        f, base = lines[i].split(","), clean[i].split(",")
        if i in (42, 43, 44, 45):
            continue
        for col, idx, ms, off in (("occurred_at", 9, cols.occurred_ms, cols.occurred_off),
                                  ("recorded_at", 10, cols.recorded_ms, cols.recorded_off)):
            code = int((fmt_codes if col == "occurred_at" else rec_codes)[i])
            assert f[idx] == TIMESTAMP_RENDERERS[names[code]](int(ms[i]), int(off[i])), (i, col)
        others = [j for j in range(9) if (i, j) not in ((40, 1), (41, 0))]
        assert [f[j] for j in others] == [base[j] for j in others]
    assert lines[40].split(",")[1] == "" and lines[41].split(",")[0] == ""
    assert lines[42] == ",".join(clean[42].split(",")[:9]) and lines[43] == ",".join(clean[43].split(",")[:7])
    assert lines[44] == clean[44].replace(clean[44].split(",")[4], clean[44].split(",")[4].replace(".", ",", 1), 1)
    assert len(lines[45].split(",")) == 12
    # the reused buffer is restored: a clean render afterwards equals the first one
    assert stream.renderer.render(cols).tobytes().decode().split("\r\n")[:-1] == clean
