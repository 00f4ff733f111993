"""Doctest collection: the chem module's examples need the optional extra ``chem``."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("skfp") else ["sklearn_mtl/chem.py"]
