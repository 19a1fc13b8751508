//! The records of the agency and the inputs that create and change them,
//! with the contract's validation rules.

mod actor;
mod invalid;
mod json;
mod kind;
mod movie;
mod release_date;

pub use actor::{Actor, ActorPatch, NewActor};
pub use invalid::{InvalidField, MAX_AGE, MAX_GENDER_CHARS, MAX_TEXT_CHARS};
pub use json::JsonBody;
pub use kind::{RecordKind, UnknownKind};
pub use movie::{Movie, MoviePatch, NewMovie};
pub use release_date::{ReleaseDate, ReleaseDateError};
