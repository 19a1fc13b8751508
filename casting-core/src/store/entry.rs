//! The bytes an audit entry is stored as. A small fixed layout rather than
//! JSON: an entry is written with every write, and encoding it, and the
//! pages its bytes fill, are part of what each durable commit costs.
//!
//! `format: u8` (1), `at: i64 LE` (seconds), `action: u8`, `kind: u8`,
//! `record: u64 LE`, `sub` (a text, `u32::MAX` as its length for none),
//! then `before` and `after`: a tag (0 none, 1 movie, 2 actor) and the
//! record. Movie: `id: u64`, `release ordinal: u32`, the title,
//! `cast length: u32` and the actor ids. Actor: `id: u64`, `age: u8`,
//! `movie_id: u64` (0 for none), the name, the gender. A text is
//! `length: u32` and its UTF-8 bytes; every number is little-endian.

use jiff::Timestamp;

use crate::StoreError;
use crate::audit::{AuditAction, AuditEntry, AuditRecord};
use crate::model::{Actor, Movie, RecordKind, ReleaseDate};

/// The layout this build writes; a first byte it does not know is damage.
const FORMAT: u8 = 1;
/// The length that stands for "no text".
const NONE: u32 = u32::MAX;

fn text(out: &mut Vec<u8>, text: &str) {
    // Texts are at most a few hundred bytes (names, titles, token
    // subjects), far below u32::MAX.
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn record(out: &mut Vec<u8>, record: Option<&AuditRecord>) {
    match record {
        None => out.push(0),
        Some(AuditRecord::Movie(movie)) => {
            out.push(1);
            out.extend_from_slice(&movie.id.to_le_bytes());
            out.extend_from_slice(&movie.release_date.to_ordinal().to_le_bytes());
            text(out, &movie.title);
            out.extend_from_slice(&(movie.actors.len() as u32).to_le_bytes());
            for actor in &movie.actors {
                out.extend_from_slice(&actor.to_le_bytes());
            }
        }
        Some(AuditRecord::Actor(actor)) => {
            out.push(2);
            out.extend_from_slice(&actor.id.to_le_bytes());
            out.push(actor.age);
            out.extend_from_slice(&actor.movie_id.unwrap_or(0).to_le_bytes());
            text(out, &actor.name);
            text(out, &actor.gender);
        }
    }
}

/// The bytes of `entry`; its id is the key, not part of them.
pub(crate) fn encode(entry: &AuditEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    out.push(FORMAT);
    out.extend_from_slice(&entry.at.as_second().to_le_bytes());
    out.push(match entry.action {
        AuditAction::Create => 0,
        AuditAction::Update => 1,
        AuditAction::Delete => 2,
    });
    out.push(match entry.kind {
        RecordKind::Movie => 0,
        RecordKind::Actor => 1,
    });
    out.extend_from_slice(&entry.record.to_le_bytes());
    match &entry.sub {
        Some(sub) => text(&mut out, sub),
        None => out.extend_from_slice(&NONE.to_le_bytes()),
    }
    record(&mut out, entry.before.as_ref());
    record(&mut out, entry.after.as_ref());
    out
}

fn corrupt() -> StoreError {
    StoreError::Corrupt("malformed audit entry".into())
}

/// Reads the layout front to back; any shortfall is damage.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let (head, rest) = self.0.split_first_chunk::<N>().ok_or_else(corrupt)?;
        self.0 = rest;
        Ok(*head)
    }

    fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.take::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    fn u64(&mut self) -> Result<u64, StoreError> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    fn text_of(&mut self, len: u32) -> Result<String, StoreError> {
        let len = len as usize;
        if self.0.len() < len {
            return Err(corrupt());
        }
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8(bytes.to_vec()).map_err(|_| corrupt())
    }

    fn text(&mut self) -> Result<String, StoreError> {
        let len = self.u32()?;
        self.text_of(len)
    }

    fn record(&mut self) -> Result<Option<AuditRecord>, StoreError> {
        Ok(match self.u8()? {
            0 => None,
            1 => {
                let id = self.u64()?;
                let release_date = ReleaseDate::from_ordinal(self.u32()?).map_err(|_| corrupt())?;
                let title = self.text()?;
                let count = self.u32()? as usize;
                // Each id takes 8 bytes: a count beyond what is left is
                // damage, refused before anything is allocated for it.
                if count > self.0.len() / 8 {
                    return Err(corrupt());
                }
                let actors = (0..count).map(|_| self.u64()).collect::<Result<_, _>>()?;
                Some(AuditRecord::Movie(Movie {
                    id,
                    title,
                    release_date,
                    actors,
                }))
            }
            2 => {
                let id = self.u64()?;
                let age = self.u8()?;
                let movie_id = self.u64()?;
                Some(AuditRecord::Actor(Actor {
                    id,
                    age,
                    movie_id: (movie_id != 0).then_some(movie_id),
                    name: self.text()?,
                    gender: self.text()?,
                }))
            }
            _ => return Err(corrupt()),
        })
    }
}

/// The entry with `id` stored as `bytes`.
pub(crate) fn decode(id: u64, bytes: &[u8]) -> Result<AuditEntry, StoreError> {
    let mut reader = Reader(bytes);
    if reader.u8()? != FORMAT {
        return Err(corrupt());
    }
    let at = Timestamp::from_second(i64::from_le_bytes(reader.take()?)).map_err(|_| corrupt())?;
    let action = match reader.u8()? {
        0 => AuditAction::Create,
        1 => AuditAction::Update,
        2 => AuditAction::Delete,
        _ => return Err(corrupt()),
    };
    let kind = match reader.u8()? {
        0 => RecordKind::Movie,
        1 => RecordKind::Actor,
        _ => return Err(corrupt()),
    };
    let record = reader.u64()?;
    let sub = match reader.u32()? {
        NONE => None,
        len => Some(reader.text_of(len)?),
    };
    let before = reader.record()?;
    let after = reader.record()?;
    if !reader.0.is_empty() {
        return Err(corrupt());
    }
    Ok(AuditEntry {
        id,
        at,
        sub,
        action,
        kind,
        record,
        before,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn movie() -> impl Strategy<Value = AuditRecord> {
        (
            1u64..,
            "\\PC{0,30}",
            1u32..3_000_000,
            proptest::collection::vec(1u64.., 0..5),
        )
            .prop_filter_map("a valid ordinal", |(id, title, ordinal, actors)| {
                let release_date = ReleaseDate::from_ordinal(ordinal).ok()?;
                Some(AuditRecord::Movie(Movie {
                    id,
                    title,
                    release_date,
                    actors,
                }))
            })
    }

    fn actor() -> impl Strategy<Value = AuditRecord> {
        (
            1u64..,
            "\\PC{0,30}",
            any::<u8>(),
            "\\PC{0,10}",
            proptest::option::of(1u64..),
        )
            .prop_map(|(id, name, age, gender, movie_id)| {
                AuditRecord::Actor(Actor {
                    id,
                    name,
                    age,
                    gender,
                    movie_id,
                })
            })
    }

    fn entry() -> impl Strategy<Value = AuditEntry> {
        let record = proptest::option::of(prop_oneof![movie(), actor()]);
        (
            1u64..,
            0i64..4_000_000_000,
            proptest::option::of("\\PC{0,20}"),
            prop_oneof![
                Just(AuditAction::Create),
                Just(AuditAction::Update),
                Just(AuditAction::Delete)
            ],
            prop_oneof![Just(RecordKind::Movie), Just(RecordKind::Actor)],
            1u64..,
            record.clone(),
            record,
        )
            .prop_map(
                |(id, at, sub, action, kind, record, before, after)| AuditEntry {
                    id,
                    at: Timestamp::from_second(at).unwrap(),
                    sub,
                    action,
                    kind,
                    record,
                    before,
                    after,
                },
            )
    }

    proptest! {
        #[test]
        fn entries_round_trip(entry in entry()) {
            prop_assert_eq!(decode(entry.id, &encode(&entry)).unwrap(), entry);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = decode(1, &bytes);
        }

        #[test]
        fn every_truncation_of_an_entry_is_corrupt(entry in entry()) {
            let bytes = encode(&entry);
            for len in 0..bytes.len() {
                prop_assert!(matches!(decode(entry.id, &bytes[..len]), Err(StoreError::Corrupt(_))));
            }
        }
    }
}
