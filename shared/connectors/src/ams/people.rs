//! PLACEHOLDER: `person/get`, `person/save`.
