"""How the network computes on this hardware: autocast precision and memory format (the fast CPU path).

Two settings of :class:`~vireid_core.config.RunConfig` decide it:

* ``precision``: ``"auto"`` picks bfloat16 autocast on CPUs whose ``/proc/cpuinfo`` lists bfloat16
  matrix units (AVX512-BF16 or AMX-BF16; a hardware check, never a timing, so a machine always takes
  the same path), float16 autocast on CUDA when ``amp`` is on, and float32 everywhere else.
  ``"fp32"`` switches autocast off on every device (the paper-reproduction setting); ``"bf16"``
  forces bfloat16 autocast on the CPU (on CPUs without bf16 units it is correct but slow).
* ``channels_last``: keep convolution inputs and weights in NHWC order, which oneDNN convolves
  faster on CPUs (measured by ``benchmarks/bench_training.py``); values are unchanged.

Autocast only changes the network's convolutions and matrix products. Everything the method keeps
between steps stays float32: the pooled feature and BN neck (``GeneralizedMeanPooling`` computes in
float32), the memories, the losses and every BatchNorm running statistic (BatchNorm parameters and
buffers are float32 under CPU autocast; ``tests/test_precision.py`` checks all of these).

One guard: on this project's AMX machines, PyTorch 2.14's oneDNN bfloat16 kernels give wrong, often
infinite, results for a strided 3 × 3 convolution whose output is one column wide (e.g. ResNet's
layer4 on 64 × 32 images; found by a shape sweep: every failure was stride 2 with output width 1,
all other shapes agree with float32 to bf16 rounding). :meth:`ComputePlan.prepare_model` therefore
runs such convolutions in float32 under bfloat16 autocast (:func:`guard_bf16_convolutions`); at the
demo's 128 × 64 no convolution has that shape, so the guard costs nothing there.
"""

from __future__ import annotations

import contextlib
import types
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

PRECISIONS = ("auto", "fp32", "bf16")
_HAS_BF16_UNITS: bool | None = None


def cpu_has_bf16_matrix_units() -> bool:
    """True when /proc/cpuinfo lists AVX512-BF16 or AMX-BF16 (Linux); False elsewhere or if unreadable.

    Where this is False, bfloat16 matrix products are emulated and slower than float32, so neither
    the association's bf16 screening nor the network's bf16 autocast is chosen by "auto". Cached per
    process.
    """
    global _HAS_BF16_UNITS
    if _HAS_BF16_UNITS is None:
        try:
            flags = Path("/proc/cpuinfo").read_text().split()
        except OSError:
            flags = []
        _HAS_BF16_UNITS = "avx512_bf16" in flags or "amx_bf16" in flags
    return _HAS_BF16_UNITS


def _one_column_out(conv: nn.Conv2d, width: int) -> bool:
    """True when ``conv`` maps an input ``width`` columns wide to a single column with a stride > 1."""
    (kernel, stride, dilation) = (conv.kernel_size[1], conv.stride[1], conv.dilation[1])
    padding = conv.padding[1] if isinstance(conv.padding, tuple) else 0
    return stride > 1 and (width + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1 == 1


def _guarded_conv_forward(self: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``Conv2d.forward``, in float32 when bfloat16 autocast meets the one-column shape (module text)."""
    if (
        x.device.type == "cpu"
        and torch.is_autocast_enabled("cpu")
        and torch.get_autocast_dtype("cpu") == torch.bfloat16
        and _one_column_out(self, x.shape[-1])
    ):
        with torch.autocast("cpu", enabled=False):
            return self._conv_forward(x.float(), self.weight.float(), None if self.bias is None else self.bias.float())
    return nn.Conv2d.forward(self, x)


def guard_bf16_convolutions(model: nn.Module) -> nn.Module:
    """Make every strided ``Conv2d`` of ``model`` run in float32 when, under CPU bfloat16 autocast, its
    output would be one column wide (the oneDNN bug of the module text); in place, returns ``model``.
    Idempotent; other convolutions and every other precision are untouched."""
    for module in model.modules():
        if type(module) is nn.Conv2d and max(module.stride) > 1 and "forward" not in vars(module):
            module.forward = types.MethodType(_guarded_conv_forward, module)
    return model


@dataclass(frozen=True)
class ComputePlan:
    """The resolved way to run the network on one device.

    Attributes:
        device: where the network runs.
        autocast_dtype: ``torch.bfloat16`` / ``torch.float16`` for autocast, or None (float32).
        channels_last: NHWC memory format for 4-d images and the model's weights.
    """

    device: torch.device
    autocast_dtype: torch.dtype | None
    channels_last: bool

    @property
    def name(self) -> str:
        """A short label for logs and benchmarks, e.g. ``"cpu bf16 channels-last"``."""
        dtype = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.autocast_dtype]
        return f"{self.device.type} {dtype}" + (" channels-last" if self.channels_last else "")

    def autocast(self) -> contextlib.AbstractContextManager:
        """The autocast context for forward passes (a no-op context when running in float32)."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def prepare_model(self, model: torch.nn.Module) -> torch.nn.Module:
        """Put ``model`` in this plan's memory format, in place (parameters stay the same objects), with
        the one-column convolution guard under bfloat16 (module text); returns ``model``."""
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        if self.autocast_dtype is torch.bfloat16:
            guard_bf16_convolutions(model)
        return model

    def images(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` [B, 3, H, W] moved to the device in this plan's memory format."""
        images = images.to(self.device, non_blocking=True)
        if self.channels_last and images.dim() == 4:
            images = images.contiguous(memory_format=torch.channels_last)
        return images


def autocast_dtype_for(precision: str, device: torch.device, *, amp: bool = True) -> torch.dtype | None:
    """The autocast dtype ``precision`` means on ``device`` (None = float32); see the module text."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp32":
        return None
    if device.type == "cuda":
        return torch.float16 if amp else None
    if precision == "bf16":
        return torch.bfloat16
    return torch.bfloat16 if device.type == "cpu" and cpu_has_bf16_matrix_units() else None


def compute_plan(
    device: torch.device | str, precision: str = "auto", *, channels_last: bool = True, amp: bool = True
) -> ComputePlan:
    """The :class:`ComputePlan` for ``device`` with the config's ``precision``, ``channels_last``, ``amp``."""
    device = torch.device(device)
    return ComputePlan(device, autocast_dtype_for(precision, device, amp=amp), bool(channels_last))


def plan_for_config(config, device: torch.device) -> ComputePlan:
    """The plan a :class:`~vireid_core.config.RunConfig` asks for on ``device``."""
    return compute_plan(device, config.precision, channels_last=config.channels_last, amp=config.amp)
