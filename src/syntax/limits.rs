//! Limits that keep the parser from exhausting memory or the stack.
//!
//! The file size and the nesting depth are checked before the grammar runs:
//! [`check_nesting`] is a cheap scan over the bytes (skipping strings and
//! comments the way the grammar does), so 100,000 nested parentheses give a
//! [`SyntaxErrorKind::TooDeep`] error instead of a stack overflow.
//! Identifier length, item count and the depth of the built expression tree
//! are checked while the AST is built.

use super::ast::Span;
use super::error::{SyntaxError, SyntaxErrorKind};

/// Largest accepted file, in bytes (4 MiB).
pub const MAX_FILE_SIZE: usize = 4 * 1024 * 1024;

/// Deepest accepted nesting of `( [ {`, `if` expressions and prefix
/// operators, as measured by [`check_nesting`].
pub const MAX_NESTING: usize = 64;

/// Deepest accepted expression tree (a chain `a + b + c + …` is as deep as it
/// is long).
pub const MAX_EXPR_DEPTH: usize = 256;

/// Longest accepted identifier, in characters.
pub const MAX_IDENT_LEN: usize = 128;

/// Most items (parameters, lets, tallies, programmes, rules, tests) in one file.
pub const MAX_ITEMS: usize = 10_000;

/// Rejects a file larger than [`MAX_FILE_SIZE`].
pub fn check_size(source: &str) -> Result<(), SyntaxError> {
    if source.len() > MAX_FILE_SIZE {
        return Err(SyntaxError::new(SyntaxErrorKind::FileTooLarge { size: source.len(), limit: MAX_FILE_SIZE }, Span::new(0, 0)));
    }
    Ok(())
}

/// Characters that make a line display differently from how it is read:
/// bidirectional controls (a right-to-left override reverses the rest of
/// the line on screen) and invisible zero-width characters (two names that
/// look alike but differ). None belongs in a policy.
pub const INVISIBLE: &[(char, &str)] = &[
    ('\u{061C}', "arabic letter mark"),
    ('\u{200B}', "zero width space"),
    ('\u{200C}', "zero width non-joiner"),
    ('\u{200D}', "zero width joiner"),
    ('\u{200E}', "left-to-right mark"),
    ('\u{200F}', "right-to-left mark"),
    ('\u{202A}', "left-to-right embedding"),
    ('\u{202B}', "right-to-left embedding"),
    ('\u{202C}', "pop directional formatting"),
    ('\u{202D}', "left-to-right override"),
    ('\u{202E}', "right-to-left override"),
    ('\u{2060}', "word joiner"),
    ('\u{2066}', "left-to-right isolate"),
    ('\u{2067}', "right-to-left isolate"),
    ('\u{2068}', "first strong isolate"),
    ('\u{2069}', "pop directional isolate"),
    ('\u{FEFF}', "zero width no-break space"),
];

/// The name of a bidirectional control or invisible character, if `c` is one.
pub fn invisible(c: char) -> Option<&'static str> {
    INVISIBLE.iter().find(|(i, _)| *i == c).map(|(_, n)| *n)
}

/// Rejects every bidirectional control and invisible character in
/// `source`, wherever it is (names, strings, comments, inline JSON); a byte
/// order mark at the very start is allowed.
pub fn check_invisible(source: &str) -> Result<(), Vec<SyntaxError>> {
    // Every character of [`INVISIBLE`] is encoded with a first byte of
    // 0xD8 (U+061C), 0xE2 (U+200B..U+2069) or 0xEF (U+FEFF); only those
    // characters are decoded and looked up (`memchr3` finds them: Chinese
    // text is full of 0xEF, the first byte of full-width punctuation).
    let bytes = source.as_bytes();
    let mut errors: Vec<SyntaxError> = Vec::new();
    let mut from = 0;
    while let Some(k) = bytes.get(from..).and_then(|rest| memchr::memchr3(0xD8, 0xE2, 0xEF, rest)) {
        let i = from + k;
        from = i + 1;
        // the second byte of every invisible character
        if !matches!((bytes[i], bytes.get(i + 1)), (0xD8, Some(0x9C)) | (0xE2, Some(0x80 | 0x81)) | (0xEF, Some(0xBB))) {
            continue;
        }
        let Some(c) = source.get(i..).and_then(|r| r.chars().next()) else { continue };
        if i == 0 && c == '\u{FEFF}' {
            continue;
        }
        if let Some(name) = invisible(c) {
            errors.push(SyntaxError::new(SyntaxErrorKind::InvisibleChar { code: c as u32, name }, Span::new(i, i + c.len_utf8())));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// [`WORD`] of ASCII letters, digits and `_`.
const ALNUM: u8 = 1;
/// [`WORD`] of the bytes of non-ASCII characters.
const HIGH: u8 = 2;

/// The bytes a word of [`check_nesting`] is made of: ASCII letters, digits
/// and `_` ([`ALNUM`]), and every byte of a non-ASCII character ([`HIGH`]).
static WORD: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_alphanumeric() || b == b'_' {
            ALNUM
        } else if b >= 0x80 {
            HIGH
        } else {
            0
        };
        c += 1;
    }
    t
};

/// Nesting state of one bracket level.
#[derive(Default)]
struct Level {
    /// `if` expressions opened at this level whose end has not been seen.
    ifs: usize,
    /// `not` operators whose operand has not ended. `not` binds looser than
    /// comparisons and arithmetic, so its operand runs on to the next `and`,
    /// `or`, `then`, `else` or the end of the expression (`not a == not a ==
    /// …` nests one level per link).
    nots: usize,
    /// Prefix `-` operators whose operand has not ended: at the next infix
    /// operator other than `at`, which binds tighter (`-1 at -1 at …` nests
    /// one level per link), or the end of the expression.
    negs: usize,
    /// `case` expressions opened at this level whose `{` has not been seen
    /// (the scrutinee of `case case case … x {…} {…}` nests without a
    /// bracket).
    cases: usize,
}

/// Scans the bytes of `source` and rejects nesting deeper than
/// [`MAX_NESTING`].
///
/// The measure bounds the recursion of the grammar and of the expression
/// builder: every bracket level, every `if` (an `else if` continues a chain
/// and does not count), every `case` until its `{` and every prefix operator
/// until its operand ends counts one (see [`Level`]). An `if`
/// stops counting at the end of its expression, which the scan approximates
/// by `,` `:` `=` `=>`, a closing bracket, or a word that cannot continue an
/// expression after an operand (`let`, `then eligible …`); `<=` `>=` `!=`
/// and `==` are operators and end nothing. Strings end at the end of their
/// line, as in the grammar.
pub fn check_nesting(source: &str) -> Result<(), SyntaxError> {
    let bytes = source.as_bytes();
    let mut levels: Vec<Level> = vec![Level::default()];
    // Sum of `ifs + nots + negs + cases` over all levels.
    let mut pending = 0usize;
    // The previous token ends an operand (a name, literal or closing bracket).
    let mut after_operand = false;
    // The previous token was the word `else`.
    let mut after_else = false;
    let mut i = 0;
    let too_deep =
        |depth: usize, at: usize| SyntaxError::new(SyntaxErrorKind::TooDeep { depth, limit: MAX_NESTING }, Span::new(at, at + 1));
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let mut was_else = false;
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i += memchr::memchr2(b'\n', b'\r', &bytes[i..]).unwrap_or(bytes.len() - i);
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() {
                    // the plain run of the string at once
                    i += string_stop(&bytes[i..]).unwrap_or(bytes.len() - i);
                    if i >= bytes.len() {
                        break;
                    }
                    match bytes[i] {
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' | b'\r' => break,
                        b'\\' => match bytes.get(i + 1) {
                            Some(b'\n' | b'\r') | None => {
                                i += 1;
                                break;
                            }
                            Some(_) => i += 2,
                        },
                        _ => i += 1,
                    }
                }
                after_operand = true;
            }
            b'(' | b'[' | b'{' => {
                i += 1;
                // the `{` of the innermost pending `case` ends its scrutinee
                // (the brace level counts in its place)
                if b == b'{' {
                    if let Some(level) = levels.last_mut().filter(|l| l.cases > 0) {
                        level.cases -= 1;
                        pending = pending.saturating_sub(1);
                    }
                }
                levels.push(Level::default());
                let depth = levels.len() - 1 + pending;
                if depth > MAX_NESTING {
                    return Err(too_deep(depth, start));
                }
                after_operand = false;
            }
            b')' | b']' | b'}' => {
                i += 1;
                if levels.len() > 1 {
                    if let Some(level) = levels.pop() {
                        pending = pending.saturating_sub(level.ifs + level.nots + level.negs + level.cases);
                    }
                }
                after_operand = true;
            }
            b',' | b':' => {
                i += 1;
                end_expression(&mut levels, &mut pending);
                after_operand = false;
            }
            b'=' => {
                if bytes.get(i + 1) == Some(&b'=') {
                    i += 2;
                    infix_operator(&mut levels, &mut pending);
                } else {
                    // `=` and `=>` end the expression before them.
                    i += if bytes.get(i + 1) == Some(&b'>') { 2 } else { 1 };
                    end_expression(&mut levels, &mut pending);
                }
                after_operand = false;
            }
            b'-' if !after_operand => {
                i += 1;
                if let Some(level) = levels.last_mut() {
                    level.negs += 1;
                }
                pending += 1;
                let depth = levels.len() - 1 + pending;
                if depth > MAX_NESTING {
                    return Err(too_deep(depth, start));
                }
            }
            b'0'..=b'9' => {
                while bytes.get(i).is_some_and(|&c| WORD[usize::from(c)] == ALNUM) {
                    i += 1;
                }
                after_operand = true;
            }
            b'%' => {
                // After a number: still an operand.
                i += 1;
            }
            b'+' | b'*' | b'/' | b'<' | b'>' | b'!' | b'-' => {
                // infix operators (a `-` after an operand), with `<=` `>=`
                // `!=` as one operator
                i += if matches!(b, b'<' | b'>' | b'!') && bytes.get(i + 1) == Some(&b'=') { 2 } else { 1 };
                infix_operator(&mut levels, &mut pending);
                after_operand = false;
            }
            _ if b == b'_' || b.is_ascii_alphabetic() || b >= 0x80 => {
                while bytes.get(i).is_some_and(|&c| WORD[usize::from(c)] != 0) {
                    i += 1;
                }
                let word = &bytes[start..i];
                match word {
                    b"if" => {
                        if !after_else {
                            if let Some(level) = levels.last_mut() {
                                level.ifs += 1;
                            }
                            pending += 1;
                            let depth = levels.len() - 1 + pending;
                            if depth > MAX_NESTING {
                                return Err(too_deep(depth, start));
                            }
                        }
                        after_operand = false;
                    }
                    b"case" => {
                        if let Some(level) = levels.last_mut() {
                            level.cases += 1;
                        }
                        pending += 1;
                        let depth = levels.len() - 1 + pending;
                        if depth > MAX_NESTING {
                            return Err(too_deep(depth, start));
                        }
                        after_operand = false;
                    }
                    b"not" => {
                        if let Some(level) = levels.last_mut() {
                            level.nots += 1;
                        }
                        pending += 1;
                        let depth = levels.len() - 1 + pending;
                        if depth > MAX_NESTING {
                            return Err(too_deep(depth, start));
                        }
                        after_operand = false;
                    }
                    b"and" | b"or" | b"then" | b"else" => {
                        // end the operands of the `not`s and `-`s before
                        was_else = word == b"else";
                        if let Some(level) = levels.last_mut() {
                            pending = pending.saturating_sub(level.nots + level.negs);
                            level.nots = 0;
                            level.negs = 0;
                        }
                        after_operand = false;
                    }
                    b"in" | b"at" | b"where" | b"from" => {
                        after_operand = false;
                    }
                    _ => {
                        if after_operand {
                            // A word after an operand that is not an operator
                            // starts something new.
                            end_expression(&mut levels, &mut pending);
                        }
                        after_operand = true;
                    }
                }
            }
            _ => {
                // Other punctuation (`.`) and stray bytes.
                i += 1;
                after_operand = false;
            }
        }
        after_else = was_else;
    }
    Ok(())
}

/// The first `"`, `\\`, `\n` or `\r` of `rest`: where the plain run of a
/// string ends.
fn string_stop(rest: &[u8]) -> Option<usize> {
    let stop = memchr::memchr3(b'"', b'\\', b'\n', rest);
    let run = rest.get(..stop.unwrap_or(rest.len())).unwrap_or_default();
    memchr::memchr(b'\r', run).or(stop)
}

/// An infix operator other than `and`, `or` and `at`: the operands of the
/// `-`s before it have ended (those of the `not`s have not).
fn infix_operator(levels: &mut [Level], pending: &mut usize) {
    if let Some(level) = levels.last_mut() {
        *pending = pending.saturating_sub(level.negs);
        level.negs = 0;
    }
}

/// The expression at the current level has ended.
fn end_expression(levels: &mut [Level], pending: &mut usize) {
    if let Some(level) = levels.last_mut() {
        *pending = pending.saturating_sub(level.ifs + level.nots + level.negs + level.cases);
        level.ifs = 0;
        level.cases = 0;
        level.nots = 0;
        level.negs = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The characters [`check_invisible`] reports, found one by one.
    fn reference(source: &str) -> Vec<(usize, char)> {
        source.char_indices().filter(|(i, c)| invisible(*c).is_some() && !(*i == 0 && *c == '\u{FEFF}')).collect()
    }

    #[test]
    fn every_invisible_character_is_found_wherever_it_is() {
        // neighbours of the invisible characters (same first bytes) and full-width punctuation
        let others = [
            '\u{061B}', '\u{061D}', '\u{200A}', '\u{2010}', '\u{2028}', '\u{2030}', '\u{205F}', '\u{206A}', '\u{FEFE}', '\u{FF0C}', '收',
            'a',
        ];
        let mut text = String::from("\u{FEFF}");
        for (i, (c, _)) in INVISIBLE.iter().enumerate() {
            text.push(others[i % others.len()]);
            text.push(*c);
            text.push_str("，x");
        }
        let found: Vec<(usize, char)> = match check_invisible(&text) {
            Ok(()) => Vec::new(),
            Err(errors) => errors
                .iter()
                .map(|e| (e.span.start as usize, text.get(e.span.start as usize..).and_then(|r| r.chars().next()).unwrap_or('?')))
                .collect(),
        };
        assert_eq!(found, reference(&text));
        assert_eq!(found.len(), INVISIBLE.len());
        let clean: String = others.iter().collect();
        assert_eq!(check_invisible(&clean), Ok(()));
    }
}
