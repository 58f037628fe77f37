//! Local simulators of the services rollcall talks to, for tests and the
//! local run.
//!
//! - [`arcgis`]: an ArcGIS Online / Enterprise portal (`sharing/rest` and
//!   `portaladmin`), following Esri's public REST API reference (sources
//!   listed in its module docs).
//! - [`connect`]: Amazon Connect users, user proficiencies and predefined
//!   attributes (REST-JSON, for the real `aws-sdk-connect` client), following
//!   the Amazon Connect API Reference and botocore's service model (sources
//!   listed in its module docs).
//! - [`ams`]: a Teamworks AMS (formerly Smartabase) site's user and group
//!   API (login, `usersearch`, `groupmembers`, `listgroups`, `person/get`,
//!   `person/save`), following the public clients teamworksams and
//!   smartabaseR and their recorded traffic (sources listed in its module
//!   docs).
//! - [`faults`]: the deterministic fault injection the simulators share.
//!
//! The ArcGIS, Connect and AMS types are re-exported here, so tests write
//! `rollcall_tests::sandbox::{ArcgisSandbox, SandboxConfig, SeedMember}`,
//! `rollcall_tests::sandbox::{ConnectSandbox, ConnectConfig}` or
//! `rollcall_tests::sandbox::{AmsSandbox, AmsConfig, SeedPerson}`.

pub mod ams;
pub mod arcgis;
pub mod connect;
pub mod faults;

pub use ams::{
    generated_people, AmsCalls, AmsConfig, AmsSandbox, SeedPerson, AMS_ENDPOINTS,
    DEFAULT_AMS_PASSWORD,
};

pub use arcgis::{
    ArcgisSandbox, CallStats, GeneratedOrg, InvitationMail, ItemView, MemberView, OrgSpec,
    PortalMode, RoleView, SandboxConfig, SeedMember, DAY_MS, DEFAULT_ADMIN_PASSWORD,
    SYSTEM_ACCOUNTS,
};
pub use connect::{
    ConnectCalls, ConnectConfig, ConnectSandbox, CONNECT_DEFAULT_RATES, DEFAULT_INSTANCE_ID,
    OPERATIONS as CONNECT_OPERATIONS,
};
