"""Datasets: records, SynthVI, official-layout readers, transforms, sampler."""

from vireid_core.data.records import INFRARED, MODALITY_NAMES, VISIBLE, Sample

__all__ = ["INFRARED", "MODALITY_NAMES", "VISIBLE", "Sample"]
