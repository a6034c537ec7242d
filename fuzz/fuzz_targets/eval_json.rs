//! Arbitrary bytes as household JSON → `parse_household` + assess under the
//! embedded policies with a deployment overlay. Never panics; the one-pass
//! reader and the two-pass reader give the same household or error; a household
//! that parses is assessed with the trace on and off, with the same result.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&d, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let as_of = fupin_fuzz::as_of(d);
    // the one-pass reader and the two-pass reader it falls back to agree
    if let Some(a) = fupin::model::read_household_one_pass(text) {
        match fupin::model::read_household_two_pass(text) {
            Ok(b) => assert!(a == b && a.defaulted.paths().eq(b.defaulted.paths())),
            Err(e) => panic!("the one pass reads what the two-pass reader refuses: {e}"),
        }
    }
    let one = fupin::model::parse_household(text, None);
    let two = fupin::model::parse_household_two_pass(text, None);
    match (&one, &two) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b);
            assert!(a.defaulted.paths().eq(b.defaulted.paths()));
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("the readers differ: {one:?} {two:?}"),
    }
    if let Ok(h) = fupin::model::parse_household(text, Some(as_of)) {
        fupin_fuzz::assess_both_ways(&h, as_of);
    }
});
