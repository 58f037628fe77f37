//! `onboard`: creates ArcGIS members from CSVs dropped under `inbox/arcgis/`,
//! creates or changes custom ArcGIS roles from CSVs under
//! `inbox/arcgis/roles/`, and creates or updates Teamworks AMS accounts from
//! CSVs under `inbox/ams/`.
//!
//! Each file goes through the shared inbox pipeline (`connectors::inbox`):
//! the [`arcgis::MemberOnboarding`] job checks every row against the org
//! (roles, user types, groups), creates the new members with the portal's
//! batch calls and ensures group memberships; the [`ams::AmsOnboarding`] job
//! checks every row, then creates accounts or changes the fields an update
//! row gives. The pipeline rewrites the CSV so only the rows that did not
//! finish remain (each with its reason), writes the per-row report and mails
//! the admins a summary.

#![allow(async_fn_in_trait)]

pub mod ams;
pub mod arcgis;
pub mod config;
pub mod handler;
pub mod roles;
pub mod route;
mod systems;

pub use config::OnboardConfig;
pub use handler::{Handler, Systems, FUNCTION};
