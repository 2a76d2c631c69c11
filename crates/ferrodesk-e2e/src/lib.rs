//! Browser tests of Ferrodesk live in `tests/`: each starts a real `ferrodesk serve` on a
//! fresh SQLite file or PostgreSQL database and drives it through headless Chromium with
//! chromedriver (Debian's `chromium` and `chromium-driver`). Screenshots are saved under
//! `target/e2e-screenshots/`.
