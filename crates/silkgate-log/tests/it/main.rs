//! Integration tests of silkgate-log: one binary, one module per feature (STYLE.md item 9).

mod common;
mod interop_go;
mod log;
mod receipt;
mod vectors;
mod witness;
