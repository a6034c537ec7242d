//! Content hashes of policy texts over a canonical form: comments and
//! whitespace do not change the hash; any change of a token does.

use sha2::{Digest, Sha256};

/// The canonical form: tokens separated by single spaces, comments dropped.
///
/// Words (names, numbers, dotted paths) are maximal runs of alphanumerics,
/// `_` and single `.`s; `..` (the period range) is always a token of its own,
/// so `2016-01-01..2020-12-31` and `2016-01-01 .. 2020-12-31` agree. Every
/// other punctuation character is a token by itself: `a<=b` and `a < = b`
/// have one canonical form, but the second is a syntax error, so no two
/// valid texts of different meaning collide. Numbers are compared as written
/// (`4400` and `4400.0` differ): a false "changed" is safe, a false
/// "unchanged" would not be.
pub fn canonical(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let push_sep = |out: &mut String| {
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    };
    let at = |i: usize| chars.get(i).copied();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    // a `.` continues a word unless it starts `..`
    let continues_word = |i: usize| match at(i) {
        Some('.') => at(i + 1) != Some('.'),
        Some(c) => is_word(c),
        None => false,
    };
    let mut i = 0;
    while let Some(c) = at(i) {
        if c == '/' && at(i + 1) == Some('/') {
            while let Some(n) = at(i) {
                i += 1;
                if n == '\n' {
                    break;
                }
            }
            push_sep(&mut out);
            continue;
        }
        if c.is_whitespace() {
            push_sep(&mut out);
            i += 1;
            continue;
        }
        if c == '"' {
            push_sep(&mut out);
            out.push('"');
            i += 1;
            let mut escaped = false;
            while let Some(n) = at(i) {
                out.push(n);
                i += 1;
                if escaped {
                    escaped = false;
                } else if n == '\\' {
                    escaped = true;
                } else if n == '"' {
                    break;
                }
            }
            push_sep(&mut out);
            continue;
        }
        if c == '.' && at(i + 1) == Some('.') {
            push_sep(&mut out);
            out.push_str("..");
            push_sep(&mut out);
            i += 2;
            continue;
        }
        if is_word(c) || c == '.' {
            out.push(c);
            i += 1;
            if !continues_word(i) {
                push_sep(&mut out);
            }
            continue;
        }
        push_sep(&mut out);
        out.push(c);
        push_sep(&mut out);
        i += 1;
    }
    out.trim_end().to_string()
}

/// `sha256:` and the hex digest of the canonical form.
pub fn content_hash(text: &str) -> String {
    let d = Sha256::digest(canonical(text).as_bytes());
    let mut s = String::from("sha256:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_comments_do_not_change_the_hash() {
        let a = "param x: yuan { cite \"a  b\" from 2018-01-01: 4400 } // note";
        let b = "param x:yuan {\n  cite \"a  b\"\n  from 2018-01-01 : 4400\n}\n";
        assert_eq!(content_hash(a), content_hash(b));
    }

    #[test]
    fn any_token_change_changes_the_hash() {
        let a = "param x: yuan { from 2018-01-01: 4400 }";
        let b = "param x: yuan { from 2018-01-01: 4401 }";
        let c = "param x: yuan { cite \"a b\" }";
        let d = "param x: yuan { cite \"a  b\" }";
        assert_ne!(content_hash(a), content_hash(b));
        assert_ne!(content_hash(c), content_hash(d));
    }

    #[test]
    fn period_ranges_with_and_without_spaces_agree() {
        let a = "policy p { in_force 2016-01-01..2020-12-31 }";
        let b = "policy p {\n  in_force 2016-01-01 .. 2020-12-31\n}";
        assert_eq!(canonical(a), canonical(b));
        assert_eq!(content_hash(a), content_hash(b));
        assert_eq!(canonical("in_force 2016-01-01 ..}"), "in_force 2016 - 01 - 01 .. }");
    }

    #[test]
    fn comment_markers_inside_strings_are_text() {
        let a = "cite \"http://x // y\" from 2018-01-01: 1";
        let b = "cite \"http://x // y\" from 2018-01-01: 2";
        assert_ne!(content_hash(a), content_hash(b));
        assert!(canonical(a).contains("http://x // y"));
    }

    #[test]
    fn numbers_and_paths_are_compared_as_written() {
        assert_ne!(content_hash("from 2018-01-01: 4400"), content_hash("from 2018-01-01: 4400.0"));
        assert_ne!(content_hash("m.labour"), content_hash("m labour"));
        assert_eq!(canonical("a<=b"), canonical("a < = b"));
    }

    #[test]
    fn unterminated_strings_and_odd_input_do_not_panic() {
        for s in ["\"abc", "//", "..", ".", "\\", "\"\\", "a..b.c", "\u{3000}全角\u{3000}"] {
            let _ = content_hash(s);
        }
    }
}
