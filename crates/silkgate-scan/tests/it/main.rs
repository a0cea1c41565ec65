//! Integration tests of `silkgate-scan` (one test binary, modules inside).

mod deid;
mod scan;
