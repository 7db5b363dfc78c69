"""Hybrid memory, split-prototype memory and their losses (the official `cm.py` ClusterMemory CMhybrid and the
multi-positive loss of BMIL, arXiv 2512.07760)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vireid_core.learning.losses import hybrid_loss, multi_positive_loss, select_prototypes
from vireid_core.learning.memories import HybridMemory, SplitPrototypeMemory

E = torch.eye(4)


def ce_two_class(a: float) -> float:
    """Cross-entropy of logits [a, 0] with target 0."""
    return math.log(1 + math.exp(-a))


# ----------------------------------------------------------------------------------------------- hybrid
def test_hybrid_loss_hand_computed() -> None:
    memory = HybridMemory(torch.stack([E[0] * 3, E[1]]), temperature=1.0, margin=0.2)
    memory.hard_slots[0] = F.normalize(torch.tensor([1.0, 1.0, 0.0, 0.0]), dim=0)
    feature = torch.tensor([[2.0, 0.0, 0.0, 0.0]])  # normalised: e1
    loss = memory.loss(feature, torch.tensor([0]))
    ce_mean = ce_two_class(1.0)  # scores [1, 0]
    ce_hard = ce_two_class(1 / math.sqrt(2))  # scores [0.707, 0]
    expected = 0.5 * (ce_hard + max(0.0, ce_mean - 0.2))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_hinge_acts_on_batch_mean_cross_entropy() -> None:
    a1 = -math.log(math.exp(0.1) - 1)  # CE 0.1
    a2 = -math.log(math.exp(0.5) - 1)  # CE 0.5
    mean_scores = torch.tensor([[a1, 0.0], [a2, 0.0]])
    hard_scores = torch.tensor([[100.0, 0.0], [100.0, 0.0]])  # CE ~ 0
    loss = hybrid_loss(mean_scores, hard_scores, torch.tensor([0, 0]), margin=0.2)
    assert loss.item() == pytest.approx(0.5 * (0.3 - 0.2), abs=1e-6)  # per-sample hinge would give 0.075


def test_gradient_reaches_features_only_through_normalisation() -> None:
    torch.manual_seed(0)
    memory = HybridMemory(torch.randn(3, 4))
    features = torch.randn(5, 4, requires_grad=True)
    memory.loss(features, torch.tensor([0, 1, 2, 0, 1])).backward()
    assert features.grad is not None and features.grad.abs().sum() > 0
    # The loss depends on f / |f| only, so each row's gradient is orthogonal to the row.
    radial = (features.grad * features.detach()).sum(dim=1)
    assert torch.allclose(radial, torch.zeros(5), atol=1e-6)
    assert list(memory.parameters()) == []
    assert not memory.mean_slots.requires_grad and not memory.hard_slots.requires_grad


def test_update_rule_mean_and_hard_slot_with_tie_to_first_index() -> None:
    memory = HybridMemory(torch.stack([E[0], E[3]]), momentum=0.5)
    rows = torch.stack([torch.tensor([1.0, 1.0, 0, 0]), E[1] * 3, E[2] * 2])  # similarities .71, 0, 0
    memory.update(rows, torch.tensor([0, 0, 0]))
    normed = F.normalize(rows, dim=1)
    expected_mean = F.normalize(0.5 * E[0] + 0.5 * normed.mean(dim=0), dim=0)
    expected_hard = F.normalize(0.5 * E[0] + 0.5 * E[1], dim=0)  # ties: row 1 (first of rows 1, 2)
    assert torch.allclose(memory.mean_slots[0], expected_mean, atol=1e-6)
    assert torch.allclose(memory.hard_slots[0], expected_hard, atol=1e-6)
    assert torch.equal(memory.mean_slots[1], E[3]) and torch.equal(memory.hard_slots[1], E[3])


def test_hard_slot_uses_pre_update_mean_slot() -> None:
    memory = HybridMemory(torch.stack([E[0], E[3]]), momentum=0.1)
    # The hardest row differs between the pre-update mean (e1 -> row 2) and the post-update mean
    # (mostly e3 + e4 -> row 1); the rule uses the pre-update slot.
    rows = torch.stack(
        [torch.tensor([0.1, 0.0, 1.0, 0.0]), torch.tensor([0.2, 0.0, 0.0, 1.0]), torch.tensor([0.0, 0.0, 3.0, 0.0])]
    )
    # pre-update similarities to e1: 0.0995, 0.196, 0.0 -> hardest = row 2
    memory.update(rows, torch.tensor([0, 0, 0]))
    expected_hard = F.normalize(0.1 * E[0] + 0.9 * E[2], dim=0)
    assert torch.allclose(memory.hard_slots[0], expected_hard, atol=1e-6)


def test_from_clusters_uses_unnormalised_centroids_and_ignores_outliers() -> None:
    features = torch.tensor([[4.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [9.0, 9.0, 9.0, 9.0]])
    memory = HybridMemory.from_clusters(features.numpy(), np.array([0, 0, 1, -1]), margin=0.3)
    assert torch.allclose(memory.mean_slots[0], F.normalize(torch.tensor([2.0, 0.5, 0, 0]), dim=0))
    assert torch.equal(memory.mean_slots, memory.hard_slots)
    assert memory.num_classes == 2 and memory.margin == 0.3
    with pytest.raises(ValueError, match="every label"):
        HybridMemory.from_clusters(features, np.array([0, 2, 2, -1]))
    with pytest.raises(ValueError, match="shape"):
        HybridMemory.from_clusters(features, np.array([0, 1]))


def test_bad_targets_are_rejected() -> None:
    memory = HybridMemory(torch.randn(2, 4))
    with pytest.raises(ValueError, match="0..1"):
        memory.loss(torch.randn(2, 4), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="features"):
        memory.loss(torch.randn(2, 5), torch.tensor([0, 1]))


def test_backward_after_update_still_uses_forward_time_memory() -> None:
    torch.manual_seed(1)
    centroids = torch.randn(3, 4)
    features = torch.randn(6, 4)
    targets = torch.tensor([0, 1, 2, 0, 1, 2])
    grads = []
    for update_first in (False, True):
        memory = HybridMemory(centroids)
        f = features.clone().requires_grad_(True)
        loss = memory.loss(f, targets)
        if update_first:
            memory.update(f.detach(), targets)
        loss.backward()
        grads.append(f.grad)
    assert torch.allclose(grads[0], grads[1])


# ------------------------------------------------------------------------------------ split prototypes
FEATS = torch.tensor(
    [[0, 0, 2.0, 0], [1.0, 0, 0, 0], [0, 1.0, 0, 0], [5.0, 5, 5, 5], [0, 0, 0, 3.0], [1.0, 1, 1, 1], [3.0, 0, 0, 0]]
)
LABELS = np.array([1, 0, 0, -1, 1, 2, 0])
MODALITY = np.array([1, 0, 1, 0, 1, 1, 0])


def test_prototype_order_and_proxy_index() -> None:
    memory, proxy = SplitPrototypeMemory.from_global_clusters(FEATS, LABELS, MODALITY)
    # cluster 0: visible rows 1, 6 then infrared row 2; cluster 1: infrared rows 0, 4; cluster 2: row 5.
    assert proxy.tolist() == [2, 0, 1, -1, 2, 3, 0]
    assert memory.proto_label.tolist() == [0, 0, 1, 2]
    assert memory.proto_modality.tolist() == [0, 1, 1, 1]
    assert torch.allclose(memory.mean_slots[0], E[0])
    assert torch.allclose(memory.mean_slots[2], F.normalize(torch.tensor([0, 0, 1.0, 1.5]), dim=0))
    assert memory.loss_type == "multi_positive" and memory.num_prototypes == 4


def test_unsplit_ablation_has_one_prototype_per_cluster_and_hybrid_loss() -> None:
    memory, proxy = SplitPrototypeMemory.from_global_clusters(FEATS, LABELS, MODALITY, split_prototypes=False)
    assert proxy.tolist() == [1, 0, 0, -1, 1, 2, 0]
    assert memory.proto_label.tolist() == [0, 1, 2] and memory.proto_modality.tolist() == [-1, -1, -1]
    assert memory.loss_type == "hybrid"
    f = torch.randn(3, 4)
    t = torch.tensor([0, 1, 2])
    s_mean, s_hard = memory.scores(f)
    assert memory.loss(f, t).item() == pytest.approx(hybrid_loss(s_mean, s_hard, t, 0.2).item())


def _expected_mp(scores: list[float], positives: list[int], selected: list[int]) -> float:
    log_norm = math.log(sum(math.exp(scores[q]) for q in selected))
    return -sum(scores[p] - log_norm for p in positives) / len(positives)


def test_multi_positive_loss_hand_computed() -> None:
    proto_label = torch.tensor([0, 0, 1, 2, 3])
    scores = torch.tensor(
        [
            [1.0, 0.5, 2.0, -1.0, 0.3],  # target 0: Pos {0, 1}; top-1 negative = 2
            [0.2, 0.1, 0.4, 0.9, 0.8],
        ]
    )  # target 2: Pos {2};    top-2 negatives = 3, 4
    loss = multi_positive_loss(scores, torch.tensor([0, 2]), proto_label, num_selected=3)
    row0 = _expected_mp(scores[0].tolist(), [0, 1], [0, 1, 2])
    row1 = _expected_mp(scores[1].tolist(), [2], [2, 3, 4])
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-6)


def test_positives_for_mixed_and_single_modality_clusters() -> None:
    memory, proxy = SplitPrototypeMemory.from_global_clusters(FEATS, LABELS, MODALITY)
    targets = torch.tensor([0, 1, 2])
    positives = memory.proto_label.unsqueeze(0) == memory.proto_label[targets].unsqueeze(1)
    assert positives.tolist() == [[True, True, False, False], [True, True, False, False], [False, False, True, False]]


def test_fewer_prototypes_than_selected_set_uses_all() -> None:
    memory, _ = SplitPrototypeMemory.from_global_clusters(FEATS, LABELS, MODALITY, temperature=1.0)
    f = torch.tensor([[0.3, -0.2, 0.5, 0.1]])
    loss = memory.loss(f, torch.tensor([1]))  # P = 4 < 50: everything is selected
    s = (F.normalize(f, dim=1) @ memory.mean_slots.t())[0].tolist()
    expected = _expected_mp(s, [0, 1], [0, 1, 2, 3])  # mean == hard at init
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_selection_ties_prefer_lower_index_and_gradient_only_through_selected() -> None:
    proto_label = torch.tensor([0, 1, 2, 3])
    scores = torch.tensor([[1.0, 0.5, 0.5, 0.5]], requires_grad=True)
    positives = proto_label.unsqueeze(0) == torch.tensor([[0]])
    assert select_prototypes(scores, positives, 2).tolist() == [[True, True, False, False]]
    multi_positive_loss(scores, torch.tensor([0]), proto_label, num_selected=2).backward()
    assert scores.grad[0, 2] == 0 and scores.grad[0, 3] == 0
    assert scores.grad[0, 0] != 0 and scores.grad[0, 1] != 0


def test_split_update_touches_the_target_prototype_only() -> None:
    memory, _ = SplitPrototypeMemory.from_global_clusters(FEATS, LABELS, MODALITY, momentum=0.5)
    before = memory.mean_slots.clone()
    memory.update(torch.tensor([[0, 0, 1.0, 0]]), torch.tensor([1]))
    assert torch.allclose(memory.mean_slots[1], F.normalize(0.5 * E[1] + 0.5 * E[2], dim=0))
    unchanged = [0, 2, 3]
    assert torch.equal(memory.mean_slots[unchanged], before[unchanged])


def test_one_call_versus_two_calls_for_infrared_and_visible_rows() -> None:
    torch.manual_seed(2)
    features = torch.randn(40, 8)
    labels = np.repeat(np.arange(10), 4)
    modality = np.tile([0, 1], 20)
    f_ir, f_vis = torch.randn(6, 8), torch.randn(6, 8)
    t_ir = torch.tensor([1, 3, 5, 1, 3, 7])  # infrared prototypes (odd indices)
    t_vis = torch.tensor([0, 2, 4, 0, 6, 8])  # visible prototypes (even indices)

    one, _ = SplitPrototypeMemory.from_global_clusters(features, labels, modality, num_selected=5)
    two, _ = SplitPrototypeMemory.from_global_clusters(features, labels, modality, num_selected=5)
    assert one.proto_modality[t_ir].eq(1).all() and one.proto_modality[t_vis].eq(0).all()
    loss_one = one.loss(torch.cat([f_ir, f_vis]), torch.cat([t_ir, t_vis]))
    loss_two = 0.5 * (two.loss(f_ir, t_ir) + two.loss(f_vis, t_vis))
    assert loss_one.item() == pytest.approx(loss_two.item(), rel=1e-6)
    one.update(torch.cat([f_ir, f_vis]), torch.cat([t_ir, t_vis]))
    two.update(f_vis, t_vis)  # order does not matter: disjoint rows
    two.update(f_ir, t_ir)
    assert torch.allclose(one.mean_slots, two.mean_slots) and torch.allclose(one.hard_slots, two.hard_slots)


def test_split_memory_rejects_bad_modality() -> None:
    with pytest.raises(ValueError, match="modality"):
        SplitPrototypeMemory.from_global_clusters(FEATS, LABELS, np.array([0, 1, 2, 0, 1, 1, 0]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_memories_on_cuda() -> None:
    memory, _ = SplitPrototypeMemory.from_global_clusters(FEATS, LABELS, MODALITY)
    memory = memory.to("cuda")
    f = torch.randn(3, 4, device="cuda", requires_grad=True)
    t = torch.tensor([0, 1, 2], device="cuda")
    memory.loss(f, t).backward()
    memory.update(f.detach(), t)
    assert memory.mean_slots.device.type == "cuda"


def test_memory_moves_with_to_and_accepts_double_features() -> None:
    memory = HybridMemory(torch.randn(2, 4)).to(torch.device("cpu"))
    f = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    loss = memory.loss(f, torch.tensor([0, 1, 0]))
    loss.backward()
    assert loss.dtype == torch.float64 and f.grad is not None
    memory.update(f.detach(), torch.tensor([0, 1, 0]))
    assert memory.mean_slots.dtype == torch.float32
