//! The mock Auth0, from the workspace's test kit.

pub(crate) use casting_testkit::issuer::*;
