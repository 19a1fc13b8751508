//! Containing a damaged file: redb trusts the pages it reads, and on a page
//! it did not write it can panic ("entered unreachable code", "invalid page
//! type byte") as well as report corruption. Every call into redb runs
//! through [`contain`], which turns both into [`StoreError::Damaged`], so a
//! damaged file costs the requests that touch its damage and never the
//! process.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use crate::backend::StoreError;

/// How a call into redb failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// It returned an error (corruption already turned into
    /// [`StoreError::Damaged`]); the handle is as sound as redb says.
    Error(StoreError),
    /// It panicked: redb may have stopped halfway through changing its
    /// in-memory state, or holding one of its locks, so the handle it ran
    /// on must not be used again.
    Panic(StoreError),
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Error(error) | Failure::Panic(error) => error,
        }
    }
}

/// Runs `op`, which calls redb on the file at `path`, catching a panic.
///
/// The default panic hook still prints a caught panic; a program that wants
/// it quieter (the server logs one line) sets its own hook.
pub(super) fn contain<T>(
    path: &Path,
    op: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, Failure> {
    // Unwind safety: what `op` may leave half-done is redb's state, which
    // the caller stops using on `Failure::Panic`, and the store's own locks,
    // which every user takes with `PoisonError::into_inner` and which guard
    // values that are replaced whole.
    match catch_unwind(AssertUnwindSafe(op)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(Failure::Error(as_damage(path, error))),
        Err(payload) => Err(Failure::Panic(damaged(
            path,
            &format!("redb panicked: {}", panic_message(&*payload)),
        ))),
    }
}

/// [`StoreError::Damaged`] for the file at `path`, with `detail` on one line.
fn damaged(path: &Path, detail: &str) -> StoreError {
    StoreError::Damaged {
        file: path.to_path_buf(),
        detail: one_line(detail),
    }
}

/// `error`, or [`StoreError::Damaged`] when it says that the file holds
/// what no casting or redb could have written.
fn as_damage(path: &Path, error: StoreError) -> StoreError {
    use redb::Error as E;
    let engine = match &error {
        StoreError::Engine(engine) => engine.redb(),
        _ => None,
    };
    let detail = match (&error, engine) {
        (_, Some(E::Corrupted(detail))) => detail.clone(),
        // Every table is created, with these types, when the file is
        // opened, so a table that is missing or of another kind later on
        // is a damaged table tree, not a wrong definition.
        (
            _,
            Some(
                redb_error @ (E::TableDoesNotExist(_)
                | E::TableTypeMismatch { .. }
                | E::TableIsMultimap(_)
                | E::TypeDefinitionChanged { .. }),
            ),
        ) => redb_error.to_string(),
        // A record that does not decode, or a cast entry whose actor is
        // missing: the bytes are redb's to keep, so they changed on disk.
        (StoreError::Corrupt(detail), _) => detail.clone(),
        // A page read past the end of the file: the file was cut short, or
        // the pointer to the page is damaged.
        (_, Some(E::Io(io))) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            format!("a page lies past the end of the file: {io}")
        }
        _ => return error,
    };
    damaged(path, &detail)
}

/// The message a panic was raised with.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "no message"
    }
}

/// `text` on one line, starting lowercase as the store's messages do, unless
/// it starts with an acronym ("DB corrupted").
fn one_line(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), second) if !second.is_some_and(char::is_uppercase) => first
            .to_lowercase()
            .chain(text[first.len_utf8()..].chars())
            .collect(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> &'static Path {
        Path::new("casting.redb")
    }

    #[test]
    fn a_panic_is_caught_and_names_the_file_as_damaged() {
        let result: Result<(), _> = contain(path(), || panic!("entered unreachable code"));
        let Err(Failure::Panic(error)) = result else {
            panic!("not a panic: {result:?}");
        };
        assert_eq!(
            error.to_string(),
            "the store file casting.redb is damaged (redb panicked: entered unreachable code): \
             restore it from a backup"
        );
    }

    #[test]
    fn a_formatted_panic_message_is_kept() {
        let result: Result<(), _> = contain(path(), || panic!("Invalid page type byte {}", 7));
        let Err(Failure::Panic(StoreError::Damaged { detail, .. })) = result else {
            panic!("not a damaged panic: {result:?}");
        };
        assert_eq!(detail, "redb panicked: Invalid page type byte 7");
    }

    #[test]
    fn redb_corruption_is_damage_but_not_a_panic() {
        let corrupted = redb::Error::Corrupted("Invalid page type byte 9".into());
        let result: Result<(), _> = contain(path(), || Err(StoreError::from(corrupted)));
        let Err(Failure::Error(error)) = result else {
            panic!("not an error: {result:?}");
        };
        assert_eq!(
            error.to_string(),
            "the store file casting.redb is damaged (invalid page type byte 9): \
             restore it from a backup"
        );
    }

    #[test]
    fn a_record_that_does_not_decode_is_damage() {
        let result: Result<(), _> = contain(path(), || {
            Err(StoreError::Corrupt("malformed movie record".into()))
        });
        assert!(matches!(
            result,
            Err(Failure::Error(StoreError::Damaged { .. }))
        ));
    }

    #[test]
    fn a_read_past_the_end_of_the_file_is_damage() {
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        let result: Result<(), _> = contain(path(), || Err(StoreError::from(redb::Error::Io(eof))));
        assert!(matches!(
            result,
            Err(Failure::Error(StoreError::Damaged { .. }))
        ));
    }

    #[test]
    fn other_errors_pass_through_unchanged() {
        let result: Result<(), _> = contain(path(), || Err(StoreError::Closed));
        assert!(matches!(result, Err(Failure::Error(StoreError::Closed))));
    }

    #[test]
    fn a_multi_line_detail_is_put_on_one_line() {
        assert_eq!(one_line("Bad page\n  at 4096\r\n"), "bad page at 4096");
    }

    #[test]
    fn a_detail_starting_with_an_acronym_keeps_its_case() {
        assert_eq!(one_line("DB corrupted"), "DB corrupted");
    }
}
