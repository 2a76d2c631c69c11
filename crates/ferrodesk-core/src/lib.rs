//! Ferrodesk's domain: ids, the vocabulary of tickets, users and organizations, input
//! validation, the access policy and the audit hash chain. Pure: no I/O, no clock.

pub mod audit;
pub mod directory_policy;
pub mod ids;
pub mod kinds;
pub mod mail_text;
pub mod policy;
pub mod rules;
pub mod totp;
pub mod validate;

pub use ids::*;
pub use kinds::*;
