"""The Data Flow Script generated from the contract: structure, rule order, codes, regexes, escaping."""

from __future__ import annotations

import copy
import json
import re

import pytest

from emotion_events.contract import CONTRACT_PATH, default_contract, parse_contract
from emotion_platform.dataflow.check import ScriptError, check, parse
from emotion_platform.dataflow.script import generate_script, terraform_escape
from emotion_platform.silver.plan import build_plan

BACKTICKS = re.compile(r"`([^`]*)`")


@pytest.fixture(scope="module")
def script():
    return generate_script()


def contract_data() -> dict:
    return json.loads(CONTRACT_PATH.read_text())


def test_the_script_is_a_well_formed_graph_from_bronze_to_both_sinks(script) -> None:
    stmts = check(script.text, sources=("BronzeLines",), sinks=("SilverSink", "QuarantineSink"))
    kinds = [s.transform for s in stmts]
    assert kinds[0] == "source" and kinds.count("sink") == 2 and "window" in kinds and "split" in kinds
    route = next(s for s in stmts if s.transform == "split")
    assert route.branches == ("Valid", "Rejected")


def test_rules_appear_in_contract_order_with_their_reason_literals(script) -> None:
    judged = next(s for s in parse(script.text) if s.output == "Judged").text
    positions = [judged.index(f"'{r}'") for r in default_contract().reasons]
    assert positions == sorted(positions)


def test_every_code_and_synonym_of_the_contract_is_in_the_script(script) -> None:
    c = default_contract()
    typed = next(s for s in parse(script.text) if s.output == "Typed").text
    for column in ("emotion", "source_channel", "context"):
        codes = c.code_set(column)
        for canonical in codes.canonical:
            group = re.search(rf"in\(\[([^\]]*)\], n_{column}\), '{canonical}'", typed)
            assert group, (column, canonical)
            spellings = {x.strip().strip("'") for x in group.group(1).split(",")}
            assert spellings == {canonical, *(k for k, v in codes.synonyms.items() if v == canonical)}
    for tz in c.time_zones:
        assert f"'{tz}'" in typed


def test_ranges_skew_and_bounds_come_from_the_contract(script) -> None:
    judged = next(s for s in parse(script.text) if s.output == "Judged").text
    assert "v_intensity < 0.0 || v_intensity > 1.0" in judged
    assert "v_valence < -1.0 || v_valence > 1.0" in judged
    assert "seconds(300)" in judged


def test_dedup_orders_by_the_contract_winner_then_a_deterministic_tiebreak(script) -> None:
    window = next(s for s in parse(script.text) if s.transform == "window").text
    assert window.startswith("Route@Valid window(over(event_id),")
    order = re.findall(r"(asc|desc)\((\w+), (true|false)\)", window)
    assert order[0] == ("desc", "recorded_at_utc", "false")
    assert [o[1] for o in order[1:]] == list(build_plan().tiebreak)


def test_silver_sink_maps_exactly_the_silver_columns_and_partitions_by_folder(script) -> None:
    sink = next(s for s in parse(script.text) if s.output == "SilverSink").text
    mapped = re.search(r"mapColumn\(([^)]*)\)", sink).group(1).split(",")
    plan = build_plan()
    assert [m.strip() for m in mapped] == [c.name for c in plan.silver_data_columns]
    assert "rowFolderUrlColumn: 'silver_folder'" in sink and "truncate: true" in sink
    assert "'event_date=' + toString(event_date, 'yyyy-MM-dd')" in script.text


# What each regex means in Java is checked by real Java in tests/silver/test_java_semantics.py.


def test_the_source_reads_lines_whole_and_derives_source_file_relative_to_the_container(script) -> None:
    raw = next(s for s in parse(script.text) if s.output == "RawLines").text
    assert "`\\r\\z`" in raw and "source_file = regexReplace(bronze_path, `^/+`, '')" in raw
    assert "rowUrlColumn: 'bronze_path'" in script.text
    blank = next(s for s in parse(script.text) if s.output == "NonBlankLines").text
    assert "norm_line != ''" in blank  # whitespace-only lines are skipped after normalization


def test_event_date_is_days_since_the_epoch_not_a_formatted_string(script) -> None:
    classified = next(s for s in parse(script.text) if s.output == "Classified").text
    assert "event_date = addDays(toDate('1970-01-01', 'yyyy-MM-dd'), toInteger(floor((t_occurred_at - " in classified
    assert "toString(t_" not in script.text  # toString's third argument is a locale, not a zone


def test_lower_casing_is_a_to_z_only(script) -> None:
    assert "lower(" not in script.text
    assert "translate(r_emotion, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')" in script.text


def test_timestamp_patterns_translate_to_java_with_both_offset_spellings() -> None:
    fmt = {f.name: f for f in build_plan().timestamp_formats}
    assert fmt["iso_offset"].java == ("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "yyyy-MM-dd'T'HH:mm:ss.SSSXX")
    assert fmt["iso_utc"].java == ("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'",)
    assert fmt["rfc2822"].java[0] == "EEE, dd MMM yyyy HH:mm:ss XXX"
    assert fmt["epoch_ms"].zone == "epoch"


def test_terraform_template_sequences_are_escaped() -> None:
    data = contract_data()
    data["emotions"]["synonyms"]["${oops}"] = "joy"
    data["emotions"]["synonyms"]["%{also}"] = "joy"
    text = generate_script(parse_contract(data)).text
    assert "'${oops}'" in text
    escaped = terraform_escape(text)
    assert not re.search(r"(?<!\$)\$\{", escaped) and not re.search(r"(?<!%)%\{", escaped)
    assert escaped.replace("$${", "${").replace("%%{", "%{") == text


def test_quotes_in_contract_strings_are_escaped_in_literals() -> None:
    data = contract_data()
    data["emotions"]["synonyms"]["o'clock blues"] = "sadness"
    text = generate_script(parse_contract(data)).text
    assert r"'o\'clock blues'" in text
    check(text, sources=("BronzeLines",), sinks=("SilverSink", "QuarantineSink"))


@pytest.mark.parametrize("broken, message", [
    ("source(a: 1) ~> A\nA derive(x = (1) ~> B\nB sink() ~> S", "unbalanced"),
    ("source() ~> A\nZ derive(x = 1) ~> B\nB sink() ~> S", "input 'Z' is not defined"),
    ("source() ~> A\nA derive(x = 1) ~> A\nA sink() ~> S", "defined twice"),
    ("source() ~> A\nA derive(x = 'unterminated) ~> B", "unterminated string"),
    ("source() ~> A\nA derive(x = 1) ~> B\nA sink() ~> S", "never used"),
])
def test_the_checker_rejects_broken_scripts(broken, message) -> None:
    with pytest.raises(ScriptError, match=message):
        check(broken, sources=("A",), sinks=("S",))


def test_the_checker_does_not_trip_over_brackets_inside_strings() -> None:
    ok = "source() ~> A\nA derive(x = ')(', y = `[(`) ~> B\nB sink() ~> S"
    assert [s.output for s in check(ok, sources=("A",), sinks=("S",))] == ["A", "B", "S"]


def test_the_cli_prints_the_same_script(capsys) -> None:
    from emotion_platform.cli import main

    assert main(["dataflow-script"]) == 0
    assert capsys.readouterr().out == generate_script().text + "\n"


def test_a_reordered_rule_list_reorders_the_script() -> None:
    data = copy.deepcopy(contract_data())
    rules = data["validation"]["rules"]
    rules.insert(1, rules.pop(4))  # out_of_range before missing_required
    judged = next(s for s in parse(generate_script(parse_contract(data)).text) if s.output == "Judged").text
    assert judged.index("'out_of_range'") < judged.index("'missing_required'")
