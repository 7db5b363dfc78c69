"""Datasets: records, SynthVI, official-layout readers, transforms, sampler."""

from vireid_core.data.dataset import ReIDDataset
from vireid_core.data.images import ImageListDataset, open_rgb
from vireid_core.data.readers import available_datasets, load_dataset, register_dataset, unregister_dataset
from vireid_core.data.records import INFRARED, MODALITY_NAMES, VISIBLE, Sample
from vireid_core.data.sampler import IdentityInstanceSampler, InfiniteBatches, IterLoader
from vireid_core.data.transforms import (
    ChannelAdapGray,
    ChannelExchange,
    ChannelRandomErasing,
    cluster_transform,
    test_transform,
    train_transform,
)

__all__ = [
    "INFRARED",
    "MODALITY_NAMES",
    "VISIBLE",
    "ChannelAdapGray",
    "ChannelExchange",
    "ChannelRandomErasing",
    "IdentityInstanceSampler",
    "ImageListDataset",
    "InfiniteBatches",
    "IterLoader",
    "ReIDDataset",
    "Sample",
    "available_datasets",
    "cluster_transform",
    "load_dataset",
    "open_rgb",
    "register_dataset",
    "test_transform",
    "train_transform",
    "unregister_dataset",
]
