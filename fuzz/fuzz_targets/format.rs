//! Arbitrary bytes (valid UTF-8) → `fupin::syntax::format::format`. Never
//! panics; a file that parses formats without an internal error (the
//! formatter checks its own layout: the same tree, the same comments), and
//! formatting the layout again changes nothing.
#![no_main]

use fupin::syntax::format::{format, FormatError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match format(text) {
        Ok(out) => match format(&out) {
            Ok(again) => assert_eq!(again, out, "formatting the layout again changed it:\n{out}"),
            Err(e) => panic!("the layout does not format again: {e}\n{out}"),
        },
        Err(FormatError::Syntax(_)) => {}
        Err(e) => panic!("{e}\n{text}"),
    }
});
