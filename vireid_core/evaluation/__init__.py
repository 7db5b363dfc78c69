"""Evaluation: rank metrics, the SYSU-MM01/RegDB/LLCM test protocols, feature extraction, reports."""

from vireid_core.evaluation.evaluate import (
    REPORTED_SETTINGS,
    evaluate,
    evaluate_features,
    evaluate_protocol,
    protocol_settings,
)
from vireid_core.evaluation.extract import extract_features
from vireid_core.evaluation.metrics import RankResult, rank_metrics
from vireid_core.evaluation.protocols import (
    LLCM_DIRECTIONS,
    REGDB_DIRECTIONS,
    SYSU_GALLERY_CAMS,
    plan_protocol,
    regdb_split,
    sample_gallery,
    sample_gallery_indices,
    sysu_gallery,
    sysu_query,
)
from vireid_core.evaluation.report import EvaluationReport, SettingResult, mean_metrics, merge_reports

__all__ = [
    "LLCM_DIRECTIONS",
    "REGDB_DIRECTIONS",
    "REPORTED_SETTINGS",
    "SYSU_GALLERY_CAMS",
    "EvaluationReport",
    "RankResult",
    "SettingResult",
    "evaluate",
    "evaluate_features",
    "evaluate_protocol",
    "extract_features",
    "mean_metrics",
    "merge_reports",
    "plan_protocol",
    "protocol_settings",
    "rank_metrics",
    "regdb_split",
    "sample_gallery",
    "sample_gallery_indices",
    "sysu_gallery",
    "sysu_query",
]
