//! Content hashes of policy texts over a canonical form: comments and
//! whitespace do not change the hash; any change of a token does.

use sha2::{Digest, Sha256};

/// The canonical form: tokens separated by single spaces, comments dropped.
pub fn canonical(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let push_sep = |out: &mut String| {
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    };
    while let Some((_, c)) = chars.next() {
        if c == '/' && chars.peek().is_some_and(|(_, n)| *n == '/') {
            for (_, n) in chars.by_ref() {
                if n == '\n' {
                    break;
                }
            }
            push_sep(&mut out);
            continue;
        }
        if c.is_whitespace() {
            push_sep(&mut out);
            continue;
        }
        if c == '"' {
            push_sep(&mut out);
            out.push('"');
            let mut escaped = false;
            for (_, n) in chars.by_ref() {
                out.push(n);
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
        if c.is_alphanumeric() || c == '_' || c == '.' {
            out.push(c);
            if !chars.peek().is_some_and(|(_, n)| n.is_alphanumeric() || *n == '_' || *n == '.') {
                push_sep(&mut out);
            }
            continue;
        }
        push_sep(&mut out);
        out.push(c);
        push_sep(&mut out);
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
}
