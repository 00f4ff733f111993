"""The public estimators' docstrings document exactly their parameters and fitted attributes."""

import inspect

import numpy as np
import pytest
from numpydoc.docscrape import ClassDoc

from sklearn_mtl import MaskedMultiTaskClassifier, MaskedMultiTaskEstimator, MaskedMultiTaskRegressor

ESTIMATORS = [MaskedMultiTaskClassifier, MaskedMultiTaskRegressor, MaskedMultiTaskEstimator]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_every_parameter_is_documented_in_signature_order(estimator):
    signature = [name for name in inspect.signature(estimator).parameters]
    documented = [parameter.name for parameter in ClassDoc(estimator)["Parameters"]]
    assert documented == signature


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_documented_defaults_match_the_signature(estimator):
    defaults = {name: parameter.default for name, parameter in inspect.signature(estimator).parameters.items()}
    for parameter in ClassDoc(estimator)["Parameters"]:
        _, _, documented = parameter.type.partition("default=")
        value = eval(documented, {"np": np})  # the docs write defaults as Python expressions
        default = defaults[parameter.name]
        nan = isinstance(default, float) and np.isnan(default)
        same = (isinstance(value, float) and np.isnan(value)) if nan else value == default
        assert same, f"{parameter.name}: documented default={documented}, signature {default!r}"
