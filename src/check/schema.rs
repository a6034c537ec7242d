//! The household model as the policy language sees it: every readable field,
//! its type, and the index the evaluator reads it by.

use super::types::{Entity, EnumTy, Per, Ty};

macro_rules! fields {
    ($($variant:ident: $entity:ident $name:literal => $ty:expr, $doc:literal;)+) => {
        /// A readable field of a household, member, claim or loan.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Field {
            $(#[doc = $doc] $variant,)+
            /// A fact a policy declares (index in `Module::facts`).
            Declared(u16),
        }
        /// Every field: (field, entity, name in the language, type).
        pub const FIELDS: &[(Field, Entity, &str, Ty)] = &[
            $((Field::$variant, Entity::$entity, $name, $ty)),+
        ];
        /// What each field of [`FIELDS`] holds, in the same order (for hover
        /// and completion in an editor).
        pub const FIELD_DOCS: &[&str] = &[$($doc),+];
    };
}

fields! {
    Hukou: Household "hukou" => Ty::Enum(EnumTy::Hukou), "rural or urban 户口";
    PovertyStatus: Household "poverty.status" => Ty::Enum(EnumTy::PovertyStatus), "建档立卡 status";
    PovertyRegisteredOn: Household "poverty.registered_on" => Ty::Date, "registration date (absent if not recorded)";
    PovertyExitedOn: Household "poverty.exited_on" => Ty::Date, "exit date (absent if not exited)";
    PovertyCause: Household "poverty.cause" => Ty::Enum(EnumTy::PovertyCause), "main cause of poverty (absent if not recorded)";
    DibaoEnrolled: Household "dibao.enrolled" => Ty::Bool, "currently receives 低保";
    DibaoSince: Household "dibao.since" => Ty::Date, "低保 since (absent if not recorded)";
    Tekun: Household "tekun" => Ty::Enum(EnumTy::Tekun), "特困 support";
    Income: Household "income" => Ty::Money(Per::Year), "annual household net income";
    HousingStructure: Household "housing.structure" => Ty::Enum(EnumTy::Structure), "house structure";
    HousingGrade: Household "housing.safety_grade" => Ty::Enum(EnumTy::SafetyGrade), "house safety grade A–D";
    DeepPovertyArea: Household "deep_poverty_area" => Ty::Bool, "lives in a deep-poverty area";
    HarshArea: Household "harsh_area" => Ty::Bool, "lives where natural conditions are harsh";
    SoilErosionArea: Household "soil_erosion_area" => Ty::Bool, "lives in a key soil-erosion-control area";
    Relocation: Household "relocation" => Ty::Enum(EnumTy::Relocation), "relocation status";
    ForestMu: Household "forest_mu" => Ty::Dec, "public-welfare forest area, 亩";
    Hardship: Household "hardship" => Ty::Enum(EnumTy::Hardship), "current hardship";
    Members: Household "members" => Ty::List(Entity::Member), "the members";
    Loans: Household "loans" => Ty::List(Entity::Loan), "the loans";
    Size: Household "size" => Ty::Int, "number of members";

    BirthDate: Member "birth_date" => Ty::Date, "birth date";
    Age: Member "age" => Ty::Int, "whole years of age on the assessment date";
    Sex: Member "sex" => Ty::Enum(EnumTy::Sex), "sex";
    Relation: Member "relation" => Ty::Enum(EnumTy::Relation), "relation to the head";
    Labour: Member "labour" => Ty::Enum(EnumTy::Labour), "labour capacity";
    Disabled: Member "disabled" => Ty::Bool, "has a recorded disability";
    DisabilityCategory: Member "disability.category" => Ty::Enum(EnumTy::DisabilityCategory), "disability category (absent if not disabled)";
    DisabilityGrade: Member "disability.grade" => Ty::Int, "disability grade 1–4 (absent if not disabled)";
    DisabilityCertified: Member "disability.certified" => Ty::Bool, "disability certified (false if not disabled)";
    ChronicDisease: Member "chronic_disease" => Ty::Bool, "chronic disease needing long-term medication";
    OutpatientMajorDisease: Member "outpatient_major_disease" => Ty::Bool, "needs long-term outpatient treatment of a major disease";
    MajorDiseases: Member "major_diseases" => Ty::EnumList(EnumTy::MajorDisease), "major-disease categories";
    InSchooling: Member "schooling.recorded" => Ty::Bool, "has a schooling record";
    SchoolStage: Member "schooling.stage" => Ty::Enum(EnumTy::Stage), "schooling stage (absent if no record)";
    SchoolEnrolled: Member "schooling.enrolled" => Ty::Bool, "enrolled in school";
    SchoolNotAdmitted: Member "schooling.graduated_not_admitted" => Ty::Bool, "graduated without admission to the next stage";
    SchoolGraduatedUnemployed: Member "schooling.graduated_unemployed" => Ty::Bool, "left school without a job";
    SchoolDeepMountain: Member "schooling.deep_mountain_area" => Ty::Bool, "student in a deep mountain area";
    EmploymentStatus: Member "employment.status" => Ty::Enum(EnumTy::EmploymentStatus), "employment status";
    Employer: Member "employment.employer" => Ty::Enum(EnumTy::EmployerKind), "kind of employer";
    LocalEmployer: Member "employment.local_employer" => Ty::Bool, "the employer is local";
    ContractMonths: Member "employment.contract_months" => Ty::Int, "labour-contract term, months";
    SocialInsurance: Member "employment.social_insurance" => Ty::Bool, "social insurance paid";
    PlacedByAgency: Member "employment.placed_by_agency" => Ty::Bool, "placed by a labour-market agency";
    InTownMonths: Member "employment.in_town_months" => Ty::Int, "months lived and worked in a town";
    Willing: Member "employment.willing" => Ty::Bool, "willing to work";
    StartingBusiness: Member "employment.starting_business" => Ty::Bool, "starting a business";
    WageTier: Member "employment.wage_tier" => Ty::Int, "minimum-wage tier of the workplace";
    MedicalInsurance: Member "medical_insurance" => Ty::Bool, "enrolled in basic medical insurance";
    PensionEnrolled: Member "pension.enrolled" => Ty::Bool, "enrolled in 城乡居民养老保险";
    PensionTier: Member "pension.tier" => Ty::Int, "pension contribution tier";
    PensionReceiving: Member "pension.receiving" => Ty::Bool, "receiving the pension";
    PensionEmployee: Member "pension.employee" => Ty::Bool, "covered by 城镇职工基本养老保险 (the employee scheme)";
    Claims: Member "claims" => Ty::List(Entity::Claim), "the member's medical claims";

    ClaimDate: Claim "date" => Ty::Date, "settlement date";
    ClaimKind: Claim "kind" => Ty::Enum(EnumTy::ClaimKind), "inpatient or outpatient";
    HospitalLevel: Claim "hospital_level" => Ty::Enum(EnumTy::HospitalLevel), "hospital level";
    InCounty: Claim "in_county" => Ty::Bool, "hospital inside the county";
    Designated: Claim "designated" => Ty::Bool, "designated institution";
    TotalCost: Claim "total_cost" => Ty::Money(Per::None), "total cost";
    InPolicyCost: Claim "in_policy_cost" => Ty::Money(Per::None), "in-policy (政策范围内) cost";
    EssentialCost: Claim "essential_medicine_cost" => Ty::Money(Per::None), "essential-medicine cost";
    ClaimCategory: Claim "category" => Ty::Enum(EnumTy::ClaimCategory), "disease category";
    ClaimDisease: Claim "disease" => Ty::Enum(EnumTy::MajorDisease), "major-disease category (absent if none)";
    ClaimMember: Claim "member" => Ty::Entity(Entity::Member), "the member the claim belongs to";

    LoanKind: Loan "kind" => Ty::Enum(EnumTy::LoanKind), "loan kind";
    Principal: Loan "principal" => Ty::Money(Per::None), "principal";
    StartDate: Loan "start_date" => Ty::Date, "start date";
    MaturityDate: Loan "maturity_date" => Ty::Date, "contracted maturity date";
    LoanRate: Loan "rate" => Ty::Rate, "the loan's own annual rate";
    RepaymentDifficulty: Loan "repayment_difficulty" => Ty::Bool, "difficulty repaying";
    DifficultyCause: Loan "difficulty_cause" => Ty::Enum(EnumTy::Hardship), "cause of the difficulty";
    NonSubjective: Loan "non_subjective" => Ty::Bool, "difficulty for non-subjective reasons";
    ExtendedTo: Loan "extended_to" => Ty::Date, "extended maturity date (absent if not extended)";
    Extended: Loan "extended" => Ty::Bool, "the loan has been extended";
    Renewed: Loan "renewed" => Ty::Bool, "renewed without principal repayment";
}

/// Find a field of an entity by its name in the language.
pub fn lookup(entity: Entity, name: &str) -> Option<(Field, Ty)> {
    FIELDS.iter().find(|(_, e, n, _)| *e == entity && *n == name).map(|(f, _, _, t)| (*f, *t))
}

/// Whether some field of `entity` starts with `prefix.` (a group such as `poverty`).
pub fn is_group(entity: Entity, prefix: &str) -> bool {
    FIELDS.iter().any(|(_, e, n, _)| *e == entity && n.len() > prefix.len() && n.starts_with(prefix) && n.as_bytes()[prefix.len()] == b'.')
}

/// Every field name of an entity (for suggestions).
pub fn names(entity: Entity) -> impl Iterator<Item = &'static str> {
    FIELDS.iter().filter(move |(_, e, _, _)| *e == entity).map(|(_, _, n, _)| *n)
}

/// The name of a field.
pub fn field_name(f: Field) -> &'static str {
    FIELDS.iter().find(|(g, _, _, _)| *g == f).map(|(_, _, n, _)| *n).unwrap_or("?")
}

/// For a field that may be absent from a household (an `Option` in the
/// model), the field that stands for its record's presence: the disability
/// fields share one record, as do the schooling fields. `None` for a field
/// that is always there.
pub fn presence_key(f: Field) -> Option<Field> {
    use Field as F;
    match f {
        F::PovertyRegisteredOn | F::PovertyExitedOn | F::PovertyCause | F::DibaoSince | F::ClaimDisease | F::ExtendedTo => Some(f),
        F::DisabilityCategory | F::DisabilityGrade => Some(F::DisabilityCategory),
        F::SchoolStage => Some(F::SchoolStage),
        _ => None,
    }
}

/// A boolean field that can be true only when an optional record is present
/// (`m.disabled`, `m.disability.certified`, `m.schooling.recorded`,
/// `m.schooling.enrolled`, `l.extended` …), and the record's key.
pub fn implies_present(f: Field) -> Option<Field> {
    use Field as F;
    match f {
        // each reads false when the record is absent
        F::Disabled | F::DisabilityCertified => Some(F::DisabilityCategory),
        F::InSchooling | F::SchoolEnrolled | F::SchoolNotAdmitted | F::SchoolGraduatedUnemployed | F::SchoolDeepMountain => {
            Some(F::SchoolStage)
        }
        F::Extended => Some(F::ExtendedTo),
        _ => None,
    }
}

/// The boolean field that tells whether the record of `key` is present
/// (the first in the table: `disabled`, `schooling.recorded`, `extended`).
pub fn presence_flag(key: Field) -> Option<Field> {
    FIELDS.iter().map(|(f, _, _, _)| *f).find(|f| implies_present(*f) == Some(key))
}
