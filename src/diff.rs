//! What changed between two versions of a policy (`fupin diff`): header
//! fields, parameters (type, citation, every series entry by date, floor,
//! cap, `required`), rules (title, citation, subject, exceptions, notes,
//! lets, condition, each outcome), named values, tallies, programmes,
//! indicators and tests.
//!
//! Items are matched by name and compared field by field through the AST
//! printer, so layout and comments never show up as changes and a change of
//! any token of meaning does.

use crate::policy::hash::canonical;
use crate::syntax::ast::{self, File, HeaderField, Item, Outcome, ParamEntry, RuleEntry, Subject, TestEntry};
use crate::syntax::{print, print_expr};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The differences between two versions of one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDiff {
    /// Policy id (the new one's, if the ids differ).
    pub id: String,
    /// Old version (absent: the policy is new, or has no header).
    pub old_version: Option<String>,
    /// New version (absent: the policy was removed, or has no header).
    pub new_version: Option<String>,
    /// Header fields that changed.
    pub header: Vec<FieldChange>,
    /// Parameters added, removed or changed.
    pub params: Vec<ItemChange>,
    /// Rules added, removed or changed.
    pub rules: Vec<ItemChange>,
    /// Named values, tallies, programmes and indicators.
    pub other: Vec<ItemChange>,
    /// Tests added, removed or changed.
    pub tests: Vec<ItemChange>,
    /// When no item changed but the canonical forms differ (items or entries
    /// reordered, a name declared twice): the first line that differs.
    pub order: Vec<FieldChange>,
}

impl PolicyDiff {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.header.is_empty()
            && self.params.is_empty()
            && self.rules.is_empty()
            && self.other.is_empty()
            && self.tests.is_empty()
            && self.order.is_empty()
    }
}

/// One field's old and new text (absent: the field was added or removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// Field (`title`, `from 2018-01-01`, `when`, `amount dibao`, …).
    pub field: String,
    /// Old text.
    pub old: Option<String>,
    /// New text.
    pub new: Option<String>,
}

/// How an item changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
    /// In both, different.
    Changed,
}

/// An item (parameter, rule, …) that was added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemChange {
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// What it is (`param`, `override param`, `rule`, `let`, `fn`, `tally`, `program`, `indicator`, `test`).
    pub what: String,
    /// Name or id.
    pub name: String,
    /// The fields that differ (for added and removed items: all of them).
    pub fields: Vec<FieldChange>,
}

/// Fields of an item, in order, keyed by a unique field name.
type Fields = Vec<(String, String)>;

fn push(fields: &mut Fields, key: String, value: String) {
    // keep keys unique: a repeated `cite` becomes `cite (2)`
    let mut k = key.clone();
    let mut n = 1;
    while fields.iter().any(|(x, _)| *x == k) {
        n += 1;
        k = format!("{key} ({n})");
    }
    fields.push((k, value));
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

fn header_fields(f: &File) -> Fields {
    let mut out = Fields::new();
    let Some(h) = &f.header else { return out };
    push(&mut out, "id".into(), h.id.joined());
    for field in &h.fields {
        let (k, v) = match field {
            HeaderField::Title(s) => ("title", quoted(&s.value)),
            HeaderField::Document(s) => ("document", quoted(&s.value)),
            HeaderField::Issued(d) => ("issued", d.value.to_string()),
            HeaderField::Region(s) => ("region", s.value.clone()),
            HeaderField::InForce(a, b) => {
                ("in_force", format!("{} ..{}", a.value, b.as_ref().map(|b| format!(" {}", b.value)).unwrap_or_default()))
            }
            HeaderField::Version(s) => ("version", quoted(&s.value)),
            HeaderField::Extends(d) => ("extends", d.joined()),
            HeaderField::Overlay(_) => ("overlay", "overlay".into()),
        };
        push(&mut out, k.into(), v);
    }
    out
}

fn cite_suffix(c: &Option<ast::StrLit>) -> String {
    c.as_ref().map(|c| format!(" cite {}", quoted(&c.value))).unwrap_or_default()
}

fn param_fields(p: &ast::ParamDecl) -> Fields {
    let mut out = Fields::new();
    if let Some(t) = &p.ty {
        push(&mut out, "type".into(), ty_text(t.ty));
    }
    for e in &p.entries {
        match e {
            ParamEntry::Title(s) => push(&mut out, "title".into(), quoted(&s.value)),
            ParamEntry::Cite(s) => push(&mut out, "cite".into(), quoted(&s.value)),
            ParamEntry::Required(_) => push(&mut out, "required".into(), "true".into()),
            ParamEntry::From { date, value, cite, .. } => {
                push(&mut out, format!("from {}", date.value), format!("{}{}", print_expr(value), cite_suffix(cite)))
            }
            ParamEntry::Always { value, cite, .. } => {
                push(&mut out, "always".into(), format!("{}{}", print_expr(value), cite_suffix(cite)))
            }
            ParamEntry::Floor(e) => push(&mut out, "floor".into(), print_expr(e)),
            ParamEntry::Cap(e) => push(&mut out, "cap".into(), print_expr(e)),
        }
    }
    out
}

fn ty_text(t: ast::TypeExpr) -> String {
    use ast::TypeExpr as T;
    match t {
        T::Bool => "bool",
        T::Int => "int",
        T::Decimal => "decimal",
        T::Rate => "rate",
        T::Date => "date",
        T::Days => "days",
        T::Text => "text",
        T::Yuan => "yuan",
        T::YuanPerYear => "yuan/year",
        T::YuanPerMonth => "yuan/month",
    }
    .to_string()
}

fn rule_fields(r: &ast::Rule) -> Fields {
    let mut out = Fields::new();
    push(&mut out, "title".into(), quoted(&r.title.value));
    let mut after_when = false;
    for e in &r.entries {
        match e {
            RuleEntry::Cite(s) => push(&mut out, "cite".into(), quoted(&s.value)),
            RuleEntry::Note(s) => push(&mut out, "note".into(), quoted(&s.value)),
            RuleEntry::Subject(s, _) => push(
                &mut out,
                "for".into(),
                match s {
                    Subject::Household => "household".into(),
                    Subject::Member(v) => format!("each member {}", v.name),
                    Subject::Claim(v) => format!("each claim {}", v.name),
                    Subject::Loan(v) => format!("each loan {}", v.name),
                },
            ),
            RuleEntry::ExceptionTo(ids) => {
                push(&mut out, "exception to".into(), ids.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "))
            }
            RuleEntry::When(e) => {
                after_when = true;
                push(&mut out, "when".into(), print_expr(e));
            }
            RuleEntry::Let(name, e) => {
                // a let's position (before or after `when`) is part of its meaning
                let key = if after_when { format!("let {} (after when)", name.name) } else { format!("let {}", name.name) };
                push(&mut out, key, print_expr(e));
            }
        }
    }
    for o in &r.outcomes {
        let (k, v) = match o {
            Outcome::Eligible(p) => (format!("eligible {}", p.joined()), "true".to_string()),
            Outcome::Amount(p, e) => (format!("amount {}", p.joined()), print_expr(e)),
            Outcome::Flag(p) => (format!("flag {}", p.joined()), "true".to_string()),
            Outcome::Assign(p, v) => (format!("assign {}", p.joined()), v.name.clone()),
            Outcome::Pay(l, e) => (format!("pay {}", l.name), print_expr(e)),
            Outcome::AddTally(t, e) => (format!("tally {}", t.name), format!("+= {}", print_expr(e))),
        };
        push(&mut out, k, v);
    }
    out
}

fn test_fields(t: &ast::Test) -> Fields {
    let mut out = Fields::new();
    for e in &t.entries {
        let (k, v) = match e {
            TestEntry::HouseholdFile(s) => ("household".to_string(), quoted(&s.value)),
            // as written: the canonical form keeps an inline household's text (white space inside a JSON string is data)
            TestEntry::HouseholdInline(s) => ("household".to_string(), s.value.clone()),
            TestEntry::AsOf(d) => ("as_of".to_string(), d.value.to_string()),
            TestEntry::Set(n, e) => (format!("set {}", n.name), print_expr(e)),
            TestEntry::Expect(_) | TestEntry::ExpectError(_) => {
                let text = print(&File { header: None, items: vec![Item::Test(ast::Test { entries: vec![e.clone()], ..t.clone() })] });
                let line = text.lines().nth(1).map(str::trim).unwrap_or_default().to_string();
                ("expect".to_string(), line)
            }
        };
        push(&mut out, k, v);
    }
    out
}

/// (kind, name) → fields, for every item of a file.
fn items(f: &File) -> BTreeMap<(u8, String), (String, Fields)> {
    let mut out = BTreeMap::new();
    for item in &f.items {
        let (rank, what, name, fields) = match item {
            Item::Param(p) => (0, if p.is_override { "override param" } else { "param" }, p.name.name.clone(), param_fields(p)),
            Item::Rule(r) => (1, "rule", r.id.name.clone(), rule_fields(r)),
            Item::Let(l) => {
                let mut fl = Fields::new();
                if let Some(t) = &l.ty {
                    push(&mut fl, "type".into(), ty_text(t.ty));
                }
                push(&mut fl, "value".into(), print_expr(&l.value));
                (2, "let", l.name.name.clone(), fl)
            }
            Item::Fn(d) => {
                let mut fl = Fields::new();
                let params: Vec<String> =
                    d.params.iter().map(|p| format!("{}: {}", p.name.name, crate::syntax::printer::fn_type(&p.ty))).collect();
                push(&mut fl, "parameters".into(), params.join(", "));
                push(&mut fl, "type".into(), crate::syntax::printer::fn_type(&d.ret));
                push(&mut fl, "body".into(), print_expr(&d.body));
                // functions have a namespace of their own (a `let` may share the name)
                (4, "fn", d.name.name.clone(), fl)
            }
            Item::Tally(t) => {
                let scope = match t.scope {
                    ast::TallyScope::MemberYear => "per member per year",
                    ast::TallyScope::HouseholdYear => "per household per year",
                };
                (2, "tally", t.name.name.clone(), vec![("type".into(), format!("{} {scope}", ty_text(t.ty.ty)))])
            }
            Item::Program(p) => {
                let unit = match &p.unit {
                    None | Some(None) => "none".to_string(),
                    Some(Some(t)) => format!("{:?}", t.ty),
                };
                (2, "program", p.id.joined(), vec![("title".into(), quoted(&p.title.value)), ("unit".into(), unit)])
            }
            Item::Indicator(i) => {
                let mut fl = vec![("title".to_string(), quoted(&i.title.value))];
                for c in &i.cites {
                    push(&mut fl, "cite".into(), quoted(&c.value));
                }
                for n in &i.notes {
                    push(&mut fl, "note".into(), quoted(&n.value));
                }
                (2, "indicator", i.id.name.clone(), fl)
            }
            Item::Fact(d) => {
                let mut fl = vec![("type".to_string(), crate::syntax::printer::fact_type(&d.ty))];
                if let Some(t) = &d.title {
                    push(&mut fl, "title".into(), quoted(&t.value));
                }
                if let Some(c) = &d.cite {
                    push(&mut fl, "cite".into(), quoted(&c.value));
                }
                push(&mut fl, "optional".into(), d.optional.is_some().to_string());
                (2, "fact", format!("{}.{}", d.owner.as_str(), d.name.name), fl)
            }
            Item::Enum(d) => {
                let mut fl = Fields::new();
                if let Some(t) = &d.title {
                    push(&mut fl, "title".into(), quoted(&t.value));
                }
                let variants: Vec<String> = d
                    .variants
                    .iter()
                    .map(|v| match &v.title {
                        Some(t) => format!("{} {}", v.name.name, quoted(&t.value)),
                        None => v.name.name.clone(),
                    })
                    .collect();
                push(&mut fl, "variants".into(), variants.join(", "));
                (2, "enum", d.name.name.clone(), fl)
            }
            Item::Layer(d) => {
                let mut fl = Fields::new();
                if let Some(t) = &d.title {
                    push(&mut fl, "title".into(), quoted(&t.value));
                }
                let all = |v: Vec<String>| v.join(", ");
                push(&mut fl, "field".into(), all(d.field.iter().map(|f| quoted(&f.value)).collect()));
                push(&mut fl, "program".into(), all(d.program.iter().map(|p| p.joined()).collect()));
                push(&mut fl, "cite".into(), all(d.cite.iter().map(|c| quoted(&c.value)).collect()));
                push(&mut fl, "within".into(), if d.within.is_empty() { String::new() } else { "out_of_pocket".into() });
                (2, "layer", d.name.name.clone(), fl)
            }
            Item::Test(t) => (3, "test", t.name.value.clone(), test_fields(t)),
        };
        // a duplicate name (a checker error) keeps the first
        out.entry((rank, name)).or_insert((what.to_string(), fields));
    }
    out
}

fn field_changes(old: &Fields, new: &Fields) -> Vec<FieldChange> {
    let mut out = Vec::new();
    for (k, v) in old {
        match new.iter().find(|(nk, _)| nk == k) {
            Some((_, nv)) if nv == v => {}
            Some((_, nv)) => out.push(FieldChange { field: k.clone(), old: Some(v.clone()), new: Some(nv.clone()) }),
            None => out.push(FieldChange { field: k.clone(), old: Some(v.clone()), new: None }),
        }
    }
    for (k, v) in new {
        if !old.iter().any(|(ok, _)| ok == k) {
            out.push(FieldChange { field: k.clone(), old: None, new: Some(v.clone()) });
        }
    }
    out
}

fn version(f: &File) -> Option<String> {
    f.header.as_ref()?.fields.iter().find_map(|x| if let HeaderField::Version(v) = x { Some(v.value.clone()) } else { None })
}

/// Compare two parsed policy files (`None`: the policy is absent on that side).
pub fn diff(old: Option<&File>, new: Option<&File>) -> PolicyDiff {
    let empty = File { header: None, items: Vec::new() };
    let (o, n) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let id = n.header.as_ref().or(o.header.as_ref()).map(|h| h.id.joined()).unwrap_or_default();
    let mut d = PolicyDiff {
        id,
        old_version: version(o),
        new_version: version(n),
        header: field_changes(&header_fields(o), &header_fields(n)),
        params: Vec::new(),
        rules: Vec::new(),
        other: Vec::new(),
        tests: Vec::new(),
        order: Vec::new(),
    };
    let (oi, ni) = (items(o), items(n));
    let mut keys: Vec<&(u8, String)> = oi.keys().chain(ni.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let change = match (oi.get(key), ni.get(key)) {
            (Some((what, of)), Some((wn, nf))) => {
                let mut fields = field_changes(of, nf);
                if what != wn {
                    fields.insert(0, FieldChange { field: "kind".into(), old: Some(what.clone()), new: Some(wn.clone()) });
                }
                if fields.is_empty() {
                    continue;
                }
                ItemChange { kind: ChangeKind::Changed, what: wn.clone(), name: key.1.clone(), fields }
            }
            (Some((what, of)), None) => {
                ItemChange { kind: ChangeKind::Removed, what: what.clone(), name: key.1.clone(), fields: field_changes(of, &Fields::new()) }
            }
            (None, Some((what, nf))) => {
                ItemChange { kind: ChangeKind::Added, what: what.clone(), name: key.1.clone(), fields: field_changes(&Fields::new(), nf) }
            }
            (None, None) => continue,
        };
        match key.0 {
            0 => d.params.push(change),
            1 => d.rules.push(change),
            3 => d.tests.push(change),
            _ => d.other.push(change),
        }
    }
    // The content hash is over the same canonical form: a diff is empty
    // exactly when the hashes agree.
    if d.is_empty() {
        let (po, pn) = (canonical(o), canonical(n));
        if po != pn {
            let (mut lo, mut ln) = (po.lines(), pn.lines());
            loop {
                match (lo.next(), ln.next()) {
                    (a, b) if a == b && a.is_some() => continue,
                    (a, b) => {
                        d.order.push(FieldChange {
                            field: "first differing line".into(),
                            old: a.map(str::to_string),
                            new: b.map(str::to_string),
                        });
                        break;
                    }
                }
            }
        }
    }
    d
}

impl fmt::Display for PolicyDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "(none)".into());
        match (&self.old_version, &self.new_version) {
            (Some(_), None) if self.header.iter().any(|h| h.field == "id" && h.new.is_none()) => {
                writeln!(f, "policy {}: removed (was version {})", self.id, v(&self.old_version))?
            }
            (None, Some(_)) if self.header.iter().any(|h| h.field == "id" && h.old.is_none()) => {
                writeln!(f, "policy {}: added (version {})", self.id, v(&self.new_version))?
            }
            _ => writeln!(f, "policy {}: version {} -> {}", self.id, v(&self.old_version), v(&self.new_version))?,
        }
        if self.is_empty() {
            return writeln!(f, "  no changes");
        }
        if !self.header.is_empty() {
            writeln!(f, "  header")?;
            for c in &self.header {
                write_field(f, c, 4)?;
            }
        }
        for (title, list) in [
            ("parameters", &self.params),
            ("rules", &self.rules),
            ("values, tallies, programmes, indicators", &self.other),
            ("tests", &self.tests),
        ] {
            if list.is_empty() {
                continue;
            }
            writeln!(f, "  {title}")?;
            for c in list {
                let mark = match c.kind {
                    ChangeKind::Added => "+",
                    ChangeKind::Removed => "-",
                    ChangeKind::Changed => "~",
                };
                writeln!(f, "    {mark} {} {}", c.what, c.name)?;
                for fc in &c.fields {
                    write_field(f, fc, 8)?;
                }
            }
        }
        if !self.order.is_empty() {
            writeln!(f, "  order (the same items, in another order)")?;
            for c in &self.order {
                write_field(f, c, 4)?;
            }
        }
        Ok(())
    }
}

fn write_field(f: &mut fmt::Formatter<'_>, c: &FieldChange, indent: usize) -> fmt::Result {
    let pad = " ".repeat(indent);
    match (&c.old, &c.new) {
        (Some(o), Some(n)) => writeln!(f, "{pad}{}: {o} -> {n}", c.field),
        (None, Some(n)) => writeln!(f, "{pad}+ {}: {n}", c.field),
        (Some(o), None) => writeln!(f, "{pad}- {}: {o}", c.field),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    fn file(s: &str) -> File {
        match parse(s) {
            Ok(f) => f,
            Err(e) => panic!("{e:?}"),
        }
    }

    const OLD: &str = r#"
policy p { title "P" region 130100 in_force 2016-01-01 .. 2020-12-31 version "1" }
param std: yuan/year { cite "§1" from 2017-01-01: 4000 from 2018-01-01: 4400 cite "n1" floor 1000 }
param gone: rate { always: 5% }
rule R-1 "t" { cite "§2" for household when household.income < 100 let g = std - household.income then amount dibao = yuan(g) }
rule R-2 "same" { cite "§3" for household then flag monitoring.unstable }
"#;
    const NEW: &str = r#"
// reformatted, with comments
policy p {
  title "P"
  region 130100
  in_force 2016-01-01..2021-12-31
  version "2"
}
param std: yuan/year {
  cite "§1"
  from 2017-01-01: 4000
  from 2018-01-01: 4600 cite "n2"
  from 2020-01-01: 5000
}
param added: yuan { required }
rule R-1 "t" { cite "§2" for household when household.income <= 100 let g = std - household.income then amount dibao = yuan(g) }
rule R-2 "same" {
  cite "§3"   // unchanged
  for household
  then flag monitoring.unstable
}
rule R-3 "new" { cite "§4" for each member m then eligible dibao }
"#;

    #[test]
    fn params_and_rules_added_removed_changed() {
        let d = diff(Some(&file(OLD)), Some(&file(NEW)));
        assert_eq!((d.old_version.as_deref(), d.new_version.as_deref()), (Some("1"), Some("2")));
        let text = d.to_string();
        let want = r#"policy p: version 1 -> 2
  header
    in_force: 2016-01-01 .. 2020-12-31 -> 2016-01-01 .. 2021-12-31
    version: "1" -> "2"
  parameters
    + param added
        + type: yuan
        + required: true
    - param gone
        - type: rate
        - always: 5%
    ~ param std
        from 2018-01-01: 4400 cite "n1" -> 4600 cite "n2"
        - floor: 1000
        + from 2020-01-01: 5000
  rules
    ~ rule R-1
        when: household.income < 100 -> household.income <= 100
    + rule R-3
        + title: "new"
        + cite: "§4"
        + for: each member m
        + eligible dibao: true
"#;
        assert_eq!(text, want);
        assert!(!text.contains("R-2"));
    }

    #[test]
    fn identical_meaning_is_no_change() {
        let d = diff(Some(&file(OLD)), Some(&file(&format!("// c\n{OLD}\n"))));
        assert!(d.is_empty());
        assert!(d.to_string().ends_with("  no changes\n"));
    }

    #[test]
    fn reordered_items_are_a_change_as_for_the_content_hash() {
        let swapped = OLD.replace(
            "rule R-1 \"t\" { cite \"§2\" for household when household.income < 100 let g = std - household.income then amount dibao = yuan(g) }\nrule R-2 \"same\" { cite \"§3\" for household then flag monitoring.unstable }",
            "rule R-2 \"same\" { cite \"§3\" for household then flag monitoring.unstable }\nrule R-1 \"t\" { cite \"§2\" for household when household.income < 100 let g = std - household.income then amount dibao = yuan(g) }",
        );
        assert_ne!(swapped, OLD);
        let (a, b) = (file(OLD), file(&swapped));
        assert_ne!(crate::policy::hash::file_hash(&a), crate::policy::hash::file_hash(&b));
        let d = diff(Some(&a), Some(&b));
        assert!(!d.is_empty());
        assert!(d.params.is_empty() && d.rules.is_empty() && d.header.is_empty());
        let text = d.to_string();
        assert!(text.contains("  order (the same items, in another order)\n    first differing line: rule R-1"), "{text}");
    }

    #[test]
    fn added_and_removed_policies() {
        let d = diff(None, Some(&file(OLD)));
        assert!(d.to_string().starts_with("policy p: added (version 1)\n"));
        assert!(d.rules.iter().all(|r| r.kind == ChangeKind::Added));
        let d = diff(Some(&file(OLD)), None);
        assert!(d.to_string().starts_with("policy p: removed (was version 1)\n"));
    }
}
