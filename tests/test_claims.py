"""vireid_core.analysis.claims: a notebook's comparative sentences evaluated against its numbers, safely."""

from __future__ import annotations

import pytest

from vireid_core.analysis.claims import (
    Claim,
    ClaimError,
    ClaimLog,
    claims_markdown,
    evaluate_claims,
    evaluate_condition,
    render,
)

NUMBERS = {
    "knn_chance": {"visible": 0.42, "infrared": 0.58},
    "knn_other_modality": {"after stage 1": {"visible": 0.001, "infrared": 0.0}},
    "clustering": {"plain Jaccard": {"ari": 0.44, "precision": None}, "modality-aware Jaccard": {"ari": 0.27}},
    "sweep": [0.16, 0.27, 0.37],
    "n": 3,
}


def test_a_holding_claim_is_recorded_with_its_rendered_text():
    claim = Claim(
        "stage-1 visible share {knn_other_modality[after stage 1][visible]:.1%} is below chance",
        'knn_other_modality["after stage 1"]["visible"] < knn_chance["visible"] / 10',
    )
    [record] = evaluate_claims([claim], NUMBERS)
    assert record == {
        "text": "stage-1 visible share 0.1% is below chance",
        "condition": 'knn_other_modality["after stage 1"]["visible"] < knn_chance["visible"] / 10',
        "holds": True,
    }
    assert claims_markdown([record]).startswith("- ✓ stage-1 visible share 0.1% is below chance")


def test_a_failing_claim_is_recorded_false_and_marked():
    claim = Claim(
        "the modality-aware Jaccard gives the higher ARI",
        'clustering["modality-aware Jaccard"]["ari"] > clustering["plain Jaccard"]["ari"]',
    )
    [record] = evaluate_claims([claim], NUMBERS)
    assert record["holds"] is False
    text = claims_markdown([record])
    assert "✗ **does not hold:** ~~the modality-aware Jaccard gives the higher ARI~~" in text


@pytest.mark.parametrize(
    "condition, expected",
    [
        ("sweep[0] < sweep[1] < sweep[2]", True),
        ("min(sweep) >= 0.2 or n == 3", True),
        ("not (abs(sweep[2] - sweep[0]) > 0.5) and len(sweep) == n", True),
        ("max(knn_chance['visible'], knn_chance['infrared']) - 0.58 < -0.01", False),
        ("round(sum([sweep[0], sweep[1]]), 2) == 0.43", True),
        ("n // 2 == 1", True),
        ("clustering['plain Jaccard']['precision'] == None", True),
    ],
)
def test_conditions_compare_do_arithmetic_and_chain(condition, expected):
    assert evaluate_condition(condition, NUMBERS) is expected


def test_a_missing_key_names_the_claim_and_the_key():
    claim = Claim("stage 2 is better", 'knn_other_modality["after stage 2"]["visible"] > 0')
    with pytest.raises(ClaimError, match=r"claim 'stage 2 is better'.*no key 'after stage 2'.*after stage 1"):
        evaluate_claims([claim], NUMBERS)
    with pytest.raises(ClaimError, match=r"claim 'x'.*no key 'missing'"):
        evaluate_condition("missing > 0", NUMBERS, "x")
    with pytest.raises(ClaimError, match="null value"):
        evaluate_condition("clustering['plain Jaccard']['precision'] > 0.1", NUMBERS, "x")
    with pytest.raises(ClaimError, match="cannot fill it"):
        render("ARI {clustering[Euclidean][ari]}", NUMBERS)


@pytest.mark.parametrize(
    "condition",
    [
        "__import__('os').system('true')",
        "n.__class__",
        "[x for x in sweep]",
        "(lambda: 1)()",
        "open('/etc/passwd')",
        "sweep[0:2]",
        "n ** 100000",
        "min(sweep, key=abs)",
        "n if n else 0",
    ],
)
def test_an_unsafe_expression_is_refused_when_the_claim_is_made(condition):
    with pytest.raises(ClaimError, match="claim 'unsafe'"):
        Claim("unsafe", condition)
    with pytest.raises(ClaimError):
        evaluate_condition(condition, NUMBERS, "unsafe")


def test_arithmetic_is_for_numbers_only():
    with pytest.raises(ClaimError, match="claim 'text'.*numbers only"):
        evaluate_condition("'a' * 10 == 'aaaaaaaaaa'", NUMBERS, "text")


def test_templates_index_but_refuse_attributes():
    assert render("{n} runs, ARI {clustering[plain Jaccard][ari]:.2f}", NUMBERS) == "3 runs, ARI 0.44"
    assert (
        render("ARI {sweep:.1f} for k1 = {k1}", {**NUMBERS, "k1": [10, 16, 26]})
        == "ARI 0.2, 0.3, 0.4 for k1 = 10, 16, 26"
    )
    with pytest.raises(ClaimError, match="attribute access"):
        render("{n.__class__}", NUMBERS)
    with pytest.raises(ClaimError, match="attribute access"):
        render("{clustering[plain Jaccard].__class__}", NUMBERS)


def test_callable_conditions_need_their_printed_form():
    with pytest.raises(ClaimError, match="printed form"):
        Claim("rises", lambda numbers: True)
    claim = Claim(
        "ARI rises with k1", lambda numbers: sorted(numbers["sweep"]) == numbers["sweep"], shown="sweep is increasing"
    )
    assert evaluate_claims([claim], NUMBERS) == [
        {"text": "ARI rises with k1", "condition": "sweep is increasing", "holds": True}
    ]
    broken = Claim("broken", lambda numbers: numbers["absent"], shown="absent")
    with pytest.raises(ClaimError, match="claim 'broken'"):
        evaluate_claims([broken], NUMBERS)


def test_the_log_keeps_one_record_per_claim_and_renders_the_reading():
    numbers = dict(NUMBERS)
    log = ClaimLog(numbers)
    below = Claim("below chance", "knn_other_modality['after stage 1']['infrared'] < knn_chance['infrared']")
    log.check([below])
    log.check([below])  # a re-run cell replaces its record
    text = log.reading(shows=[below, "at k = {n}."], not_shows="that a person's images meet.")
    assert text.splitlines()[0].startswith("**What this shows:** ✓ below chance")
    assert text.splitlines()[0].endswith("at k = 3.  ")
    assert text.splitlines()[1] == "**What it does not show:** that a person's images meet."
    numbers["late"] = 1  # the log reads the numbers as they are when a claim is checked
    log.check([Claim("late key", "late == 1")])
    assert [r["text"] for r in log.records] == ["below chance", "late key"]
    assert all(r["holds"] for r in log.records)
    assert log.summary() == "2 of 2 claims hold"
    log.check([Claim("wrong", "late == 2")])
    assert log.summary() == "2 of 3 claims hold\n  does not hold: wrong"
