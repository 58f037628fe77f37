//! PLACEHOLDER: `usersearch`, `groupmembers`, `listgroups`.

use super::{AmsClient, AmsGroups, AmsUser, AmsUsers, UserFilter};
use crate::Error;

impl AmsUsers for AmsClient {
    async fn users(&self, _filter: &UserFilter) -> Result<Vec<AmsUser>, Error> {
        unimplemented!("placeholder")
    }
}

impl AmsGroups for AmsClient {
    async fn group_names(&self) -> Result<Vec<String>, Error> {
        unimplemented!("placeholder")
    }
}
