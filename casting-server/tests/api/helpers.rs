//! The test application, from the workspace's test kit: a server inside
//! the test process unless a test asks for the binary, a client, tokens and
//! whole replies.

pub(crate) use casting_testkit::app::*;
