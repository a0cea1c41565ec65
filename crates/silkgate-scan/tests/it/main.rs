//! Integration tests of `silkgate-scan` (one test binary, modules inside).

mod corpus;
mod deid;
mod scan;
