//! Bytes as hex and back: the one hex formatter of the inspector, the app and `wsi`.

use std::fmt::Write as _;

/// A classic hex dump: offset, 16 bytes in hex, and the printable ASCII.
pub fn hex_dump(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 4 + 16);
    for (row, chunk) in data.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", row * 16);
        for i in 0..16 {
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if i == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        out.extend(chunk.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    out
}

/// Bytes as compact hex: `48 65 6c`.
pub fn hex_string(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 3);
    for (i, b) in data.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Parses hex such as `48 65 6c 6c 6f`, `48656c6c6f`, `0x48, 0x65`; whitespace, commas and
/// `0x` prefixes are ignored.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut digits = Vec::with_capacity(text.len());
    let cleaned = text.replace("0x", " ").replace("0X", " ");
    for (i, c) in cleaned.chars().enumerate() {
        if c.is_whitespace() || c == ',' || c == ':' {
            continue;
        }
        match c.to_digit(16) {
            Some(d) => digits.push(d as u8),
            None => return Err(format!("{c:?} (character {}) is not a hex digit", i + 1)),
        }
    }
    if digits.len() % 2 != 0 {
        return Err(format!(
            "an odd number of hex digits ({}): each byte needs two",
            digits.len()
        ));
    }
    Ok(digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

/// Bytes as lowercase hex with nothing between them: `48656c`.
pub fn hex_compact(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(parse_hex("48 65 6C, 0x6c 6f").unwrap(), b"Hello");
        assert_eq!(parse_hex("").unwrap(), b"");
        assert!(parse_hex("4").unwrap_err().contains("odd"));
        assert!(parse_hex("zz").unwrap_err().contains("not a hex digit"));
        assert_eq!(hex_string(b"Hi"), "48 69");
        assert_eq!(hex_compact(&[0, 0xab, 0xff]), "00abff");
    }

    #[test]
    fn hex_dump_layout() {
        let dump = hex_dump(b"0123456789abcdefXY");
        let lines: Vec<&str> = dump.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("00000000  30 31"));
        assert!(lines[0].ends_with("0123456789abcdef"));
        assert!(lines[1].starts_with("00000010  58 59"));
    }
}
