"""Sphinx configuration of the sklearn_mtl documentation (built by ``make test``, so keep it fast)."""

import os

# Small networks gain nothing from intra-op threads, and two torch threads on two busy cores can be
# many times slower: the gallery runs with one, whatever the caller's environment says.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sklearn_mtl  # noqa: E402

project = "sklearn_mtl"
author = "sklearn_mtl developers"
copyright = "sklearn_mtl developers"
release = sklearn_mtl.__version__
version = release

extensions = [
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]
root_doc = "index"
default_role = "literal"

autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_validation_checks = set()

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_mtl {release}"
html_theme_options = {"navigation_with_keys": False, "show_prev_next": False}
html_static_path = []


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    # demo_tox21.py is make demo's script (a minute of fits, a printed table), not a gallery page
    "ignore_pattern": r"__init__\.py|demo_tox21\.py",
    "doc_module": ("sklearn_mtl",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_mtl": None},
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
}
