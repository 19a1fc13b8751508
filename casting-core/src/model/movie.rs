//! A movie, the input that creates one and the input that changes one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::invalid::{InvalidField, MAX_TEXT_CHARS, check_text};
use super::json::{Fields, JsonBody, empty_patch, missing};
use crate::ReleaseDate;

/// A movie as stored and as sent on the wire:
/// `{"id": 1, "title": "Universe", "release_date": "Wed, 13 Oct 2010 00:00:00 GMT", "actors": [2]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Movie {
    /// Positive, assigned in increasing order, never reused.
    pub id: u64,
    /// The title, as given.
    pub title: String,
    /// The day of release.
    pub release_date: ReleaseDate,
    /// The ids of the actors cast in it, ascending.
    pub actors: Vec<u64>,
}

/// What creates a movie: `{"title": str, "release": date}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMovie {
    /// Non-empty after trimming, at most 200 characters.
    pub title: String,
    /// The day of release; `release_date` is accepted as another name.
    #[serde(alias = "release_date")]
    pub release: ReleaseDate,
}

/// What changes a movie: any non-empty subset of [`NewMovie`]'s fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoviePatch {
    /// A new title, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A new release date, if given.
    #[serde(
        default,
        alias = "release_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub release: Option<ReleaseDate>,
}

const FIELDS: [&str; 3] = ["title", "release", "release_date"];

impl NewMovie {
    /// Reads a request body, naming the field of any fault.
    ///
    /// # Errors
    /// When the body is not an object, a field is unknown, missing or of
    /// the wrong type, or a value breaks a rule of [`NewMovie::validate`].
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
        let title = fields.string("title")?.ok_or_else(|| missing("title"))?;
        let release = fields
            .date("release", "release_date")?
            .ok_or_else(|| missing("release"))?;
        let movie = NewMovie { title, release };
        movie.validate()?;
        Ok(movie)
    }

    /// Checks the rules of the contract.
    ///
    /// # Errors
    /// When the title is blank, longer than 200 characters or holds U+0000.
    pub fn validate(&self) -> Result<(), InvalidField> {
        check_text("title", &self.title, MAX_TEXT_CHARS)
    }
}

impl MoviePatch {
    /// Reads a request body, naming the field of any fault.
    ///
    /// # Errors
    /// As [`NewMovie::from_json`], and when no field is given.
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
        let patch = MoviePatch {
            title: fields.string("title")?,
            release: fields.date("release", "release_date")?,
        };
        patch.validate()?;
        Ok(patch)
    }

    /// Checks the rules of the contract.
    ///
    /// # Errors
    /// When no field is given, or a given one breaks [`NewMovie::validate`]'s rules.
    pub fn validate(&self) -> Result<(), InvalidField> {
        if self.title.is_none() && self.release.is_none() {
            return Err(empty_patch("title, release"));
        }
        match &self.title {
            Some(title) => check_text("title", title, MAX_TEXT_CHARS),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(result: Result<impl std::fmt::Debug, InvalidField>) -> String {
        result.unwrap_err().field.into_owned()
    }

    #[test]
    fn a_movie_serialises_to_the_contract_shape() {
        let movie = Movie {
            id: 1,
            title: "Universe".into(),
            release_date: "2010-10-13".parse().unwrap(),
            actors: vec![2],
        };
        assert_eq!(
            serde_json::to_value(&movie).unwrap(),
            json!({"id": 1, "title": "Universe", "release_date": "Wed, 13 Oct 2010 00:00:00 GMT", "actors": [2]})
        );
    }

    #[test]
    fn a_valid_body_is_read() {
        let movie = NewMovie::from_json(&json!({"title": "Up", "release": "2009-05-29"})).unwrap();
        assert_eq!(movie.title, "Up");
        assert_eq!(movie.release, "2009-05-29".parse().unwrap());
    }

    #[test]
    fn release_date_is_another_name_for_release() {
        let movie = NewMovie::from_json(
            &json!({"title": "Up", "release_date": "Fri, 29 May 2009 00:00:00 GMT"}),
        )
        .unwrap();
        assert_eq!(movie.release, "2009-05-29".parse().unwrap());
    }

    #[test]
    fn a_movie_read_back_can_be_sent_again() {
        let body = json!({"id": 7, "title": "Up", "release_date": "Fri, 29 May 2009 00:00:00 GMT", "actors": [1, 2]});
        assert!(NewMovie::from_json(&body).is_ok());
        assert!(MoviePatch::from_json(&body).is_ok());
    }

    #[test]
    fn missing_fields_are_named() {
        assert_eq!(
            field_of(NewMovie::from_json(&json!({"release": "2009-05-29"}))),
            "title"
        );
        assert_eq!(
            field_of(NewMovie::from_json(&json!({"title": "Up"}))),
            "release"
        );
    }

    #[test]
    fn wrong_types_are_named() {
        assert_eq!(
            field_of(NewMovie::from_json(
                &json!({"title": 5, "release": "2009-05-29"})
            )),
            "title"
        );
        assert_eq!(
            field_of(NewMovie::from_json(
                &json!({"title": "Up", "release": 2009})
            )),
            "release"
        );
        assert_eq!(
            field_of(NewMovie::from_json(
                &json!({"title": "Up", "release_date": "someday"})
            )),
            "release_date"
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        assert_eq!(
            field_of(NewMovie::from_json(
                &json!({"title": "Up", "release": "2009-05-29", "rating": 5})
            )),
            "rating"
        );
        assert_eq!(
            field_of(MoviePatch::from_json(&json!({"director": "x"}))),
            "director"
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_rejected() {
        assert_eq!(field_of(NewMovie::from_json(&json!([1, 2]))), "body");
        assert_eq!(field_of(MoviePatch::from_json(&json!("title"))), "body");
    }

    #[test]
    fn both_names_of_the_date_at_once_are_rejected() {
        let body = json!({"title": "Up", "release": "2009-05-29", "release_date": "2009-05-29"});
        assert_eq!(field_of(NewMovie::from_json(&body)), "release");
    }

    #[test]
    fn blank_and_long_titles_are_rejected() {
        assert_eq!(
            field_of(NewMovie::from_json(
                &json!({"title": "  ", "release": "2009-05-29"})
            )),
            "title"
        );
        let long = "x".repeat(201);
        assert_eq!(
            field_of(NewMovie::from_json(
                &json!({"title": long, "release": "2009-05-29"})
            )),
            "title"
        );
        assert!(
            NewMovie::from_json(&json!({"title": "x".repeat(200), "release": "2009-05-29"}))
                .is_ok()
        );
    }

    #[test]
    fn an_empty_patch_is_rejected() {
        assert_eq!(field_of(MoviePatch::from_json(&json!({}))), "body");
        assert_eq!(field_of(MoviePatch::from_json(&json!({"id": 3}))), "body");
    }

    #[test]
    fn a_partial_patch_is_read() {
        let patch = MoviePatch::from_json(&json!({"release": "2001-01-01"})).unwrap();
        assert_eq!(
            patch,
            MoviePatch {
                title: None,
                release: Some("2001-01-01".parse().unwrap())
            }
        );
        assert_eq!(
            field_of(MoviePatch::from_json(&json!({"title": ""}))),
            "title"
        );
    }

    #[test]
    fn inputs_serialise_as_the_server_reads_them() {
        let movie = NewMovie {
            title: "Up".into(),
            release: "2009-05-29".parse().unwrap(),
        };
        let back = NewMovie::from_json(&serde_json::to_value(&movie).unwrap()).unwrap();
        assert_eq!(back, movie);
        let patch = MoviePatch {
            title: Some("Down".into()),
            release: None,
        };
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!({"title": "Down"})
        );
    }
}
