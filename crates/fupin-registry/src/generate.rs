//! Synthetic registries: households of 石家庄's counties with members,
//! medical claims and loans, drawn from a seed. The same seed and count give
//! the same registry on every machine; household `i` depends on the seed and
//! `i` alone, so households are drawn in parallel and written in order.
//!
//! The figures are plausible, not published: incomes, ages, labour capacity,
//! poverty registration and claims are spread so that every shipped 石家庄
//! programme fires for some households and not for others. They are for
//! measuring and testing, never for conclusions about the county.

use std::fmt::Write as _;

/// The counties households are drawn in (石家庄: region 130100 covers them).
pub const COUNTIES: [&str; 8] = ["130121", "130123", "130125", "130126", "130127", "130129", "130130", "130131"];

/// A small, fast, seeded generator (SplitMix64): the stream of household `i`.
struct Draw(u64);

impl Draw {
    fn new(seed: u64, index: u64) -> Draw {
        Draw(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn date(&mut self, from_year: i32, years: u64) -> String {
        let y = from_year + self.below(years) as i32;
        format!("{y:04}-{:02}-{:02}", 1 + self.below(12), 1 + self.below(28))
    }

    /// An amount in fen, as yuan text.
    fn yuan(&mut self, max_fen: u64) -> String {
        let f = self.below(max_fen);
        format!("{}.{:02}", f / 100, f % 100)
    }
}

/// The id of household `i`: ascending with `i`, as the tables' order needs.
pub fn household_id(i: u64) -> String {
    format!("SJZ-{i:010}")
}

/// Household `i` of the registry drawn from `seed`, as its JSON record.
pub fn household(seed: u64, i: u64) -> String {
    let mut d = Draw::new(seed, i);
    let id = household_id(i);
    let county = d.pick(&COUNTIES);
    let mut j = String::with_capacity(2048);
    let status = match d.below(10) {
        0..=3 => "registered",
        4..=5 => "exited",
        6 => "monitored_marginal",
        _ => "none",
    };
    let _ = write!(j, r#"{{"id":"{id}","region":"{county}","hukou":"{}""#, if d.chance(94) { "rural" } else { "urban" });
    let _ = write!(j, r#","poverty":{{"status":"{status}""#);
    if status != "none" {
        let _ = write!(
            j,
            r#","registered_on":"{}","cause":"{}""#,
            d.date(2014, 3),
            d.pick(&["illness", "disability", "schooling", "lack_of_labour", "funds", "skills"])
        );
    }
    if status == "exited" {
        let _ = write!(j, r#","exited_on":"{}""#, d.date(2017, 1));
    }
    j.push('}');
    if d.chance(30) {
        let _ = write!(j, r#","dibao":{{"enrolled":true,"since":"{}"}}"#, d.date(2014, 3));
    }
    // most registered households are poor: incomes below a few standards
    let income = if status == "none" { d.yuan(6_000_000) } else { d.yuan(2_400_000) };
    let _ = write!(j, r#","income":"{income}""#);
    let _ = write!(
        j,
        r#","housing":{{"structure":"{}","safety_grade":"{}"}}"#,
        d.pick(&["brick_concrete", "brick_wood", "earth_wood", "frame"]),
        d.pick(&["A", "A", "B", "B", "C", "D"])
    );
    let size = 1 + d.below(6);
    j.push_str(r#","members":["#);
    for m in 0..size {
        if m > 0 {
            j.push(',');
        }
        let relation = match m {
            0 => "head",
            1 => "spouse",
            _ => d.pick(&["child", "child", "parent", "grandchild"]),
        };
        let birth = match relation {
            "child" | "grandchild" => d.date(1990, 28),
            "parent" => d.date(1930, 20),
            _ => d.date(1940, 50),
        };
        let labour = match d.below(20) {
            0..=1 => "complete_loss",
            2..=4 => "partial_loss",
            5..=7 => "age",
            _ => "full",
        };
        let member_id = format!("{id}-{:02}", m + 1);
        let _ = write!(
            j,
            r#"{{"id":"{member_id}","birth_date":"{birth}","sex":"{}","relation":"{relation}","labour":"{labour}","medical_insurance":{}"#,
            d.pick(&["male", "female"]),
            d.chance(96)
        );
        if d.chance(12) {
            j.push_str(r#","chronic_disease":true"#);
        }
        if d.chance(5) {
            let _ = write!(
                j,
                r#","disability":{{"category":"{}","grade":{},"certified":{}}}"#,
                d.pick(&["physical", "visual", "intellectual", "multiple"]),
                1 + d.below(4),
                d.chance(85)
            );
        }
        if (relation == "child" || relation == "grandchild") && d.chance(60) {
            let _ = write!(
                j,
                r#","schooling":{{"stage":"{}","enrolled":true}}"#,
                d.pick(&["preschool", "primary", "junior_secondary", "senior_secondary", "secondary_vocational", "higher"])
            );
        }
        if d.chance(40) {
            let _ = write!(j, r#","pension":{{"enrolled":true,"tier":{}}}"#, 1 + d.below(3));
        }
        if d.chance(10) {
            j.push_str(r#","claims":["#);
            for c in 0..1 + d.below(2) {
                if c > 0 {
                    j.push(',');
                }
                let total = 50_000 + d.below(8_000_000);
                let in_policy = total * (70 + d.below(30)) / 100;
                let essential = in_policy * d.below(40) / 100;
                let fen = |f: u64| format!("{}.{:02}", f / 100, f % 100);
                let _ = write!(
                    j,
                    r#"{{"id":"{member_id}-C{c}","date":"{}","kind":"{}","hospital_level":"{}","in_county":{},"designated":true,"total_cost":"{}","in_policy_cost":"{}","essential_medicine_cost":"{}","category":"general"}}"#,
                    d.date(2018, 1),
                    d.pick(&["inpatient", "inpatient", "outpatient"]),
                    d.pick(&["township", "county", "county", "city"]),
                    d.chance(80),
                    fen(total),
                    fen(in_policy),
                    fen(essential)
                );
            }
            j.push(']');
        }
        j.push('}');
    }
    j.push(']');
    if status != "none" && d.chance(8) {
        let _ = write!(
            j,
            r#","loans":[{{"id":"{id}-L1","kind":"microcredit","borrower":"{id}-01","principal":"{}","start_date":"{}","maturity_date":"{}","rate":"0.0435"}}]"#,
            10_000 * (1 + d.below(5)),
            d.date(2016, 2),
            d.date(2019, 2)
        );
    }
    j.push('}');
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drawn_household_is_a_valid_record() {
        let engine = fupin::Engine::embedded().expect("embedded policies build");
        let as_of = chrono::NaiveDate::from_ymd_opt(2018, 6, 1).expect("a date");
        for i in 0..2000 {
            let json = household(7, i);
            if let Err(e) = engine.parse_household(&json, Some(as_of)) {
                panic!("household {i}: {}: {}\n{json}", e.path, e.message);
            }
        }
        assert_eq!(household(7, 12), household(7, 12));
        assert_ne!(household(7, 12), household(8, 12));
        assert!(household_id(9) < household_id(10));
    }
}
