//! Movies and actors as JSON, written straight into a buffer, byte for byte
//! what `serde_json` writes for their `Serialize` impls (a property test
//! holds the two together).
//!
//! Through serde, every key of every record is escaped at run time, and
//! each value passes through the serializer's state machine: an uncached
//! `GET /movies` of ten movies spent about 15K of its 67K instructions in
//! `serde_json::to_writer`, 8K of them escaping strings that are mostly
//! constant keys and ASCII dates. Here keys are literals, numbers go
//! through `itoa`, and only the free text (titles, names, genders) is
//! escaped.

use casting_core::{Actor, Movie};

/// A body that writes itself as compact JSON.
pub trait WriteJson {
    /// Appends the JSON text of `self` to `out`.
    fn write_json(&self, out: &mut Vec<u8>);
}

impl WriteJson for Movie {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":");
        number(out, self.id);
        out.extend_from_slice(b",\"title\":");
        string(out, &self.title);
        out.extend_from_slice(b",\"release_date\":\"");
        // Letters, digits, commas, colons and spaces: nothing to escape.
        out.extend_from_slice(&self.release_date.imf_fixdate());
        out.extend_from_slice(b"\",\"actors\":[");
        for (i, actor) in self.actors.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            number(out, *actor);
        }
        out.extend_from_slice(b"]}");
    }
}

impl WriteJson for Actor {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":");
        number(out, self.id);
        out.extend_from_slice(b",\"name\":");
        string(out, &self.name);
        out.extend_from_slice(b",\"age\":");
        number(out, u64::from(self.age));
        out.extend_from_slice(b",\"gender\":");
        string(out, &self.gender);
        out.extend_from_slice(b",\"movie_id\":");
        optional(out, self.movie_id);
        out.push(b'}');
    }
}

/// Appends `value` in decimal.
pub fn number(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Appends `value` in decimal, or `null`.
pub fn optional(out: &mut Vec<u8>, value: Option<u64>) {
    match value {
        Some(value) => number(out, value),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends `text` as a JSON string, escaped as `serde_json` escapes it: a
/// quote, a backslash and the control characters below U+0020 (the five
/// with a short form as `\b \t \n \f \r`, the rest as `\u00XX` in lower
/// case); everything else as it is.
pub fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The JSON text of `body`, for tests.
#[cfg(test)]
pub(crate) fn written(body: &impl WriteJson) -> String {
    let mut out = Vec::new();
    body.write_json(&mut out);
    String::from_utf8(out).expect("JSON text is UTF-8")
}

#[cfg(test)]
mod tests {
    use casting_core::ReleaseDate;
    use proptest::prelude::*;

    use super::*;

    fn date() -> impl Strategy<Value = ReleaseDate> {
        // Years 0001-9999 with every day of the month a month can have.
        (1i16..=9999, 1i8..=12, 1i8..=31).prop_filter_map("no such day", |(y, m, d)| {
            format!("{y:04}-{m:02}-{d:02}").parse().ok()
        })
    }

    /// Text with the characters that need escaping well represented.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[\\x00-\\x20\"\\\\/a\\x7f\u{e9}\u{2028}\u{1f600}]{0,12}",
        ]
    }

    proptest! {
        #[test]
        fn a_movie_is_written_as_serde_json_writes_it(
            id in any::<u64>(),
            title in text(),
            release_date in date(),
            actors in proptest::collection::vec(any::<u64>(), 0..5),
        ) {
            let movie = Movie { id, title, release_date, actors };
            prop_assert_eq!(written(&movie), serde_json::to_string(&movie).unwrap());
        }

        #[test]
        fn an_actor_is_written_as_serde_json_writes_it(
            id in any::<u64>(),
            name in text(),
            age in any::<u8>(),
            gender in text(),
            movie_id in proptest::option::of(any::<u64>()),
        ) {
            let actor = Actor { id, name, age, gender, movie_id };
            prop_assert_eq!(written(&actor), serde_json::to_string(&actor).unwrap());
        }
    }

    #[test]
    fn every_character_that_needs_escaping_is_escaped_as_serde_json_does() {
        let all: String = (0u8..0x80).map(char::from).collect();
        let mut out = Vec::new();
        string(&mut out, &all);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&all).unwrap()
        );
    }
}
