"""Sphinx configuration of the sb3-spiking documentation.

Build: ``pip install -e ".[docs]"`` then ``sphinx-build -W -b html docs docs/_build/html``.
"""

import os
import sys

# The package from this checkout, whatever is installed.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
# Importing sb3_spiking registers nothing with rl_zoo3 (the zoo hook only patches rl_zoo3 when it
# is imported); keep it off anyway so autodoc never depends on the zoo being installed.
os.environ.setdefault("SB3_SPIKING_NO_ZOO_HOOK", "1")

import sb3_spiking

project = "sb3-spiking"
author = "sb3-spiking contributors"
copyright = "sb3-spiking contributors"
version = release = sb3_spiking.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# docs/ also holds data files of the results pages (JSON, PNG): Sphinx only reads .rst/.md, and
# these patterns keep build output and editor files out.
exclude_patterns = ["_build", "**/.ipynb_checkpoints", ".DS_Store"]

# Markdown pages: ``#`` anchors for headings down to level 3, so pages can link to sections.
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"show-inheritance": True}
# SB3's own docstrings (inherited members are not listed, but base classes are named) use
# reST roles that refer to SB3's documentation, which is not part of this build.
napoleon_google_docstring = False
napoleon_numpy_docstring = True

try:
    import sphinx_rtd_theme  # noqa: F401

    html_theme = "sphinx_rtd_theme"
except ImportError:  # the docs extra brings it; the default theme otherwise
    html_theme = "alabaster"
html_static_path: list[str] = []
html_title = f"sb3-spiking {release}"
