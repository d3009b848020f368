"""Schema, encoding and determinism of the bronze CSV."""

import re
import uuid

import numpy as np

from emotion_events.generator import CHUNK_ROWS, GeneratorParams, generate, write_local
from emotion_events.render import csv_field, csv_line

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
USER = re.compile(r"u_[0-9a-f]{16}")


def test_header_encoding_and_line_endings(typical_file, contract):
    result, reading = typical_file
    data = result.csv_path.read_bytes()
    data.decode("utf-8")  # UTF-8 (all ASCII in fact)
    assert data.startswith(",".join(contract.bronze_header).encode() + b"\r\n")
    assert data.count(b"\r\n") == result.manifest["rows_written"] + 1
    assert data.count(b"\n") == data.count(b"\r\n")


def test_valid_rows_follow_the_schema(typical_file, contract):
    _result, reading = typical_file
    valid = [r for r in reading.rows if r.reason is None]
    assert len(valid) > 190_000
    for row in valid[:20_000]:
        v = row.values
        assert UUID4.fullmatch(v["event_id"]) and uuid.UUID(v["event_id"]).version == 4
        assert USER.fullmatch(v["user_id"])
        assert v["emotion"] in contract.emotions.canonical
        assert v["source_channel"] in contract.codes["source_channel"].canonical
        assert v["context"] is None or v["context"] in contract.codes["context"].canonical
        assert v["device_tz"] in contract.time_zones
        for col, rng in contract.ranges.items():
            assert rng.min <= v[col] <= rng.max
        assert v["occurred_at"] <= v["recorded_at"]


def test_clean_numbers_use_fixed_decimals(typical_file):
    _result, reading = typical_file
    for row in reading.rows[:5000]:
        if row.reason is None and not row.raw[3].endswith("%"):
            assert re.fullmatch(r"[01]\.\d{2}", row.raw[3])
            assert re.fullmatch(r"-?[01]\.\d{3}", row.raw[4])
            assert re.fullmatch(r"[01]\.\d{3}", row.raw[5])


def test_same_seed_same_bytes_other_seed_other_events(tmp_path):
    params = GeneratorParams(rows=3 * CHUNK_ROWS + 17, seed=42, dirty_ratio=0.2)
    a = write_local(params, tmp_path / "a", run_id="one")
    b = write_local(params, tmp_path / "b", run_id="two")
    assert a.csv_path.read_bytes() == b.csv_path.read_bytes()
    assert a.manifest["defects"] == b.manifest["defects"]
    c = write_local(GeneratorParams(rows=params.rows, seed=43, dirty_ratio=0.2), tmp_path / "c", run_id="three")
    ids_a = {line.split(b",")[0] for line in a.csv_path.read_bytes().split(b"\r\n")[1:]}
    ids_c = {line.split(b",")[0] for line in c.csv_path.read_bytes().split(b"\r\n")[1:]}
    assert len(ids_a & ids_c - {b""}) == 0


def test_a_prefix_of_a_longer_run_is_identical_chunkwise():
    # chunk k depends only on (seed, k): a longer file starts with the shorter file's full chunks
    short = b"".join(generate(GeneratorParams(rows=2 * CHUNK_ROWS, seed=5, dirty_ratio=0.1)))
    long = b"".join(generate(GeneratorParams(rows=3 * CHUNK_ROWS, seed=5, dirty_ratio=0.1)))
    assert long.startswith(short)


def test_csv_writer_quotes_per_rfc_4180():
    assert csv_field("plain") == "plain"
    assert csv_field('say "hi"') == '"say ""hi"""'
    assert csv_field("a,b") == '"a,b"'
    assert csv_field("two\nlines") == '"two\nlines"'
    assert csv_line(["a", "b,c", 'd"e']) == b'a,"b,c","d""e"\r\n'
    assert csv_line(["x", "", "y"]) == b"x,,y\r\n"


def test_event_ids_are_unique_within_a_large_file():
    stream = generate(GeneratorParams(rows=300_000, seed=1, dirty_ratio=0.0))
    ids = []
    for chunk in stream:
        body = np.frombuffer(chunk, dtype=np.uint8)
        if body[:8].tobytes() == b"event_id":
            continue
        ids.extend(line[:36] for line in chunk.split(b"\r\n") if line)
    assert len(ids) == 300_000 == len(set(ids))


def test_user_ids_are_the_keyed_hash_of_the_user_number():
    from emotion_events.events import user_id_table, user_ids

    table = user_id_table(7, 300)
    assert [bytes(row).decode() for row in table] == list(user_ids(7, 300))
    assert user_ids(7, 3) != user_ids(8, 3)  # another population key, other pseudonyms


def test_siphash_matches_the_reference_vectors():
    # vectors of the SipHash reference implementation: key 00..0f, message 00..(n-1)
    from emotion_events.siphash import siphash24, siphash24_u64

    key = bytes(range(16))
    assert siphash24(key, b"") == 0x726FDB47DD0E0E31
    assert siphash24(key, bytes(range(8))) == 0x93F5F5799A932462
    assert siphash24(key, bytes(range(15))) == 0xA129CA6149BE45E5
    bulk = siphash24_u64(key, np.array([int.from_bytes(bytes(range(8)), "little"), 0, 12345], dtype=np.uint64))
    assert bulk.tolist() == [0x93F5F5799A932462, siphash24(key, bytes(8)), siphash24(key, (12345).to_bytes(8, "little"))]
