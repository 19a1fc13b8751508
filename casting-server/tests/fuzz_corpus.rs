//! The regression tests of the `auth_header` and `auth_token` fuzz
//! targets: they replay the corpus (`fuzz/corpus/<target>/`) through the
//! targets' checks (`casting_testkit::checks::auth`), so every case the
//! fuzzer kept is run by `cargo test`.

use casting_core::Role;
use casting_testkit::checks::auth::{
    Expected, authenticate, check_auth_header, check_auth_token, expected, mutated_token_header,
    now,
};
use casting_testkit::corpus::{corpus, replay};

#[test]
fn an_input_without_edits_is_the_dev_token_and_it_is_accepted() {
    let header = mutated_token_header(&[]);
    let principal = authenticate(&header).unwrap();
    assert_eq!(principal.permissions, Role::Producer.permissions());
    assert!(matches!(
        expected(&header, now(), now()),
        Expected::Accept(_)
    ));
}

#[test]
fn every_header_in_the_corpus_passes_the_auth_checks() {
    replay("auth_header", check_auth_header);
}

#[test]
fn every_token_edit_in_the_corpus_passes_the_auth_checks() {
    replay("auth_token", check_auth_token);
}

/// The checks above pass vacuously on a corpus that never gets a token
/// through, or never past the signature: this one says it does.
#[test]
fn the_token_corpus_reaches_every_answer() {
    let answers: std::collections::BTreeSet<String> = corpus("auth_token")
        .iter()
        .map(
            |(_, data)| match authenticate(&mutated_token_header(data)) {
                Ok(_) => "accepted".to_owned(),
                Err(error) => format!("{error:?}"),
            },
        )
        .collect();
    for answer in [
        "accepted",
        "Expired",
        "InvalidClaims",
        "InvalidToken",
        "InvalidHeader",
    ] {
        assert!(
            answers.contains(answer),
            "{answer} not reached: {answers:?}"
        );
    }
}
