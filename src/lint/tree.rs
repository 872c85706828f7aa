//! A document tree where every node knows its byte range, for JSON and YAML inputs: findings
//! about an OCI config or a Kubernetes manifest point at the exact value.
//!
//! JSON is read by a small parser here (serde_json keeps no positions). YAML is read with
//! `saphyr` (saphyr-rs, the maintained successor of yaml-rust/yaml-rust2 by the same
//! maintainers): a YAML 1.2 loader whose `MarkedYamlOwned` nodes carry start and end markers
//! and which loads multi-document streams. serde_yaml is archived and its forks
//! (serde_yaml_ng, serde_yml) expose positions only in errors; serde-saphyr needs Rust 1.89.

use saphyr::{LoadableYamlNode, MarkedYamlOwned, ScalarOwned, YamlDataOwned};
use std::ops::Range;

/// A value of a JSON or YAML document.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A value and its byte range in the source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub range: Range<usize>,
}

impl Node {
    /// A mapping's value by key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A mapping's key node by key (to point at `hostPID:` rather than at `true`).
    pub fn key(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(k, _)| k),
            _ => None,
        }
    }

    /// Follows a path of keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, k| node.get(k))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }
}

/// A parse error at a byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeError {
    pub offset: usize,
    pub message: String,
}

/// Parses one JSON document.
pub fn parse_json(text: &str) -> Result<Node, TreeError> {
    let mut p = Json { s: text.as_bytes(), text, pos: 0, depth: 0 };
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(p.err("trailing characters after the JSON document"));
    }
    Ok(v)
}

struct Json<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Json<'_> {
    fn err(&self, message: &str) -> TreeError {
        TreeError { offset: self.pos, message: message.to_string() }
    }

    fn ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Node, TreeError> {
        self.depth += 1;
        if self.depth > 256 {
            return Err(self.err("JSON nested too deeply"));
        }
        let start = self.pos;
        let value = match self.s.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.s.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                } else {
                    loop {
                        self.ws();
                        if self.s.get(self.pos) != Some(&b'"') {
                            return Err(self.err("expected a string key"));
                        }
                        let key = self.value()?;
                        self.ws();
                        if self.s.get(self.pos) != Some(&b':') {
                            return Err(self.err("expected `:`"));
                        }
                        self.pos += 1;
                        self.ws();
                        let v = self.value()?;
                        entries.push((key, v));
                        self.ws();
                        match self.s.get(self.pos) {
                            Some(b',') => self.pos += 1,
                            Some(b'}') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.err("expected `,` or `}`")),
                        }
                    }
                }
                Value::Map(entries)
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                } else {
                    loop {
                        self.ws();
                        items.push(self.value()?);
                        self.ws();
                        match self.s.get(self.pos) {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.err("expected `,` or `]`")),
                        }
                    }
                }
                Value::Seq(items)
            }
            Some(b'"') => Value::Str(self.string()?),
            Some(b't') if self.s[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                Value::Bool(true)
            }
            Some(b'f') if self.s[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                Value::Bool(false)
            }
            Some(b'n') if self.s[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                Value::Null
            }
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                while self.pos < self.s.len() && matches!(self.s[self.pos], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    self.pos += 1;
                }
                let t = &self.text[start..self.pos];
                match t.parse::<i64>() {
                    Ok(i) => Value::Int(i),
                    Err(_) => match t.parse::<u64>() {
                        // Seccomp values above i64::MAX keep their bits.
                        Ok(u) => Value::Int(u as i64),
                        Err(_) => {
                            Value::Float(t.parse().map_err(|_| TreeError { offset: start, message: format!("invalid number `{t}`") })?)
                        }
                    },
                }
            }
            _ => return Err(self.err("expected a JSON value")),
        };
        self.depth -= 1;
        Ok(Node { value, range: start..self.pos })
    }

    fn string(&mut self) -> Result<String, TreeError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else { return Err(self.err("unterminated string")) };
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let esc = self.s.get(self.pos + 1).copied();
                    self.pos += 2;
                    match esc {
                        Some(b'n') => out.push('\n'),
                        Some(b't') => out.push('\t'),
                        Some(b'r') => out.push('\r'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'u') => {
                            let hex = self.text.get(self.pos..self.pos + 4).ok_or_else(|| self.err("bad \\u escape"))?;
                            let n = u32::from_str_radix(hex, 16).map_err(|_| self.err("bad \\u escape"))?;
                            out.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                            self.pos += 4;
                        }
                        Some(c) => out.push(c as char),
                        None => return Err(self.err("unterminated string")),
                    }
                }
                _ => {
                    let ch = self.text[self.pos..].chars().next().unwrap_or('\u{fffd}');
                    out.push(ch);
                    self.pos += ch.len_utf8();
                }
            }
        }
    }
}

/// Parses every document of a YAML stream.
pub fn parse_yaml(text: &str) -> Result<Vec<Node>, TreeError> {
    // saphyr's markers count characters; map them to byte offsets.
    let mut byte_at: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    byte_at.push(text.len());
    let to_byte = |chars: usize| byte_at.get(chars).copied().unwrap_or(text.len());
    let docs = MarkedYamlOwned::load_from_str(text)
        .map_err(|e| TreeError { offset: to_byte(e.marker().index()), message: e.info().to_string() })?;
    fn convert(n: &MarkedYamlOwned, to_byte: &dyn Fn(usize) -> usize, depth: usize) -> Node {
        let range = to_byte(n.span.start.index())..to_byte(n.span.end.index()).max(to_byte(n.span.start.index()));
        let value = if depth > 256 {
            Value::Null
        } else {
            match &n.data {
                YamlDataOwned::Value(s) => match s {
                    ScalarOwned::Null => Value::Null,
                    ScalarOwned::Boolean(b) => Value::Bool(*b),
                    ScalarOwned::Integer(i) => Value::Int(*i),
                    ScalarOwned::FloatingPoint(f) => Value::Float(f.into_inner()),
                    ScalarOwned::String(s) => Value::Str(s.clone()),
                },
                YamlDataOwned::Representation(s, ..) => Value::Str(s.clone()),
                YamlDataOwned::Sequence(items) => Value::Seq(items.iter().map(|i| convert(i, to_byte, depth + 1)).collect()),
                YamlDataOwned::Mapping(map) => {
                    Value::Map(map.iter().map(|(k, v)| (convert(k, to_byte, depth + 1), convert(v, to_byte, depth + 1))).collect())
                }
                YamlDataOwned::Tagged(_, inner) => return convert(inner, to_byte, depth + 1),
                _ => Value::Null,
            }
        };
        Node { value, range }
    }
    Ok(docs.iter().map(|d| convert(d, &to_byte, 0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_nodes_know_their_ranges() {
        let text = "{\n  \"a\": [1, \"x\\\"y\"],\n  \"b\": {\"c\": true}\n}";
        let n = parse_json(text).unwrap();
        let a = n.get("a").unwrap();
        assert_eq!(&text[a.range.clone()], "[1, \"x\\\"y\"]");
        assert_eq!(a.as_seq()[1].as_str(), Some("x\"y"));
        assert_eq!(n.path(&["b", "c"]).unwrap().as_bool(), Some(true));
        assert_eq!(&text[n.key("b").unwrap().range.clone()], "\"b\"");
        assert!(parse_json("{\"a\": }").is_err());
        assert_eq!(parse_json("18446744073709551615").unwrap().value, Value::Int(-1));
    }

    #[test]
    fn yaml_documents_and_ranges() {
        let text = "apiVersion: v1\nkind: Pod\n---\nkind: Deployment\nspec:\n  hostPID: true\n  é: 1\n";
        let docs = parse_yaml(text).unwrap();
        assert_eq!(docs.len(), 2);
        let host = docs[1].path(&["spec", "hostPID"]).unwrap();
        assert_eq!(host.as_bool(), Some(true));
        assert_eq!(&text[host.range.clone()], "true");
        assert_eq!(&text[docs[1].get("spec").unwrap().key("é").unwrap().range.clone()], "é");
        assert!(parse_yaml("a: [1,\n").is_err());
    }
}
