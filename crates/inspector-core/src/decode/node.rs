//! [`Node`]: a decoded value as a tree a view can show — maps with their keys in order,
//! arrays, scalars, bytes, and the values only some formats have (MessagePack extension
//! types, CBOR tags and simple values, protobuf fields the schema does not name) kept by
//! number.
//!
//! Three ways out: [`Node::to_json`] ("copy as JSON"), [`Node::summary`] (one line of at most
//! a given length, for a log preview) and [`Node::text`] (the same line in full, for a
//! filter).

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// How long [`Node::summary`] makes a line by default, in characters.
pub const SUMMARY_LEN: usize = 160;

/// A decoded value.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// JSON `null`, MessagePack nil, CBOR null.
    Null,
    /// CBOR `undefined` (simple value 23).
    Undefined,
    /// A boolean.
    Bool(bool),
    /// An integer (every format's integers fit: CBOR's reach −2⁶⁴ … 2⁶⁴−1).
    Int(i128),
    /// A floating-point number.
    Float(f64),
    /// A text string.
    String(String),
    /// A byte string (MessagePack bin, CBOR bytes, protobuf `bytes`, a Socket.IO
    /// attachment).
    Bytes(Vec<u8>),
    /// An array, in order.
    Array(Vec<Node>),
    /// A map, its entries in the order they came (keys need not be strings).
    Map(Vec<(Node, Node)>),
    /// A MessagePack extension value: its type number and its bytes.
    Ext {
        /// The extension type (−128 … 127; negative types are reserved by the spec, −1 is
        /// the timestamp).
        type_id: i8,
        /// The extension's bytes.
        data: Vec<u8>,
    },
    /// A CBOR tagged value: the tag number and the value it tags.
    Tag {
        /// The tag number (1 epoch time, 2/3 bignums, 32 URI, …).
        tag: u64,
        /// The value tagged.
        value: Box<Node>,
    },
    /// A CBOR simple value other than false, true, null and undefined.
    Simple(u8),
    /// Only as a [`Map`](Node::Map) key: a protobuf field the schema does not name, by its
    /// number (its value is what the wire format alone says: an integer or bytes).
    FieldNumber(u32),
}

/// Where a child sits in its parent, for a tree view's row label.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Label<'a> {
    /// An array element.
    Index(usize),
    /// A map entry, by its key.
    Key(&'a Node),
    /// A tagged value's content.
    Tagged,
}

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Index(i) => write!(f, "[{i}]"),
            Self::Key(Node::String(s)) => f.write_str(s),
            Self::Key(key) => f.write_str(&key.summary(SUMMARY_LEN)),
            Self::Tagged => f.write_str("value"),
        }
    }
}

impl Node {
    /// A string node.
    pub fn string(s: impl Into<String>) -> Self {
        Self::String(s.into())
    }

    /// The value of the entry of this map whose key is the string `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Self::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Node::String(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// This string's text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, for a tree view's type column: `map`, `array`, `string`,
    /// `bytes`, `int`, `float`, `bool`, `null`, `undefined`, `ext`, `tag`, `simple` or
    /// `field`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Undefined => "undefined",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Float(_) => "float",
            Self::String(_) => "string",
            Self::Bytes(_) => "bytes",
            Self::Array(_) => "array",
            Self::Map(_) => "map",
            Self::Ext { .. } => "ext",
            Self::Tag { .. } => "tag",
            Self::Simple(_) => "simple",
            Self::FieldNumber(_) => "field",
        }
    }

    /// The children a tree view expands: array elements, map entries (the value, labelled
    /// by its key), a tag's value. Scalars, bytes and extension values have none.
    pub fn children(&self) -> Vec<(Label<'_>, &Node)> {
        match self {
            Self::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| (Label::Index(i), n))
                .collect(),
            Self::Map(entries) => entries.iter().map(|(k, v)| (Label::Key(k), v)).collect(),
            Self::Tag { value, .. } => vec![(Label::Tagged, value)],
            _ => Vec::new(),
        }
    }

    /// The value as JSON on one line ("copy as JSON"). Bytes become base64 strings,
    /// integers beyond 64 bits decimal strings, map keys that are not strings their
    /// [`text`](Self::text), an extension value `{"ext": TYPE, "data": BASE64}`, a tag
    /// `{"tag": N, "value": …}`, a simple value `{"simple": N}`, undefined `null`.
    pub fn to_json(&self) -> String {
        // Serializing a tree of owned values into a String cannot fail (no map key is
        // refused: every key is written as a string).
        serde_json::to_string(self).unwrap_or_default()
    }

    /// [`to_json`](Self::to_json), indented.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// One line of at most `max_chars` characters (an ellipsis `…` ends a line cut short):
    /// JSON-like, with CBOR diagnostic notation for what JSON lacks (`h'00ff'` bytes,
    /// `1(…)` tags, `undefined`, `simple(16)`), `ext(TYPE, h'…')` for MessagePack
    /// extensions and `#N` for protobuf field numbers. Stops walking the tree as soon as
    /// the line is full, so a summary of a large value costs little.
    pub fn summary(&self, max_chars: usize) -> String {
        let mut line = Line::new(max_chars);
        // `Err` only says the line is full.
        let _ = line.node(self);
        line.finish()
    }

    /// The whole one-line text of [`summary`](Self::summary), never cut: what a filter
    /// searches.
    pub fn text(&self) -> String {
        self.summary(usize::MAX)
    }
}

/// A line being written, with its room left.
struct Line {
    out: String,
    /// Characters still allowed.
    room: usize,
    cut: bool,
    /// Where numbers are written before they are pushed (no allocation per number).
    scratch: String,
}

/// The line is full.
struct Full;

impl Line {
    fn new(max_chars: usize) -> Self {
        Self {
            out: String::with_capacity(max_chars.min(256)),
            room: max_chars,
            cut: false,
            scratch: String::with_capacity(32),
        }
    }

    fn push(&mut self, s: &str) -> Result<(), Full> {
        // ASCII that fits: one copy (the common case: numbers, keys, punctuation).
        if s.len() <= self.room && s.is_ascii() {
            self.out.push_str(s);
            self.room -= s.len();
            return Ok(());
        }
        for c in s.chars() {
            if self.room == 0 {
                self.cut = true;
                return Err(Full);
            }
            self.out.push(c);
            self.room -= 1;
        }
        Ok(())
    }

    fn finish(mut self) -> String {
        if self.cut {
            // Room for the ellipsis: drop the last character written.
            self.out.pop();
            self.out.push('…');
        }
        self.out
    }

    fn node(&mut self, node: &Node) -> Result<(), Full> {
        match node {
            Node::Null => self.push("null"),
            Node::Undefined => self.push("undefined"),
            Node::Bool(b) => self.push(if *b { "true" } else { "false" }),
            Node::Int(i) => self.number(format_args!("{i}")),
            Node::Float(f) => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                write_float(&mut scratch, *f);
                let pushed = self.push(&scratch);
                self.scratch = scratch;
                pushed
            }
            Node::String(s) => self.string(s),
            Node::Bytes(b) => self.bytes(b),
            Node::Array(items) => {
                self.push("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.push(",")?;
                    }
                    self.node(item)?;
                }
                self.push("]")
            }
            Node::Map(entries) => {
                self.push("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.push(",")?;
                    }
                    self.node(k)?;
                    self.push(":")?;
                    self.node(v)?;
                }
                self.push("}")
            }
            Node::Ext { type_id, data } => {
                self.push(&format!("ext({type_id}, "))?;
                self.bytes(data)?;
                self.push(")")
            }
            Node::Tag { tag, value } => {
                self.push(&format!("{tag}("))?;
                self.node(value)?;
                self.push(")")
            }
            Node::Simple(n) => self.push(&format!("simple({n})")),
            Node::FieldNumber(n) => self.push(&format!("#{n}")),
        }
    }

    fn number(&mut self, args: std::fmt::Arguments<'_>) -> Result<(), Full> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let _ = scratch.write_fmt(args);
        let pushed = self.push(&scratch);
        self.scratch = scratch;
        pushed
    }

    fn string(&mut self, s: &str) -> Result<(), Full> {
        self.push("\"")?;
        for c in s.chars() {
            match c {
                '"' => self.push("\\\"")?,
                '\\' => self.push("\\\\")?,
                '\n' => self.push("\\n")?,
                '\r' => self.push("\\r")?,
                '\t' => self.push("\\t")?,
                c if c.is_control() => self.push(&format!("\\u{:04x}", c as u32))?,
                c => self.push(c.encode_utf8(&mut [0; 4]))?,
            }
        }
        self.push("\"")
    }

    fn bytes(&mut self, b: &[u8]) -> Result<(), Full> {
        self.push("h'")?;
        let mut two = String::with_capacity(2);
        for byte in b {
            two.clear();
            let _ = write!(two, "{byte:02x}");
            self.push(&two)?;
        }
        self.push("'")
    }
}

/// A float as JSON would write it, with `.0` kept for whole numbers (so 1.0 is not shown
/// as the integer 1) and NaN and the infinities by name.
fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else if f != 0.0 && !(1e-5..1e16).contains(&f.abs()) {
        let _ = write!(out, "{f:e}");
    } else if f == f.trunc() {
        let _ = write!(out, "{f:.1}");
    } else {
        let _ = write!(out, "{f}");
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null | Node::Undefined => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Int(i) => {
                if let Ok(v) = i64::try_from(*i) {
                    s.serialize_i64(v)
                } else if let Ok(v) = u64::try_from(*i) {
                    s.serialize_u64(v)
                } else {
                    s.serialize_str(&i.to_string())
                }
            }
            Node::Float(f) => s.serialize_f64(*f),
            Node::String(text) => s.serialize_str(text),
            Node::Bytes(b) => s.serialize_str(&STANDARD.encode(b)),
            Node::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    match k {
                        Node::String(key) => map.serialize_entry(key, v)?,
                        Node::FieldNumber(n) => map.serialize_entry(&n.to_string(), v)?,
                        other => map.serialize_entry(&other.text(), v)?,
                    }
                }
                map.end()
            }
            Node::Ext { type_id, data } => {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("ext", type_id)?;
                map.serialize_entry("data", &STANDARD.encode(data))?;
                map.end()
            }
            Node::Tag { tag, value } => {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("tag", tag)?;
                map.serialize_entry("value", value)?;
                map.end()
            }
            Node::Simple(n) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("simple", n)?;
                map.end()
            }
            Node::FieldNumber(n) => s.serialize_u32(*n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Node {
        Node::Map(vec![
            (Node::string("z"), Node::Int(1)),
            (
                Node::string("a"),
                Node::Array(vec![Node::Bool(true), Node::Null]),
            ),
            (Node::Int(7), Node::Bytes(vec![0, 0xff])),
            (
                Node::string("t"),
                Node::Tag {
                    tag: 1,
                    value: Box::new(Node::Float(1.5)),
                },
            ),
            (
                Node::string("e"),
                Node::Ext {
                    type_id: 5,
                    data: vec![1],
                },
            ),
            (Node::FieldNumber(9), Node::Int(-3)),
        ])
    }

    #[test]
    fn json_keeps_the_key_order_and_names_what_json_lacks() {
        assert_eq!(
            sample().to_json(),
            r#"{"z":1,"a":[true,null],"7":"AP8=","t":{"tag":1,"value":1.5},"e":{"ext":5,"data":"AQ=="},"9":-3}"#
        );
        assert_eq!(
            Node::Int(u64::MAX as i128 + 1).to_json(),
            "\"18446744073709551616\""
        );
    }

    #[test]
    fn summary_is_one_line_cut_with_an_ellipsis() {
        let full = sample().text();
        assert_eq!(
            full,
            r#"{"z":1,"a":[true,null],7:h'00ff',"t":1(1.5),"e":ext(5, h'01'),#9:-3}"#
        );
        let short = sample().summary(10);
        assert_eq!(short.chars().count(), 10);
        assert!(short.ends_with('…'));
        assert!(full.starts_with(short.trim_end_matches('…')));
        assert_eq!(Node::string("a\nb").summary(80), r#""a\nb""#);
        assert_eq!(Node::Float(2.0).text(), "2.0");
    }

    #[test]
    fn children_label_rows() {
        let node = sample();
        let rows: Vec<String> = node
            .children()
            .iter()
            .map(|(label, _)| label.to_string())
            .collect();
        assert_eq!(rows, ["z", "a", "7", "t", "e", "#9"]);
        assert_eq!(node.get("a").map(Node::kind), Some("array"));
    }
}
