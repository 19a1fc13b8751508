//! The check of the `body` fuzz target: bytes as a request body, through
//! the four `from_json` decoders.

use std::fmt::Debug;

use casting_core::{ActorPatch, InvalidField, MoviePatch, NewActor, NewMovie};
use serde_json::Value;

/// Fields a client may send back from a record it read; the contract says
/// they are ignored.
const READ_ONLY: [&str; 2] = ["id", "actors"];

/// Reads `data` as a JSON body and runs it through the four decoders.
///
/// An accepted body passes its `validate()` and the contract's rules, a
/// created record round-trips through `serde_json::to_value` and
/// `from_json`, a body good for a create is good for a patch, read-only
/// fields change nothing, and a refusal names the field at fault.
pub fn check_body(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let stripped = without_read_only(&body);

    let new_movie = NewMovie::from_json(&body);
    let movie_patch = MoviePatch::from_json(&body);
    let new_actor = NewActor::from_json(&body);
    let actor_patch = ActorPatch::from_json(&body);

    names_a_field(&body, &new_movie, &["title", "release"]);
    names_a_field(&body, &movie_patch, &[]);
    names_a_field(&body, &new_actor, &["name", "age", "gender"]);
    names_a_field(&body, &actor_patch, &[]);

    assert_eq!(
        NewMovie::from_json(&stripped),
        new_movie,
        "id/actors mattered"
    );
    assert_eq!(
        MoviePatch::from_json(&stripped),
        movie_patch,
        "id/actors mattered"
    );
    assert_eq!(
        NewActor::from_json(&stripped),
        new_actor,
        "id/actors mattered"
    );
    assert_eq!(
        ActorPatch::from_json(&stripped),
        actor_patch,
        "id/actors mattered"
    );

    if let Ok(movie) = &new_movie {
        assert_eq!(movie.validate(), Ok(()), "{movie:?}");
        assert_text_rule(&movie.title, 200);
        round_trips(movie, NewMovie::from_json);
        assert!(
            movie_patch.is_ok(),
            "a create body is refused as a patch: {movie_patch:?}"
        );
    }
    if let Ok(patch) = &movie_patch {
        assert_eq!(patch.validate(), Ok(()), "{patch:?}");
        assert!(
            patch.title.is_some() || patch.release.is_some(),
            "empty patch accepted"
        );
        if let Some(title) = &patch.title {
            assert_text_rule(title, 200);
        }
        round_trips(patch, MoviePatch::from_json);
    }
    if let Ok(actor) = &new_actor {
        assert_eq!(actor.validate(), Ok(()), "{actor:?}");
        assert_text_rule(&actor.name, 200);
        assert_text_rule(&actor.gender, 64);
        assert!(actor.age <= 150, "{actor:?}");
        assert_ne!(actor.movie_id, Some(0), "movie id 0 accepted");
        round_trips(actor, NewActor::from_json);
        assert!(
            actor_patch.is_ok(),
            "a create body is refused as a patch: {actor_patch:?}"
        );
    }
    if let Ok(patch) = &actor_patch {
        assert_eq!(patch.validate(), Ok(()), "{patch:?}");
        assert_ne!(*patch, ActorPatch::default(), "empty patch accepted");
        if let Some(name) = &patch.name {
            assert_text_rule(name, 200);
        }
        if let Some(gender) = &patch.gender {
            assert_text_rule(gender, 64);
        }
        assert!(patch.age.is_none_or(|age| age <= 150), "{patch:?}");
        assert_ne!(patch.movie_id, Some(Some(0)), "movie id 0 accepted");
        round_trips(patch, ActorPatch::from_json);
    }
}

fn without_read_only(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        for key in READ_ONLY {
            object.remove(key);
        }
    }
    body
}

/// A refusal names `body`, a field the body has, or a required one it lacks.
fn names_a_field<T: Debug>(body: &Value, result: &Result<T, InvalidField>, required: &[&str]) {
    let Err(error) = result else { return };
    let field = error.field.as_ref();
    assert!(
        field == "body" || body.get(field).is_some() || required.contains(&field),
        "the error names {field:?}, which is not in the body: {error}"
    );
    assert!(
        !error.reason.is_empty(),
        "an error without a reason: {error:?}"
    );
}

/// The contract's rule for `title`, `name` and `gender`.
fn assert_text_rule(text: &str, max_chars: usize) {
    assert!(!text.trim().is_empty(), "blank text accepted: {text:?}");
    assert!(
        text.chars().count() <= max_chars,
        "over {max_chars} characters accepted: {text:?}"
    );
}

fn round_trips<T: serde::Serialize + PartialEq + Debug>(
    input: &T,
    from_json: fn(&Value) -> Result<T, InvalidField>,
) {
    let value = serde_json::to_value(input).unwrap();
    assert_eq!(from_json(&value).as_ref(), Ok(input), "sent as {value}");
}
