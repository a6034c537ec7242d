//! The household model (DESIGN §3): typed records read from JSON.
//!
//! Every struct rejects unknown fields. Money is `rust_decimal::Decimal`, read
//! exactly from JSON strings or numbers in one plain decimal form, dates from
//! `YYYY-MM-DD` strings only (see [`parse_money`], [`parse_date`]).
//! [`validate`] rejects impossible values with the JSON path of the offending
//! field. The household JSON format is documented in `docs/household.md`.

pub(crate) mod de;
mod defaults;
mod facts;
mod onepass;
mod reference;
mod validate;

pub use de::{parse_date, parse_money};
pub use defaults::{Defaulted, Kind as DefaultKind, Node as DefaultNode, Scope as DefaultScope, MODEL as DEFAULTS};
pub use facts::{FactError, FactKind, FactOwner, FactSpec, FactValue, Facts, Scalar};
pub use reference::reference_markdown;
pub(crate) use validate::earliest_located;
pub use validate::{parse_household, parse_household_bytes, validate, validate_all, validation_steps, HouseholdError};
#[doc(hidden)]
pub use validate::{parse_household_two_pass, read_household_one_pass, read_household_two_pass};
pub use validate::{MAX_CLAIMS, MAX_HOUSEHOLD_FILE, MAX_LOANS, MAX_MEMBERS};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The JSON Schema (draft 2020-12) of a household record of the core model,
/// from the same structs and doc comments the reader uses. Declared facts are
/// added by `Engine::household_schema`.
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(Household).to_value()
}

/// Money in yuan, exact.
pub type Money = Decimal;

macro_rules! model_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        // Each variant is the value its JSON spelling names (`as_str`;
        // docs/household.md). A doc comment is also a description in the
        // household's JSON Schema, so only the variants whose spelling needs
        // a word have one.
        #[allow(missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $text)] $variant),+
        }
        impl $name {
            /// Every variant, in declaration order (the order of the language's enum ordinals).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The variant's name in JSON and in the policy language.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// The variant's ordinal (its index in [`Self::ALL`]).
            pub fn ordinal(self) -> u16 { self as u16 }
        }
    };
}

model_enum!(
    /// 户口: rural or urban household registration.
    Hukou { Rural = "rural", Urban = "urban" }
);
model_enum!(
    /// 建档立卡 status of a household.
    PovertyStatus {
        /// Never registered as poor.
        None = "none",
        /// Registered poor (建档立卡贫困户), not yet out of poverty.
        Registered = "registered",
        /// Exited poverty (脱贫); see `exited_on`.
        Exited = "exited",
        /// Exited but unstable (脱贫不稳定户), under return-to-poverty monitoring.
        MonitoredUnstable = "monitored_unstable",
        /// Marginal household at risk (边缘易致贫户), under monitoring.
        MonitoredMarginal = "monitored_marginal",
        /// Returned to poverty (返贫).
        Returned = "returned",
    }
);
model_enum!(
    /// 致贫原因: main cause of poverty.
    PovertyCause {
        Illness = "illness", Disability = "disability", Schooling = "schooling",
        LackOfLabour = "lack_of_labour", Funds = "funds", Skills = "skills",
        Transport = "transport", Disaster = "disaster", Other = "other",
    }
);
model_enum!(
    /// 特困 support.
    Tekun { None = "none", Dispersed = "dispersed", Centralised = "centralised" }
);
model_enum!(
    /// House structure.
    Structure {
        BrickConcrete = "brick_concrete", Frame = "frame", ReinforcedConcrete = "reinforced_concrete",
        Steel = "steel", BrickWood = "brick_wood", EarthWood = "earth_wood", Other = "other",
    }
);
model_enum!(
    /// House safety grade (危房等级 A–D).
    SafetyGrade { A = "A", B = "B", C = "C", D = "D" }
);
model_enum!(
    /// 易地扶贫搬迁 status.
    Relocation { None = "none", Planned = "planned", Relocated = "relocated" }
);
model_enum!(
    /// A hardship the household is in (SM-3, SM-5).
    Hardship { None = "none", Epidemic = "epidemic", Disaster = "disaster", Illness = "illness", Accident = "accident", Other = "other" }
);
model_enum!(
    /// Sex.
    Sex { Male = "male", Female = "female" }
);
model_enum!(
    /// Relation to the head of household.
    Relation {
        Head = "head", Spouse = "spouse", Child = "child", Parent = "parent",
        Grandchild = "grandchild", Grandparent = "grandparent", Sibling = "sibling", Other = "other",
    }
);
model_enum!(
    /// Labour capacity.
    Labour {
        /// Full labour capacity.
        Full = "full",
        /// Partial loss of labour capacity (部分丧失劳动能力).
        PartialLoss = "partial_loss",
        /// Complete loss of labour capacity (完全丧失劳动能力).
        CompleteLoss = "complete_loss",
        /// No labour capacity because of age (too young or too old).
        Age = "age",
    }
);
model_enum!(
    /// Disability category (残疾类别).
    DisabilityCategory {
        Visual = "visual", Hearing = "hearing", Speech = "speech", Physical = "physical",
        Intellectual = "intellectual", Mental = "mental", Multiple = "multiple",
    }
);
model_enum!(
    /// Major-disease categories with special treatment: the national 9 and the
    /// 5 Liaoning adds (LN-7), and `other` for any other major disease.
    MajorDisease {
        ChildhoodLeukaemia = "childhood_leukaemia",
        ChildhoodCongenitalHeart = "childhood_congenital_heart",
        OesophagealCancer = "oesophageal_cancer",
        GastricCancer = "gastric_cancer",
        ColonCancer = "colon_cancer",
        RectalCancer = "rectal_cancer",
        EndStageRenal = "end_stage_renal",
        MultidrugResistantTb = "multidrug_resistant_tb",
        AidsOpportunisticInfection = "aids_opportunistic_infection",
        LungCancer = "lung_cancer",
        BreastCancer = "breast_cancer",
        CervicalCancer = "cervical_cancer",
        ChildhoodTumour = "childhood_tumour",
        Pneumoconiosis = "pneumoconiosis",
        Other = "other",
    }
);
model_enum!(
    /// Schooling stage.
    Stage {
        Preschool = "preschool", Primary = "primary", JuniorSecondary = "junior_secondary",
        SeniorSecondary = "senior_secondary", SecondaryVocational = "secondary_vocational", Higher = "higher",
    }
);
model_enum!(
    /// Employment status.
    EmploymentStatus { None = "none", Employed = "employed", SelfEmployed = "self_employed", Unemployed = "unemployed" }
);
model_enum!(
    /// Kind of employer.
    EmployerKind {
        None = "none", Enterprise = "enterprise", Cooperative = "cooperative",
        PublicWelfarePost = "public_welfare_post", Government = "government", Other = "other",
    }
);
model_enum!(
    /// Medical claim kind.
    ClaimKind { Inpatient = "inpatient", Outpatient = "outpatient" }
);
model_enum!(
    /// Hospital level.
    HospitalLevel { Township = "township", County = "county", City = "city", Provincial = "provincial" }
);
model_enum!(
    /// Disease category of a claim.
    ClaimCategory {
        General = "general", Major = "major", Chronic = "chronic",
        OutpatientMajor = "outpatient_major", OutpatientChronic = "outpatient_chronic",
    }
);
model_enum!(
    /// Loan kind.
    LoanKind {
        Microcredit = "microcredit",
        EntrepreneurshipGuarantee = "entrepreneurship_guarantee",
        StudentCredit = "student_credit",
        Other = "other",
    }
);

/// A household record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Household {
    /// Stable id of the household in the registry.
    pub id: String,
    /// GB/T 2260 six-digit region code of the household's county (or city).
    pub region: String,
    /// Rural or urban 户口.
    #[serde(default = "default_hukou")]
    pub hukou: Hukou,
    /// 建档立卡 record.
    #[serde(default)]
    pub poverty: PovertyRecord,
    /// 低保 status.
    #[serde(default)]
    pub dibao: DibaoRecord,
    /// 特困 support.
    #[serde(default = "default_tekun")]
    pub tekun: Tekun,
    /// Annual household net income, yuan/year.
    #[serde(deserialize_with = "de::money")]
    #[schemars(schema_with = "de::money_schema")]
    pub income: Money,
    /// Housing.
    #[serde(default)]
    pub housing: Housing,
    /// Lives in a deep-poverty village or area (深度贫困地区).
    #[serde(default)]
    pub deep_poverty_area: bool,
    /// Lives where natural conditions are harsh (恶劣/脆弱/灾害频发).
    #[serde(default)]
    pub harsh_area: bool,
    /// Lives in a key soil-erosion-control area.
    #[serde(default)]
    pub soil_erosion_area: bool,
    /// 易地扶贫搬迁 status.
    #[serde(default = "default_relocation")]
    pub relocation: Relocation,
    /// Public-welfare forest area held, 亩.
    #[serde(default, deserialize_with = "de::money")]
    #[schemars(schema_with = "de::money_schema")]
    pub forest_mu: Decimal,
    /// A current hardship (epidemic, disaster, …).
    #[serde(default = "default_hardship")]
    pub hardship: Hardship,
    /// Members; at least one.
    pub members: Vec<Member>,
    /// Loans.
    #[serde(default)]
    pub loans: Vec<Loan>,
    /// Facts declared by the loaded policies (`fact household.NAME: …`), by name.
    #[serde(default, skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
    /// The fields the JSON record left out, whose default the model used
    /// (set by [`parse_household`]; not part of the JSON).
    #[serde(skip)]
    #[schemars(skip)]
    pub defaulted: Defaulted,
}

fn default_hukou() -> Hukou {
    Hukou::Rural
}
fn default_tekun() -> Tekun {
    Tekun::None
}
fn default_relocation() -> Relocation {
    Relocation::None
}
fn default_hardship() -> Hardship {
    Hardship::None
}
fn default_status() -> PovertyStatus {
    PovertyStatus::None
}
fn default_structure() -> Structure {
    Structure::BrickConcrete
}
fn default_grade() -> SafetyGrade {
    SafetyGrade::A
}
fn default_labour() -> Labour {
    Labour::Full
}
fn default_relation() -> Relation {
    Relation::Other
}
fn default_emp_status() -> EmploymentStatus {
    EmploymentStatus::None
}
fn default_employer() -> EmployerKind {
    EmployerKind::None
}
fn default_true() -> bool {
    true
}

/// 建档立卡 record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PovertyRecord {
    /// Status.
    #[serde(default = "default_status")]
    pub status: PovertyStatus,
    /// Date of registration.
    #[serde(default, deserialize_with = "de::opt_date")]
    #[schemars(schema_with = "de::opt_date_schema")]
    pub registered_on: Option<NaiveDate>,
    /// Date of exit (脱贫).
    #[serde(default, deserialize_with = "de::opt_date")]
    #[schemars(schema_with = "de::opt_date_schema")]
    pub exited_on: Option<NaiveDate>,
    /// Main cause of poverty.
    #[serde(default)]
    pub cause: Option<PovertyCause>,
}

impl Default for PovertyRecord {
    fn default() -> Self {
        PovertyRecord { status: PovertyStatus::None, registered_on: None, exited_on: None, cause: None }
    }
}

/// 低保 record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DibaoRecord {
    /// Currently receives 低保.
    #[serde(default)]
    pub enrolled: bool,
    /// Since when.
    #[serde(default, deserialize_with = "de::opt_date")]
    #[schemars(schema_with = "de::opt_date_schema")]
    pub since: Option<NaiveDate>,
}

/// Housing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Housing {
    /// Structure.
    #[serde(default = "default_structure")]
    pub structure: Structure,
    /// Safety grade A–D.
    #[serde(default = "default_grade")]
    pub safety_grade: SafetyGrade,
}

impl Default for Housing {
    fn default() -> Self {
        Housing { structure: Structure::BrickConcrete, safety_grade: SafetyGrade::A }
    }
}

/// A household member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Member id, unique in the household.
    pub id: String,
    /// Birth date.
    #[serde(deserialize_with = "de::date")]
    #[schemars(schema_with = "de::date_schema")]
    pub birth_date: NaiveDate,
    /// Sex.
    pub sex: Sex,
    /// Relation to head.
    #[serde(default = "default_relation")]
    pub relation: Relation,
    /// Labour capacity.
    #[serde(default = "default_labour")]
    pub labour: Labour,
    /// Disability, if any.
    #[serde(default)]
    pub disability: Option<Disability>,
    /// Has a chronic disease needing long-term medication.
    #[serde(default)]
    pub chronic_disease: bool,
    /// Needs long-term outpatient treatment of a major disease.
    #[serde(default)]
    pub outpatient_major_disease: bool,
    /// Major-disease categories diagnosed.
    #[serde(default)]
    pub major_diseases: Vec<MajorDisease>,
    /// Schooling, if a student or recent school-leaver.
    #[serde(default)]
    pub schooling: Option<Schooling>,
    /// Employment.
    #[serde(default)]
    pub employment: Employment,
    /// Enrolled in 城乡居民基本医疗保险 (新农合).
    #[serde(default = "default_true")]
    pub medical_insurance: bool,
    /// 城乡居民基本养老保险.
    #[serde(default)]
    pub pension: Pension,
    /// Medical claims.
    #[serde(default)]
    pub claims: Vec<Claim>,
    /// Facts declared by the loaded policies (`fact member.NAME: …`), by name.
    #[serde(default, skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
}

/// Disability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Disability {
    /// Category.
    pub category: DisabilityCategory,
    /// Grade 1 (most severe) to 4.
    pub grade: u8,
    /// Certified (持证).
    #[serde(default)]
    pub certified: bool,
}

/// Schooling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schooling {
    /// Stage being attended, or last attended.
    pub stage: Stage,
    /// Currently enrolled.
    #[serde(default)]
    pub enrolled: bool,
    /// Graduated from `stage` without admission to the next stage.
    #[serde(default)]
    pub graduated_not_admitted: bool,
    /// Left school (graduated) without a job.
    #[serde(default)]
    pub graduated_unemployed: bool,
    /// Student from an economically difficult family in a deep mountain area.
    #[serde(default)]
    pub deep_mountain_area: bool,
}

/// Employment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Employment {
    /// Status.
    #[serde(default = "default_emp_status")]
    pub status: EmploymentStatus,
    /// Kind of employer.
    #[serde(default = "default_employer")]
    pub employer: EmployerKind,
    /// The employer is local (in the same province).
    #[serde(default)]
    pub local_employer: bool,
    /// Labour-contract term in months.
    #[serde(default)]
    pub contract_months: u32,
    /// Social insurance paid by the employer.
    #[serde(default)]
    pub social_insurance: bool,
    /// Placed in the job by a labour-market agency.
    #[serde(default)]
    pub placed_by_agency: bool,
    /// Months lived and worked in a town.
    #[serde(default)]
    pub in_town_months: u32,
    /// Willing to work.
    #[serde(default)]
    pub willing: bool,
    /// Starting a business.
    #[serde(default)]
    pub starting_business: bool,
    /// Minimum-wage tier of the workplace (1 highest … 4).
    #[serde(default)]
    pub wage_tier: u8,
}

impl Default for Employment {
    fn default() -> Self {
        Employment {
            status: EmploymentStatus::None,
            employer: EmployerKind::None,
            local_employer: false,
            contract_months: 0,
            social_insurance: false,
            placed_by_agency: false,
            in_town_months: 0,
            willing: false,
            starting_business: false,
            wage_tier: 0,
        }
    }
}

/// 城乡居民基本养老保险.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pension {
    /// Enrolled.
    #[serde(default)]
    pub enrolled: bool,
    /// Contribution tier (1 = minimum).
    #[serde(default)]
    pub tier: u8,
    /// Receiving the pension.
    #[serde(default)]
    pub receiving: bool,
    /// Covered by 城镇职工基本养老保险 (the employee scheme), and so outside
    /// the residents' scheme (国发〔2014〕8号 三).
    #[serde(default)]
    pub employee: bool,
}

/// A medical claim (one settlement).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Claim id.
    #[serde(default)]
    pub id: Option<String>,
    /// Date of discharge or outpatient settlement.
    #[serde(deserialize_with = "de::date")]
    #[schemars(schema_with = "de::date_schema")]
    pub date: NaiveDate,
    /// Inpatient or outpatient.
    pub kind: ClaimKind,
    /// Hospital level.
    pub hospital_level: HospitalLevel,
    /// Hospital inside the household's county.
    #[serde(default = "default_true")]
    pub in_county: bool,
    /// Designated institution (定点).
    #[serde(default = "default_true")]
    pub designated: bool,
    /// Total cost.
    #[serde(deserialize_with = "de::money")]
    #[schemars(schema_with = "de::money_schema")]
    pub total_cost: Money,
    /// In-policy (政策范围内) cost.
    #[serde(deserialize_with = "de::money")]
    #[schemars(schema_with = "de::money_schema")]
    pub in_policy_cost: Money,
    /// Essential-medicine (基本药物) cost, part of the in-policy cost.
    #[serde(default, deserialize_with = "de::money")]
    #[schemars(schema_with = "de::money_schema")]
    pub essential_medicine_cost: Money,
    /// Disease category.
    #[serde(default = "default_category")]
    pub category: ClaimCategory,
    /// Major-disease category, when `category` is `major`.
    #[serde(default)]
    pub disease: Option<MajorDisease>,
    /// Facts declared by the loaded policies (`fact claim.NAME: …`), by name.
    #[serde(default, skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
}

fn default_category() -> ClaimCategory {
    ClaimCategory::General
}

/// A loan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Loan {
    /// Loan id.
    #[serde(default)]
    pub id: Option<String>,
    /// Kind.
    pub kind: LoanKind,
    /// Borrowing member, if recorded.
    #[serde(default)]
    pub borrower: Option<String>,
    /// Principal, yuan.
    #[serde(deserialize_with = "de::money")]
    #[schemars(schema_with = "de::money_schema")]
    pub principal: Money,
    /// Start date.
    #[serde(deserialize_with = "de::date")]
    #[schemars(schema_with = "de::date_schema")]
    pub start_date: NaiveDate,
    /// Maturity date (as contracted).
    #[serde(deserialize_with = "de::date")]
    #[schemars(schema_with = "de::date_schema")]
    pub maturity_date: NaiveDate,
    /// The loan's own annual rate, e.g. `"0.0435"`.
    #[serde(deserialize_with = "de::money")]
    #[schemars(schema_with = "de::money_schema")]
    pub rate: Decimal,
    /// The household has difficulty repaying.
    #[serde(default)]
    pub repayment_difficulty: bool,
    /// Cause of the difficulty.
    #[serde(default = "default_hardship")]
    pub difficulty_cause: Hardship,
    /// The difficulty is for non-subjective reasons.
    #[serde(default)]
    pub non_subjective: bool,
    /// Extended maturity date, if extended.
    #[serde(default, deserialize_with = "de::opt_date")]
    #[schemars(schema_with = "de::opt_date_schema")]
    pub extended_to: Option<NaiveDate>,
    /// Renewed without principal repayment (无还本续贷).
    #[serde(default)]
    pub renewed: bool,
    /// Facts declared by the loaded policies (`fact loan.NAME: …`), by name.
    #[serde(default, skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
}
