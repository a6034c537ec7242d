"""fupin (扶贫): assess households against China's targeted poverty-alleviation policies.

    >>> import fupin
    >>> engine = fupin.Engine.embedded()
    >>> a = engine.assess(open("pingshan-dibao.json").read(), "2018-06-01")  # doctest: +SKIP
    >>> a["programs"]["dibao"]["amount"]  # doctest: +SKIP
    Decimal('7200.00')

Every amount is a ``decimal.Decimal`` (never a float) and every date a
``datetime.date``. Errors are typed: ``HouseholdError`` carries the JSON path,
line and column of the bad value; ``PolicyError`` the rendered diagnostics
(file:line:column and the source line); ``EvaluationError`` what the
assessment could not settle. All derive from ``fupin.Error``.
"""

from ._fupin import (
    Engine,
    Error,
    EvaluationError,
    HouseholdError,
    PolicyError,
    __version__,
)

__all__ = ["Engine", "Error", "EvaluationError", "HouseholdError", "PolicyError", "__version__"]
