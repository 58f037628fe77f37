//! Local simulators of the services rollcall talks to, for tests and the
//! local run.
//!
//! - [`arcgis`]: an ArcGIS Online / Enterprise portal (`sharing/rest` and
//!   `portaladmin`), following `specs/arcgis-rest.md`.
//! - [`faults`]: the deterministic fault injection the simulators share.
//!
//! The ArcGIS types are re-exported here, so tests write
//! `rollcall_tests::sandbox::{ArcgisSandbox, SandboxConfig, SeedMember}`.

pub mod arcgis;
pub mod faults;

pub use arcgis::{
    ArcgisSandbox, CallStats, GeneratedOrg, InvitationMail, MemberView, OrgSpec, PortalMode,
    SandboxConfig, SeedMember, DAY_MS, DEFAULT_ADMIN_PASSWORD, SYSTEM_ACCOUNTS,
};
