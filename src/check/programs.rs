//! The built-in programme catalogue (DESIGN §4): stable dotted ids, titles
//! and the unit of their amounts (`None` when the programme has no amount).

use super::types::{Per, Ty};

const Y: Option<Ty> = Some(Ty::Money(Per::Year));
const M: Option<Ty> = Some(Ty::Money(Per::Month));
const O: Option<Ty> = Some(Ty::Money(Per::None));
const N: Option<Ty> = None;

/// Whether `id` is a built-in programme (not declared by a policy).
pub fn is_builtin(id: &str) -> bool {
    BUILTIN.iter().any(|(b, _, _)| *b == id)
}

/// (id, title, amount type).
pub const BUILTIN: &[(&str, &str, Option<Ty>)] = &[
    ("dibao", "农村最低生活保障 (低保)", Y),
    ("tekun", "特困人员救助供养", Y),
    ("temporary_assistance", "临时救助", O),
    ("medical.premium_subsidy", "城乡居民医保个人缴费补贴", Y),
    ("medical.basic", "基本医疗保险", O),
    ("medical.major_illness", "大病保险", O),
    ("medical.supplementary", "补充医疗保险", O),
    ("medical.assistance", "医疗救助", O),
    ("medical.essential_drugs", "基本药物兜底报销", O),
    ("medical.outpatient_chronic", "门诊慢特病", O),
    ("medical.outpatient_assistance", "门诊救助", O),
    ("medical.special_treatment", "大病专项救治", N),
    ("medical.treat_first_pay_later", "先诊疗后付费", N),
    ("medical.self_pay_target", "自付比例目标", N),
    ("pension.enrolment", "城乡居民基本养老保险参保", N),
    ("pension.contribution_subsidy", "养老保险代缴", Y),
    ("pension.basic_minimum", "城乡居民基础养老金", M),
    ("employment.post_subsidy", "岗位补贴", M),
    ("employment.social_insurance_subsidy", "社会保险补贴", M),
    ("employment.agency_subsidy", "职业介绍补贴", O),
    ("employment.public_welfare_post", "公益岗位", M),
    ("employment.assistance_status", "就业困难人员认定", N),
    ("employment.graduate_assistance", "雨露计划就业帮扶", N),
    ("employment.enterprise_subsidy", "带贫企业生产补助", O),
    ("employment.enterprise_loan", "带贫企业贴息贷款", O),
    ("urban.integration", "进城务工落户帮扶", N),
    ("loan.microcredit", "扶贫小额信贷", O),
    ("loan.interest_subsidy", "贷款贴息", O),
    ("loan.extension", "贷款展期", N),
    ("loan.renewal", "无还本续贷", N),
    ("loan.entrepreneurship_guarantee", "创业担保贷款", O),
    ("training.entrepreneurship_subsidy", "创业培训补贴", O),
    ("training.skills", "免费农业技能培训", N),
    ("education.fee_waiver", "学费减免", Y),
    ("education.vocational_placement", "职业教育", N),
    ("education.living_allowance", "生活补助", Y),
    ("education.disabled_free_education", "残疾学生15年免费教育", N),
    ("education.student_loan_priority", "生源地信用助学贷款优先", N),
    ("education.student_aid", "学生资助", Y),
    ("housing.renovation", "危房改造", O),
    ("housing.safety_inspection", "住房安全排查", N),
    ("housing.safe_by_2020", "住房安全保障", N),
    ("relocation", "易地扶贫搬迁", O),
    ("relocation.employment", "搬迁户就业帮扶", N),
    ("disability.living_subsidy", "困难残疾人生活补贴", M),
    ("disability.care_subsidy", "重度残疾人护理补贴", M),
    ("disability.child_rehabilitation", "残疾儿童康复救助", Y),
    ("disability.care_services", "重度残疾人托养照护", N),
    ("ecology.forest_compensation", "公益林生态补偿", Y),
    ("ecology.ranger_priority", "生态护林员优先", N),
    ("ecology.fuel_subsidy", "燃料补贴", Y),
    ("monitoring.unstable", "防返贫监测", N),
    ("monitoring.relative_poverty", "相对贫困户认定", N),
    ("route", "脱贫路径 (一批)", N),
];
