//! HTML tests: admin_pages.

#[allow(unused_imports)]
use super::*;
