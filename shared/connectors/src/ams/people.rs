//! PLACEHOLDER: `person/get`, `person/save`.

use super::{AmsClient, AmsPeople, Person};
use crate::Error;

impl AmsPeople for AmsClient {
    async fn people(&self, _ids: &[i64]) -> Result<Vec<Person>, Error> {
        unimplemented!("placeholder")
    }

    async fn save(&self, _person: &Person) -> Result<Person, Error> {
        unimplemented!("placeholder")
    }
}
