"""The API reference (docs/api.rst) documents every public name, by its top-level name."""

import re
from pathlib import Path

import pytest

import sb3_spiking

API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"
_DIRECTIVE = re.compile(r"^\.\. (?:autoclass|autofunction|autodata|data|class|function)::\s+(\S+)", re.M)


def documented() -> list[str]:
    return _DIRECTIVE.findall(API.read_text(encoding="utf-8"))


def test_api_reference_is_under_the_top_level_module():
    assert ".. currentmodule:: sb3_spiking\n" in API.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sb3_spiking.__all__)
def test_public_name_in_api_reference(name):
    assert name in documented(), f"sb3_spiking.{name} is public (__all__) but not in docs/api.rst"


def test_api_reference_names_only_public_names():
    assert sorted(set(documented()) - set(sb3_spiking.__all__)) == []


@pytest.mark.parametrize("name", [n for n in sb3_spiking.__all__ if n != "__version__"])
def test_public_name_has_its_own_docstring(name):
    obj = getattr(sb3_spiking, name)
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else obj.__doc__
    assert (doc or "").strip(), (
        f"sb3_spiking.{name} has no docstring of its own: the API reference would show its base class's"
    )
