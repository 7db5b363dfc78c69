"""Atomic, resumable, safely loaded checkpoints.

* Writes go to a temporary file in the same folder, are flushed to disk and renamed over the target,
  so a kill at any moment leaves either the old or the new file, never a torn one. Files get the
  permissions the umask allows (like any other file the user creates), not the 0600 of ``mkstemp``.
* Every checkpoint is read with ``torch.load(weights_only=True)``: tensors and plain data only, so a
  file can never run code while loading. A file that needs more is refused with a message naming the
  Python objects it asks for.
* A vireid checkpoint stores ``model_digest``, a SHA-256 over the model tensors (names, dtypes,
  shapes and bytes); loading recomputes it and refuses a file whose weights changed after writing.
  Files without a digest (official BMIL weights, older runs) still load.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vireid_core.errors import PathMissingError, UserError

DIGEST_KEY = "model_digest"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` atomically (temporary file + fsync + rename).

    The file's mode is 0666 minus the umask. A failed write leaves any previous file untouched and
    raises ``OSError`` naming ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            reason = err.strerror or str(err)
            raise (
                OSError(err.errno, f"cannot write {path} ({reason})")
                if err.errno is not None
                else OSError(f"cannot write {path} ({reason})")
            ) from err
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def state_digest(tensors: Mapping[str, Any]) -> str:
    """``"sha256:<hex>"`` over the tensors of a state dict: names (sorted), dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name]
        if not isinstance(value, torch.Tensor):
            continue
        flat = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return "sha256:" + digest.hexdigest()


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Save ``state`` (tensors, numbers, lists, dicts) with ``torch.save``, atomically.

    When ``state["model"]`` is a state dict, the file also gets its ``model_digest``.
    """
    if isinstance(state.get("model"), Mapping):
        state = {**state, DIGEST_KEY: state_digest(state["model"])}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _numpy_globals() -> list[Any]:
    """The numpy reconstruction functions and types official checkpoints use for metric values."""
    core = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
    allowed: list[Any] = [np.dtype, np.ndarray]
    for name in ("scalar", "_reconstruct"):
        function = getattr(core, name)
        allowed += [function, (function, f"numpy.core.multiarray.{name}"), (function, f"numpy._core.multiarray.{name}")]
    allowed += [type(np.dtype(kind)) for kind in ("f4", "f8", "i4", "i8", "u1", "b1")]
    return allowed


def read_torch_file(path: str | Path, *, map_location: str | torch.device = "cpu", allow_numpy: bool = False) -> Any:
    """``torch.load(path, weights_only=True)`` with errors that name the file.

    ``allow_numpy`` also admits numpy scalars and arrays (official BMIL checkpoints store metric values
    that way); they are plain data, never code. Returns whatever the file holds.

    Raises:
        PathMissingError: ``path`` is not a file.
        UserError: the file is not a torch checkpoint, or needs Python objects beyond plain data.
    """
    path = Path(path)
    if not path.is_file():
        state = "is a folder" if path.is_dir() else "does not exist"
        raise PathMissingError(f"checkpoint {path} {state}; expected a .pt/.pth file")
    try:
        if allow_numpy:
            with torch.serialization.safe_globals(_numpy_globals()):
                return torch.load(path, map_location=map_location, weights_only=True)
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        names = _unsafe_globals(path)
        if not names:
            raise UserError(f"checkpoint {path} is not a readable torch checkpoint ({_torch_reason(err)})") from err
        raise UserError(
            f"checkpoint {path} was refused: besides tensors and plain data it asks for Python "
            f"objects ({', '.join(names)}), and unpickling those can run arbitrary code. vireid "
            "loads checkpoints with torch.load(weights_only=True) only; if you trust the file, "
            "re-save just its weights (torch.save(state_dict, new_path)) and use that"
        ) from err
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as err:
        raise UserError(f"checkpoint {path} is not a readable torch checkpoint ({_torch_reason(err)})") from err


def _unsafe_globals(path: Path) -> list[str]:
    """The Python objects (``module.name``) a checkpoint's pickle asks for beyond torch's allow-list."""
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # a torn or foreign file: no list, the caller reports it unreadable
        return []


def _torch_reason(err: BaseException) -> str:
    """The informative line of a torch loading error (torch's own messages span many lines)."""
    text = str(err) or type(err).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for marker in ("WeightsUnpickler error:", "PytorchStreamReader"):
        for i, line in enumerate(lines):
            if marker in line:
                detail = line.split(marker, 1)[1].strip() or (lines[i + 1] if i + 1 < len(lines) else "")
                return f"{marker.rstrip(':')}: {detail}".strip()
    return lines[0] if lines else type(err).__name__


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (or any dict saved with ``torch.save``).

    Returns the stored dict. Raises :class:`~vireid_core.errors.PathMissingError` naming the path when
    it is missing, :class:`~vireid_core.errors.UserError` when the file is not a readable checkpoint,
    needs more than tensors and plain data, or its weights do not match the stored ``model_digest``.
    """
    state = read_torch_file(path, map_location=map_location)
    if not isinstance(state, dict):
        raise UserError(f"checkpoint {path} holds a {type(state).__name__}, expected a dict")
    stored = state.get(DIGEST_KEY)
    if stored is not None and isinstance(state.get("model"), Mapping):
        actual = state_digest(state["model"])
        if actual != stored:
            raise UserError(
                f"checkpoint {path}: its weights do not match the digest stored when vireid wrote "
                f"it (stored {str(stored)[:19]}..., now {actual[:19]}...); the file was changed or "
                "damaged afterwards; use an intact copy"
            )
    return state


def model_state_from_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Return ``(model_state_dict, info)`` from a vireid checkpoint (or a bare state dict).

    ``info`` holds ``stage``, ``epoch``, ``config`` and ``selection`` when the file has them.
    """
    state = load_checkpoint(path)
    if "model" in state and isinstance(state["model"], dict):
        info = {key: state.get(key) for key in ("stage", "epoch", "config", "selection")}
        return state["model"], info
    return state, {}


def _listing(items: list[str]) -> str:
    return ", ".join(items[:8]) + (f", ... ({len(items)} in total)" if len(items) > 8 else "")


def load_model_weights(model: torch.nn.Module, weights: Mapping[str, Any], source: str) -> torch.nn.Module:
    """Copy ``weights`` into ``model`` (strict) and return the model.

    Raises :class:`~vireid_core.errors.UserError` with one line naming ``source`` and the missing,
    unexpected and differently shaped keys when the weights do not fit.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    shapes = [
        f"{k} (file {tuple(v.shape)}, model {tuple(own[k].shape)})"
        for k, v in weights.items()
        if k in own and isinstance(v, torch.Tensor) and tuple(v.shape) != tuple(own[k].shape)
    ]
    problems = [
        f"{label}: {_listing(items)}"
        for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes))
        if items
    ]
    if problems:
        raise UserError(f"{source} does not fit the model: " + "; ".join(problems))
    model.load_state_dict(dict(weights))
    return model
