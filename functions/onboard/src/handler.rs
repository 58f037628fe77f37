//! What onboard does with each object an event names: `inbox/arcgis/`
//! files go to the member onboarding job; anything else is passed over.

use connectors::config::Common;
use connectors::inbox::{FileReport, Inbox, InboxError, InboxFunction, InboxLimits, Requested};
use connectors::lambda::Function;
use connectors::mail::Mailer;
use connectors::store::ObjectStore;
use tracing::{info, warn};

use crate::arcgis::{MemberOnboarding, OnboardingPorts, VOCABULARY};
use crate::config::OnboardConfig;
use crate::route::{route, Route};

/// The function name in object metadata, report paths and mail subjects.
pub const FUNCTION: &str = "onboard";

/// The onboard function: its S3 store, mailer, ArcGIS org and configuration.
pub type Handler<S, M, D> = Function<S, M, D, OnboardConfig>;

impl<S: ObjectStore, M: Mailer, D: OnboardingPorts> InboxFunction<S, M, D> for OnboardConfig {
    const NAME: &'static str = FUNCTION;

    fn common(&self) -> &Common {
        &self.common
    }

    fn limits(&self) -> InboxLimits {
        self.limits
    }

    async fn object(
        function: &Handler<S, M, D>,
        inbox: &Inbox<'_, S, M>,
        object: &Requested,
        position: usize,
    ) -> Result<Option<FileReport>, InboxError> {
        let file = match route(&object.key) {
            Route::Arcgis { dry_run } => {
                let members = MemberOnboarding {
                    arcgis: &function.service,
                    config: &function.config,
                };
                let target = inbox.target(object, dry_run, true);
                inbox.file(&members, &target, position).await?
            }
            Route::Ams => {
                warn!(key = %object.key, "Teamworks AMS onboarding is not part of this build");
                let mut file = inbox.not_handled(object, &VOCABULARY);
                file.add_note("Teamworks AMS onboarding is not available in this version; the file was left untouched");
                file
            }
            Route::Ignore => {
                info!(key = %object.key, "not an onboarding file; ignored");
                inbox.not_handled(object, &VOCABULARY)
            }
        };
        Ok(Some(file))
    }
}
