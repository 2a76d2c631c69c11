//! Benchmark tools for Ferrodesk (see `bench/README.md`).
