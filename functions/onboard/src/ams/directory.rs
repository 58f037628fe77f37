//! Every account of the site, found once per file and looked up by each
//! key. The public client's edit flow does the same (one search of all
//! users, then matching), because AMS matching rules for search filters are
//! not documented and `uuid` cannot be searched at all.

use std::collections::HashMap;

use connectors::ams::AmsUser;

use super::rows::Key;

/// The accounts, indexed by each way a row can name one.
pub struct Directory {
    users: Vec<AmsUser>,
    by_id: HashMap<i64, usize>,
    by_username: HashMap<String, Vec<usize>>,
    by_email: HashMap<String, Vec<usize>>,
    by_uuid: HashMap<String, Vec<usize>>,
}

impl Directory {
    pub fn new(users: Vec<AmsUser>) -> Self {
        let mut directory = Self {
            by_id: HashMap::new(),
            by_username: HashMap::new(),
            by_email: HashMap::new(),
            by_uuid: HashMap::new(),
            users: Vec::new(),
        };
        for (index, user) in users.iter().enumerate() {
            directory.by_id.insert(user.user_id, index);
            let add = |map: &mut HashMap<String, Vec<usize>>, value: String| {
                if !value.is_empty() {
                    map.entry(value).or_default().push(index);
                }
            };
            add(&mut directory.by_username, user.username.to_lowercase());
            add(&mut directory.by_email, user.email.to_lowercase());
            add(&mut directory.by_uuid, user.uuid.clone());
        }
        directory.users = users;
        directory
    }

    /// The accounts `key` names: usernames and emails ignoring case, uuids
    /// exactly.
    pub fn find(&self, key: &Key) -> Vec<&AmsUser> {
        let indices: Vec<usize> = match key {
            Key::UserId(id) => self.by_id.get(id).copied().into_iter().collect(),
            Key::Uuid(uuid) => self.by_uuid.get(uuid).cloned().unwrap_or_default(),
            Key::Username(name) => self
                .by_username
                .get(&name.to_lowercase())
                .cloned()
                .unwrap_or_default(),
            Key::Email(email) => self
                .by_email
                .get(&email.to_lowercase())
                .cloned()
                .unwrap_or_default(),
        };
        indices.into_iter().map(|i| &self.users[i]).collect()
    }
}
