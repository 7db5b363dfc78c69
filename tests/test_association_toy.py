"""The toy of notebook 02's hand-built association (vireid_core.association.toy) and the checks the
exercises are held to (vireid_core.analysis.exercises)."""

from __future__ import annotations

import numpy as np
import pytest

from vireid_core.analysis import ExerciseChecks, toy_pair_summary
from vireid_core.association.reference import dense_jaccard, dense_modality_aware_jaccard
from vireid_core.association.toy import package_steps, toy_features


def test_the_toy_is_seeded_and_shaped_as_documented() -> None:
    toy = toy_features(seed=3)
    again = toy_features(seed=3)
    assert np.array_equal(toy.features, again.features) and not np.array_equal(toy.features, toy_features().features)
    assert toy.features.shape == (24, 3) and toy.features.dtype == np.float32
    assert np.allclose(np.linalg.norm(toy.features, axis=1), 1, atol=1e-6)
    assert np.bincount(toy.pids).tolist() == [8, 8, 8] and np.bincount(toy.modality).tolist() == [12, 12]
    assert (toy.k1, toy.k2, toy.half_width) == (8, 2, 5)
    with pytest.raises(ValueError, match="k2"):
        toy_features(images_per_modality=3, k2=4)


def test_the_toy_carries_a_complete_modality_bias() -> None:
    """Every image's nearest images are of its own modality (a whole person's worth and more), yet its
    nearest image of the other modality is its own person: what MAJ can exploit and plain Jaccard cannot."""
    toy = toy_features()
    sims = toy.features @ toy.features.T
    own = toy.modality[:, None] == toy.modality[None, :]
    for i in range(len(sims)):
        order = np.argsort(-sims[i], kind="stable")
        assert own[i, order[: toy.k1]].all()
        other = order[~own[i, order]]
        assert (toy.pids[other[: toy.k1 // 2]] == toy.pids[i]).all()


def test_package_steps_agree_with_the_dense_reference() -> None:
    toy = toy_features()
    steps = package_steps(toy)
    np.testing.assert_allclose(steps.jaccard, dense_jaccard(toy.features, toy.k1, toy.k2), atol=1e-6)
    np.testing.assert_allclose(
        steps.modality_aware, dense_modality_aware_jaccard(toy.features, toy.modality, toy.k1, toy.k2), atol=1e-6
    )
    assert np.allclose(steps.encoding.sum(axis=1), 1) and np.allclose(steps.expanded_encoding.sum(axis=1), 1)
    assert (steps.reciprocal <= steps.expanded).all() and steps.expanded.sum() > steps.reciprocal.sum()
    assert (np.sort(steps.balanced_ranking, axis=1) == np.sort(np.c_[steps.visible_lists, steps.infrared_lists])).all()


def test_what_the_exercises_promise_holds_on_the_toy() -> None:
    """The 'Expected' paragraphs of notebook 02's exercises, on the default toy."""
    toy = toy_features()
    steps = package_steps(toy)
    cross = toy.modality[:, None] != toy.modality[None, :]
    same = toy.pids[:, None] == toy.pids[None, :]
    assert not (steps.expanded & cross).any()  # exercise 1: no plain set crosses the modalities
    assert (steps.expanded.sum(axis=1) > steps.reciprocal.sum(axis=1)).any()  # the expansion adds members
    assert (steps.expanded_encoding[cross] == 0).all()  # exercise 2: no weight on the other modality
    assert (steps.jaccard[cross] == 1).all() and np.allclose(np.diag(steps.jaccard), 0)  # exercise 3
    assert (steps.jaccard[same & ~cross] < 0.3).all() and (steps.jaccard[~same & ~cross] < 1).any()
    assert (toy.modality[steps.balanced_ranking] == 0).sum(axis=1).tolist() == [toy.k1 // 2] * len(cross)
    assert (steps.modality_aware[same & cross] < 0.1).all() and (steps.modality_aware[~same & cross] == 1).all()
    summary = toy_pair_summary({"plain": steps.jaccard, "maj": steps.modality_aware}, toy.pids, toy.modality)
    assert summary["plain"]["cross_pairs_linked"] == 0
    assert summary["maj"]["cross_pairs_linked"] == summary["maj"]["cross_pairs_linked_same_person"] == 48


def _unfinished(*_args):
    raise NotImplementedError


def test_checks_report_pass_fail_and_not_done() -> None:
    expected = np.arange(6.0).reshape(2, 3)
    checks = ExerciseChecks()
    done = checks.check("a", lambda x: x + 1e-8, expected, expected=expected, source="f")
    wrong = checks.check("b", lambda x: x * 2, expected, expected=expected, source="f")
    todo = checks.check("c", _unfinished, expected, expected=expected, source="f")
    shape = checks.check("d", lambda x: x[0], expected, expected=expected, source="f")
    pair = checks.check("e", lambda: (expected > 2, expected), expected=(expected > 2, expected), source="f")
    assert [r.status for r in checks.results] == ["passed", "failed", "not done", "failed", "passed"]
    assert str(done).startswith("✓ a:") and str(todo) == "· c: not done yet, fill in the TODO of _unfinished"
    assert "5 entries differ, the first at [0, 1]: yours 2, the package's 1 (f)" in str(wrong)
    assert "shape (3,), the package's is (2, 3)" in shape.detail and pair.passed
    assert checks.value("b") is expected and checks.value("a") is done.value
    assert checks.summary() == "2 passed, 2 failed, 1 not done yet"
    strict = ExerciseChecks(strict=True)
    nested = checks.check("f", lambda: _unfinished(), expected=expected, source="f")
    assert nested.detail == "not done yet, fill in the TODO of _unfinished"  # names the unfinished one
    with pytest.raises(AssertionError, match="not done yet"):
        strict.check("c", _unfinished, expected=expected, source="f")
    with pytest.raises(AssertionError, match="entries differ"):
        strict.check("b", lambda: expected * 2, expected=expected, source="f")
