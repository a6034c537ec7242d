//! Arbitrary bytes (valid UTF-8) → `fupin::syntax::parse` and `parse_expr`.
//! Never panics; whatever parses prints and parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(file) = fupin::syntax::parse(text) {
        let printed = fupin::syntax::print(&file);
        match fupin::syntax::parse(&printed) {
            Ok(back) => assert_eq!(back, file, "print/parse round trip changed the tree:\n{printed}"),
            Err(e) => panic!("printed file does not parse: {e:?}\n{printed}"),
        }
    }
    if let Ok(e) = fupin::syntax::parse_expr(text) {
        let printed = fupin::syntax::print_expr(&e);
        match fupin::syntax::parse_expr(&printed) {
            Ok(back) => assert_eq!(back, e, "print/parse round trip changed the expression:\n{printed}"),
            Err(err) => panic!("printed expression does not parse: {err:?}\n{printed}"),
        }
    }
});
