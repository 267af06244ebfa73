//! CloudFront's URL-safe base64 and botocore's JSON string escaping.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Standard base64 with `+`→`-`, `=`→`_`, `/`→`~`, as CloudFront requires.
pub fn encode(bytes: &[u8]) -> String {
    let mut text = STANDARD.encode(bytes);
    // Safe in place: every replacement is one ASCII byte for another.
    text = text.replace('+', "-").replace('=', "_").replace('/', "~");
    text
}

/// The inverse of [`encode`]. Characters outside CloudFront's alphabet
/// (including the standard `+`, `/`, `=`) are refused, not tolerated.
pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let mut standard = String::with_capacity(text.len());
    for (offset, c) in text.char_indices() {
        standard.push(match c {
            '-' => '+',
            '_' => '=',
            '~' => '/',
            'A'..='Z' | 'a'..='z' | '0'..='9' => c,
            other => return Err(base64::DecodeError::InvalidByte(offset, other as u8)),
        });
    }
    STANDARD.decode(standard)
}

/// Appends `s` as a JSON string the way Python's `json.dumps` writes it with
/// its default `ensure_ascii=True` (what botocore uses): printable ASCII as
/// is, `"` and `\` escaped, control characters as `\n`-style or `\u00XX`, and
/// everything else as lowercase `\uXXXX` UTF-16 units.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_uses_cloudfronts_alphabet_both_ways() {
        let bytes = [0xfbu8, 0xff, 0xbf, 0x00];
        let encoded = encode(&bytes);
        assert_eq!(encoded, "-~-~AA__");
        assert_eq!(decode(&encoded).unwrap(), bytes);
        assert!(decode("+/+/AA==").is_err(), "the standard alphabet is not CloudFront's");
        assert!(decode("ab c").is_err());
    }

    #[test]
    fn json_strings_are_escaped_like_python() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c/é☃😀\u{7f}\n");
        assert_eq!(out, r#""a\"b\\c/\u00e9\u2603\ud83d\ude00\u007f\n""#);
    }
}
