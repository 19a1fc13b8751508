//! The error of an input that breaks a rule of the contract, naming the field.

use std::borrow::Cow;

/// An input field broke a validation rule.
///
/// The display form is `FIELD: REASON`, so a message always names the
/// field, as the contract requires of a 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidField {
    /// The field's name on the wire, such as `title` or `movie_id`; `body`
    /// when the fault is the body as a whole.
    pub field: Cow<'static, str>,
    /// What is wrong with it, lowercase and without a trailing period.
    pub reason: Cow<'static, str>,
}

impl InvalidField {
    /// An error for `field` with `reason`.
    pub fn new(field: impl Into<Cow<'static, str>>, reason: impl Into<Cow<'static, str>>) -> Self {
        InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The longest title or name accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// The longest gender accepted, in characters.
pub const MAX_GENDER_CHARS: usize = 64;
/// The oldest age accepted.
pub const MAX_AGE: u8 = 150;

/// Checks that `value` has something besides white space, at most `max`
/// characters and no U+0000.
pub(crate) fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), InvalidField> {
    if value.trim().is_empty() {
        return Err(InvalidField::new(field, "must not be empty"));
    }
    // No text field may hold U+0000: PostgreSQL's text type cannot, and
    // a store must keep whatever the other accepts.
    if value.contains('\0') {
        return Err(InvalidField::new(field, "must not contain U+0000"));
    }
    if value.chars().count() > max {
        return Err(InvalidField::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Checks that `age` is within 0 to [`MAX_AGE`].
pub(crate) fn check_age(age: u8) -> Result<(), InvalidField> {
    if age > MAX_AGE {
        return Err(age_error());
    }
    Ok(())
}

pub(crate) fn age_error() -> InvalidField {
    InvalidField::new("age", format!("must be an integer from 0 to {MAX_AGE}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_field() {
        assert_eq!(
            InvalidField::new("title", "must not be empty").to_string(),
            "title: must not be empty"
        );
    }

    #[test]
    fn whitespace_only_text_is_rejected() {
        assert!(check_text("name", " \t\n", 10).is_err());
        assert!(check_text("name", "", 10).is_err());
    }

    #[test]
    fn no_text_field_may_contain_u0000() {
        let refused = check_text("name", "Ann\0", 10).unwrap_err();
        assert_eq!(refused.field, "name");
        assert!(check_text("title", "\0", 10).is_err());
        assert!(check_text("gender", "Ann\u{1}", 10).is_ok());
    }

    #[test]
    fn text_length_counts_characters_not_bytes() {
        assert!(check_text("name", &"é".repeat(10), 10).is_ok());
        assert!(check_text("name", &"é".repeat(11), 10).is_err());
    }

    #[test]
    fn ages_above_the_limit_are_rejected() {
        assert!(check_age(0).is_ok());
        assert!(check_age(150).is_ok());
        assert_eq!(check_age(151).unwrap_err().field, "age");
    }
}
