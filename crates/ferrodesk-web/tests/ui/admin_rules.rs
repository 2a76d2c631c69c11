//! HTML tests: admin_rules.

#[allow(unused_imports)]
use super::*;
