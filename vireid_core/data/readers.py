"""Dataset registry: `load_dataset(name, root, **kwargs)`, `register_dataset`, `available_datasets`.

Built in: "sysu" (SYSU-MM01), "regdb" (RegDB, kwarg `trial` 1..10, default 1), "llcm" (LLCM).
Add your own without editing the package::

    def load_my_set(root, **kwargs) -> ReIDDataset: ...
    register_dataset("my_set", load_my_set)
    dataset = load_dataset("my_set", "/data/my_set")
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from vireid_core.data.dataset import ReIDDataset
from vireid_core.data.llcm import load_llcm
from vireid_core.data.regdb import load_regdb
from vireid_core.data.sysu import load_sysu

DatasetLoader = Callable[..., ReIDDataset]

_BUILT_IN: dict[str, DatasetLoader] = {"sysu": load_sysu, "regdb": load_regdb, "llcm": load_llcm}
_REGISTRY: dict[str, DatasetLoader] = dict(_BUILT_IN)


def register_dataset(name: str, loader: DatasetLoader, *, overwrite: bool = False) -> None:
    """Registers `loader(root, **kwargs) -> ReIDDataset` under `name` (case-insensitive).

    Raises ValueError if the name is empty or already taken (unless `overwrite=True`; built-in names
    can never be overwritten), TypeError if `loader` is not callable.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"dataset name must be a non-empty string, got {name!r}")
    if not callable(loader):
        raise TypeError(f"loader for dataset {name!r} must be callable, got {type(loader).__name__}")
    key = name.strip().lower()
    if key in _BUILT_IN:
        raise ValueError(f"dataset name {name!r} is built in; choose another name")
    if key in _REGISTRY and not overwrite:
        raise ValueError(f"dataset {name!r} is already registered; pass overwrite=True to replace it")
    _REGISTRY[key] = loader


def unregister_dataset(name: str) -> None:
    """Removes a user-registered dataset; raises KeyError if absent, ValueError for a built-in name."""
    key = name.strip().lower()
    if key in _BUILT_IN:
        raise ValueError(f"dataset {name!r} is built in and cannot be unregistered")
    if key not in _REGISTRY:
        raise KeyError(f"dataset {name!r} is not registered; registered: {available_datasets()}")
    del _REGISTRY[key]


def available_datasets() -> list[str]:
    """Returns the registered dataset names, sorted."""
    return sorted(_REGISTRY)


def load_dataset(name: str, root: str | os.PathLike[str], **kwargs: Any) -> ReIDDataset:
    """Reads dataset `name` from `root`; `kwargs` go to its loader (RegDB: `trial=1..10`).

    Returns the `ReIDDataset` (paths absolute). Raises KeyError for an unknown name (listing the
    known ones), TypeError if the loader does not return a `ReIDDataset`, and whatever the loader
    raises for bad files.
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise KeyError(f"unknown dataset {name!r}; registered: {available_datasets()}")
    dataset = _REGISTRY[key](root, **kwargs)
    if not isinstance(dataset, ReIDDataset):
        raise TypeError(f"loader of dataset {name!r} returned {type(dataset).__name__}, expected ReIDDataset")
    return dataset
