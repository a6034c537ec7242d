"""The Python package against the engine and the command line.

Run: `maturin build --release -o dist && pip install dist/*.whl && pytest tests/`
(`.ci/run` does it in a fresh virtualenv).
"""

import datetime
import json
import os
import pathlib
import subprocess
import threading
import time
from decimal import Decimal

import pytest

import fupin

ROOT = pathlib.Path(__file__).resolve().parents[3]
HOUSEHOLDS = ROOT / "examples" / "households"
OVERLAY = ROOT / "examples" / "overlays" / "pingshan.policy"


def household(name):
    return json.loads((HOUSEHOLDS / name).read_text(encoding="utf-8"))


def cli():
    """The `fupin` binary of this checkout (CI builds it before these tests)."""
    path = pathlib.Path(os.environ.get("FUPIN_CLI", ROOT / "target" / "release" / "fupin"))
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"no fupin binary at {path}")
        pytest.skip(f"no fupin binary at {path}")
    return path


@pytest.fixture(scope="module")
def engine():
    return fupin.Engine.embedded()


def test_the_pingshan_household_gets_7200_as_a_decimal(engine):
    a = engine.assess(household("pingshan-dibao.json"), datetime.date(2018, 6, 1))
    amount = a["programs"]["dibao"]["amount"]
    assert isinstance(amount, Decimal)
    assert amount == Decimal("7200.00") and str(amount) == "7200.00"
    assert a["as_of"] == datetime.date(2018, 6, 1)
    assert [r["rule"] for r in a["programs"]["dibao"]["reasons"]] == ["SJZ-1", "SJZ-1b", "SJZ-2"]


@pytest.mark.parametrize("name", sorted(p.name for p in HOUSEHOLDS.glob("*.json")))
def test_every_example_gives_the_figures_of_the_command_line(name):
    engine = fupin.Engine(overlays=[OVERLAY])
    out = subprocess.run(
        [str(cli()), "eval", "--as-of", "2020-06-01", "--overlay", str(OVERLAY), str(HOUSEHOLDS / name)],
        check=True,
        capture_output=True,
    )
    expected = json.loads(out.stdout)
    got = engine.assess((HOUSEHOLDS / name).read_text(encoding="utf-8"), "2020-06-01")
    assert got["household"] == expected["household"]
    assert got["policies"] == expected["policies"]
    assert got["programs"].keys() == expected["programs"].keys()
    for program, outcome in expected["programs"].items():
        mine = got["programs"][program]
        assert mine["eligible"] == outcome["eligible"], program
        assert mine["amount"] == (None if outcome["amount"] is None else Decimal(outcome["amount"])), program
        assert mine["reasons"] == outcome["reasons"], program
        assert mine.get("error") == outcome.get("error"), program
    assert len(got["claims"]) == len(expected["claims"])
    for mine, theirs in zip(got["claims"], expected["claims"]):
        assert mine["total_cost"] == Decimal(theirs["total_cost"])
        assert {k: v for k, v in mine["layers"].items()} == {
            k: (None if v is None else Decimal(v)) for k, v in theirs["layers"].items()
        }
        # layers and out-of-pocket add up to the cost, exactly
        if mine["out_of_pocket"] is not None:
            assert sum(mine["layers"].values()) + mine["out_of_pocket"] == mine["total_cost"]


def test_a_dict_string_or_bytes_household_reads_the_same(engine):
    h = household("pingshan-dibao.json")
    text = (HOUSEHOLDS / "pingshan-dibao.json").read_text(encoding="utf-8")
    a = engine.assess(h, "2018-06-01")
    assert engine.assess(text, "2018-06-01") == a
    assert engine.assess(text.encode(), "2018-06-01") == a


def test_money_given_as_decimal_int_or_float_is_read_exactly(engine):
    h = household("pingshan-dibao.json")
    for income in [Decimal("6000.10"), "6000.10", 6000.1]:
        h["income"] = income
        a = engine.assess(h, "2018-06-01")
        # 4400 × 3 − 6000.10, to the fen
        assert a["programs"]["dibao"]["amount"] == Decimal("7199.90"), income
    h["income"] = 6000
    assert engine.assess(h, "2018-06-01")["programs"]["dibao"]["amount"] == Decimal("7200.00")
    # numpy's scalars (a DataFrame's cells) are read as the values they hold
    numpy = pytest.importorskip("numpy")
    h["income"] = numpy.int64(6000)
    h["deep_poverty_area"] = numpy.bool_(False)
    assert engine.assess(h, "2018-06-01")["programs"]["dibao"]["amount"] == Decimal("7200.00")
    del h["deep_poverty_area"]
    # finer than the fen: read with every place; the policy's own round(…, fen, half_up) decides
    h["income"] = Decimal("6000.004")
    assert engine.assess(h, "2018-06-01")["programs"]["dibao"]["amount"] == Decimal("7200.00")
    h["income"] = Decimal("6000.006")
    assert engine.assess(h, "2018-06-01")["programs"]["dibao"]["amount"] == Decimal("7199.99")
    h["income"] = float("nan")
    with pytest.raises(TypeError, match="income: a float that is not finite"):
        engine.assess(h, "2018-06-01")


def test_a_bad_household_raises_with_its_json_path(engine):
    h = household("pingshan-dibao.json")
    h["members"][1]["birth_date"] = "1961-02-30"
    with pytest.raises(fupin.HouseholdError) as e:
        engine.assess(h, "2018-06-01")
    assert e.value.path == "members[1].birth_date"
    assert e.value.line == 1 and e.value.column > 0
    assert "no such day" in e.value.message
    assert isinstance(e.value, fupin.Error)
    h = household("pingshan-dibao.json")
    h["members"][0]["labour"] = object()
    with pytest.raises(TypeError, match=r"members\[0\]\.labour: a value of type object"):
        engine.assess(h, "2018-06-01")
    with pytest.raises(fupin.HouseholdError) as e:
        engine.assess("{", "2018-06-01")
    assert e.value.path == "$"


def test_as_of_is_a_date_or_iso_text(engine):
    h = household("pingshan-dibao.json")
    with pytest.raises(ValueError, match="as_of"):
        engine.assess(h, "2018-6-1")
    with pytest.raises(ValueError, match="not a datetime"):
        engine.assess(h, datetime.datetime(2018, 6, 1))
    with pytest.raises(TypeError, match="as_of"):
        engine.assess(h, 20180601)


def test_assess_many_matches_assess_and_keeps_going(engine):
    base = household("pingshan-dibao.json")
    households = []
    for i in range(300):
        h = json.loads(json.dumps(base))
        h["id"] = f"h{i}"
        h["income"] = str(Decimal(6000) + i)
        households.append(h)
    households[7] = {"id": "broken", "region": 130131}
    results = engine.assess_many(households, "2018-06-01", threads=2)
    assert len(results) == 300
    assert isinstance(results[7], fupin.HouseholdError) and results[7].index == 7 and results[7].path == "region"
    for i in [0, 1, 150, 299]:
        assert results[i] == engine.assess(households[i], "2018-06-01")
        assert results[i]["programs"]["dibao"]["amount"] == Decimal("7200.00") - i
    with pytest.raises(fupin.HouseholdError) as e:
        engine.assess_many(households, "2018-06-01", errors="raise")
    assert e.value.index == 7
    with pytest.raises(ValueError, match="threads"):
        engine.assess_many(households, "2018-06-01", threads=0)
    # any iterable, lazily produced
    assert len(engine.assess_many((h for h in households[:5]), "2018-06-01")) == 5


def test_assess_many_releases_the_gil(engine):
    text = (HOUSEHOLDS / "pingshan-medical.json").read_text(encoding="utf-8")
    households = [text] * 20_000
    count = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.05)
    before = count[0]
    started = time.perf_counter()
    engine.assess_many(households, "2018-06-01")
    # the conversion of the results back to Python holds the GIL; the assessment does not
    during = count[0] - before
    elapsed = time.perf_counter() - started
    stop.set()
    t.join()
    assert during > 10_000, f"another thread ran {during} steps in {elapsed:.2f} s"


def test_policy_sets_overlays_settings_and_locks():
    engine = fupin.Engine.from_dir(ROOT / "policies", overlays=[OVERLAY], lock=ROOT / "fupin.lock")
    a = engine.assess(household("pingshan-medical.json"), "2018-06-01")
    assert a["claims"] and all(c["out_of_pocket"] is not None for c in a["claims"])
    assert {p["id"] for p in engine.policies()} >= {"cn", "cn.hebei.shijiazhuang", "deploy.pingshan"}

    set_ = fupin.Engine(settings=[("premium_subsidy", "220")])
    assert set_.assess(household("pingshan-dibao.json"), "2018-06-01")["programs"]["medical.premium_subsidy"]["amount"] is not None

    with pytest.raises(fupin.PolicyError, match=r"cannot set parameter `basic_rate` \(rate\) to `75`"):
        fupin.Engine(settings=[("basic_rate", "75")])
    with pytest.raises(fupin.PolicyError, match="no/such/dir"):
        fupin.Engine.from_dir("/no/such/dir")


def test_a_policy_error_names_file_line_and_column(tmp_path):
    bad = tmp_path / "bad.policy"
    bad.write_text('policy x {\n  title "x"\n  region 13013\n}\n', encoding="utf-8")
    with pytest.raises(fupin.PolicyError) as e:
        fupin.Engine(overlays=[bad])
    assert f"{bad}:3:" in str(e.value), str(e.value)


def test_a_changed_policy_does_not_match_its_lock(tmp_path):
    lock = (ROOT / "fupin.lock").read_text(encoding="utf-8")
    first = lock.index("sha256:") + len("sha256:")
    tampered = lock[:first] + ("0" if lock[first] != "0" else "1") + lock[first + 1 :]
    path = tmp_path / "fupin.lock"
    path.write_text(tampered, encoding="utf-8")
    with pytest.raises(fupin.PolicyError, match="does not match its pin"):
        fupin.Engine(lock=path)


def test_params_schema_and_trace(engine):
    params = engine.params("130131", datetime.date(2018, 6, 1))
    standard = next(p for p in params if p["name"] == "dibao_standard")
    assert standard["value"].startswith("4400")
    with pytest.raises(ValueError, match="region"):
        engine.params("1301", "2018-06-01")
    schema = engine.schema()
    assert schema["$schema"].startswith("https://json-schema.org/draft/2020-12")
    a = engine.assess(household("pingshan-dibao.json"), "2018-06-01", trace=True)
    assert a["trace"] and "SJZ-2" in a["explanation"]


def test_the_pandas_example_tabulates_exact_totals(engine):
    import importlib.util

    spec = importlib.util.spec_from_file_location("example", pathlib.Path(__file__).parents[1] / "examples" / "registry_by_programme.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    households = example.registry(200)
    table, errors = example.by_programme(engine, households, "2018-06-01")
    assert errors == []
    expected = sum(
        (engine.assess(h, "2018-06-01")["programs"]["dibao"]["amount"] or Decimal(0) for h in households.to_dict("records")),
        Decimal(0),
    )
    assert table.loc["dibao", "total"] == expected
    assert isinstance(table.loc["dibao", "total"], Decimal)
    assert table.loc["dibao", "eligible"] == 200


def test_the_readme_snippets_run(monkeypatch):
    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```python\n")[1:]]
    assert blocks
    monkeypatch.chdir(ROOT)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
