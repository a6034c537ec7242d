//! Content hashes of policy files over one canonical form: the AST printer's
//! output ([`crate::syntax::print`]).
//!
//! `hash = sha256(SCHEME ‖ print(parse(text)))`. Comments, whitespace,
//! redundant parentheses and the spelling of a number (`4400`, `4_400`) do
//! not change the hash; any change of a token of meaning does, and so does a
//! number's scale (`4400` and `4400.0` differ: a false "changed" is safe, a
//! false "unchanged" would not be). `fupin diff` compares through the same
//! printer, so the two never disagree about whether a policy changed.

use crate::syntax::{self, ast, SyntaxError};
use sha2::{Digest, Sha256};

/// The canonical form's scheme, hashed before the printed text: a change of
/// the printer's output changes this tag, so old and new hashes never
/// collide silently.
pub const SCHEME: &str = "fupin-canonical-1\n";

/// The canonical form of a parsed policy file.
pub fn canonical(file: &ast::File) -> String {
    syntax::print(file)
}

/// `sha256:` and the hex digest of the scheme tag and the canonical form.
pub fn file_hash(file: &ast::File) -> String {
    let mut h = Sha256::new();
    h.update(SCHEME.as_bytes());
    h.update(canonical(file).as_bytes());
    let mut s = String::from("sha256:");
    for b in h.finalize() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The content hash of a policy text; text that does not parse has no
/// canonical form, and gets its syntax errors back.
pub fn content_hash(text: &str) -> Result<String, Vec<SyntaxError>> {
    syntax::parse(text).map(|f| file_hash(&f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(s: &str) -> String {
        match content_hash(s) {
            Ok(h) => h,
            Err(e) => panic!("{s}: {e:?}"),
        }
    }

    const P: &str = "policy p { version \"1\" }\n";

    #[test]
    fn whitespace_and_comments_do_not_change_the_hash() {
        let a = format!("{P}param x: yuan {{ cite \"a  b\" from 2018-01-01: 4400 }} // note");
        let b = format!("// head\n{P}param x:yuan {{\n  cite \"a  b\"\n  from 2018-01-01 : 4400\n}}\n");
        assert_eq!(hash(&a), hash(&b));
    }

    #[test]
    fn spelling_of_a_number_and_redundant_parentheses_do_not_change_the_hash() {
        let a = format!("{P}param x: yuan {{ from 2018-01-01: 4400 }}");
        let b = format!("{P}param x: yuan {{ from 2018-01-01: 4_400 }}");
        let c = format!("{P}param x: yuan {{ from 2018-01-01: (4400) }}");
        assert_eq!(hash(&a), hash(&b));
        assert_eq!(hash(&a), hash(&c));
    }

    #[test]
    fn any_token_change_changes_the_hash() {
        let a = format!("{P}param x: yuan {{ from 2018-01-01: 4400 }}");
        for b in [
            format!("{P}param x: yuan {{ from 2018-01-01: 4401 }}"),
            format!("{P}param x: yuan {{ from 2018-01-01: 4400.0 }}"),
            format!("{P}param x: yuan {{ from 2018-01-02: 4400 }}"),
            format!("{P}param y: yuan {{ from 2018-01-01: 4400 }}"),
            "policy p { version \"2\" }\nparam x: yuan { from 2018-01-01: 4400 }".to_string(),
        ] {
            assert_ne!(hash(&a), hash(&b), "{b}");
        }
        let c = format!("{P}param x: yuan {{ cite \"a b\" }}");
        let d = format!("{P}param x: yuan {{ cite \"a  b\" }}");
        let e = format!("{P}param x: yuan {{ cite \"http://x // y\" }}");
        assert_ne!(hash(&c), hash(&d));
        assert_ne!(hash(&c), hash(&e));
    }

    #[test]
    fn text_that_does_not_parse_has_no_hash() {
        for s in ["\"abc", "policy {", "param x: yuan { from 2018-01-01: }"] {
            assert!(content_hash(s).is_err(), "{s}");
        }
    }
}
