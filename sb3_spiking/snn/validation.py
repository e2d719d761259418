"""Argument checks shared by the whole package: one rule, one wording.

The rule: a number is any :class:`numbers.Real` (Python ints and floats, NumPy scalars such as
``np.float32(0.99)``) except ``bool``; NaN and infinities are refused. An int is any
:class:`numbers.Integral` except ``bool``. Every error names the parameter and what it accepts.

It lives in the engine ring (``sb3_spiking/snn/``) because the engine's own options use it and the
engine imports nothing from the RL layers; every other ring imports it from here.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["check_bool", "check_choice", "check_int", "check_real"]


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``; bools, floats and None are refused with a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r} ({type(value).__name__})")
    return int(value)


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of the strings ``allowed``; the error lists them."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"Unknown {name}={value!r}; allowed values: {', '.join(allowed)}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is ``True`` or ``False`` (not 0/1, not None)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _bounds(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """``"in [0, 1)"``, ``"> 0"``, ``"<= 5"`` or ``""``: the allowed range in words."""
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def check_real(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    note: str | None = None,
) -> float:
    """``value`` as a finite float, optionally within ``[low, high]``.

    :param name: the parameter's name, as the user wrote it (it starts the error message).
    :param value: any real number but a bool (NumPy scalars included); NaN and inf are refused.
    :param low: smallest value allowed (None: no lower bound).
    :param high: largest value allowed (None: no upper bound).
    :param low_open: exclude ``low`` itself (``(low, ...``).
    :param high_open: exclude ``high`` itself (``..., high)``).
    :param note: what the parameter means, appended to the error in parentheses.
    :return: ``float(value)``.
    """
    detail = f" ({note})" if note else ""
    bounds = _bounds(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number{' ' + bounds if bounds else ''}{detail}, got {value!r}")
    x = float(value)
    if (low is not None and (x <= low if low_open else x < low)) or (
        high is not None and (x >= high if high_open else x > high)
    ):
        raise ValueError(
            f"{name} must be {'a number ' if high is not None and low is not None else ''}{bounds}{detail}, got {value!r}"
        )
    return x
