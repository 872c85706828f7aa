//! Lexical pieces of the AppArmor language, as nom parsers over `&str` (parser_lex.l):
//! whitespace and `#` comments (but not `#include`), identifiers with their odd comma rule,
//! quoted strings, keywords, and a cursor that turns remaining input into byte offsets.

use nom::branch::alt;
use nom::bytes::complete::{escaped, is_not, tag, take_while, take_while1};
use nom::character::complete::{char, line_ending, not_line_ending, one_of, satisfy};
use nom::combinator::{not, opt, peek, recognize};
use nom::multi::many0_count;
use nom::sequence::{delimited, pair, preceded};
use nom::IResult;

/// Characters that end an identifier (ID_CHARS is their complement).
const ID_STOP: &str = " \t\r\n\"!,";

fn is_id_char(c: char) -> bool {
    !ID_STOP.contains(c)
}

/// A `#` comment to the end of the line; `#include` is a directive, not a comment.
pub fn comment(i: &str) -> IResult<&str, &str> {
    recognize(pair(pair(char('#'), not(tag("include"))), not_line_ending))(i)
}

/// Blanks, newlines and comments.
pub fn ws(i: &str) -> IResult<&str, usize> {
    many0_count(alt((take_while1(|c: char| c == ' ' || c == '\t' || c == '\r' || c == '\n'), comment)))(i)
}

/// Blanks only (spaces and tabs), for the newline-terminated variable assignments.
pub fn blanks(i: &str) -> IResult<&str, &str> {
    take_while(|c: char| c == ' ' || c == '\t')(i)
}

/// A keyword or variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn word(i: &str) -> IResult<&str, &str> {
    recognize(pair(satisfy(|c| c.is_ascii_alphabetic() || c == '_'), take_while(|c: char| c.is_ascii_alphanumeric() || c == '_')))(i)
}

/// A keyword that stands alone: followed by a blank, newline, `,`, `(`, `=` or the end.
pub fn keyword(i: &str) -> IResult<&str, &str> {
    let (rest, w) = word(i)?;
    match rest.chars().next() {
        None => Ok((rest, w)),
        Some(c) if c.is_whitespace() || ",(=#".contains(c) => Ok((rest, w)),
        Some(_) => Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Tag))),
    }
}

/// An unquoted identifier (IDS): characters other than blanks, `"`, `!` and `,`, where a comma
/// belongs to the identifier when another identifier character follows it (`/{usr/,}bin`), and
/// a backslash escapes the next character. `extra_stop` adds terminators for modes whose
/// identifiers stop earlier (`=`, `)` in conditional lists).
pub fn ident<'a>(extra_stop: &'static str) -> impl FnMut(&'a str) -> IResult<&'a str, &'a str> {
    move |i: &'a str| {
        let mut end = 0;
        let bytes: Vec<(usize, char)> = i.char_indices().collect();
        let mut k = 0;
        while k < bytes.len() {
            let (at, c) = bytes[k];
            let stop = |c: char| !is_id_char(c) || extra_stop.contains(c);
            if c == '\\' {
                if let Some(&(_, next)) = bytes.get(k + 1) {
                    if next != '\n' {
                        k += 2;
                        end = bytes.get(k).map_or(i.len(), |&(a, _)| a);
                        continue;
                    }
                }
                break;
            }
            if c == ',' {
                match bytes.get(k + 1) {
                    Some(&(_, next)) if !stop(next) => {
                        k += 1;
                        end = bytes.get(k).map_or(i.len(), |&(a, _)| a);
                        continue;
                    }
                    _ => break,
                }
            }
            if stop(c) {
                break;
            }
            k += 1;
            end = bytes.get(k).map_or(i.len(), |&(a, _)| a);
            let _ = at;
        }
        if end == 0 {
            return Err(nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::TakeWhile1)));
        }
        Ok((&i[end..], &i[..end]))
    }
}

/// A double-quoted string; the value has `\"` and `\\` unescaped.
pub fn quoted(i: &str) -> IResult<&str, String> {
    let (rest, body) = delimited(char('"'), opt(escaped(is_not("\\\""), '\\', one_of("\"\\ntr!,#0123456789 abfv"))), char('"'))(i)?;
    Ok((rest, unescape(body.unwrap_or(""))))
}

/// Undoes the escapes the lexer keeps inside identifiers and quoted strings.
pub fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('"' | ' ' | '\t' | '!' | ',' | '#')) => out.push(n),
                // Glob escapes (`\*`, `\{`, `\\`) keep their backslash: they are part of the pattern.
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// An identifier or a quoted string, as most rule operands are written.
pub fn value<'a>(extra_stop: &'static str) -> impl FnMut(&'a str) -> IResult<&'a str, String> {
    move |i: &'a str| alt((quoted, |i| ident(extra_stop)(i).map(|(r, s)| (r, unescape(s)))))(i)
}

/// `<path>` (search path), `"path"` or a bare path, as `include` and `abi` take them.
pub fn include_target(i: &str) -> IResult<&str, (bool, String)> {
    fn bracket_body(i: &str) -> IResult<&str, String> {
        let (r, s) = is_not(">\t\r\n\"")(i)?;
        Ok((r, s.trim().to_string()))
    }
    fn bracketed(i: &str) -> IResult<&str, (bool, String)> {
        let (r, v) = delimited(char('<'), alt((quoted, bracket_body)), char('>'))(i)?;
        Ok((r, (true, v)))
    }
    fn in_quotes(i: &str) -> IResult<&str, (bool, String)> {
        let (r, v) = quoted(i)?;
        Ok((r, (false, v)))
    }
    fn bare(i: &str) -> IResult<&str, (bool, String)> {
        let (r, v) = is_not(" \t\r\n\"!,<>")(i)?;
        Ok((r, (false, v.to_string())))
    }
    alt((bracketed, in_quotes, bare))(i)
}

/// The rest of a line after a blank-separated token, for error context.
pub fn rest_of_line(i: &str) -> &str {
    i.split('\n').next().unwrap_or("")
}

/// A newline, or the end of input.
pub fn eol(i: &str) -> IResult<&str, ()> {
    if i.is_empty() {
        return Ok((i, ()));
    }
    let (r, _) = line_ending(i)?;
    Ok((r, ()))
}

/// `->`
pub fn arrow(i: &str) -> IResult<&str, &str> {
    preceded(peek(char('-')), tag("->"))(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_keep_inner_commas_and_escapes() {
        assert_eq!(ident("")("/usr/{bin,sbin}/foo r,").unwrap(), (" r,", "/usr/{bin,sbin}/foo"));
        assert_eq!(ident("")("/{usr/,}bin/x,\n").unwrap(), (",\n", "/{usr/,}bin/x"));
        assert_eq!(ident("")("rw,").unwrap(), (",", "rw"));
        assert_eq!(ident("")("/a\\ b r,").unwrap(), (" r,", "/a\\ b"));
        assert_eq!(ident("=)")("rw,bind)").unwrap(), (")", "rw,bind"));
        assert_eq!(quoted("\"/a b\\\"c\" r").unwrap(), (" r", "/a b\"c".to_string()));
        assert_eq!(include_target("<abstractions/base>\n").unwrap().1, (true, "abstractions/base".to_string()));
        assert_eq!(ws("  # c\n  #x\n\tfoo").unwrap().0, "foo");
        assert_eq!(ws("#include <x>").unwrap().0, "#include <x>");
    }
}
