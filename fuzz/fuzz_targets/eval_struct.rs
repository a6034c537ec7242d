//! Structured households (built from `arbitrary` input, see `src/lib.rs`) →
//! validate + assess. Never panics; the claim layers and out-of-pocket add
//! up to each claim's total; JSON written for a household reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: fupin_fuzz::FuzzHousehold| {
    let h = &input.household;
    let as_of = fupin_fuzz::as_of(input.date);
    fupin_fuzz::assess_both_ways(h, as_of);
    if fupin::model::validate(h, Some(as_of)).is_ok() {
        let json = serde_json::to_string(h).expect("a household serialises");
        match fupin::model::parse_household(&json, Some(as_of)) {
            Ok(back) => assert_eq!(&back, h, "JSON round trip changed the household"),
            Err(e) => panic!("a valid household's JSON does not read back: {e}\n{json}"),
        }
    }
});
