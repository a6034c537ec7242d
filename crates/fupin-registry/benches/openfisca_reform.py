"""A reform simulation in OpenFisca, for comparison with `fupin simulate`.

OpenFisca's country template (`pip install openfisca-country-template`):
N people, each in a household of one, with a salary; the basic income
raised from 600 to 700 a month; `disposable_income` computed under the
baseline and under the reform. Prints the seconds and households/s of the
two simulations together.

    python openfisca_reform.py 1000000

The workload is not fupin's: a handful of vectorised float32 formulas of
the template against fupin's whole shipped library (every programme's
rules, per household, in exact decimals). docs/performance.md says what
the two figures do and do not compare.
"""

import sys
import time

import numpy
from openfisca_core import periods, reforms
from openfisca_core.simulation_builder import SimulationBuilder
from openfisca_country_template import CountryTaxBenefitSystem

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
PERIOD = "2017-01"


class BasicIncomeUp(reforms.Reform):
    def apply(self):
        def modify(parameters):
            parameters.benefits.basic_income.update(period=periods.period("year:2015:10"), value=700)
            return parameters

        self.modify_parameters(modifier_function=modify)


def run(system, salaries):
    sim = SimulationBuilder().build_default_simulation(system, count=len(salaries))
    sim.set_input("salary", PERIOD, salaries)
    sim.set_input("age", PERIOD, numpy.full(len(salaries), 40))
    return sim.calculate("disposable_income", PERIOD)


def main():
    rng = numpy.random.default_rng(2018)
    salaries = rng.integers(0, 6000, N).astype(numpy.float32)
    baseline = CountryTaxBenefitSystem()
    reform = BasicIncomeUp(baseline)
    start = time.perf_counter()
    before = run(baseline, salaries)
    after = run(reform, salaries)
    seconds = time.perf_counter() - start
    change = float((after - before).sum())
    print(f"openfisca country template: {N} households, two simulations in {seconds:.2f} s, {N / seconds:.0f} households/s; total change {change:.2f} (float32)")


if __name__ == "__main__":
    main()
