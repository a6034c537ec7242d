//! The Python module `fupin._fupin` (re-exported as `fupin`): an engine
//! built once, households assessed from a `dict`, `str` or `bytes`, results
//! as `dict`s whose amounts are `decimal.Decimal` and dates `datetime.date`.

use fupin::assessment::{Assessment, Layers};
use fupin::{PolicySet, PolicySetError};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

pyo3::create_exception!(_fupin, Error, pyo3::exceptions::PyException, "Every error fupin raises.");
pyo3::create_exception!(
    _fupin,
    PolicyError,
    Error,
    "The policy set could not be read, verified or built; the message holds every diagnostic."
);
pyo3::create_exception!(
    _fupin,
    HouseholdError,
    Error,
    "A household record is not valid: `path` is the JSON path of the bad value, `line` and `column` where it is (0 when unknown)."
);
pyo3::create_exception!(_fupin, EvaluationError, Error, "The assessment could not be completed (the message says why and where).");

/// A compiled policy set, ready to assess households; safe to share between threads.
#[pyclass(frozen, module = "fupin")]
struct Engine {
    engine: Arc<fupin::Engine>,
}

fn policy_error(e: PolicySetError) -> PyErr {
    PolicyError::new_err(e.render())
}

fn build(set: PolicySet) -> PyResult<Engine> {
    set.build().map(|e| Engine { engine: Arc::new(e) }).map_err(policy_error)
}

/// Why one household was not assessed (raised, or returned in its place by `assess_many`).
enum Failure {
    Household(fupin::model::HouseholdError),
    Evaluation(String),
    Input(String),
}

impl Failure {
    fn into_py(self, py: Python<'_>, index: Option<usize>) -> PyErr {
        let err = match self {
            Failure::Household(e) => {
                let err = HouseholdError::new_err(e.to_string());
                let v = err.value(py);
                let _ = v.setattr("path", e.path);
                let _ = v.setattr("line", e.line);
                let _ = v.setattr("column", e.column);
                let _ = v.setattr("message", e.message);
                err
            }
            Failure::Evaluation(m) => EvaluationError::new_err(m),
            Failure::Input(m) => PyTypeError::new_err(m),
        };
        if let Some(i) = index {
            let _ = err.value(py).setattr("index", i);
        }
        err
    }
}

/// `as_of`: a `datetime.date` or `YYYY-MM-DD`.
fn as_of(value: &Bound<'_, PyAny>) -> PyResult<chrono::NaiveDate> {
    let py = value.py();
    let datetime = py.import("datetime")?;
    let text: String = if value.is_instance(&datetime.getattr("datetime")?)? {
        return Err(PyValueError::new_err("as_of: give a date (datetime.date or YYYY-MM-DD), not a datetime"));
    } else if value.is_instance(&datetime.getattr("date")?)? {
        value.call_method0("isoformat")?.extract()?
    } else if let Ok(s) = value.extract::<String>() {
        s
    } else {
        return Err(PyTypeError::new_err("as_of: give a datetime.date or a YYYY-MM-DD string"));
    };
    fupin::model::parse_date(&text).map_err(|e| PyValueError::new_err(format!("as_of: {e}")))
}

/// A household as JSON text: `str` and `bytes` as they are; a mapping
/// written out with each number as its own digits (`Decimal` as written in
/// fixed point, `int` exactly, `float` as its shortest repr), dates as ISO text.
fn household_json(value: &Bound<'_, PyAny>) -> Result<Vec<u8>, Failure> {
    if let Ok(s) = value.cast::<PyString>() {
        return s.to_cow().map(|s| s.as_bytes().to_vec()).map_err(|e| Failure::Input(e.to_string()));
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    let mut out = Vec::with_capacity(1024);
    write_json(value, &mut String::new(), &mut out)?;
    Ok(out)
}

fn write_json(v: &Bound<'_, PyAny>, path: &mut String, out: &mut Vec<u8>) -> Result<(), Failure> {
    let py = v.py();
    let at = |path: &str| if path.is_empty() { "$".to_string() } else { path.to_string() };
    let fail = |path: &str, what: &str| Failure::Input(format!("household {}: {what}", at(path)));
    let py_err = |path: &str, e: PyErr| Failure::Input(format!("household {}: {e}", at(path)));
    if v.is_none() {
        out.extend_from_slice(b"null");
    } else if let Ok(b) = v.cast::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
    } else if v.cast::<PyInt>().is_ok() {
        let s = v.str().map_err(|e| py_err(path, e))?;
        out.extend_from_slice(s.to_cow().map_err(|e| py_err(path, e))?.as_bytes());
    } else if let Ok(f) = v.cast::<PyFloat>() {
        if !f.value().is_finite() {
            return Err(fail(path, "a float that is not finite"));
        }
        let s = v.repr().map_err(|e| py_err(path, e))?;
        out.extend_from_slice(s.to_cow().map_err(|e| py_err(path, e))?.as_bytes());
    } else if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_cow().map_err(|e| py_err(path, e))?;
        out.extend_from_slice(serde_json::to_string(&*s).map_err(|e| fail(path, &e.to_string()))?.as_bytes());
    } else if let Ok(d) = v.cast::<PyDict>() {
        out.push(b'{');
        for (i, (k, item)) in d.iter().enumerate() {
            let Ok(k) = k.cast::<PyString>() else {
                return Err(fail(path, "a key that is not a string"));
            };
            let k = k.to_cow().map_err(|e| py_err(path, e))?;
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(serde_json::to_string(&*k).map_err(|e| fail(path, &e.to_string()))?.as_bytes());
            out.push(b':');
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&k);
            write_json(&item, path, out)?;
            path.truncate(len);
        }
        out.push(b'}');
    } else if v.cast::<PyList>().is_ok() || v.cast::<PyTuple>().is_ok() {
        out.push(b'[');
        for (i, item) in v.try_iter().map_err(|e| py_err(path, e))?.enumerate() {
            let item = item.map_err(|e| py_err(path, e))?;
            if i > 0 {
                out.push(b',');
            }
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            write_json(&item, path, out)?;
            path.truncate(len);
        }
        out.push(b']');
    } else {
        let decimal = py.import("decimal").and_then(|m| m.getattr("Decimal")).map_err(|e| py_err(path, e))?;
        let date = py.import("datetime").and_then(|m| m.getattr("date")).map_err(|e| py_err(path, e))?;
        if v.is_instance(&decimal).unwrap_or(false) {
            if !v.call_method0("is_finite").and_then(|f| f.extract::<bool>()).unwrap_or(false) {
                return Err(fail(path, "a Decimal that is not finite"));
            }
            // fixed point, every digit as written: Decimal('6000.10') → 6000.10
            let s: String = v.call_method1("__format__", ("f",)).and_then(|s| s.extract()).map_err(|e| py_err(path, e))?;
            out.extend_from_slice(s.as_bytes());
        } else if v.is_instance(&date).unwrap_or(false) {
            let s: String = v.call_method0("isoformat").and_then(|s| s.extract()).map_err(|e| py_err(path, e))?;
            out.extend_from_slice(serde_json::to_string(&s).map_err(|e| fail(path, &e.to_string()))?.as_bytes());
        } else if is_numpy_scalar(v) {
            // numpy's int64, bool_, float64… (a pandas column's values): the Python value they hold
            let item = v.call_method0("item").map_err(|e| py_err(path, e))?;
            write_json(&item, path, out)?;
        } else {
            let t = v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
            return Err(fail(path, &format!("a value of type {t}, which a household record cannot hold")));
        }
    }
    Ok(())
}

fn is_numpy_scalar(v: &Bound<'_, PyAny>) -> bool {
    let numpy = v.get_type().module().ok().is_some_and(|m| m.to_cow().is_ok_and(|m| m == "numpy"));
    numpy && v.hasattr("item").unwrap_or(false)
}

/// Python's classes for exact figures and dates.
struct Types<'py> {
    decimal: Bound<'py, PyAny>,
    date: Bound<'py, PyAny>,
    json: Bound<'py, PyAny>,
}

impl<'py> Types<'py> {
    fn new(py: Python<'py>) -> PyResult<Types<'py>> {
        Ok(Types {
            decimal: py.import("decimal")?.getattr("Decimal")?,
            date: py.import("datetime")?.getattr("date")?.getattr("fromisoformat")?,
            json: py.import("json")?.getattr("loads")?,
        })
    }

    /// An amount as `decimal.Decimal`, from its exact text (`7200.00`).
    fn decimal(&self, d: Option<fupin::model::Money>) -> PyResult<Bound<'py, PyAny>> {
        match d {
            Some(d) => self.decimal.call1((d.to_string(),)),
            None => Ok(self.decimal.py().None().into_bound(self.decimal.py())),
        }
    }

    /// Any serialisable part (reasons, warnings, the trace) through JSON: its figures stay text, as written.
    fn generic<T: serde::Serialize>(&self, v: &T) -> PyResult<Bound<'py, PyAny>> {
        let text = serde_json::to_string(v).map_err(|e| Error::new_err(e.to_string()))?;
        self.json.call1((text,))
    }

    fn layers(&self, l: &Layers) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(self.decimal.py());
        for (name, v) in l.iter() {
            d.set_item(name, self.decimal(v)?)?;
        }
        Ok(d)
    }
}

fn assessment_to_py<'py>(t: &Types<'py>, a: &Assessment) -> PyResult<Bound<'py, PyDict>> {
    let py = t.decimal.py();
    let d = PyDict::new(py);
    d.set_item("household", &a.household)?;
    d.set_item("as_of", t.date.call1((a.as_of.to_string(),))?)?;
    d.set_item("policies", t.generic(&a.policies)?)?;
    let programs = PyDict::new(py);
    for (name, p) in &a.programs {
        let o = PyDict::new(py);
        o.set_item("eligible", p.eligible)?;
        o.set_item("amount", t.decimal(p.amount)?)?;
        o.set_item("unit", p.unit.as_deref())?;
        if p.flag {
            o.set_item("flag", true)?;
        }
        if let Some(v) = &p.value {
            o.set_item("value", v.as_str())?;
        }
        o.set_item("reasons", t.generic(&p.reasons)?)?;
        if let Some(e) = &p.error {
            o.set_item("error", e)?;
        }
        programs.set_item(name.as_str(), o)?;
    }
    d.set_item("programs", programs)?;
    let claims = PyList::empty(py);
    for c in &a.claims {
        let o = PyDict::new(py);
        o.set_item("member", &c.member)?;
        o.set_item("claim", &c.claim)?;
        o.set_item("date", t.date.call1((c.date.to_string(),))?)?;
        o.set_item("total_cost", t.decimal(Some(c.total_cost))?)?;
        o.set_item("layers", t.layers(&c.layers)?)?;
        o.set_item("out_of_pocket", t.decimal(c.out_of_pocket)?)?;
        if !c.out_of_pocket_parts.is_empty() {
            o.set_item("out_of_pocket_parts", t.layers(&c.out_of_pocket_parts)?)?;
        }
        o.set_item("reasons", t.generic(&c.reasons)?)?;
        if let Some(e) = &c.error {
            o.set_item("error", e)?;
        }
        claims.append(o)?;
    }
    d.set_item("claims", claims)?;
    if !a.warnings.is_empty() {
        d.set_item("warnings", t.generic(&a.warnings)?)?;
    }
    if let Some(trace) = &a.trace {
        d.set_item("trace", t.generic(trace)?)?;
        d.set_item("explanation", a.explain())?;
    }
    Ok(d)
}

fn assess_one(engine: &fupin::Engine, json: &[u8], as_of: chrono::NaiveDate, s: &mut fupin::Scratch) -> Result<Assessment, Failure> {
    let h = engine.parse_household_bytes(json, Some(as_of)).map_err(Failure::Household)?;
    engine.assess_with(&h, as_of, s).map_err(|e| Failure::Evaluation(e.render(&engine.program().sources)))
}

#[pymethods]
impl Engine {
    /// A policy set: the embedded library, or the policies under `policies`;
    /// `overlays` (files of deployment parameters) on top; `settings`
    /// (`{"basic_rate": "75%"}`) above every policy; `lock` a lockfile
    /// every policy must match by version and content hash.
    #[new]
    #[pyo3(signature = (*, policies=None, overlays=None, settings=None, lock=None))]
    fn new(
        policies: Option<PathBuf>,
        overlays: Option<Vec<PathBuf>>,
        settings: Option<Vec<(String, String)>>,
        lock: Option<PathBuf>,
    ) -> PyResult<Engine> {
        let mut set = PolicySet::default();
        set.policies = policies;
        set.overlays = overlays.unwrap_or_default();
        set.settings = settings.unwrap_or_default();
        set.lock = lock;
        build(set)
    }

    /// The policies shipped with fupin.
    #[staticmethod]
    fn embedded() -> PyResult<Engine> {
        build(PolicySet::embedded())
    }

    /// The policies under `path` instead of the embedded ones.
    #[staticmethod]
    #[pyo3(signature = (path, overlays=None, lock=None, settings=None))]
    fn from_dir(
        path: PathBuf,
        overlays: Option<Vec<PathBuf>>,
        lock: Option<PathBuf>,
        settings: Option<Vec<(String, String)>>,
    ) -> PyResult<Engine> {
        Engine::new(Some(path), overlays, settings, lock)
    }

    /// Assess one household (a `dict`, or its JSON as `str` or `bytes`) on
    /// `as_of` (a `datetime.date` or `YYYY-MM-DD`). With `trace`, the
    /// result carries the trace and the explanation as text.
    #[pyo3(signature = (household, as_of, trace=false))]
    fn assess<'py>(&self, household: &Bound<'py, PyAny>, as_of: &Bound<'py, PyAny>, trace: bool) -> PyResult<Bound<'py, PyDict>> {
        let py = household.py();
        let date = self::as_of(as_of)?;
        let json = household_json(household).map_err(|f| f.into_py(py, None))?;
        let engine = self.engine.clone();
        let result = py.detach(move || {
            let mut s = engine.scratch();
            s.set_trace(trace);
            assess_one(&engine, &json, date, &mut s)
        });
        match result {
            Ok(a) => assessment_to_py(&Types::new(py)?, &a),
            Err(f) => Err(f.into_py(py, None)),
        }
    }

    /// Assess every household of `households` (an iterable of what
    /// `assess` takes) on all cores, without the GIL; `threads` caps the
    /// worker threads. Returns one item per household, in order: its
    /// assessment, or — with `errors="return"`, the default — the
    /// exception (`HouseholdError`, `EvaluationError`, `TypeError`) with
    /// `index` set, in its place; with `errors="raise"` the first one is raised.
    #[pyo3(signature = (households, as_of, threads=None, errors="return"))]
    fn assess_many<'py>(
        &self,
        households: &Bound<'py, PyAny>,
        as_of: &Bound<'py, PyAny>,
        threads: Option<usize>,
        errors: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = households.py();
        let raise = match errors {
            "raise" => true,
            "return" => false,
            other => return Err(PyValueError::new_err(format!("errors: `{other}`; give \"return\" or \"raise\""))),
        };
        if threads == Some(0) || threads.is_some_and(|t| t > fupin::batch::MAX_THREADS) {
            return Err(PyValueError::new_err(format!("threads: give 1 to {} (or None: one per core)", fupin::batch::MAX_THREADS)));
        }
        let date = self::as_of(as_of)?;
        let mut inputs: Vec<Result<Vec<u8>, Failure>> = Vec::new();
        for item in households.try_iter()? {
            inputs.push(household_json(&item?));
        }
        let engine = self.engine.clone();
        let results: Result<Vec<Result<Assessment, Failure>>, String> = py.detach(move || {
            let run = || {
                inputs
                    .into_par_iter()
                    .map_init(
                        || engine.scratch(),
                        |s, input| match input {
                            Ok(json) => assess_one(&engine, &json, date, s),
                            Err(f) => Err(f),
                        },
                    )
                    .collect()
            };
            match threads {
                Some(n) => rayon::ThreadPoolBuilder::new().num_threads(n).build().map(|pool| pool.install(run)).map_err(|e| e.to_string()),
                None => Ok(run()),
            }
        });
        let results = results.map_err(|e| Error::new_err(format!("cannot start the worker threads: {e}")))?;
        let types = Types::new(py)?;
        let out = PyList::empty(py);
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(a) => out.append(assessment_to_py(&types, &a)?)?,
                Err(f) if raise => return Err(f.into_py(py, Some(i))),
                Err(f) => out.append(f.into_py(py, Some(i)).into_value(py))?,
            }
        }
        Ok(out)
    }

    /// Every policy of the set: id, version, content hash.
    fn policies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Types::new(py)?.generic(&self.engine.policies())
    }

    /// Every parameter in force for a GB/T 2260 region code on a date, with its value and citation.
    fn params<'py>(&self, region: &str, as_of: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let date = self::as_of(as_of)?;
        if region.len() != 6 || !region.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PyValueError::new_err(format!("region: `{region}` is not a GB/T 2260 region code (six digits)")));
        }
        Types::new(as_of.py())?.generic(&self.engine.params_in_force(region, date))
    }

    /// The household's JSON Schema for the loaded policies (optionally those in force for a region and date).
    #[pyo3(signature = (region=None, as_of=None))]
    fn schema<'py>(&self, py: Python<'py>, region: Option<&str>, as_of: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let date = as_of.map(self::as_of).transpose()?;
        Types::new(py)?.generic(&self.engine.household_schema(region, date))
    }

    fn __repr__(&self) -> String {
        let p = self.engine.policies();
        format!("<fupin.Engine: {} policies>", p.len())
    }
}

#[pymodule]
fn _fupin(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<Engine>()?;
    m.add("Error", py.get_type::<Error>())?;
    m.add("PolicyError", py.get_type::<PolicyError>())?;
    m.add("HouseholdError", py.get_type::<HouseholdError>())?;
    m.add("EvaluationError", py.get_type::<EvaluationError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
