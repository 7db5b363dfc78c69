"""IdentityInstanceSampler (the official RandomMultipleGallerySampler) and IterLoader."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from vireid_core.data import IdentityInstanceSampler, InfiniteBatches, IterLoader


def toy_labels() -> tuple[np.ndarray, np.ndarray]:
    """label 0: 30 images, cams 1 (10) and 2 (20); label 1: 5 images in cam 3 only;
    label 2: a single image; label 3: 3 in cam 1 + 2 in cam 2; 4 outliers (-1)."""
    labels = [0] * 30 + [1] * 5 + [2] + [3] * 5 + [-1] * 4
    cams = [1] * 10 + [2] * 20 + [3] * 5 + [4] + [1, 1, 1, 2, 2] + [1, 2, 3, 4]
    order = np.random.default_rng(0).permutation(len(labels))  # interleave the labels
    return np.array(labels)[order], np.array(cams)[order]


def groups(sampler: IdentityInstanceSampler) -> list[np.ndarray]:
    indices = sampler.indices()
    out, start = [], 0
    while start < len(indices):
        label = sampler.labels[indices[start]]
        size = 1 if np.sum(sampler.labels == label) == 1 else sampler.num_instances
        out.append(indices[start : start + size])
        start += size
    return out


def test_group_structure() -> None:
    labels, cams = toy_labels()
    sampler = IdentityInstanceSampler(labels, cams, num_instances=16, seed=3)
    found = groups(sampler)
    assert len(sampler) == len(sampler.indices()) == 16 + 16 + 1 + 16
    assert sorted(int(labels[g[0]]) for g in found) == [0, 1, 2, 3]  # every label once, outliers skipped
    for group in found:
        label, anchor = labels[group[0]], group[0]
        assert np.all(labels[group] == label)
        if label == 2:
            assert len(group) == 1  # lone anchor
            continue
        assert len(group) == 16
        rest = group[1:]
        if label == 0:  # >= 16 other-camera candidates only when the anchor is in cam 1 (20 in cam 2)
            assert np.all(cams[rest] != cams[anchor])
            if cams[anchor] == 1:
                assert len(set(rest.tolist())) == 15  # without replacement
        if label == 1:  # one camera: the other 4 images, with replacement
            assert anchor not in rest and set(rest.tolist()) <= set(np.flatnonzero(labels == 1).tolist())
        if label == 3:
            assert np.all(cams[rest] != cams[anchor])


def test_other_camera_rule_over_epochs() -> None:
    labels, cams = toy_labels()
    sampler = IdentityInstanceSampler(labels, cams, seed=0)
    distinct_when_cam1_anchor, anchors = [], set()
    for epoch in range(40):
        sampler.set_epoch(epoch)
        for group in groups(sampler):
            if labels[group[0]] == 0:
                anchors.add(int(group[0]))
                rest = group[1:]
                assert np.all(cams[rest] != cams[group[0]])
                if cams[group[0]] == 2:  # only 10 cam-1 candidates (< 16): with replacement
                    assert set(rest.tolist()) <= set(np.flatnonzero((labels == 0) & (cams == 1)).tolist())
                else:
                    distinct_when_cam1_anchor.append(len(set(rest.tolist())) == 15)
    assert len(anchors) > 15  # anchors vary over epochs
    assert distinct_when_cam1_anchor and all(distinct_when_cam1_anchor)


def test_threshold_is_sixteen_not_fifteen() -> None:
    # anchor's label has exactly 15 other-camera candidates: the reference draws WITH replacement
    labels = np.zeros(16, dtype=int)
    cams = np.array([1] + [2] * 15)
    repeats = 0
    for seed in range(30):
        sampler = IdentityInstanceSampler(labels, cams, seed=seed)
        group = sampler.indices()
        if cams[group[0]] == 1:
            repeats += len(set(group[1:].tolist())) < 15
    assert repeats > 0


def test_determinism_and_no_global_side_effects() -> None:
    labels, cams = toy_labels()
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    states = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state().clone())
    a = IdentityInstanceSampler(labels, cams, seed=5)
    b = IdentityInstanceSampler(labels, cams, seed=5)
    assert list(a) == list(b)
    a.set_epoch(1)
    assert list(a) != list(b)
    b.set_epoch(1)
    assert list(a) == list(b)
    other_seed = IdentityInstanceSampler(labels, cams, seed=6)
    assert list(other_seed) != list(IdentityInstanceSampler(labels, cams, seed=5))
    assert random.getstate() == states[0]
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])


def test_label_order_is_random() -> None:
    labels = np.repeat(np.arange(20), 4)
    cams = np.tile([1, 2, 1, 2], 20)
    firsts = {
        tuple(labels[IdentityInstanceSampler(labels, cams, num_instances=4, seed=s).indices()[::4]]) for s in range(5)
    }
    assert len(firsts) == 5 and all(sorted(order) == list(range(20)) for order in firsts)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="equal length"):
        IdentityInstanceSampler(np.zeros(3, dtype=int), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="integers"):
        IdentityInstanceSampler(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="num_instances"):
        IdentityInstanceSampler(np.zeros(3, dtype=int), np.zeros(3, dtype=int), num_instances=0)
    with pytest.raises(ValueError, match="epoch"):
        IdentityInstanceSampler(np.zeros(3, dtype=int), np.zeros(3, dtype=int)).set_epoch(-1)


def test_empty_and_all_outliers() -> None:
    sampler = IdentityInstanceSampler(np.full(5, -1), np.ones(5, dtype=int))
    assert len(sampler) == 0 and list(sampler) == []


def test_iter_loader_exact_iterations_and_epochs() -> None:
    labels = np.repeat(np.arange(3), 4)  # 3 labels x 4 instances -> 12 indices, 3 batches of 4
    cams = np.tile([1, 2], 6)
    sampler = IdentityInstanceSampler(labels, cams, num_instances=4, seed=0)
    dataset = TensorDataset(torch.arange(12))
    loader = DataLoader(dataset, batch_size=4, sampler=sampler, drop_last=True)
    iter_loader = IterLoader(loader, iters=7)
    batches = [batch[0] for batch in iter_loader]
    assert len(batches) == len(iter_loader) == 7
    assert sampler.epoch == 2 and iter_loader.next_pass == 3  # passes 0, 1, 2 were started

    expected = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        expected += sampler.indices().tolist()
    assert torch.cat(batches).tolist() == expected[:28]
    assert InfiniteBatches is IterLoader
    assert len(IterLoader(loader)) == 3


def test_iter_loader_empty_pass_raises() -> None:
    loader = DataLoader(TensorDataset(torch.arange(3)), batch_size=4, drop_last=True)
    with pytest.raises(RuntimeError, match="no batch"):
        IterLoader(loader, iters=2).next()
