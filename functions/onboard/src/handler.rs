//! What onboard does with each object an event names: `inbox/arcgis/roles/`
//! files go to the roles job, other `inbox/arcgis/` files to the ArcGIS
//! member job, `inbox/ams/` files to the AMS job;
//! anything else, or a file for a system the deployment does not have, is
//! passed over.

use connectors::config::Common;
use connectors::inbox::{
    FileReport, Inbox, InboxError, InboxFunction, InboxLimits, Requested, Vocabulary,
};
use connectors::lambda::Function;
use connectors::mail::Mailer;
use connectors::store::ObjectStore;
use tracing::{info, warn};

use crate::ams::{AmsOnboarding, AmsOnboardingPorts};
use crate::arcgis::{MemberOnboarding, OnboardingPorts};
use crate::config::OnboardConfig;
use crate::roles::{RoleFile, RolesPorts};
use crate::route::{route, Route};

/// The function name in object metadata, report paths and mail subjects.
pub const FUNCTION: &str = "onboard";

/// The systems of record onboard writes to; each is `None` when the
/// deployment does not have it.
pub struct Systems<A, T> {
    pub arcgis: Option<A>,
    pub ams: Option<T>,
}

/// The onboard function: its S3 store, mailer, systems and configuration.
pub type Handler<S, M, A, T> = Function<S, M, Systems<A, T>, OnboardConfig>;

impl<S, M, A, T> InboxFunction<S, M, Systems<A, T>> for OnboardConfig
where
    S: ObjectStore,
    M: Mailer,
    A: OnboardingPorts + RolesPorts,
    T: AmsOnboardingPorts,
{
    const NAME: &'static str = FUNCTION;

    fn common(&self) -> &Common {
        &self.common
    }

    fn limits(&self) -> InboxLimits {
        self.limits
    }

    async fn object(
        function: &Handler<S, M, A, T>,
        inbox: &Inbox<'_, S, M>,
        object: &Requested,
        position: usize,
    ) -> Result<Option<FileReport>, InboxError> {
        let config = &function.config;
        let systems = &function.service;
        let file = match route(&object.key) {
            Route::Arcgis { dry_run } => match (&systems.arcgis, &config.arcgis) {
                (Some(arcgis), Some(settings)) => {
                    let members = MemberOnboarding::new(arcgis, settings, config);
                    let target = inbox.target(object, dry_run, true);
                    inbox.file(&members, &target, position).await?
                }
                _ => not_configured(inbox, object, "ARCGIS_URL", &crate::arcgis::VOCABULARY),
            },
            Route::ArcgisRoles { dry_run } => match &systems.arcgis {
                Some(arcgis) if config.arcgis.is_some() => {
                    let target = inbox.target(object, dry_run, true);
                    inbox.file(&RoleFile { arcgis }, &target, position).await?
                }
                _ => not_configured(inbox, object, "ARCGIS_URL", &crate::roles::VOCABULARY),
            },
            Route::Ams { dry_run } => match (&systems.ams, &config.ams) {
                (Some(ams), Some(settings)) => {
                    let accounts = AmsOnboarding { ams, settings };
                    let target = inbox.target(object, dry_run, true);
                    inbox.file(&accounts, &target, position).await?
                }
                _ => not_configured(inbox, object, "AMS_URL", &crate::ams::VOCABULARY),
            },
            Route::Ignore => {
                info!(key = %object.key, "not an onboarding file; ignored");
                inbox.not_handled(object, &crate::arcgis::VOCABULARY)
            }
        };
        Ok(Some(file))
    }
}

/// A file for a system this deployment does not connect to: left untouched.
fn not_configured<S: ObjectStore, M: Mailer>(
    inbox: &Inbox<'_, S, M>,
    object: &Requested,
    variable: &str,
    vocabulary: &'static Vocabulary,
) -> FileReport {
    warn!(key = %object.key, variable, "file for a system this deployment does not connect to");
    let mut file = inbox.not_handled(object, vocabulary);
    file.add_note(format!(
        "{variable} is not set in this deployment, so this file was left untouched"
    ));
    file
}
