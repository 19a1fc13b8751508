//! Field-by-field reading of request bodies, so that every fault names the
//! field it is in: a wrong type, a missing required field, an unknown one.

use serde_json::{Map, Value};

use super::invalid::{InvalidField, age_error};
use crate::ReleaseDate;

/// Fields a client may send back from a record it read; they are ignored.
const READ_ONLY: [&str; 2] = ["id", "actors"];

/// The fields of a JSON object body, each to be taken once.
pub(crate) struct Fields<'a> {
    object: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    /// Reads `body` as an object whose keys are all in `known` (or
    /// read-only ones).
    pub(crate) fn new(body: &'a Value, known: &[&str]) -> Result<Self, InvalidField> {
        let object = body
            .as_object()
            .ok_or_else(|| InvalidField::new("body", "must be a JSON object"))?;
        if let Some(unknown) = object
            .keys()
            .find(|key| !known.contains(&key.as_str()) && !READ_ONLY.contains(&key.as_str()))
        {
            return Err(InvalidField::new(unknown.clone(), "is not a known field"));
        }
        Ok(Fields { object })
    }

    /// Whether the body has nothing but read-only fields.
    pub(crate) fn is_empty(&self) -> bool {
        self.object
            .keys()
            .all(|key| READ_ONLY.contains(&key.as_str()))
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.object.get(field)
    }

    pub(crate) fn string(&self, field: &'static str) -> Result<Option<String>, InvalidField> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(InvalidField::new(field, "must be a string")),
        }
    }

    pub(crate) fn age(&self, field: &'static str) -> Result<Option<u8>, InvalidField> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|age| u8::try_from(age).ok())
                .map(Some)
                .ok_or_else(age_error),
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
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(id) if id > 0 => Ok(Some(Some(id))),
                _ => Err(InvalidField::new(
                    field,
                    "must be the id of an existing movie",
                )),
            },
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
        let text = value
            .as_str()
            .ok_or_else(|| InvalidField::new(name, "must be a date string"))?;
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
