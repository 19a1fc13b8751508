//! An actor, the input that creates one and the input that changes one.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::invalid::{InvalidField, MAX_GENDER_CHARS, MAX_TEXT_CHARS, check_age, check_text};
use super::json::{Fields, JsonBody, empty_patch, missing};

/// An actor as stored and as sent on the wire:
/// `{"id": 1, "name": "Robert Downey Jr", "age": 44, "gender": "Male", "movie_id": 2}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Positive, assigned in increasing order, never reused.
    pub id: u64,
    /// The name, as given.
    pub name: String,
    /// From 0 to 150.
    pub age: u8,
    /// Free text, as given.
    pub gender: String,
    /// The movie the actor is cast in, or `None` (`null`).
    pub movie_id: Option<u64>,
}

/// What creates an actor: `{"name": str, "age": int, "gender": str, "movie_id": int or null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewActor {
    /// Non-empty after trimming, at most 200 characters.
    pub name: String,
    /// From 0 to 150.
    pub age: u8,
    /// Non-empty after trimming, at most 64 characters.
    pub gender: String,
    /// The movie to cast the actor in, which must exist; `None` casts in none.
    #[serde(default)]
    pub movie_id: Option<u64>,
}

/// What changes an actor: any non-empty subset of [`NewActor`]'s fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorPatch {
    /// A new name, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new age, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<u8>,
    /// A new gender, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    /// `Some(Some(id))` casts the actor in that movie, `Some(None)` (`null`
    /// on the wire) takes it off its movie, `None` leaves it as it is.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub movie_id: Option<Option<u64>>,
}

/// Tells a field given as `null` from an absent one.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(deserializer).map(Some)
}

const FIELDS: [&str; 4] = ["name", "age", "gender", "movie_id"];

fn check(name: Option<&str>, age: Option<u8>, gender: Option<&str>) -> Result<(), InvalidField> {
    if let Some(name) = name {
        check_text("name", name, MAX_TEXT_CHARS)?;
    }
    if let Some(age) = age {
        check_age(age)?;
    }
    if let Some(gender) = gender {
        check_text("gender", gender, MAX_GENDER_CHARS)?;
    }
    Ok(())
}

impl NewActor {
    /// Reads a request body, naming the field of any fault.
    ///
    /// # Errors
    /// When the body is not an object, a field is unknown, missing or of
    /// the wrong type, or a value breaks a rule of [`NewActor::validate`].
    /// Whether `movie_id` names an existing movie is the store's to say.
    pub fn from_json(body: &Value) -> Result<Self, InvalidField> {
        Self::from_body(&JsonBody::from_value(body))
    }

    /// Reads a request body, as [`Self::from_json`] does, from its text
    /// read by [`JsonBody::parse`].
    ///
    /// # Errors
    /// As [`Self::from_json`].
    pub fn from_body(body: &JsonBody<'_>) -> Result<Self, InvalidField> {
        let fields = Fields::new(body, &FIELDS)?;
        let actor = NewActor {
            name: fields.string("name")?.ok_or_else(|| missing("name"))?,
            age: fields.age("age")?.ok_or_else(|| missing("age"))?,
            gender: fields.string("gender")?.ok_or_else(|| missing("gender"))?,
            movie_id: fields.nullable_id("movie_id")?.flatten(),
        };
        actor.validate()?;
        Ok(actor)
    }

    /// Checks the rules of the contract.
    ///
    /// # Errors
    /// When the name or gender is blank, too long or holds U+0000, or the age
    /// is above 150.
    pub fn validate(&self) -> Result<(), InvalidField> {
        check(Some(&self.name), Some(self.age), Some(&self.gender))
    }
}

impl ActorPatch {
    /// Reads a request body, naming the field of any fault.
    ///
    /// # Errors
    /// As [`NewActor::from_json`], and when no field is given.
    pub fn from_json(body: &Value) -> Result<Self, InvalidField> {
        Self::from_body(&JsonBody::from_value(body))
    }

    /// Reads a request body, as [`Self::from_json`] does, from its text
    /// read by [`JsonBody::parse`].
    ///
    /// # Errors
    /// As [`Self::from_json`].
    pub fn from_body(body: &JsonBody<'_>) -> Result<Self, InvalidField> {
        let fields = Fields::new(body, &FIELDS)?;
        if fields.is_empty() {
            return Err(empty_patch("name, age, gender, movie_id"));
        }
        let patch = ActorPatch {
            name: fields.string("name")?,
            age: fields.age("age")?,
            gender: fields.string("gender")?,
            movie_id: fields.nullable_id("movie_id")?,
        };
        patch.validate()?;
        Ok(patch)
    }

    /// Checks the rules of the contract.
    ///
    /// # Errors
    /// When no field is given, or a given one breaks [`NewActor::validate`]'s rules.
    pub fn validate(&self) -> Result<(), InvalidField> {
        if self.name.is_none()
            && self.age.is_none()
            && self.gender.is_none()
            && self.movie_id.is_none()
        {
            return Err(empty_patch("name, age, gender, movie_id"));
        }
        check(self.name.as_deref(), self.age, self.gender.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(result: Result<impl std::fmt::Debug, InvalidField>) -> String {
        result.unwrap_err().field.into_owned()
    }

    fn body() -> Value {
        json!({"name": "Robert Downey Jr", "age": 44, "gender": "Male"})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut b = body();
        b[key] = value;
        b
    }

    #[test]
    fn an_actor_serialises_to_the_contract_shape() {
        let actor = Actor {
            id: 1,
            name: "Robert Downey Jr".into(),
            age: 44,
            gender: "Male".into(),
            movie_id: None,
        };
        assert_eq!(
            serde_json::to_value(&actor).unwrap(),
            json!({"id": 1, "name": "Robert Downey Jr", "age": 44, "gender": "Male", "movie_id": null})
        );
    }

    #[test]
    fn movie_id_is_optional_on_create() {
        assert_eq!(NewActor::from_json(&body()).unwrap().movie_id, None);
        assert_eq!(
            NewActor::from_json(&with("movie_id", Value::Null))
                .unwrap()
                .movie_id,
            None
        );
        assert_eq!(
            NewActor::from_json(&with("movie_id", json!(3)))
                .unwrap()
                .movie_id,
            Some(3)
        );
    }

    #[test]
    fn an_actor_read_back_can_be_sent_again() {
        let back = json!({"id": 1, "name": "A", "age": 44, "gender": "Male", "movie_id": null});
        assert!(NewActor::from_json(&back).is_ok());
        assert!(ActorPatch::from_json(&back).is_ok());
    }

    #[test]
    fn each_missing_field_is_named() {
        for field in ["name", "age", "gender"] {
            let mut b = body();
            b.as_object_mut().unwrap().remove(field);
            assert_eq!(field_of(NewActor::from_json(&b)), field);
        }
    }

    #[test]
    fn ages_outside_the_range_or_not_integers_are_rejected() {
        for age in [
            json!(-1),
            json!(151),
            json!(1000),
            json!(44.5),
            json!("44"),
            json!(true),
            Value::Null,
        ] {
            assert_eq!(
                field_of(NewActor::from_json(&with("age", age.clone()))),
                "age",
                "{age}"
            );
        }
        assert!(NewActor::from_json(&with("age", json!(0))).is_ok());
        assert!(NewActor::from_json(&with("age", json!(150))).is_ok());
    }

    #[test]
    fn bad_texts_are_named() {
        assert_eq!(
            field_of(NewActor::from_json(&with("name", json!(" ")))),
            "name"
        );
        assert_eq!(
            field_of(NewActor::from_json(&with("name", json!("x".repeat(201))))),
            "name"
        );
        assert_eq!(
            field_of(NewActor::from_json(&with("gender", json!("")))),
            "gender"
        );
        assert_eq!(
            field_of(NewActor::from_json(&with("gender", json!("x".repeat(65))))),
            "gender"
        );
        assert!(NewActor::from_json(&with("gender", json!("x".repeat(64)))).is_ok());
        assert_eq!(
            field_of(NewActor::from_json(&with("gender", json!(1)))),
            "gender"
        );
    }

    #[test]
    fn bad_movie_ids_are_named() {
        for id in [json!(0), json!(-3), json!("1"), json!(1.5), json!([1])] {
            assert_eq!(
                field_of(NewActor::from_json(&with("movie_id", id.clone()))),
                "movie_id",
                "{id}"
            );
        }
    }

    #[test]
    fn unknown_fields_are_named() {
        assert_eq!(
            field_of(NewActor::from_json(&with("height", json!(180)))),
            "height"
        );
    }

    #[test]
    fn a_patch_tells_null_from_absent() {
        assert_eq!(
            ActorPatch::from_json(&json!({"movie_id": null}))
                .unwrap()
                .movie_id,
            Some(None)
        );
        assert_eq!(
            ActorPatch::from_json(&json!({"movie_id": 4}))
                .unwrap()
                .movie_id,
            Some(Some(4))
        );
        assert_eq!(
            ActorPatch::from_json(&json!({"age": 4})).unwrap().movie_id,
            None
        );
    }

    #[test]
    fn an_empty_patch_is_rejected() {
        assert_eq!(field_of(ActorPatch::from_json(&json!({}))), "body");
        assert_eq!(field_of(ActorPatch::from_json(&json!({"id": 1}))), "body");
        assert_eq!(field_of(ActorPatch::default().validate()), "body");
    }

    #[test]
    fn patch_serde_round_trips_null() {
        let patch = ActorPatch {
            movie_id: Some(None),
            ..ActorPatch::default()
        };
        let value = serde_json::to_value(&patch).unwrap();
        assert_eq!(value, json!({"movie_id": null}));
        assert_eq!(serde_json::from_value::<ActorPatch>(value).unwrap(), patch);
        assert_eq!(
            ActorPatch::from_json(&serde_json::to_value(&patch).unwrap()).unwrap(),
            patch
        );
    }
}
