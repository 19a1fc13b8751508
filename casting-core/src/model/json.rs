//! Field-by-field reading of request bodies, so that every fault names the
//! field it is in: a wrong type, a missing required field, an unknown one.
//!
//! A body is read straight from its text into [`JsonBody`], a flat list of
//! its fields with the little each one's reader needs, rather than into a
//! [`serde_json::Value`] tree first: building and dropping that tree's
//! map and strings cost about 4K of the 100K instructions of a whole
//! `POST /actors`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::invalid::{InvalidField, age_error};
use crate::ReleaseDate;

/// Fields a client may send back from a record it read; they are ignored.
const READ_ONLY: [&str; 2] = ["id", "actors"];

/// A request body as the inputs read it: the fields of a JSON object, or
/// the fact that the body is some other JSON value.
///
/// A key given twice keeps its last value, as a JSON object read into a
/// map does.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonBody<'a> {
    /// The object's fields sorted by key, each key once; `None` when the
    /// body is not an object.
    object: Option<Vec<(Cow<'a, str>, Scalar<'a>)>>,
}

/// A field's value, kept only as far as a reader can use it.
#[derive(Debug, Clone, PartialEq)]
enum Scalar<'a> {
    Null,
    /// A non-negative integer.
    Unsigned(u64),
    /// Any other number: negative, or with a fraction or an exponent.
    OtherNumber,
    String(Cow<'a, str>),
    /// A boolean, an array or an object: no field takes one.
    Other,
}

impl<'a> JsonBody<'a> {
    /// Reads a body from its text, borrowing the strings that hold no
    /// escapes.
    ///
    /// # Errors
    /// When the text is not one JSON value, or holds a number no `f64` can
    /// hold (as [`serde_json::from_slice`] into a [`Value`] refuses it).
    pub fn parse(text: &'a [u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(text)
    }

    /// The body that `value` is.
    pub fn from_value(value: &'a Value) -> Self {
        // A map of the object iterates its keys sorted, each once.
        let object = value.as_object().map(|map| {
            map.iter()
                .map(|(key, value)| (Cow::Borrowed(key.as_str()), Scalar::of(value)))
                .collect()
        });
        JsonBody { object }
    }
}

impl<'a> Scalar<'a> {
    fn of(value: &'a Value) -> Self {
        match value {
            Value::Null => Scalar::Null,
            Value::Number(n) => n.as_u64().map_or(Scalar::OtherNumber, Scalar::Unsigned),
            Value::String(s) => Scalar::String(Cow::Borrowed(s)),
            Value::Bool(_) | Value::Array(_) | Value::Object(_) => Scalar::Other,
        }
    }
}

impl<'de> Deserialize<'de> for JsonBody<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BodyVisitor)
    }
}

/// Reads the top-level value: an object's fields, or anything else whole,
/// so that a body that is not JSON is refused as such whatever its shape.
struct BodyVisitor;

/// A body that is valid JSON but not an object.
fn not_object<'a, E>() -> Result<JsonBody<'a>, E> {
    Ok(JsonBody { object: None })
}

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = JsonBody<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields: Vec<(Cow<'de, str>, Scalar<'de>)> = Vec::with_capacity(4);
        while let Some(Key(key)) = map.next_key()? {
            fields.push((key, map.next_value()?));
        }
        // Sorted rather than checked against every field before it, which
        // took quadratic time over a body of thousands of keys. Reversed
        // first, so the stable sort puts a repeated key's last value first
        // among its copies, and that one is kept.
        fields.reverse();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields.dedup_by(|later, kept| later.0 == kept.0);
        Ok(JsonBody {
            object: Some(fields),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq)?;
        not_object()
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        not_object()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        not_object()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        not_object()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        not_object()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        not_object()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        not_object()
    }
}

/// Reads the rest of an array or an object that no field takes, as a
/// [`Value`] would, so that a number out of range inside it is refused
/// just the same.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<Value>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<Key<'de>, Value>()?.is_some() {}
    Ok(())
}

/// An object's key, borrowed from the text unless it holds an escape.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(key)))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(key.to_owned())))
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(key)))
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Unsigned(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(n).map_or(Scalar::OtherNumber, Scalar::Unsigned))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Scalar::OtherNumber)
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::String(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Scalar::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Scalar::String(Cow::Owned(s)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq)?;
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map)?;
        Ok(Scalar::Other)
    }
}

/// The fields of a JSON object body, each to be taken once.
pub(crate) struct Fields<'b, 'a> {
    object: &'b [(Cow<'a, str>, Scalar<'a>)],
}

impl<'b, 'a> Fields<'b, 'a> {
    /// Reads `body` as an object whose keys are all in `known` (or
    /// read-only ones). Of several unknown keys, the first in sorted order
    /// is named, as a map of the object would list them.
    pub(crate) fn new(body: &'b JsonBody<'a>, known: &[&str]) -> Result<Self, InvalidField> {
        let object = body
            .object
            .as_deref()
            .ok_or_else(|| InvalidField::new("body", "must be a JSON object"))?;
        if let Some(unknown) = object
            .iter()
            .map(|(key, _)| key.as_ref())
            .filter(|key| !known.contains(key) && !READ_ONLY.contains(key))
            .min()
        {
            return Err(InvalidField::new(
                unknown.to_owned(),
                "is not a known field",
            ));
        }
        Ok(Fields { object })
    }

    /// Whether the body has nothing but read-only fields.
    pub(crate) fn is_empty(&self) -> bool {
        self.object
            .iter()
            .all(|(key, _)| READ_ONLY.contains(&key.as_ref()))
    }

    fn get(&self, field: &str) -> Option<&'b Scalar<'a>> {
        self.object
            .iter()
            .find(|(key, _)| key == field)
            .map(|(_, value)| value)
    }

    pub(crate) fn string(&self, field: &'static str) -> Result<Option<String>, InvalidField> {
        match self.get(field) {
            None => Ok(None),
            Some(Scalar::String(s)) => Ok(Some(s.as_ref().to_owned())),
            Some(_) => Err(InvalidField::new(field, "must be a string")),
        }
    }

    pub(crate) fn age(&self, field: &'static str) -> Result<Option<u8>, InvalidField> {
        match self.get(field) {
            None => Ok(None),
            Some(Scalar::Unsigned(age)) => u8::try_from(*age).map(Some).map_err(|_| age_error()),
            Some(_) => Err(age_error()),
        }
    }

    /// An id or `null`; `Some(None)` is an explicit `null`.
    pub(crate) fn nullable_id(
        &self,
        field: &'static str,
    ) -> Result<Option<Option<u64>>, InvalidField> {
        match self.get(field) {
            None => Ok(None),
            Some(Scalar::Null) => Ok(Some(None)),
            Some(Scalar::Unsigned(id)) if *id > 0 => Ok(Some(Some(*id))),
            Some(Scalar::Unsigned(_) | Scalar::OtherNumber) => Err(InvalidField::new(
                field,
                "must be the id of an existing movie",
            )),
            Some(_) => Err(InvalidField::new(field, "must be an integer id or null")),
        }
    }

    /// A date under `field` or under its other name `alias`, not both.
    pub(crate) fn date(
        &self,
        field: &'static str,
        alias: &'static str,
    ) -> Result<Option<ReleaseDate>, InvalidField> {
        let (name, value) = match (self.get(field), self.get(alias)) {
            (Some(_), Some(_)) => {
                return Err(InvalidField::new(
                    field,
                    format!("give either {field} or {alias}, not both"),
                ));
            }
            (Some(value), None) => (field, value),
            (None, Some(value)) => (alias, value),
            (None, None) => return Ok(None),
        };
        let Scalar::String(text) = value else {
            return Err(InvalidField::new(name, "must be a date string"));
        };
        text.parse()
            .map(Some)
            .map_err(|e: crate::ReleaseDateError| InvalidField::new(name, e.to_string()))
    }
}

/// The error of a required field that is absent.
pub(crate) fn missing(field: &'static str) -> InvalidField {
    InvalidField::new(field, "is required")
}

/// The error of a patch that changes nothing.
pub(crate) fn empty_patch(fields: &str) -> InvalidField {
    InvalidField::new("body", format!("give at least one of {fields}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A body's fields in sorted order, as a map of it would hold them.
    fn sorted(body: JsonBody<'_>) -> Option<Vec<(String, Scalar<'static>)>> {
        body.object.map(|fields| {
            let mut owned: Vec<_> = fields
                .into_iter()
                .map(|(key, value)| {
                    let value = match value {
                        Scalar::String(s) => Scalar::String(Cow::Owned(s.into_owned())),
                        Scalar::Null => Scalar::Null,
                        Scalar::Unsigned(n) => Scalar::Unsigned(n),
                        Scalar::OtherNumber => Scalar::OtherNumber,
                        Scalar::Other => Scalar::Other,
                    };
                    (key.into_owned(), value)
                })
                .collect();
            owned.sort_by(|a, b| a.0.cmp(&b.0));
            owned
        })
    }

    /// Reading the text directly and reading it through a [`Value`] agree:
    /// on whether it is JSON at all, and on every field.
    fn agree(text: &str) {
        let direct = JsonBody::parse(text.as_bytes());
        let through = serde_json::from_str::<Value>(text);
        match (direct, &through) {
            (Ok(direct), Ok(value)) => assert_eq!(
                sorted(direct),
                sorted(JsonBody::from_value(value)),
                "{text}"
            ),
            (Err(_), Err(_)) => {}
            (direct, through) => panic!("{text}: {direct:?} but {through:?}"),
        }
    }

    #[test]
    fn text_and_value_read_alike() {
        for text in [
            r#"{"name": "A", "age": 30, "gender": "F"}"#,
            r#"{"n\u0061me": "\u00e9\n", "age": 3.0, "movie_id": null}"#,
            r#"{"age": -1, "movie_id": 18446744073709551616, "x": 1e5}"#,
            r#"{"name": "first", "name": "last"}"#,
            r#"{"actors": [1, {"a": [true, null]}], "id": 7, "b": false}"#,
            r#"{"title": ["x", 1e400]}"#,
            r#"{"id": 1e400}"#,
            r#"[1, 2, {"a": 1}]"#,
            r#"[1e400]"#,
            r#""text""#,
            "null",
            "true",
            "12",
            "-1.5",
            "{}",
            "",
            "{",
            r#"{"a": 1,}"#,
            r#"{"a": 1} x"#,
            r#"{"a": "\ud800"}"#,
            "  {\"a\"\t:\n1 }  ",
        ] {
            agree(text);
        }
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![Just("name".to_owned()), Just("age".to_owned()), ".{0,4}"],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_reads_alike(value in json(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&value)
            } else {
                serde_json::to_string(&value)
            };
            agree(&text.unwrap());
        }
    }

    #[test]
    fn the_first_unknown_key_in_sorted_order_is_named() {
        let body = JsonBody::parse(br#"{"zeta": 1, "beta": 2, "name": "A", "id": 3}"#).unwrap();
        let refused = Fields::new(&body, &["name"]).err().unwrap();
        assert_eq!(refused.field, "beta");
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let body = JsonBody::parse(br#"{"name": "first", "name": "last"}"#).unwrap();
        let fields = Fields::new(&body, &["name"]).unwrap();
        assert_eq!(fields.string("name").unwrap().as_deref(), Some("last"));
    }

    #[test]
    fn a_body_of_many_keys_keeps_each_once_sorted() {
        let mut text = String::from("{");
        for i in (0..20_000).rev() {
            text.push_str(&format!("\"k{i}\": {i}, \"k{i}\": {},", i + 1));
        }
        text.push_str("\"name\": \"A\"}");
        let body = JsonBody::parse(text.as_bytes()).unwrap();
        let object = body.object.as_deref().unwrap();
        assert_eq!(object.len(), 20_001);
        assert!(object.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert!(
            object
                .iter()
                .any(|(k, v)| k == "k7" && *v == Scalar::Unsigned(8))
        );
        let refused = Fields::new(&body, &["name"]).err().unwrap();
        assert_eq!(refused.field, "k0");
        agree(&text);
    }

    #[test]
    fn unescaped_strings_are_borrowed() {
        let body = JsonBody::parse(br#"{"name": "plain", "gender": "esc\u0061ped"}"#).unwrap();
        let object = body.object.unwrap();
        let value = |key: &str| &object.iter().find(|(k, _)| k == key).unwrap().1;
        assert!(matches!(
            value("name"),
            Scalar::String(Cow::Borrowed("plain"))
        ));
        assert!(matches!(value("gender"), Scalar::String(Cow::Owned(s)) if s == "escaped"));
    }
}
