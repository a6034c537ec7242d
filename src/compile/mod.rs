//! Compile: from the checked [`Module`] to an immutable [`Program`] — the
//! evaluation schedule (rules in dependency order, cycles rejected), the
//! precedence between rules (exceptions and region specificity), and the
//! static conflict check.

pub mod conflict;

use crate::assessment::Name;
use crate::check::error::{CheckError, CheckErrorKind};
use crate::check::types::Entity;
use crate::check::{Module, OutcomeDef, Reads, Target};
use crate::diagnostic::SourceMap;
use crate::ir::{LayerId, ProgId, RuleId};
use std::collections::HashMap;

/// One step of the household-level schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Run a rule over its subjects.
    Rule(RuleId),
    /// Resolve a value target (pick the winning rule per subject, or report a conflict).
    Resolve(Target),
    /// Assess every claim in date order (runs `claim_schedule`).
    Claims,
}

/// A compiled policy set: immutable, `Send + Sync`, shared by `Arc`.
#[derive(Debug, Clone)]
pub struct Program {
    /// Identity of this compiled program (a [`crate::eval::Scratch`] made for
    /// one program is refused by another).
    pub id: u64,
    /// The checked module.
    pub module: Module,
    /// The sources, for rendering errors and traces.
    pub sources: SourceMap,
    /// Content hash of each policy (same index as `module.policies`).
    pub hashes: Vec<String>,
    /// Evaluation schedules, one per region context, most specific first.
    pub contexts: Vec<Context>,
    /// The transitive closure of `exception to`.
    pub exceptions: Exceptions,
    /// `outranks[a * n + b]`: policy `a` takes precedence over policy `b` (see [`crate::check::PolicyInfo::outranks`]).
    pub outranks: Vec<bool>,
    /// Local frame size.
    pub frame: usize,
    /// Where global-value frames start, and how large each is.
    pub global_frame: (usize, usize),
    /// Where each function's frame starts (`Module::functions` order).
    pub fn_frames: Vec<usize>,
    /// For each programme, whether any rule writes it (per policy: index list of writer rules).
    pub writers: Vec<Vec<RuleId>>,
    /// The programme each layer (`module.layers`) is reported under.
    pub layer_programs: Vec<Option<ProgId>>,
    /// The declared facts as a household record carries them (same index as `module.facts`).
    pub facts: crate::eval::facts::FactSchema,
    /// Values the deployer set for parameters ([`crate::EngineBuilder::set_param`]).
    pub settings: Vec<crate::eval::Setting>,
    /// The rules lowered to typed code ([`crate::exec`]), what evaluation
    /// runs with the trace off.
    pub exec: crate::exec::Exec,
    /// The names assessments carry, made once and shared by each.
    pub names: Names,
}

/// The policies' names and texts as assessments carry them
/// ([`crate::assessment::Name`]): each made once per program, so an
/// assessment shares them instead of copying them.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Per rule: id, title, citation.
    pub rules: Vec<(Name, Name, Name)>,
    /// Per policy: id, version, content hash.
    pub policies: Vec<(Name, Name, Name)>,
    /// Per programme: id, and the unit of its amount.
    pub programs: Vec<(Name, Option<Name>)>,
    /// Per claim layer: its name.
    pub layers: Vec<Name>,
    /// Per assignment symbol: its text.
    pub symbols: Vec<Name>,
    /// The programmes in the order of their ids (an assessment's map of
    /// programmes), those of one id together, in index order.
    pub program_groups: Vec<Box<[u32]>>,
    /// Per programme: its entry in an assessment's JSON when nothing of it
    /// holds (not eligible, no amount, flag, value, reason or error), as
    /// `write_json` writes it.
    pub program_json_empty: Vec<Box<str>>,
    /// Per rule: the first rule of its id (a claim lists one reason per rule
    /// id, and two policies' rules of one id are one reason: the same number
    /// here), so that the reasons compare numbers, not texts.
    pub rule_ids: Vec<u32>,
}

impl Names {
    /// Whether rules `a` and `b` have the same id ([`Names::rule_ids`]).
    #[inline]
    pub fn same_rule_id(&self, a: u32, b: u32) -> bool {
        a == b || self.rule_ids.get(a as usize).is_some_and(|x| self.rule_ids.get(b as usize) == Some(x))
    }
}

impl Names {
    fn new(m: &Module, hashes: &[String]) -> Names {
        let mut order: Vec<u32> = (0..m.programs.len() as u32).collect();
        order.sort_by(|a, b| m.programs[*a as usize].id.as_str().cmp(m.programs[*b as usize].id.as_str()).then(a.cmp(b)));
        let program_groups = order
            .chunk_by(|a, b| m.programs[*a as usize].id == m.programs[*b as usize].id)
            .map(|g| g.to_vec().into_boxed_slice())
            .collect();
        let program_json_empty = m
            .programs
            .iter()
            .map(|p| format!(r#"{}:{{"eligible":false,"amount":null,"unit":null,"reasons":[]}}"#, Name::from(p.id.as_str()).json()).into())
            .collect();
        let mut first: std::collections::HashMap<&str, u32> = std::collections::HashMap::with_capacity(m.rules.len());
        let rule_ids = m.rules.iter().enumerate().map(|(i, r)| *first.entry(r.id.as_str()).or_insert(i as u32)).collect();
        Names {
            program_groups,
            program_json_empty,
            rule_ids,
            rules: m.rules.iter().map(|r| (Name::from(r.id.as_str()), Name::from(r.title.as_str()), Name::from(r.cite.as_str()))).collect(),
            policies: m
                .policies
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    (Name::from(p.id.as_str()), Name::from(p.version.as_str()), Name::from(hashes.get(i).map_or("", String::as_str)))
                })
                .collect(),
            programs: m.programs.iter().map(|p| (Name::from(p.id.as_str()), p.amount.and_then(|t| t.unit()).map(Name::from))).collect(),
            layers: m.layers.iter().map(|l| Name::from(l.name.as_str())).collect(),
            symbols: m.symbols.iter().map(|x| Name::from(x.as_str())).collect(),
        }
    }
}

/// The schedules for households of one region: only the rules of policies
/// that can be in force together are ordered against each other, so rules of
/// unrelated regions never form false cycles.
#[derive(Debug, Clone)]
pub struct Context {
    /// The policy region this context is for.
    pub region: String,
    /// How many leading digits must match.
    pub prefix_len: u8,
    /// Household-level schedule.
    pub schedule: Vec<Step>,
    /// Per-claim schedule.
    pub claim_schedule: Vec<Step>,
}

impl Program {
    /// The context for a household region: the most specific policy region containing it.
    pub fn context_for(&self, region: &str) -> Option<&Context> {
        let b = region.as_bytes();
        self.contexts.iter().find(|c| {
            let n = c.prefix_len as usize;
            b.len() >= n && b[..n] == c.region.as_bytes()[..n]
        })
    }

    /// Whether rule `a` takes precedence over rule `b`: `a` is (transitively)
    /// an `exception to` `b`, or `a`'s policy outranks `b`'s.
    pub fn beats(&self, a: RuleId, b: RuleId) -> bool {
        self.precedence(a, b).is_some()
    }

    /// Why rule `a` takes precedence over rule `b`, if it does.
    pub fn precedence(&self, a: RuleId, b: RuleId) -> Option<Precedence> {
        if self.exceptions.contains(a, b) {
            return Some(Precedence::Exception);
        }
        let m = &self.module;
        let (pa, pb) = (m.rules.get(a as usize)?.policy as usize, m.rules.get(b as usize)?.policy as usize);
        let n = m.policies.len();
        self.outranks.get(pa * n + pb).copied().unwrap_or(false).then_some(Precedence::Policy)
    }

    /// The reason rule `winner` beats rule `loser`, in words (for traces).
    pub fn precedence_reason(&self, winner: RuleId, loser: RuleId) -> String {
        let m = &self.module;
        match self.precedence(winner, loser) {
            Some(Precedence::Exception) => {
                format!("{} is an exception to {}", m.rules[winner as usize].id, m.rules[loser as usize].id)
            }
            Some(Precedence::Policy) => {
                let pa = &m.policies[m.rules[winner as usize].policy as usize];
                let pb = &m.policies[m.rules[loser as usize].policy as usize];
                pa.outranks_because(pb)
            }
            None => String::new(),
        }
    }
}

/// Why one rule takes precedence over another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precedence {
    /// It is declared an `exception to` the other (directly or transitively).
    Exception,
    /// Its policy outranks the other's (extends it, or a more specific region).
    Policy,
}

/// The transitive closure of `exception to` over the rules that take part in
/// an exception, as one bit row per such rule: computed once, in time and
/// space linear in (participants²/64), whatever the length of the chains.
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    /// Rule → its row (`u32::MAX`: takes part in no exception).
    row: Vec<u32>,
    /// Words per row.
    words: usize,
    /// The rows: bit `j` of row `i`: participant `i` beats participant `j`.
    bits: Vec<u64>,
}

impl Exceptions {
    /// Closure of the direct exceptions `direct[r]` (acyclic: the checker rejects cycles;
    /// a cycle that is present anyway is cut, never looped on).
    pub fn new(direct: &[&[RuleId]]) -> Exceptions {
        let n = direct.len();
        let mut row = vec![u32::MAX; n];
        let mut count = 0u32;
        for (r, d) in direct.iter().enumerate() {
            for &x in d.iter().filter(|x| (**x as usize) < n) {
                for i in [r, x as usize] {
                    if row[i] == u32::MAX {
                        row[i] = count;
                        count += 1;
                    }
                }
            }
        }
        let m = count as usize;
        let words = m.div_ceil(64);
        let mut bits = vec![0u64; m * words];
        // participants in an order where every rule comes after its exceptions
        let mut parts: Vec<usize> = vec![0; m];
        for (r, &i) in row.iter().enumerate() {
            if i != u32::MAX {
                parts[i as usize] = r;
            }
        }
        let deps: Vec<Vec<usize>> =
            parts.iter().map(|r| direct[*r].iter().filter(|x| (**x as usize) < n).map(|x| row[*x as usize] as usize).collect()).collect();
        let order = topo(&deps).unwrap_or_else(|_| (0..m).collect());
        let mut done = vec![false; m];
        for i in order {
            for &j in &deps[i] {
                if j == i {
                    continue;
                }
                bits[i * words + j / 64] |= 1 << (j % 64);
                if done[j] {
                    for w in 0..words {
                        let v = bits[j * words + w];
                        bits[i * words + w] |= v;
                    }
                }
            }
            // a rule never beats itself, even through a cycle the checker reports
            bits[i * words + i / 64] &= !(1 << (i % 64));
            done[i] = true;
        }
        Exceptions { row, words, bits }
    }

    /// Whether `a` is (transitively) an exception to `b`.
    #[inline]
    pub fn contains(&self, a: RuleId, b: RuleId) -> bool {
        let (Some(&i), Some(&j)) = (self.row.get(a as usize), self.row.get(b as usize)) else { return false };
        if i == u32::MAX || j == u32::MAX {
            return false;
        }
        let (i, j) = (i as usize, j as usize);
        self.bits.get(i * self.words + j / 64).is_some_and(|w| w & (1 << (j % 64)) != 0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Node {
    Rule(RuleId),
    Claims,
    Target(Target),
    Global(u32),
}

/// Build the program; errors are cycles and possible conflicts.
pub fn compile(module: Module, sources: SourceMap, hashes: Vec<String>) -> (Program, Vec<CheckError>, Vec<crate::diagnostic::Diagnostic>) {
    let mut errors = Vec::new();

    // exception closure, and precedence between policies
    let direct: Vec<&[RuleId]> = module.rules.iter().map(|r| r.exceptions.as_slice()).collect();
    let exceptions = Exceptions::new(&direct);
    let np = module.policies.len();
    let mut outranks = vec![false; np * np];
    for (a, pa) in module.policies.iter().enumerate() {
        for (b, pb) in module.policies.iter().enumerate() {
            outranks[a * np + b] = pa.outranks(pb);
        }
    }

    // writers per target
    let layer_programs: Vec<Option<ProgId>> = module.layers.iter().map(|l| l.program).collect();
    let mut writers: HashMap<Target, Vec<RuleId>> = HashMap::new();
    for (i, r) in module.rules.iter().enumerate() {
        for o in &r.outcomes {
            let w = writers.entry(o.target()).or_default();
            if w.last() != Some(&(i as RuleId)) {
                w.push(i as RuleId);
            }
            // An amount, or a claim layer counted toward a programme, makes
            // the programme eligible — unless the rule's condition already
            // requires that eligibility (then it adds nothing, and reading it
            // is no cycle).
            let granted = match o {
                OutcomeDef::Amount(p, _) => Some(*p),
                OutcomeDef::Pay(l, _) => layer_programs[*l as usize],
                _ => None,
            };
            if let Some(p) = granted.filter(|p| !requires_eligible(r.cond.as_ref(), *p)) {
                let w = writers.entry(Target::Eligible(p)).or_default();
                if w.last() != Some(&(i as RuleId)) {
                    w.push(i as RuleId);
                }
            }
        }
    }

    // --- schedules, one per context of policies that can be in force together ---
    let mut contexts: Vec<Context> = Vec::new();
    let mut regions: Vec<(String, u8)> = module.policies.iter().map(|p| (p.region.clone(), p.prefix_len)).collect();
    regions.sort();
    regions.dedup();
    for (region, prefix_len) in regions {
        // the policies a household in `region` can see: those whose region contains it
        let visible: Vec<bool> = module
            .policies
            .iter()
            .map(|p| region.as_bytes()[..p.prefix_len as usize] == p.region.as_bytes()[..p.prefix_len as usize])
            .collect();
        let included = |r: RuleId| visible[module.rules[r as usize].policy as usize];
        let mut errs = Vec::new();
        let (schedule, claim_schedule) = schedules(&module, &writers, &layer_programs, &included, &mut errs);
        for e in errs {
            if !errors.contains(&e) {
                errors.push(e);
            }
        }
        contexts.push(Context { region, prefix_len, schedule, claim_schedule });
    }
    // most specific first, so the first match is the household's context
    contexts.sort_by(|a, b| b.prefix_len.cmp(&a.prefix_len).then(a.region.cmp(&b.region)));

    let rule_frame = module.rules.iter().map(|r| r.frame as usize).max().unwrap_or(0);
    let global_frame = module.globals.iter().map(|g| g.frame as usize).max().unwrap_or(0);
    // each nested global evaluation gets its own region after the rule region
    let mut frame = rule_frame + global_frame * (module.globals.len() + 1);
    // each function owns a region after those (a function is never active twice at once: no recursion)
    let mut fn_frames = Vec::with_capacity(module.functions.len());
    for f in &module.functions {
        fn_frames.push(frame);
        frame += f.frame as usize;
    }
    let mut prog_writers: Vec<Vec<RuleId>> = vec![Vec::new(); module.programs.len()];
    for (i, r) in module.rules.iter().enumerate() {
        for o in &r.outcomes {
            let p = match o {
                OutcomeDef::Eligible(p) | OutcomeDef::Amount(p, _) | OutcomeDef::Flag(p) | OutcomeDef::Assign(p, _) => Some(*p),
                OutcomeDef::Pay(l, _) => layer_programs[*l as usize],
                OutcomeDef::AddTally(..) => None,
            };
            if let Some(p) = p {
                if !prog_writers[p as usize].contains(&(i as RuleId)) {
                    prog_writers[p as usize].push(i as RuleId);
                }
            }
        }
    }
    let fact_schema = crate::eval::facts::FactSchema::new(&module);
    let exec = crate::exec::lower(&module);
    let names = Names::new(&module, &hashes);
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let program = Program {
        id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        module,
        sources,
        hashes,
        contexts,
        exceptions,
        outranks,
        frame,
        global_frame: (rule_frame, global_frame),
        fn_frames,
        writers: prog_writers,
        layer_programs,
        facts: fact_schema,
        settings: Vec::new(),
        exec,
        names,
    };
    let mut warnings = Vec::new();
    conflict::check(&program, &writers, &mut errors, &mut warnings);
    (program, errors, warnings)
}

/// Whether a condition requires `eligible(p)` (a top-level conjunct).
fn requires_eligible(cond: Option<&crate::ir::Expr>, p: ProgId) -> bool {
    use crate::ir::ExprKind;
    match cond.map(|c| &c.kind) {
        Some(ExprKind::Eligible(q)) => *q == p,
        Some(ExprKind::And(a, b)) => requires_eligible(Some(a), p) || requires_eligible(Some(b), p),
        _ => false,
    }
}

/// A readable name for a target (`amount dibao`).
pub fn target_name(m: &Module, t: Target) -> String {
    let p = |p: ProgId| m.programs.get(p as usize).map(|x| x.id.clone()).unwrap_or_default();
    match t {
        Target::Eligible(x) => format!("eligible({})", p(x)),
        Target::Amount(x) => format!("amount {}", p(x)),
        Target::Flag(x) => format!("flag {}", p(x)),
        Target::Assign(x) => format!("assign {}", p(x)),
        Target::Pay(l) => format!("pay {}", m.layers.get(l as usize).map(|x| x.name.as_str()).unwrap_or("")),
        Target::Tally(t) => format!("tally {}", m.tallies.get(t as usize).map(|x| x.name.as_str()).unwrap_or("")),
    }
}

/// Kahn's algorithm, stable by node index. `deps[i]` are the nodes `i` waits for.
fn topo(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let n = deps.len();
    let mut indeg = vec![0usize; n];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            if d < n && d != i {
                indeg[i] += 1;
                users[d].push(i);
            } else if d == i {
                return Err(vec![i]);
            }
        }
    }
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|i| indeg[*i] == 0).collect();
    let mut out = Vec::with_capacity(n);
    while let Some(&i) = ready.iter().next() {
        ready.remove(&i);
        out.push(i);
        for &u in &users[i] {
            indeg[u] -= 1;
            if indeg[u] == 0 {
                ready.insert(u);
            }
        }
    }
    if out.len() == n {
        return Ok(out);
    }
    // report one cycle among the remaining nodes
    let mut first: Option<Vec<usize>> = None;
    crate::check::find_cycles(
        n,
        |i| if indeg[i] > 0 { deps[i].iter().copied().filter(|d| indeg[*d] > 0).collect() } else { Vec::new() },
        |c| {
            if first.is_none() {
                first = Some(c.to_vec());
            }
        },
    );
    Err(first.unwrap_or_else(|| (0..n).filter(|i| indeg[*i] > 0).collect()))
}

/// The household-level and per-claim schedules over the rules `included`
/// (the rules of policies that can be in force together).
fn schedules(
    module: &Module,
    all_writers: &HashMap<Target, Vec<RuleId>>,
    layer_programs: &[Option<ProgId>],
    included: &dyn Fn(RuleId) -> bool,
    errors: &mut Vec<CheckError>,
) -> (Vec<Step>, Vec<Step>) {
    let writers: HashMap<Target, Vec<RuleId>> = all_writers
        .iter()
        .map(|(t, w)| (*t, w.iter().copied().filter(|r| included(*r)).collect::<Vec<_>>()))
        .filter(|(_, w)| !w.is_empty())
        .collect();
    // --- household-level graph ---
    let mut nodes: Vec<Node> = Vec::new();
    let mut index: HashMap<Node, usize> = HashMap::new();
    let mut add = |n: Node, nodes: &mut Vec<Node>| -> usize {
        *index.entry(n).or_insert_with(|| {
            nodes.push(n);
            nodes.len() - 1
        })
    };
    let has_claim_rules = module.rules.iter().enumerate().any(|(i, r)| included(i as RuleId) && r.subject == Entity::Claim);
    for (i, r) in module.rules.iter().enumerate() {
        if included(i as RuleId) && r.subject != Entity::Claim {
            add(Node::Rule(i as RuleId), &mut nodes);
        }
    }
    if has_claim_rules {
        add(Node::Claims, &mut nodes);
    }
    let mut targets: Vec<Target> = writers.keys().copied().filter(|t| !matches!(t, Target::Pay(_) | Target::Tally(_))).collect();
    targets.sort();
    for t in &targets {
        add(Node::Target(*t), &mut nodes);
    }
    for g in 0..module.globals.len() {
        add(Node::Global(g as u32), &mut nodes);
    }
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let node_of_rule = |r: RuleId| if module.rules[r as usize].subject == Entity::Claim { Node::Claims } else { Node::Rule(r) };
    let reads_deps = |reads: &Reads, out: &mut Vec<Node>| {
        for p in &reads.eligible {
            out.push(Node::Target(Target::Eligible(*p)));
        }
        for p in &reads.amount {
            out.push(Node::Target(Target::Amount(*p)));
            if layer_programs.contains(&Some(*p)) && has_claim_rules {
                out.push(Node::Claims);
            }
        }
        for g in &reads.globals {
            out.push(Node::Global(*g));
        }
    };
    for (ni, n) in nodes.iter().enumerate() {
        let mut d: Vec<Node> = Vec::new();
        match n {
            Node::Rule(r) => reads_deps(&module.rules[*r as usize].reads, &mut d),
            Node::Global(g) => reads_deps(&module.globals[*g as usize].reads, &mut d),
            Node::Claims => {
                for (_, r) in module.rules.iter().enumerate().filter(|(i, r)| included(*i as RuleId) && r.subject == Entity::Claim) {
                    reads_deps(&r.reads, &mut d);
                }
            }
            Node::Target(t) => {
                for w in writers.get(t).map(|v| v.as_slice()).unwrap_or(&[]) {
                    d.push(node_of_rule(*w));
                }
            }
        }
        let mut ds: Vec<usize> = d.iter().filter_map(|x| index.get(x).copied()).filter(|x| *x != ni).collect();
        ds.sort_unstable();
        ds.dedup();
        // the claims block reading a target written by claim rules is resolved inside the block
        if matches!(n, Node::Claims) {
            ds.retain(|x| !matches!(nodes[*x], Node::Target(t) if writers.get(&t).is_some_and(|w| w.iter().all(|r| module.rules[*r as usize].subject == Entity::Claim))));
        }
        deps[ni] = ds;
    }
    let describe = |n: &Node| -> String {
        match n {
            Node::Rule(r) => format!("rule {}", module.rules[*r as usize].id),
            Node::Claims => "the claim rules".into(),
            Node::Target(t) => target_name(module, *t),
            Node::Global(g) => format!("value {}", module.globals[*g as usize].name),
        }
    };
    let order = match topo(&deps) {
        Ok(o) => o,
        Err(cycle) => {
            let at = cycle
                .iter()
                .find_map(|i| match nodes[*i] {
                    Node::Rule(r) => Some(module.rules[r as usize].loc),
                    Node::Global(g) => Some(module.globals[g as usize].loc),
                    _ => None,
                })
                .or_else(|| module.rules.first().map(|r| r.loc));
            if let Some(at) = at {
                errors.push(CheckErrorKind::cycle(cycle.len(), |i| describe(&nodes[cycle[i]])).at(at));
            }
            (0..nodes.len()).collect()
        }
    };
    let mut schedule = Vec::new();
    for i in order {
        match nodes[i] {
            Node::Rule(r) => schedule.push(Step::Rule(r)),
            Node::Claims => schedule.push(Step::Claims),
            Node::Target(t @ (Target::Amount(_) | Target::Assign(_))) => schedule.push(Step::Resolve(t)),
            _ => {}
        }
    }

    // --- per-claim graph: claim rules and pay targets ---
    let claim_rules: Vec<RuleId> =
        (0..module.rules.len() as RuleId).filter(|r| included(*r) && module.rules[*r as usize].subject == Entity::Claim).collect();
    let mut cnodes: Vec<Step> = claim_rules.iter().map(|r| Step::Rule(*r)).collect();
    let pay_layers: Vec<LayerId> = (0..module.layers.len() as LayerId).filter(|l| writers.contains_key(&Target::Pay(*l))).collect();
    for l in &pay_layers {
        cnodes.push(Step::Resolve(Target::Pay(*l)));
    }
    let pos = |s: Step| cnodes.iter().position(|x| *x == s);
    let mut cdeps: Vec<Vec<usize>> = vec![Vec::new(); cnodes.len()];
    for (i, s) in cnodes.iter().enumerate() {
        match s {
            Step::Rule(r) => {
                for l in &module.rules[*r as usize].reads.paid {
                    if let Some(p) = pos(Step::Resolve(Target::Pay(*l))) {
                        cdeps[i].push(p);
                    }
                }
            }
            Step::Resolve(t) => {
                for w in writers.get(t).map(|v| v.as_slice()).unwrap_or(&[]) {
                    if let Some(p) = pos(Step::Rule(*w)) {
                        cdeps[i].push(p);
                    }
                }
            }
            Step::Claims => {}
        }
    }
    let claim_schedule = match topo(&cdeps) {
        Ok(o) => o.into_iter().map(|i| cnodes[i]).collect(),
        Err(cycle) => {
            let at = cycle.iter().find_map(|i| match cnodes[*i] {
                Step::Rule(r) => Some(module.rules[r as usize].loc),
                _ => None,
            });
            if let Some(at) = at {
                let name = |i: usize| match cnodes[cycle[i]] {
                    Step::Rule(r) => format!("rule {}", module.rules[r as usize].id),
                    Step::Resolve(t) => target_name(module, t),
                    Step::Claims => String::new(),
                };
                errors.push(CheckErrorKind::cycle(cycle.len(), name).at(at));
            }
            cnodes.clone()
        }
    };

    (schedule, claim_schedule)
}
