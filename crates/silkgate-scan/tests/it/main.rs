//! Integration tests of `silkgate-scan` (one test binary, modules inside).

mod corpus;
mod deid;
mod fail_closed;
mod scan;
