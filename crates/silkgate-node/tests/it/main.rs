//! Node integration tests: several nodes in one process on port 0, talking over real
//! mutual TLS on loopback.

mod agreements;
mod bad_input;
mod compliance;
mod e2e;
mod harness;
mod incomplete;
mod log;
mod marking;
mod owed;
mod redelivery;
mod replay;
mod security;
