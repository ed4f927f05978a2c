//! JSON text into a [`Node`], with the keys of each object in the order written (serde_json's
//! own `Value` sorts them), and errors at the byte where the text stops being JSON.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::error::DecodeError;
use super::node::Node;

/// Decodes one JSON text (surrounding whitespace allowed, nothing after it).
pub fn decode(text: &str) -> Result<Node, DecodeError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let node = Node::deserialize_json(&mut de).map_err(|e| json_error(text, &e))?;
    de.end().map_err(|e| json_error(text, &e))?;
    Ok(node)
}

/// A serde_json error as a [`DecodeError`] at the byte its line and column point to.
pub(crate) fn json_error(text: &str, error: &serde_json::Error) -> DecodeError {
    // At the end of the input, serde_json points at the last character read: the error
    // is where more was needed.
    let offset = if error.is_eof() {
        text.len()
    } else {
        offset_of(text, error.line(), error.column())
    };
    DecodeError::new(offset, json_reason(error))
}

/// A serde_json error's words without its "at line L column C" (given as an offset or a
/// position instead).
pub(crate) fn json_reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The byte offset of serde_json's 1-based `line` and byte `column` (0 at the end of
/// input on a line) in `text`.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}

impl Node {
    /// Reads a [`Node`] from any serde deserializer of self-describing data, keeping map
    /// order.
    pub(crate) fn deserialize_json<'de, D: Deserializer<'de>>(de: D) -> Result<Node, D::Error> {
        NodeSeed.deserialize(de)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        NodeSeed.deserialize(de)
    }
}

struct NodeSeed;

impl<'de> DeserializeSeed<'de> for NodeSeed {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Node, D::Error> {
        de.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Node, D::Error> {
        NodeSeed.deserialize(de)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Bytes(v.to_vec()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(NodeSeed)? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(key) = map.next_key_seed(NodeSeed)? {
            let value = map.next_value_seed(NodeSeed)?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order() {
        let node = decode(r#" {"b": 1, "a": [1.5, "x", null, true], "c": {"z": -2}} "#).unwrap();
        assert_eq!(
            node.to_json(),
            r#"{"b":1,"a":[1.5,"x",null,true],"c":{"z":-2}}"#
        );
    }

    #[test]
    fn errors_point_at_the_byte() {
        let e = decode("{\"a\": 1,\n \"b\": x}").unwrap_err();
        assert_eq!(e.offset, 15, "{e}");
        assert_eq!(&"{\"a\": 1,\n \"b\": x}"[e.offset..], "x}");
        let e = decode("[1, 2").unwrap_err();
        assert_eq!(e.offset, 5, "{e}");
        let e = decode("1 2").unwrap_err();
        assert_eq!(e.offset, 2, "{e}: trailing characters");
    }
}
