"""Memory losses of BMIL (docs/method.md §5 and §6), as plain functions of scores.

The memories in :mod:`vireid_core.learning.memories` compute the scores and call these. Memory rows are
constants here: gradients reach only the (normalised) batch features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def hybrid_loss(
    mean_scores: torch.Tensor, hard_scores: torch.Tensor, targets: torch.Tensor, margin: float = 0.2
) -> torch.Tensor:
    """½ · [CE(hard_scores, y) + max(0, CE(mean_scores, y) − margin)] (docs/method.md §5).

    Args:
        mean_scores, hard_scores: [n, C] logits (features · slotsᵀ / τ).
        targets: LongTensor[n], class indices 0..C−1.
        margin: hinge r on the batch-mean cross-entropy of the mean-slot logits.

    Returns:
        a scalar tensor (CE is the batch mean).
    """
    ce_hard = F.cross_entropy(hard_scores, targets)
    ce_mean = F.cross_entropy(mean_scores, targets)
    return 0.5 * (ce_hard + torch.clamp(ce_mean - margin, min=0.0))


def select_prototypes(scores: torch.Tensor, positives: torch.Tensor, num_selected: int = 50) -> torch.Tensor:
    """Boolean mask [n, P] of the selected set Sel_i of the multi-positive loss (docs/method.md §6).

    Sel_i = the positives of row i plus its min(num_selected − |Pos_i|, P − |Pos_i|) highest-scoring
    non-positive prototypes, ranked on the detached scores. Ties are broken by the lower prototype index
    (a stable order, docs/method.md §11 Q15). Works for any P (§11 Q13: no crash for P < num_selected).

    Args:
        scores: [n, P] logits; only their order is used.
        positives: bool [n, P], at least one True per row.
        num_selected: size of the selected set (reference: 50).
    """
    n, num_protos = scores.shape
    num_pos = positives.sum(dim=1)
    num_neg = torch.clamp(torch.minimum(num_selected - num_pos, num_protos - num_pos), min=0)
    max_neg = int(num_neg.max()) if n else 0
    selected = positives.clone()
    if max_neg == 0:
        return selected
    ranking_scores = scores.detach().masked_fill(positives, float("-inf"))
    order = torch.sort(ranking_scores, dim=1, descending=True, stable=True).indices[:, :max_neg]
    take = torch.arange(max_neg, device=scores.device).unsqueeze(0) < num_neg.unsqueeze(1)
    selected.scatter_(1, order, take | selected.gather(1, order))
    return selected


def multi_positive_loss(
    scores: torch.Tensor, targets: torch.Tensor, proto_label: torch.Tensor, num_selected: int = 50
) -> torch.Tensor:
    """Multi-positive loss over split prototypes for one chunk of scores (docs/method.md §6).

    loss_i = −(1/|Pos_i|) · Σ_{p∈Pos_i} log softmax_{Sel_i}(s_i)[p], with Pos_i the prototypes of the same
    cluster as prototype ``targets[i]`` and Sel_i from :func:`select_prototypes`.

    Args:
        scores: [n, P] logits (features · prototypesᵀ / τ).
        targets: LongTensor[n], the prototype index of each row.
        proto_label: LongTensor[P], the cluster of each prototype.
        num_selected: selected-set size (reference: 50).

    Returns:
        the mean of loss_i over the rows (scalar tensor).
    """
    positives = proto_label.unsqueeze(0) == proto_label[targets].unsqueeze(1)
    selected = select_prototypes(scores, positives, num_selected)
    log_norm = torch.logsumexp(scores.masked_fill(~selected, float("-inf")), dim=1, keepdim=True)
    log_prob = scores - log_norm
    per_row = -(log_prob * positives).sum(dim=1) / positives.sum(dim=1)
    return per_row.mean()
