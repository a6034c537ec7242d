//! Declared facts at evaluation: each record's `facts` are checked against
//! the declarations and bound to dense slots once per evaluation, so a rule
//! reads a fact by index (no name lookup while rules run).
//!
//! Binding is linear in the facts the household carries (plus one pass over
//! its records) and allocates nothing once a [`Scratch`] has grown to the
//! household's size. Texts a household carries are interned: a text equal to
//! a string of the program is that string's symbol, any other text gets an
//! id of its own, equal texts the same id.

use super::{EvalError, Scratch};
use crate::check::types::{Entity, EnumTy, Per, Ty};
use crate::check::Module;
use crate::model::{FactKind, FactOwner, FactSpec, FactValue, Facts, Household, HouseholdError, Scalar};
use crate::value::Value;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// A bound fact of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cell {
    /// Not carried by the record (an optional fact).
    Absent,
    /// A value.
    One(Value),
    /// A list: start and length in [`Bound::items`].
    List(u32, u32),
}

/// The facts of the household being evaluated, bound to slots.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bound {
    cells: Vec<Cell>,
    items: Vec<Value>,
    /// Index of each member's first claim among all claims (members + 1 entries).
    claim_base: Vec<u32>,
    /// Where each entity's cells start: household, members, claims, loans.
    bases: [usize; 4],
    /// Texts that are no string of the program, one after another.
    text: String,
    /// (start, end) of each distinct such text in `text`.
    text_spans: Vec<(u32, u32)>,
    /// Open-addressing table of `text_spans` indices + 1 (0 empty).
    text_table: Vec<u32>,
}

/// The declared facts of a program as household records carry them.
#[derive(Debug, Clone, Default)]
pub struct FactSchema {
    /// Every declared fact (same index as `Module::facts`).
    pub specs: Vec<FactSpec>,
    /// (entity, slot) of each fact.
    slots: Vec<(Entity, u16)>,
    /// The policies (indices) that declare each fact: a required fact is
    /// required of a household only where one of them is in force.
    declarers: Vec<Vec<u32>>,
    /// Declared facts per entity: household, member, claim, loan.
    counts: [usize; 4],
    /// Per entity: (name, fact id), sorted by name.
    index: [Vec<(String, u16)>; 4],
    /// Per entity: the places in `index` of its required facts (what every
    /// record is checked for), in `index`'s order.
    required: [Vec<u32>; 4],
    /// The program's strings, for interning texts a household carries.
    symbols: HashMap<String, u32>,
}

fn entity_index(e: Entity) -> usize {
    match e {
        Entity::Household => 0,
        Entity::Member => 1,
        Entity::Claim => 2,
        Entity::Loan => 3,
    }
}

fn owner(e: Entity) -> FactOwner {
    match e {
        Entity::Household => FactOwner::Household,
        Entity::Member => FactOwner::Member,
        Entity::Claim => FactOwner::Claim,
        Entity::Loan => FactOwner::Loan,
    }
}

/// The value kind of a declared type.
fn kind(m: &Module, t: Ty) -> FactKind {
    match t {
        Ty::Bool => FactKind::Bool,
        Ty::Int => FactKind::Int,
        Ty::Days => FactKind::Days,
        Ty::Money(Per::None) => FactKind::Money("yuan".into()),
        Ty::Money(Per::Year) => FactKind::Money("yuan/year".into()),
        Ty::Money(Per::Month) => FactKind::Money("yuan/month".into()),
        Ty::Rate => FactKind::Rate,
        Ty::Date => FactKind::Date,
        Ty::Text => FactKind::Text,
        Ty::Enum(EnumTy::Declared(i)) => match m.enums.get(i as usize) {
            Some(e) => FactKind::Enum { name: e.name.clone(), variants: e.variants.iter().map(|(n, _)| n.clone()).collect() },
            None => FactKind::Decimal,
        },
        _ => FactKind::Decimal,
    }
}

impl FactSchema {
    /// The schema of a checked module's declared facts.
    pub fn new(m: &Module) -> FactSchema {
        let mut s = FactSchema::default();
        for (i, f) in m.facts.iter().enumerate() {
            s.specs.push(FactSpec {
                owner: owner(f.entity),
                name: f.name.clone(),
                kind: kind(m, f.elem),
                list: f.list,
                optional: f.optional,
                title: f.title.clone(),
                cite: f.cite.clone(),
                declared_by: f.policies.iter().map(|p| m.policies[*p as usize].id.clone()).collect(),
            });
            s.slots.push((f.entity, f.slot));
            s.declarers.push(f.policies.clone());
            let e = entity_index(f.entity);
            s.counts[e] = s.counts[e].max(f.slot as usize + 1);
            s.index[e].push((f.name.clone(), i as u16));
        }
        for ix in &mut s.index {
            ix.sort();
        }
        for (e, ix) in s.index.iter().enumerate() {
            s.required[e] = (0..ix.len() as u32).filter(|&k| !s.specs[ix[k as usize].1 as usize].optional).collect();
        }
        if !m.facts.is_empty() {
            s.symbols = m.symbols.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        }
        s
    }

    /// Whether no fact is declared.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// A declared fact by path (`member.study_year`).
    pub fn find(&self, path: &str) -> Option<&FactSpec> {
        let (o, name) = path.split_once('.')?;
        let e = match o {
            "household" => 0,
            "member" => 1,
            "claim" => 2,
            "loan" => 3,
            _ => return None,
        };
        let ix = &self.index[e];
        ix.binary_search_by(|(n, _)| n.as_str().cmp(name)).ok().and_then(|i| self.specs.get(ix[i].1 as usize))
    }

    fn lookup(&self, e: usize, name: &str) -> Option<u16> {
        let ix = &self.index[e];
        ix.binary_search_by(|(n, _)| n.as_str().cmp(name)).ok().map(|i| ix[i].1)
    }

    /// Every error in the declared facts of a household, in document order,
    /// with its JSON path (see [`bind`] for what is checked).
    /// `active[p]` says whether policy `p` is in force for the household
    /// (a required fact is required only then).
    pub fn errors(&self, h: &Household, active: &[bool]) -> Vec<HouseholdError> {
        let mut out = Vec::new();
        // a record without facts can only lack a required one in force
        let required_in_force = || {
            self.specs
                .iter()
                .zip(&self.declarers)
                .any(|(spec, by)| !spec.optional && by.iter().any(|p| active.get(*p as usize).copied().unwrap_or(false)))
        };
        if !carries_facts(h) && (self.is_empty() || !required_in_force()) {
            return out;
        }
        let mut b = Bound::default();
        let n_symbols = self.symbols.len();
        let _ = walk(self, h, active, &mut b, n_symbols, &mut |e| {
            out.push(e);
            true
        });
        out
    }
}

/// Path of a record (`members[2].claims[0]`, or empty for the household).
#[derive(Clone, Copy)]
enum Rec {
    Household,
    Member(usize),
    Claim(usize, usize),
    Loan(usize),
}

fn path(r: Rec, rest: &str) -> String {
    let head = match r {
        Rec::Household => String::new(),
        Rec::Member(i) => format!("members[{i}]."),
        Rec::Claim(i, j) => format!("members[{i}].claims[{j}]."),
        Rec::Loan(i) => format!("loans[{i}]."),
    };
    format!("{head}facts{rest}")
}

fn error(r: Rec, rest: &str, message: String) -> HouseholdError {
    HouseholdError { path: path(r, rest), message, line: 0, column: 0 }
}

/// Check every record's facts and bind them into `b`; each error goes to
/// `sink`, which says whether to go on. Returns the number of facts bound.
fn walk(
    fs: &FactSchema,
    h: &Household,
    active: &[bool],
    b: &mut Bound,
    n_symbols: usize,
    sink: &mut dyn FnMut(HouseholdError) -> bool,
) -> Result<usize, ()> {
    let nm = h.members.len();
    let mut n_claims = 0usize;
    b.claim_base.clear();
    for m in &h.members {
        b.claim_base.push(n_claims as u32);
        n_claims += m.claims.len();
    }
    b.claim_base.push(n_claims as u32);
    let c = fs.counts;
    b.bases = [0, c[0], c[0] + nm * c[1], c[0] + nm * c[1] + n_claims * c[2]];
    let total = b.bases[3] + h.loans.len() * c[3];
    b.cells.clear();
    b.cells.resize(total, Cell::Absent);
    b.items.clear();
    b.text.clear();
    b.text_spans.clear();
    b.text_table.clear();
    let mut bound = 0usize;
    bound += record(fs, active, b, n_symbols, Entity::Household, &h.facts, b.bases[0], Rec::Household, sink)?;
    for (i, m) in h.members.iter().enumerate() {
        let base = b.bases[1] + i * c[1];
        bound += record(fs, active, b, n_symbols, Entity::Member, &m.facts, base, Rec::Member(i), sink)?;
        for (j, cl) in m.claims.iter().enumerate() {
            let base = b.bases[2] + (b.claim_base[i] as usize + j) * c[2];
            bound += record(fs, active, b, n_symbols, Entity::Claim, &cl.facts, base, Rec::Claim(i, j), sink)?;
        }
    }
    for (i, l) in h.loans.iter().enumerate() {
        let base = b.bases[3] + i * c[3];
        bound += record(fs, active, b, n_symbols, Entity::Loan, &l.facts, base, Rec::Loan(i), sink)?;
    }
    Ok(bound)
}

#[allow(clippy::too_many_arguments)]
fn record(
    fs: &FactSchema,
    active: &[bool],
    b: &mut Bound,
    n_symbols: usize,
    e: Entity,
    facts: &Facts,
    base: usize,
    r: Rec,
    sink: &mut dyn FnMut(HouseholdError) -> bool,
) -> Result<usize, ()> {
    let ei = entity_index(e);
    let mut bound = 0;
    for (name, v) in facts.iter() {
        let Some(id) = fs.lookup(ei, name) else {
            let word = owner(e).as_str();
            let declared: Vec<&str> = fs.index[ei].iter().map(|(n, _)| n.as_str()).collect();
            let known = if declared.is_empty() {
                format!("no loaded policy declares a {word} fact")
            } else {
                format!("the loaded policies declare these {word} facts: {}", declared.join(", "))
            };
            if !sink(error(r, &format!(".{name}"), format!("unknown fact `{name}`: {known}"))) {
                return Err(());
            }
            continue;
        };
        let spec = &fs.specs[id as usize];
        if let Err(message) = spec.check(v) {
            if !sink(error(
                r,
                &format!(".{name}"),
                format!("{message} (fact `{}`, declared by {})", spec.path(), spec.declared_by.join(", ")),
            )) {
                return Err(());
            }
            continue;
        }
        let slot = base + fs.slots[id as usize].1 as usize;
        let cell = match v {
            FactValue::List(items) => {
                let start = b.items.len() as u32;
                for item in items {
                    if let Ok(s) = spec.kind.read(item) {
                        let val = value(b, fs, n_symbols, s);
                        b.items.push(val);
                    }
                }
                Cell::List(start, items.len() as u32)
            }
            one => match spec.kind.read(one) {
                Ok(s) => Cell::One(value(b, fs, n_symbols, s)),
                Err(_) => Cell::Absent,
            },
        };
        if let Some(c) = b.cells.get_mut(slot) {
            *c = cell;
        }
        bound += 1;
    }
    // required facts the record lacks
    if fs.counts[ei] > 0 {
        for (name, id) in fs.required[ei].iter().filter_map(|&k| fs.index[ei].get(k as usize)) {
            let spec = &fs.specs[*id as usize];
            let slot = base + fs.slots[*id as usize].1 as usize;
            let in_force = || fs.declarers[*id as usize].iter().any(|p| active.get(*p as usize).copied().unwrap_or(false));
            if b.cells.get(slot) == Some(&Cell::Absent) && in_force() && facts.get(name).is_none() {
                let message = format!(
                    "required fact `{name}` ({}) is missing (declared by {}; a record leaves out only an optional fact)",
                    spec.type_name(),
                    spec.declared_by.join(", ")
                );
                if !sink(error(r, "", message)) {
                    return Err(());
                }
            }
        }
    }
    Ok(bound)
}

fn value(b: &mut Bound, fs: &FactSchema, n_symbols: usize, s: Scalar<'_>) -> Value {
    match s {
        Scalar::Bool(v) => Value::Bool(v),
        Scalar::Num(d) => Value::Num(d),
        Scalar::Date(d) => Value::Date(d),
        Scalar::Variant(i) => Value::Enum(i),
        Scalar::Text(t) => match fs.symbols.get(t) {
            Some(i) => Value::Text(*i),
            None => Value::Text((n_symbols + intern(b, t)) as u32),
        },
    }
}

/// The id of a text no program string equals: equal texts, equal ids.
fn intern(b: &mut Bound, t: &str) -> usize {
    if b.text_table.len() < 2 * (b.text_spans.len() + 1) {
        // grow and rehash (amortised; the buffers are kept between households)
        let n = (4 * (b.text_spans.len() + 1)).next_power_of_two();
        b.text_table.clear();
        b.text_table.resize(n, 0);
        for k in 0..b.text_spans.len() {
            let (s, e) = b.text_spans[k];
            let h = hash(&b.text[s as usize..e as usize]);
            let mask = n - 1;
            let mut i = (h as usize) & mask;
            while b.text_table[i] != 0 {
                i = (i + 1) & mask;
            }
            b.text_table[i] = k as u32 + 1;
        }
    }
    let mask = b.text_table.len() - 1;
    let mut i = (hash(t) as usize) & mask;
    loop {
        match b.text_table[i] {
            0 => {
                let k = b.text_spans.len();
                let start = b.text.len() as u32;
                b.text.push_str(t);
                b.text_spans.push((start, b.text.len() as u32));
                b.text_table[i] = k as u32 + 1;
                return k;
            }
            slot => {
                let (s, e) = b.text_spans[slot as usize - 1];
                if &b.text[s as usize..e as usize] == t {
                    return slot as usize - 1;
                }
                i = (i + 1) & mask;
            }
        }
    }
}

fn hash(t: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// Check and bind the household's declared facts into the scratch; the
/// first error ends the evaluation. Each bound fact costs one step.
pub(crate) fn bind(p: &crate::compile::Program, h: &Household, s: &mut Scratch) -> Result<(), EvalError> {
    let fs = &p.facts;
    if fs.is_empty() && !carries_facts(h) {
        return Ok(());
    }
    let mut first = None;
    let n_symbols = p.module.symbols.len();
    let bound = walk(fs, h, &s.active, &mut s.bound, n_symbols, &mut |e| {
        first = Some(e);
        false
    });
    if let Some(e) = first {
        return Err(EvalError::Household(e));
    }
    let n = bound.unwrap_or(0) as u64;
    if s.fuel < n {
        return Err(EvalError::Budget { limit: s.budget });
    }
    s.fuel -= n;
    Ok(())
}

fn carries_facts(h: &Household) -> bool {
    !h.facts.is_empty()
        || h.members.iter().any(|m| !m.facts.is_empty() || m.claims.iter().any(|c| !c.facts.is_empty()))
        || h.loans.iter().any(|l| !l.facts.is_empty())
}

impl Bound {
    /// The cell of fact `f` of the record `rec`.
    pub(crate) fn cell(&self, fs: &FactSchema, rec: Value, f: u16) -> Option<Cell> {
        let (e, slot) = *fs.slots.get(f as usize)?;
        let c = fs.counts;
        let base = match (e, rec) {
            (Entity::Household, Value::Household) => self.bases[0],
            (Entity::Member, Value::Member(i)) => self.bases[1] + i as usize * c[1],
            (Entity::Claim, Value::Claim(i, j)) => self.bases[2] + (*self.claim_base.get(i as usize)? as usize + j as usize) * c[2],
            (Entity::Loan, Value::Loan(i)) => self.bases[3] + i as usize * c[3],
            _ => return None,
        };
        self.cells.get(base + slot as usize).copied()
    }

    /// Item `i` of a bound list.
    pub(crate) fn item(&self, i: usize) -> Option<Value> {
        self.items.get(i).copied()
    }

    /// A text the household carries, by its id beyond the program's strings.
    pub(crate) fn text(&self, k: usize) -> Option<&str> {
        let (s, e) = *self.text_spans.get(k)?;
        self.text.get(s as usize..e as usize)
    }
}

impl FactSchema {
    /// Add the declared facts to a household JSON Schema (from
    /// [`crate::model::json_schema`]): each record's `facts` object lists
    /// the facts of the policies `applies` keeps, with their types, titles and
    /// citations, and admits no other; `required_here` makes the required
    /// ones required.
    pub fn extend_json_schema(&self, schema: &mut serde_json::Value, applies: &dyn Fn(u32) -> bool, required_here: bool) {
        use serde_json::{json, Map, Value as J};
        for (e, def) in [(0usize, None), (1, Some("Member")), (2, Some("Claim")), (3, Some("Loan"))] {
            let mut props = Map::new();
            let mut required = Vec::new();
            for (name, id) in &self.index[e] {
                let declarers = &self.declarers[*id as usize];
                if !declarers.iter().any(|p| applies(*p)) {
                    continue;
                }
                let spec = &self.specs[*id as usize];
                let mut one = fact_kind_schema(&spec.kind);
                if spec.list {
                    one = json!({ "type": "array", "items": one });
                }
                if let Some(obj) = one.as_object_mut() {
                    if let Some(t) = &spec.title {
                        obj.insert("title".into(), J::String(t.clone()));
                    }
                    let mut d =
                        format!("{} fact `{}` ({}", if spec.optional { "optional" } else { "required" }, spec.path(), spec.type_name());
                    if let Some(c) = &spec.cite {
                        d.push_str(&format!("; {c}"));
                    }
                    d.push_str(&format!("), declared by {}", spec.declared_by.join(", ")));
                    obj.insert("description".into(), J::String(d));
                }
                props.insert(name.clone(), one);
                if !spec.optional && required_here {
                    required.push(J::String(name.clone()));
                }
            }
            let facts = json!({
                "type": "object",
                "description": "the facts the loaded policies declare for this record (`fact …` in a policy)",
                "properties": props,
                "required": required.clone(),
                "additionalProperties": false
            });
            let record = match def {
                None => Some(&mut *schema),
                Some(d) => schema.get_mut("$defs").and_then(|x| x.get_mut(d)),
            };
            if let Some(record) = record {
                if let Some(p) = record.get_mut("properties").and_then(|p| p.as_object_mut()) {
                    p.insert("facts".into(), facts);
                }
                if !required.is_empty() {
                    if let Some(r) = record.as_object_mut() {
                        let req = r.entry("required").or_insert_with(|| J::Array(Vec::new()));
                        if let Some(a) = req.as_array_mut() {
                            a.push(J::String("facts".into()));
                        }
                    }
                }
            }
        }
    }
}

fn fact_kind_schema(k: &FactKind) -> serde_json::Value {
    use serde_json::json;
    match k {
        FactKind::Bool => json!({ "type": "boolean" }),
        FactKind::Int | FactKind::Days => json!({ "type": "integer" }),
        FactKind::Decimal | FactKind::Money(_) | FactKind::Rate => {
            json!({ "anyOf": [ { "type": "number" }, { "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$" } ] })
        }
        FactKind::Date => json!({ "type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" }),
        FactKind::Text => json!({ "type": "string" }),
        FactKind::Enum { variants, .. } => json!({ "type": "string", "enum": variants }),
    }
}
