//! HTML tests: admin_sharing.

#[allow(unused_imports)]
use super::*;
