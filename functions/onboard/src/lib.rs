//! `onboard`: creates ArcGIS members from a CSV dropped under `inbox/arcgis/`.
//!
//! The file goes through the shared inbox pipeline (`connectors::inbox`):
//! the [`arcgis::MemberOnboarding`] job checks every row against the org
//! (roles, user types, groups), creates the new members with the portal's
//! batch calls and ensures group memberships; the pipeline rewrites the CSV
//! so only the rows that did not finish remain (each with its reason),
//! writes the per-row report and mails the admins a summary.

#![allow(async_fn_in_trait)]

pub mod arcgis;
pub mod config;
pub mod handler;
pub mod route;

pub use config::OnboardConfig;
pub use handler::{Handler, FUNCTION};
