//! Integration tests of `silkgate-scan` (one test binary, modules inside).

mod scan;
