//! Arbitrary bytes (valid UTF-8) → `fupin::syntax::parse`, whose fast path
//! (a hand-written descent tried on each item first) must give what the
//! definition of the language, the pest grammar alone
//! (`fupin::syntax::parse_definition`), gives: the same tree with the same
//! spans, or the same errors.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    fupin_fuzz::assert_parsers_agree(text);
});
