"""The one validation rule (sb3_spiking/snn/validation.py), and that every algorithm follows it."""

import pathlib
import re

import numpy as np
import pytest

import sb3_spiking
from sb3_spiking.snn.validation import check_int, check_real


@pytest.mark.parametrize("value", [1, 0.5, np.float32(0.99), np.float64(0.25), np.int64(1)])
def test_numpy_and_python_scalars_are_numbers(value):
    assert check_real("gamma", value, 0.0, 1.0) == float(value)


@pytest.mark.parametrize("value", [True, False, None, "0.5", float("nan"), float("inf"), -np.inf, np.float32("nan")])
def test_bools_strings_and_non_finite_values_are_refused(value):
    with pytest.raises(ValueError, match=r"gamma must be a finite number in \[0, 1\] \(discount\), got"):
        check_real("gamma", value, 0.0, 1.0, note="discount")


@pytest.mark.parametrize(
    "bounds, value, match",
    [
        (dict(low=0.0, low_open=True), 0.0, "x must be > 0, got 0.0"),
        (dict(low=0.0), -1, "x must be >= 0, got -1"),
        (dict(high=5.0, high_open=True), 5, "x must be < 5, got 5"),
        (dict(low=0.0, high=1.0, high_open=True), 1.0, r"x must be a number in \[0, 1\), got 1.0"),
        (dict(low=0.0, high=100.0, low_open=True), 0.0, r"x must be a number in \(0, 100\], got 0.0"),
    ],
)
def test_range_errors_name_the_parameter_and_the_range(bounds, value, match):
    with pytest.raises(ValueError, match=match):
        check_real("x", value, **bounds)


def test_check_int_accepts_numpy_ints_and_refuses_bools():
    assert check_int("n", np.int32(3)) == 3
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        check_int("n", True)


def test_no_private_copies_of_the_rule_remain():
    package = pathlib.Path(sb3_spiking.__file__).parent
    pattern = re.compile(r"isinstance\(\w+, \(int, float|numbers\.Real")
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "validation.py" and pattern.search(path.read_text())
    ]
    assert offenders == []
