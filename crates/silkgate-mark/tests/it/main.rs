//! Integration tests of marking and leak tracing (one test binary for the crate).

mod common;
mod marking;
mod streaming;
mod tracing;
