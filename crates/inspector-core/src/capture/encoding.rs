//! Byte encodings for the capture's JSON: base64 for payloads and DER, lowercase hex for mask
//! keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serializer};

/// Serde `with` module: bytes as standard base64 with padding.
pub(super) mod base64_bytes {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(data: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(data))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Serde `with` module: optional bytes as base64, `null` for none.
pub(super) mod base64_option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        data: &Option<Vec<u8>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match data {
            Some(data) => serializer.serialize_some(&STANDARD.encode(data)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            Some(text) => STANDARD
                .decode(text)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

/// Serde `with` module: a mask key as 8 lowercase hex digits, `null` for an unmasked frame.
pub(super) mod mask_hex {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        mask: &Option<[u8; 4]>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match mask {
            Some(key) => serializer.serialize_some(&format!(
                "{:02x}{:02x}{:02x}{:02x}",
                key[0], key[1], key[2], key[3]
            )),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<[u8; 4]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        let bad = || serde::de::Error::custom(format!("a mask key is 8 hex digits, not {text:?}"));
        if text.len() != 8 || !text.is_ascii() {
            return Err(bad());
        }
        let mut key = [0u8; 4];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Some(key))
    }
}
