"""Assess a registry held in a pandas DataFrame and tabulate amounts by programme.

    python examples/registry_by_programme.py

Each row is a household (the columns are the household record's fields;
`members` holds each household's list of member records). Amounts come back
as decimal.Decimal and are summed exactly: the column is of dtype object,
never float.
"""

import json
import pathlib
from decimal import Decimal

import pandas as pd

import fupin

ROOT = pathlib.Path(__file__).resolve().parents[3]


def registry(n=1000):
    """A synthetic registry: the 平山县 household with incomes from 3,000 to 12,990 yuan."""
    base = json.loads((ROOT / "examples/households/pingshan-dibao.json").read_text(encoding="utf-8"))
    rows = []
    for i in range(n):
        h = json.loads(json.dumps(base))
        h["id"] = f"130131-{i:06d}"
        h["income"] = Decimal(3000) + Decimal(i % 1000) * 10
        rows.append(h)
    return pd.DataFrame(rows)


def by_programme(engine, households, as_of):
    """One row per programme: households eligible, households with an amount, the total (exact)."""
    results = engine.assess_many(households.to_dict("records"), as_of)
    errors = [r for r in results if isinstance(r, Exception)]
    long = pd.DataFrame(
        [
            {"household": a["household"], "programme": p, "eligible": o["eligible"], "amount": o["amount"]}
            for a in results
            if not isinstance(a, Exception)
            for p, o in a["programs"].items()
        ]
    )
    table = long.groupby("programme").agg(
        eligible=("eligible", "sum"),
        with_amount=("amount", lambda s: int(s.notna().sum())),
        total=("amount", lambda s: sum(s.dropna(), Decimal(0))),
    )
    return table[table["eligible"] > 0], errors


if __name__ == "__main__":
    engine = fupin.Engine.embedded()
    table, errors = by_programme(engine, registry(), "2018-06-01")
    print(table.to_string())
    print(f"{len(errors)} household(s) not assessed")
