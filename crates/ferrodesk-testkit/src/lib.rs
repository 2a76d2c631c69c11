//! ferrodesk-testkit
