//! Benchmark tools for Ferrodesk (see `bench/README.md`).

pub mod zendesk_account;
