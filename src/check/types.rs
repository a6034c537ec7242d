//! Types and units of the policy language.

use crate::syntax::ast::TypeExpr;
use std::fmt;

/// The period a money amount is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Per {
    /// Plain yuan (one-off, or no period).
    None,
    /// Yuan per year.
    Year,
    /// Yuan per month.
    Month,
}

/// Enumerations of the household model and of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnumTy {
    /// 户口
    Hukou,
    /// 建档立卡 status
    PovertyStatus,
    /// 致贫原因
    PovertyCause,
    /// 特困
    Tekun,
    /// House structure
    Structure,
    /// Safety grade
    SafetyGrade,
    /// Relocation status
    Relocation,
    /// Hardship
    Hardship,
    /// Sex
    Sex,
    /// Relation to head
    Relation,
    /// Labour capacity
    Labour,
    /// Disability category
    DisabilityCategory,
    /// Major disease
    MajorDisease,
    /// Schooling stage
    Stage,
    /// Employment status
    EmploymentStatus,
    /// Employer kind
    EmployerKind,
    /// Claim kind
    ClaimKind,
    /// Hospital level
    HospitalLevel,
    /// Claim category
    ClaimCategory,
    /// Loan kind
    LoanKind,
    /// An enumeration a policy declares (index in `Module::enums`).
    Declared(u16),
}

impl EnumTy {
    /// The enum's name as shown in messages.
    pub fn name(self) -> &'static str {
        match self {
            EnumTy::Hukou => "hukou",
            EnumTy::PovertyStatus => "poverty status",
            EnumTy::PovertyCause => "poverty cause",
            EnumTy::Tekun => "tekun",
            EnumTy::Structure => "house structure",
            EnumTy::SafetyGrade => "safety grade",
            EnumTy::Relocation => "relocation status",
            EnumTy::Hardship => "hardship",
            EnumTy::Sex => "sex",
            EnumTy::Relation => "relation",
            EnumTy::Labour => "labour capacity",
            EnumTy::DisabilityCategory => "disability category",
            EnumTy::MajorDisease => "major disease",
            EnumTy::Stage => "schooling stage",
            EnumTy::EmploymentStatus => "employment status",
            EnumTy::EmployerKind => "employer kind",
            EnumTy::ClaimKind => "claim kind",
            EnumTy::HospitalLevel => "hospital level",
            EnumTy::ClaimCategory => "claim category",
            EnumTy::LoanKind => "loan kind",
            EnumTy::Declared(_) => "enumeration",
        }
    }

    /// The variant names, in ordinal order.
    pub fn variants(self) -> Vec<&'static str> {
        use crate::model::*;
        fn names<T: Copy>(all: &[T], f: fn(T) -> &'static str) -> Vec<&'static str> {
            all.iter().map(|v| f(*v)).collect()
        }
        match self {
            EnumTy::Hukou => names(Hukou::ALL, Hukou::as_str),
            EnumTy::PovertyStatus => names(PovertyStatus::ALL, PovertyStatus::as_str),
            EnumTy::PovertyCause => names(PovertyCause::ALL, PovertyCause::as_str),
            EnumTy::Tekun => names(Tekun::ALL, Tekun::as_str),
            EnumTy::Structure => names(Structure::ALL, Structure::as_str),
            EnumTy::SafetyGrade => names(SafetyGrade::ALL, SafetyGrade::as_str),
            EnumTy::Relocation => names(Relocation::ALL, Relocation::as_str),
            EnumTy::Hardship => names(Hardship::ALL, Hardship::as_str),
            EnumTy::Sex => names(Sex::ALL, Sex::as_str),
            EnumTy::Relation => names(Relation::ALL, Relation::as_str),
            EnumTy::Labour => names(Labour::ALL, Labour::as_str),
            EnumTy::DisabilityCategory => names(DisabilityCategory::ALL, DisabilityCategory::as_str),
            EnumTy::MajorDisease => names(MajorDisease::ALL, MajorDisease::as_str),
            EnumTy::Stage => names(Stage::ALL, Stage::as_str),
            EnumTy::EmploymentStatus => names(EmploymentStatus::ALL, EmploymentStatus::as_str),
            EnumTy::EmployerKind => names(EmployerKind::ALL, EmployerKind::as_str),
            EnumTy::ClaimKind => names(ClaimKind::ALL, ClaimKind::as_str),
            EnumTy::HospitalLevel => names(HospitalLevel::ALL, HospitalLevel::as_str),
            EnumTy::ClaimCategory => names(ClaimCategory::ALL, ClaimCategory::as_str),
            EnumTy::LoanKind => names(LoanKind::ALL, LoanKind::as_str),
            // declared enumerations: their variants are in `Module::enums`
            EnumTy::Declared(_) => Vec::new(),
        }
    }

    /// The ordinal of a variant name.
    pub fn variant(self, name: &str) -> Option<u16> {
        self.variants().iter().position(|v| *v == name).map(|i| i as u16)
    }
}

/// What an entity-valued expression refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// The household.
    Household,
    /// A member.
    Member,
    /// A medical claim.
    Claim,
    /// A loan.
    Loan,
}

/// A type of the policy language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ty {
    /// true / false
    Bool,
    /// whole number
    Int,
    /// decimal number
    Dec,
    /// an untyped numeric literal, which adopts the type of the other operand
    Num,
    /// money with a period
    Money(Per),
    /// a rate (`70%`)
    Rate,
    /// a date
    Date,
    /// a number of days
    Days,
    /// text
    Text,
    /// an enumeration value
    Enum(EnumTy),
    /// an assignment symbol (`assign route = relocation`)
    Symbol,
    /// a household, member, claim or loan
    Entity(Entity),
    /// a list of entities
    List(Entity),
    /// a list of enumeration values (`m.major_diseases`)
    EnumList(EnumTy),
    /// a declared list fact (index in `Module::facts`; the element type is the fact's)
    FactList(u16),
    /// the type of an expression that already failed to check (suppresses follow-on errors)
    Error,
}

impl Ty {
    /// From a written type.
    pub fn from_ast(t: TypeExpr) -> Ty {
        match t {
            TypeExpr::Bool => Ty::Bool,
            TypeExpr::Int => Ty::Int,
            TypeExpr::Decimal => Ty::Dec,
            TypeExpr::Rate => Ty::Rate,
            TypeExpr::Date => Ty::Date,
            TypeExpr::Days => Ty::Days,
            TypeExpr::Text => Ty::Text,
            TypeExpr::Yuan => Ty::Money(Per::None),
            TypeExpr::YuanPerYear => Ty::Money(Per::Year),
            TypeExpr::YuanPerMonth => Ty::Money(Per::Month),
        }
    }

    /// Numeric types (arithmetic allowed).
    pub fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Dec | Ty::Num | Ty::Money(_) | Ty::Rate | Ty::Days)
    }

    /// Money of any period.
    pub fn is_money(self) -> bool {
        matches!(self, Ty::Money(_))
    }

    /// The unit string used in assessments (`yuan/year`), for money types.
    pub fn unit(self) -> Option<&'static str> {
        match self {
            Ty::Money(Per::None) => Some("yuan"),
            Ty::Money(Per::Year) => Some("yuan/year"),
            Ty::Money(Per::Month) => Some("yuan/month"),
            _ => None,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Bool => f.write_str("bool"),
            Ty::Int => f.write_str("int"),
            Ty::Dec => f.write_str("decimal"),
            Ty::Num => f.write_str("number"),
            Ty::Money(Per::None) => f.write_str("yuan"),
            Ty::Money(Per::Year) => f.write_str("yuan/year"),
            Ty::Money(Per::Month) => f.write_str("yuan/month"),
            Ty::Rate => f.write_str("rate"),
            Ty::Date => f.write_str("date"),
            Ty::Days => f.write_str("days"),
            Ty::Text => f.write_str("text"),
            Ty::Enum(e) => write!(f, "{}", e.name()),
            Ty::Symbol => f.write_str("symbol"),
            Ty::Entity(Entity::Household) => f.write_str("household"),
            Ty::Entity(Entity::Member) => f.write_str("member"),
            Ty::Entity(Entity::Claim) => f.write_str("claim"),
            Ty::Entity(Entity::Loan) => f.write_str("loan"),
            Ty::List(Entity::Member) => f.write_str("list of members"),
            Ty::List(Entity::Claim) => f.write_str("list of claims"),
            Ty::List(Entity::Loan) => f.write_str("list of loans"),
            Ty::List(Entity::Household) => f.write_str("list of households"),
            Ty::EnumList(e) => write!(f, "list of {}", e.name()),
            Ty::FactList(_) => f.write_str("list"),
            Ty::Error => f.write_str("{error}"),
        }
    }
}
