//! Checker errors: a kind with structured fields, and a location.

use super::types::Ty;
use crate::diagnostic::Diagnostic;
use crate::ir::Loc;

/// The most members of a cycle its message names in full.
pub const CYCLE_SHOWN: usize = 8;

/// A cycle's path as its message shows it: in full up to [`CYCLE_SHOWN`]
/// members, otherwise the first five, `…`, the last member, the first again
/// and the count.
fn show_cycle(path: &[String], members: usize) -> String {
    if members <= CYCLE_SHOWN || path.len() < 2 {
        return path.join(" → ");
    }
    let (head, tail) = path.split_at(path.len() - 2);
    let shown: Vec<&str> = head.iter().map(String::as_str).chain(["…"]).chain(tail.iter().map(String::as_str)).collect();
    format!("{} ({members} in all)", shown.join(" → "))
}

impl CheckErrorKind {
    /// A cycle of `members` definitions, `name(i)` naming the `i`-th around
    /// it; only the names shown are made, so a long cycle costs no more than
    /// a short one.
    pub(crate) fn cycle(members: usize, mut name: impl FnMut(usize) -> String) -> Self {
        let mut path: Vec<String> = if members <= CYCLE_SHOWN {
            (0..members).map(&mut name).collect()
        } else {
            (0..5).chain([members - 1]).map(&mut name).collect()
        };
        if members > 0 {
            path.push(name(0));
        }
        CheckErrorKind::Cycle { path, members }
    }
}

/// A checker error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    /// What is wrong.
    pub kind: CheckErrorKind,
    /// Where.
    pub loc: Loc,
    /// Related locations (the first definition, the other rule …).
    pub related: Vec<(Loc, String)>,
}

/// What a checker error says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckErrorKind {
    /// A name that resolves to nothing.
    #[error("cannot find `{name}` in this scope")]
    UnknownName {
        /// The name.
        name: String,
        /// Closest known name.
        suggestion: Option<String>,
    },
    /// A field the entity does not have.
    #[error("{entity} has no field `{field}`")]
    UnknownField {
        /// household, member, claim, loan.
        entity: String,
        /// The field as written.
        field: String,
        /// Closest field.
        suggestion: Option<String>,
    },
    /// An unknown programme id.
    #[error("unknown programme `{name}`")]
    UnknownProgram {
        /// Id as written.
        name: String,
        /// Closest programme.
        suggestion: Option<String>,
    },
    /// An unknown enum variant.
    #[error("`{name}` is not a {enum_name}")]
    UnknownVariant {
        /// Enum.
        enum_name: String,
        /// Variant as written.
        name: String,
        /// Known variants.
        variants: Vec<String>,
    },
    /// An unknown function.
    #[error("unknown function `{name}`")]
    UnknownFunction {
        /// Name.
        name: String,
        /// Closest builtin.
        suggestion: Option<String>,
    },
    /// An unknown policy in `extends`.
    #[error("unknown policy `{name}`")]
    UnknownPolicy {
        /// Id.
        name: String,
        /// Closest loaded policy id.
        suggestion: Option<String>,
    },
    /// An unknown rule in `exception to`.
    #[error("unknown rule `{name}`")]
    UnknownRule {
        /// Id.
        name: String,
    },
    /// An unknown layer in `pay` or `paid.`.
    #[error("unknown claim layer `{name}`")]
    UnknownLayer {
        /// As written.
        name: String,
        /// A declared layer with a close name.
        suggestion: Option<String>,
    },
    /// A declared layer read or paid by a policy that neither declares it nor extends a declaring one.
    #[error("claim layer `{layer}` is declared by `{declared_by}`, which `{policy}` does not extend")]
    LayerNotDeclaredHere {
        /// The layer.
        layer: String,
        /// A declaring policy.
        declared_by: String,
        /// The policy using it.
        policy: String,
    },
    /// A layer declaration that cannot be settled as written.
    #[error("layer `{layer}`: {problem}")]
    BadLayer {
        /// The layer.
        layer: String,
        /// What is wrong.
        problem: String,
        /// How to fix it.
        hint: &'static str,
    },
    /// Expected one type, found another.
    #[error("expected {expected}, found {found}")]
    TypeMismatch {
        /// What was expected (`bool`, `money`, …).
        expected: String,
        /// What was found.
        found: Ty,
    },
    /// Operator applied to types it does not accept.
    #[error("cannot {verb} {left} and {right}")]
    BadOperands {
        /// `add`, `multiply`, `compare` …
        verb: &'static str,
        /// Left type.
        left: Ty,
        /// Right type.
        right: Ty,
        /// A hint.
        hint: Option<String>,
    },
    /// A unary operator on the wrong type.
    #[error("cannot apply `{op}` to {ty}")]
    BadUnary {
        /// The operator.
        op: &'static str,
        /// The operand type.
        ty: Ty,
    },
    /// Wrong number of arguments.
    #[error("`{name}` takes {expected} argument(s), found {found}")]
    Arity {
        /// Function.
        name: String,
        /// Expected count (text: "2", "2 or more").
        expected: String,
        /// Found count.
        found: usize,
    },
    /// A name defined twice.
    #[error("{what} `{name}` is defined more than once")]
    Duplicate {
        /// parameter, rule, value …
        what: &'static str,
        /// Name.
        name: String,
    },
    /// A parameter declared again where an inherited one exists.
    #[error("parameter `{name}` is already declared by `{policy}`")]
    Shadowing {
        /// Name.
        name: String,
        /// The declaring policy.
        policy: String,
    },
    /// A household-level value named like one a policy it extends defines.
    #[error("value `{name}` is already defined by `{policy}`, which this policy extends")]
    ShadowingValue {
        /// Name.
        name: String,
        /// The defining policy.
        policy: String,
    },
    /// `override param` with nothing to override.
    #[error("`override param {name}`: no policy this one extends declares `{name}`")]
    NothingToOverride {
        /// Name.
        name: String,
    },
    /// A required header field is missing.
    #[error("policy `{policy}` has no `{field}`")]
    MissingHeaderField {
        /// Policy id.
        policy: String,
        /// Field.
        field: &'static str,
    },
    /// A header field given twice.
    #[error("`{field}` is given more than once")]
    RepeatedField {
        /// Field.
        field: &'static str,
    },
    /// A rule (or indicator) without a citation.
    #[error("{what} `{rule}` has no citation")]
    MissingCitation {
        /// `rule` or `indicator`.
        what: &'static str,
        /// Rule id.
        rule: String,
    },
    /// A parameter without a citation.
    #[error("parameter `{name}` has no citation")]
    ParamWithoutCitation {
        /// Name.
        name: String,
    },
    /// A rule without a subject.
    #[error("rule `{rule}` does not say what it is for")]
    MissingSubject {
        /// Rule id.
        rule: String,
    },
    /// Region code is not six digits.
    #[error("`{text}` is not a GB/T 2260 region code (six digits)")]
    BadRegion {
        /// As written.
        text: String,
    },
    /// The period ends before it starts.
    #[error("the period in force ends ({end}) before it starts ({start})")]
    BadPeriod {
        /// Start.
        start: String,
        /// End.
        end: String,
    },
    /// Two versions of one policy in force on the same day.
    #[error("versions `{a}` and `{b}` of policy `{id}` are both in force on {day}")]
    OverlappingVersions {
        /// Policy id.
        id: String,
        /// Version.
        a: String,
        /// Other version.
        b: String,
        /// A day both are in force.
        day: String,
    },
    /// A policy with this id and version exists already.
    #[error("policy `{id}` version `{version}` is loaded twice")]
    DuplicatePolicy {
        /// Id.
        id: String,
        /// Version.
        version: String,
    },
    /// `extends` that does not narrow the region.
    #[error("policy for region {child} cannot extend `{parent}` (region {parent_region}), which does not contain it")]
    RegionNotContained {
        /// Child region.
        child: String,
        /// Parent id.
        parent: String,
        /// Parent region.
        parent_region: String,
    },
    /// A cycle among definitions. A cycle of more than
    /// [`CYCLE_SHOWN`] members is shown by its first five, the last and the
    /// count (`cycle: a → b → c → d → e → … → z → a (26 in all)`).
    #[error("cycle: {}", show_cycle(path, *members))]
    Cycle {
        /// The names shown, first repeated at the end: every member of a
        /// cycle of at most [`CYCLE_SHOWN`], otherwise the first five and
        /// the last.
        path: Vec<String>,
        /// How many definitions are on the cycle.
        members: usize,
    },
    /// Two rules that may define the same output with no precedence.
    #[error("rules `{a}` and `{b}` can both define {target}, and neither takes precedence")]
    PossibleConflict {
        /// The output (`amount dibao`).
        target: String,
        /// One rule.
        a: String,
        /// The other rule.
        b: String,
    },
    /// A rule id that another policy already uses.
    #[error("rule id `{id}` is already used by policy `{policy}`")]
    DuplicateRuleId {
        /// The rule id.
        id: String,
        /// The policy that uses it first.
        policy: String,
    },
    /// Two policies of one region, neither extending the other, define one parameter.
    #[error("parameter `{name}` is defined by both `{a}` and `{b}`, and neither extends the other")]
    UnrankedDefinitions {
        /// The parameter.
        name: String,
        /// One policy.
        a: String,
        /// The other policy.
        b: String,
    },
    /// Something used where it is not allowed.
    #[error("{what} is not allowed {context}")]
    NotAllowed {
        /// What.
        what: String,
        /// Where (`in a household rule`).
        context: String,
    },
    /// A parameter with neither values nor `required`.
    #[error("parameter `{name}` has no value; give `from DATE: VALUE` or mark it `required`")]
    EmptyParam {
        /// Name.
        name: String,
    },
    /// Series dates out of order.
    #[error("series dates must increase: {date} does not come after {previous}")]
    SeriesOrder {
        /// This date.
        date: String,
        /// Previous date.
        previous: String,
    },
    /// An amount for a programme that has none.
    #[error("programme `{program}` has no amount")]
    NoAmount {
        /// Programme.
        program: String,
        /// Declared by a policy (not built in): its declaration can give it a unit.
        declared: bool,
    },
    /// A programme declared with a unit that is not money.
    #[error("programme `{program}`: an amount is money (`yuan/year`, `yuan/month` or `yuan`), not {found}")]
    BadProgramUnit {
        /// Programme.
        program: String,
        /// The unit written.
        found: String,
    },
    /// A file with items but no policy header.
    #[error("policy items need a `policy` header in this file")]
    NoHeader,
    /// Too many of something.
    #[error("too many {what}: {count} (the limit is {limit})")]
    TooMany {
        /// What.
        what: &'static str,
        /// How many.
        count: usize,
        /// Limit.
        limit: usize,
    },
    /// A non-integer constant where an `int` (or `days`) is expected.
    #[error("`{text}` is not a whole number, and {expected} holds whole numbers")]
    NotInteger {
        /// The constant as written.
        text: String,
        /// `int` or `days`.
        expected: Ty,
    },
    /// A division where an `int` (or `days`) is expected.
    #[error("a division gives a decimal, not {expected}")]
    DivisionNotInteger {
        /// `int` or `days`.
        expected: Ty,
    },
    /// A bare number where a rate is expected.
    #[error("a rate is written with `%`: `{suggested}`")]
    RateWithoutPercent {
        /// The number as written.
        text: String,
        /// The percentage probably meant (`70%` for `70` and for `0.7`).
        suggested: String,
        /// What the number means as a rate (`7000%` for `70`).
        means: String,
    },
    /// A conversion (`rate(x)`, `decimal(x)`, `int(x, MODE)`) applied to a
    /// value it does not convert.
    #[error("`{function}(…)` does not take {found}: it converts {accepts}")]
    BadConversion {
        /// `rate`, `decimal` or `int`.
        function: &'static str,
        /// The argument's type.
        found: Ty,
        /// What the conversion takes and gives (`a decimal to a rate`).
        accepts: &'static str,
        /// What to write instead.
        help: String,
    },
    /// `int(x)` of a value that may have a fractional part, without a rounding mode.
    #[error("`int(…)` of a {found} needs a rounding mode: nothing is rounded or truncated silently")]
    IntWithoutMode {
        /// The argument's type (`decimal`, or `number` for a constant expression).
        found: Ty,
    },
    /// An optional field read where it may be absent.
    #[error("`{path}` may be absent, and nothing here checks that it is recorded")]
    UnguardedOptional {
        /// The path as written (`m.schooling.stage`).
        path: String,
        /// A guard that makes the reading safe.
        guard: String,
    },
    /// A special form (`round`, `banded`, an aggregation) written wrongly.
    #[error("{problem}")]
    BadForm {
        /// What is wrong.
        problem: String,
        /// The form as it is written.
        shape: &'static str,
    },
    /// Two declarations of one fact (or enumeration) that disagree.
    #[error("{what} `{name}` is declared as {a_says} by `{a}` and as {b_says} by `{b}`; declarations of one {what} must agree")]
    DeclarationsDisagree {
        /// `fact` or `enumeration`.
        what: &'static str,
        /// The fact (`member.study_year`) or enumeration.
        name: String,
        /// The first declaring policy.
        a: String,
        /// What it declares.
        a_says: String,
        /// The other policy.
        b: String,
        /// What it declares.
        b_says: String,
    },
    /// A declared fact named like a field of the core model.
    #[error("`{fact}` is a field of the core household model; a declared fact needs a name of its own")]
    FactShadowsCore {
        /// The fact (`member.age`).
        fact: String,
    },
    /// A declared fact read by a policy that neither declares it nor extends a declaring one.
    #[error("fact `{fact}` is declared by `{declared_by}`, which `{policy}` does not extend")]
    FactNotDeclaredHere {
        /// The fact.
        fact: String,
        /// A declaring policy.
        declared_by: String,
        /// The policy reading it.
        policy: String,
    },
    /// An enumeration that is not declared.
    #[error("cannot find enumeration `{name}`")]
    UnknownEnum {
        /// As written.
        name: String,
        /// Closest declared enumeration.
        suggestion: Option<String>,
    },
    /// An enumeration without variants.
    #[error("enumeration `{name}` has no variants")]
    EmptyEnum {
        /// The enumeration.
        name: String,
    },
    /// A function named like a built-in function or form.
    #[error("function `{name}` has the name of a built-in")]
    ShadowsBuiltin {
        /// Name.
        name: String,
    },
    /// A function named like one a policy it extends defines.
    #[error("function `{name}` is already defined by `{policy}`, which this policy extends")]
    ShadowingFunction {
        /// Name.
        name: String,
        /// The defining policy.
        policy: String,
    },
    /// Two versions of one policy defining a function differently.
    #[error("versions of `{policy}` define function `{name}` differently")]
    FunctionVersionsDisagree {
        /// Name.
        name: String,
        /// The policy.
        policy: String,
    },
    /// A type name that is neither a type, an entity nor a declared enumeration.
    #[error("cannot find type `{name}`")]
    UnknownType {
        /// As written.
        name: String,
        /// Closest known type.
        suggestion: Option<String>,
    },
    /// A syntax error, wrapped so all diagnostics share one type.
    #[error("{message}")]
    Syntax {
        /// The message.
        message: String,
        /// Hint.
        help: Option<String>,
    },
}

impl CheckErrorKind {
    /// A hint, where one helps.
    pub fn help(&self) -> Option<String> {
        match self {
            CheckErrorKind::UnknownName { suggestion: Some(s), .. }
            | CheckErrorKind::UnknownField { suggestion: Some(s), .. }
            | CheckErrorKind::UnknownProgram { suggestion: Some(s), .. }
            | CheckErrorKind::UnknownFunction { suggestion: Some(s), .. }
            | CheckErrorKind::UnknownPolicy { suggestion: Some(s), .. }
            | CheckErrorKind::UnknownEnum { suggestion: Some(s), .. }
            | CheckErrorKind::UnknownLayer { suggestion: Some(s), .. }
            | CheckErrorKind::UnknownType { suggestion: Some(s), .. } => Some(format!("did you mean `{s}`?")),
            CheckErrorKind::UnknownType { .. } => Some(
                "a parameter's type is bool, int, decimal, rate, date, days, text, yuan, yuan/year, yuan/month, household, member, claim, loan or a declared enumeration".into(),
            ),
            CheckErrorKind::ShadowsBuiltin { .. } => {
                Some("a call would be ambiguous; give the function a name of its own".into())
            }
            CheckErrorKind::ShadowingFunction { .. } => {
                Some("rules of both policies would call different functions under one name; give this function a name of its own".into())
            }
            CheckErrorKind::FunctionVersionsDisagree { .. } => Some(
                "a policy that extends this one calls the function whichever version is in force: give both versions the same definition, or give one function another name".into(),
            ),
            CheckErrorKind::UnknownLayer { .. } => {
                Some("declare it: `layer NAME \"title\" { field \"…\" program PROGRAMME cite \"…\" }` (docs/language.md, Claim layers)".into())
            }
            CheckErrorKind::LayerNotDeclaredHere { .. } => {
                Some("extend a policy that declares the layer, or declare it here too (with the same field, programme and kind)".into())
            }
            CheckErrorKind::BadLayer { hint, .. } => Some((*hint).into()),
            CheckErrorKind::NoAmount { program, declared: true } => Some(format!(
                "declare the unit of its amounts: `program {program} \"…\": yuan/year` (or `yuan/month`, `yuan`)"
            )),
            CheckErrorKind::BadProgramUnit { .. } => Some("write `: none` (or no unit) for a benefit without an amount".into()),
            CheckErrorKind::UnknownEnum { .. } => {
                Some("declare it: `enum NAME { variant \"title\", … }` (or use a built-in type: bool, int, decimal, yuan, rate, date, text)".into())
            }
            CheckErrorKind::DeclarationsDisagree { what: "layer", .. } => {
                Some("a claim is settled once, layer by layer: give both declarations the same field, programme and kind, or give one layer another name".into())
            }
            CheckErrorKind::DeclarationsDisagree { .. } => {
                Some("a household record carries one value per fact: give both declarations the same type, or give one fact another name".into())
            }
            CheckErrorKind::FactNotDeclaredHere { fact, .. } => Some(format!(
                "declare it in this policy too (`fact {fact}: …`, with the same type), so the policy says which inputs it reads"
            )),
            CheckErrorKind::UnknownVariant { variants, .. } => Some(format!("expected one of: {}", variants.join(", "))),
            CheckErrorKind::BadOperands { hint, .. } => hint.clone(),
            CheckErrorKind::Shadowing { .. } => Some("write `override param` to replace the inherited value".into()),
            CheckErrorKind::ShadowingValue { .. } => Some(
                "rules of both policies would read different values under one name; give this value a name of its own".into(),
            ),
            CheckErrorKind::DuplicateRuleId { .. } => Some(
                "rule ids are unique across policies (versions of one policy may repeat them); give this rule an id of its own, and declare it an `exception to` the other if it replaces it".into(),
            ),
            CheckErrorKind::UnrankedDefinitions { .. } => Some(
                "make one policy `extends` the other (the extending one takes precedence), or give the two policies periods that do not overlap".into(),
            ),
            CheckErrorKind::PossibleConflict { .. } => {
                Some("declare one rule an `exception to` the other, or make their conditions exclusive".into())
            }
            CheckErrorKind::MissingCitation { .. } => Some("add `cite \"document clause\"`, e.g. `cite \"石发〔2016〕4号 二(六)\"`".into()),
            CheckErrorKind::ParamWithoutCitation { .. } => Some("add `cite \"…\"` naming the clause or source of the value".into()),
            CheckErrorKind::MissingSubject { .. } => {
                Some("add `for household`, `for each member m`, `for each claim c` or `for each loan l`".into())
            }
            CheckErrorKind::NoHeader => Some(
                "start the file with `policy ID { title … region … in_force … version … }`; a file without one holds only tests".into(),
            ),
            CheckErrorKind::BadRegion { .. } => Some("e.g. `130100` for 石家庄市, `130131` for 平山县, `000000` for national".into()),
            CheckErrorKind::TypeMismatch { expected, found: Ty::Dec | Ty::Int } if expected == "rate" => Some(
                "a quotient of two amounts (`paid / cost`) is a decimal: make it a rate with `rate(…)`, exactly".into(),
            ),
            CheckErrorKind::TypeMismatch { expected, found: Ty::Rate } if expected == "decimal" => {
                Some("make the rate a plain number with `decimal(…)` (`decimal(25%)` is 0.25)".into())
            }
            CheckErrorKind::TypeMismatch { expected, found: Ty::Dec } if expected == "int" || expected == "days" => {
                let convert = if expected == "int" { ", or round it to one with `int(x, half_up|up|down)`" } else { "" };
                Some(format!("{expected} holds whole numbers only: declare the value `decimal`, or keep every operand whole{convert}"))
            }
            CheckErrorKind::BadConversion { help, .. } => Some(help.clone()),
            CheckErrorKind::IntWithoutMode { .. } => {
                Some("write `int(x, half_up)` (四舍五入), `int(x, up)` (away from zero) or `int(x, down)` (toward zero)".into())
            }
            CheckErrorKind::NotInteger { .. } => Some("declare the value `decimal` if it has a fractional part".into()),
            CheckErrorKind::DivisionNotInteger { .. } => {
                Some("declare the value `decimal`; a division of whole numbers is not a whole number (7 / 2 = 3.5)".into())
            }
            CheckErrorKind::RateWithoutPercent { text, means, .. } => {
                Some(format!("a bare number is not a rate: `{text}` would be {means}"))
            }
            CheckErrorKind::BadForm { shape, .. } => Some(format!("it is written {shape}")),
            CheckErrorKind::UnguardedOptional { guard, .. } => Some(format!("guard it: {guard}")),
            CheckErrorKind::Syntax { help, .. } => help.clone(),
            _ => None,
        }
    }

    /// As a diagnostic at `loc`.
    pub fn at(self, loc: Loc) -> CheckError {
        CheckError { kind: self, loc, related: Vec::new() }
    }
}

impl CheckError {
    /// Add a related location.
    pub fn related(mut self, loc: Loc, label: impl Into<String>) -> CheckError {
        self.related.push((loc, label.into()));
        self
    }

    /// As a renderable diagnostic.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let mut d = Diagnostic::error(self.kind.to_string(), Some(self.loc)).with_help(self.kind.help());
        for (l, m) in &self.related {
            d = d.with_secondary(*l, m.clone());
        }
        d
    }
}
