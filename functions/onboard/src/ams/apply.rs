//! One AMS file's rows, after their checks: find each row's account, read
//! the full records of those to change, work out what changes, then save
//! (or, in a dry run, say what would be saved).

use std::collections::HashMap;

use chrono::NaiveDate;
use connectors::ams::{AmsUser, Person, UserFilter};
use connectors::inbox::{Applied, Outcome, RowResult, Run, Valid};
use connectors::{Error, ErrorKind};
use futures::stream::{self, StreamExt};

use super::directory::Directory;
use super::rows::{AmsRow, Checked, Field, Key, Value};
use super::{AmsOnboarding, AmsOnboardingPorts, ACTION, KEY, USER_ID};

/// Said of every password on an `update` row: AMS takes it and keeps the old one.
pub const PASSWORD_IGNORED: &str =
    "password not changed: AMS ignores passwords on existing accounts";
/// Said once per file that has values in the export-only `groups` column.
pub const GROUPS_IGNORED: &str =
    "the groups column is ignored: AMS has no call that assigns groups";

/// One valid row on its way through the run.
struct Work {
    /// The row's line in the file.
    line: u64,
    row: AmsRow,
    groups_given: bool,
    /// Set once the row is settled; `None` at the end means not reached.
    outcome: Option<Outcome>,
    reason: String,
    /// The account the row created or found.
    user_id: Option<i64>,
    username: Option<String>,
    /// The record to save: a new account, or the account's record changed.
    record: Option<Person>,
    /// The fields an update changes, in file order.
    changes: Vec<Field>,
    notes: Vec<String>,
}

impl Work {
    fn new(valid: Valid<Checked>) -> Self {
        Self {
            line: valid.line,
            row: valid.row.row,
            groups_given: valid.row.groups_given,
            outcome: None,
            reason: String::new(),
            user_id: None,
            username: None,
            record: None,
            changes: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn pending(&self) -> bool {
        self.outcome.is_none()
    }

    fn settle(&mut self, outcome: Outcome, reason: impl Into<String>) {
        self.outcome = Some(outcome);
        self.reason = reason.into();
    }

    fn fail(&mut self, reason: impl Into<String>) {
        self.settle(Outcome::Failed, reason);
    }

    fn found(&mut self, user: &AmsUser) {
        self.user_id = Some(user.user_id);
        self.username = Some(user.username.clone());
    }

    fn result(self) -> RowResult {
        let mut reason = self.reason;
        for note in &self.notes {
            reason = if reason.is_empty() {
                note.clone()
            } else {
                format!("{reason}; {note}")
            };
        }
        let mut result = match self.outcome {
            Some(Outcome::Failed) => RowResult::failed(reason),
            Some(outcome) => RowResult::done(outcome, reason),
            None => RowResult::deferred(),
        };
        let (action, key) = match &self.row {
            AmsRow::Create { .. } => ("create", ""),
            AmsRow::Update { key, .. } => ("update", key.column()),
        };
        result = result
            .with(ACTION, action)
            .with(
                USER_ID,
                self.user_id.map(|id| id.to_string()).unwrap_or_default(),
            )
            .with(KEY, key);
        if self.row.username().is_none() {
            if let Some(username) = self.username {
                result = result.with("username", username);
            }
        }
        result
    }
}

impl<T: AmsOnboardingPorts> AmsOnboarding<'_, T> {
    /// Plans the rows and, unless a dry run, saves them.
    pub(super) async fn run(&self, rows: Vec<Valid<Checked>>, run: &Run) -> Result<Applied, Error> {
        let mut work: Vec<Work> = rows.into_iter().map(Work::new).collect();
        let mut notes = Vec::new();
        if let Some(first) = work.iter_mut().find(|w| w.groups_given) {
            first.notes.push(GROUPS_IGNORED.into());
            notes.push(GROUPS_IGNORED.to_string());
        }
        repeated_emails(&mut work);
        if work.iter().any(Work::pending) {
            let directory = Directory::new(self.ams.users(&UserFilter::All).await?);
            for w in work.iter_mut().filter(|w| w.pending()) {
                resolve(w, &directory);
            }
            one_row_per_account(&mut work);
            self.read_records(&mut work).await?;
            for w in work.iter_mut().filter(|w| w.pending()) {
                prepare(w);
            }
        }
        if run.dry_run {
            for w in work.iter_mut() {
                plan(w);
            }
        } else {
            self.save_all(&mut work, run).await;
        }
        Ok(Applied {
            results: work.into_iter().map(Work::result).collect(),
            notes,
            ..Applied::default()
        })
    }

    /// Reads the full record of every account an update row changes.
    async fn read_records(&self, work: &mut [Work]) -> Result<(), Error> {
        let ids: Vec<i64> = work
            .iter()
            .filter(|w| w.pending() && matches!(w.row, AmsRow::Update { .. }))
            .filter_map(|w| w.user_id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let records: HashMap<i64, Person> = self
            .ams
            .people(&ids)
            .await?
            .into_iter()
            .filter_map(|p| p.id().map(|id| (id, p)))
            .collect();
        for w in work
            .iter_mut()
            .filter(|w| w.pending() && matches!(w.row, AmsRow::Update { .. }))
        {
            let id = w.user_id.unwrap_or_default();
            match records.get(&id) {
                Some(record) => w.record = Some(record.clone()),
                None => w.fail(format!(
                    "the record of user_id {id} could not be read (person/get did not return it)"
                )),
            }
        }
        Ok(())
    }

    /// Saves every pending row, `AMS_CONCURRENCY` at a time; rows not
    /// started before the deadline margin stay pending.
    async fn save_all(&self, work: &mut [Work], run: &Run) {
        let saves: Vec<(usize, Person)> = work
            .iter()
            .enumerate()
            .filter(|(_, w)| w.pending())
            .filter_map(|(i, w)| w.record.clone().map(|r| (i, r)))
            .collect();
        let answers: Vec<(usize, Option<Result<Person, Error>>)> = stream::iter(saves)
            .map(|(index, person)| async move {
                if !run.may_start() {
                    return (index, None);
                }
                (index, Some(self.ams.save(&person).await))
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        for (index, answer) in answers {
            let Some(answer) = answer else { continue };
            saved(&mut work[index], answer);
        }
    }
}

/// A second `create` row with an email already on an earlier row fails
/// before any call: AMS keeps emails unique.
fn repeated_emails(work: &mut [Work]) {
    let mut first: HashMap<String, u64> = HashMap::new();
    for w in work.iter_mut() {
        let AmsRow::Create { .. } = w.row else {
            continue;
        };
        let Some(Value::Text(email)) = w.row.value(Field::Email) else {
            continue;
        };
        match first.get(&email.to_lowercase()) {
            Some(line) => {
                let line = *line;
                w.fail(format!(
                    "email: {email:?} is also on line {line}, which creates an account with it"
                ));
            }
            None => {
                first.insert(email.to_lowercase(), w.line);
            }
        }
    }
}

/// Finds the row's account: an existing one for `create` (then the row is
/// `exists`), the one its key names for `update`.
fn resolve(w: &mut Work, directory: &Directory) {
    match w.row.clone() {
        AmsRow::Create { .. } => {
            for field in [Field::Username, Field::Email] {
                let Some(Value::Text(value)) = w.row.value(field) else {
                    continue;
                };
                let key = match field {
                    Field::Username => Key::Username(value.clone()),
                    _ => Key::Email(value.clone()),
                };
                if let Some(user) = directory.find(&key).first() {
                    w.found(user);
                    w.settle(
                        Outcome::Exists,
                        format!(
                            "an account with {} already exists (user_id {}, username {}); it was left unchanged",
                            key.describe(),
                            user.user_id,
                            user.username
                        ),
                    );
                    return;
                }
            }
        }
        AmsRow::Update { key, .. } => {
            let found = directory.find(&key);
            match found.as_slice() {
                [] => w.fail(format!(
                    "{}: no account has {}",
                    key.column(),
                    key.describe()
                )),
                [user] => {
                    let user = (*user).clone();
                    w.found(&user);
                    taken_by_another(w, &user, directory);
                }
                many => {
                    let ids: Vec<String> = many.iter().map(|u| u.user_id.to_string()).collect();
                    w.fail(format!(
                        "{}: {} matches {} accounts (user_id {}); key the row by user_id",
                        key.column(),
                        key.describe(),
                        many.len(),
                        ids.join(", ")
                    ));
                }
            }
        }
    }
}

/// An update that gives a username or email another account holds fails
/// before the save (AMS keeps them unique).
fn taken_by_another(w: &mut Work, user: &AmsUser, directory: &Directory) {
    for field in [Field::Username, Field::Email] {
        let Some(Value::Text(value)) = w.row.value(field) else {
            continue;
        };
        let key = match field {
            Field::Username => Key::Username(value.clone()),
            _ => Key::Email(value.clone()),
        };
        if let Some(other) = directory
            .find(&key)
            .into_iter()
            .find(|other| other.user_id != user.user_id)
        {
            w.fail(format!(
                "{}: {value:?} belongs to another account (user_id {})",
                field.column(),
                other.user_id
            ));
            return;
        }
    }
}

/// Two update rows for one account: the later one fails (its changes would
/// overwrite the first's read-modify-write).
fn one_row_per_account(work: &mut [Work]) {
    let mut first: HashMap<i64, u64> = HashMap::new();
    for w in work.iter_mut() {
        if !w.pending() || !matches!(w.row, AmsRow::Update { .. }) {
            continue;
        }
        let Some(id) = w.user_id else { continue };
        if let Some(line) = first.get(&id) {
            w.fail(format!(
                "user_id {id} is also changed by line {line}; put the changes of one account in one row"
            ));
        } else {
            first.insert(id, w.line);
        }
    }
}

/// Builds the record to save: a new account, or the account's record with
/// the row's changes; an update that changes nothing is settled `unchanged`.
fn prepare(w: &mut Work) {
    match w.row.clone() {
        AmsRow::Create { values } => {
            let mut person = Person::new_account();
            for field in Field::ALL.into_iter().filter(|f| !f.required()) {
                if field != Field::Sex {
                    person.set_text(field.record_field(), "");
                }
            }
            for (field, value) in &values {
                set_for_create(&mut person, *field, value);
            }
            w.record = Some(person);
        }
        AmsRow::Update { values, clear, .. } => {
            let Some(mut record) = w.record.take() else {
                return;
            };
            for (field, value) in &values {
                if *field == Field::Password {
                    w.notes.push(PASSWORD_IGNORED.into());
                } else if differs(&record, *field, value) {
                    set_for_update(&mut record, *field, value);
                    w.changes.push(*field);
                }
            }
            for field in clear {
                if !record.text(field.record_field()).is_empty() {
                    record.set_text(field.record_field(), "");
                    w.changes.push(field);
                }
            }
            if w.changes.is_empty() {
                w.settle(Outcome::Unchanged, "nothing to change");
            } else {
                w.record = Some(record);
            }
        }
    }
}

/// True when the record's field is not already `value`.
fn differs(record: &Person, field: Field, value: &Value) -> bool {
    let current = record.text(field.record_field());
    match value {
        Value::Text(text) => current != *text,
        Value::Date(date) => parse_stored_date(&current) != Some(*date),
        Value::Flag(flag) => record.active() != Some(*flag),
        Value::Sex(sex) => record.sex() != Some(*sex),
        Value::Secret(_) => false,
    }
}

/// A stored date: AMS writes `dd/mm/yyyy`.
fn parse_stored_date(value: &str) -> Option<NaiveDate> {
    super::rows::parse_date(value)
}

/// A new account's field, as the public client sends it (the recorded
/// create sends `yyyy-mm-dd` dates and sex names such as `Male`).
fn set_for_create(person: &mut Person, field: Field, value: &Value) {
    let name = field.record_field();
    match value {
        Value::Text(text) => person.set_text(name, text.clone()),
        Value::Date(date) => person.set_text(name, date.format("%Y-%m-%d").to_string()),
        Value::Flag(flag) => person.set(name, serde_json::Value::Bool(*flag)),
        Value::Sex(sex) => {
            let upper = sex.name();
            person.set_text(
                name,
                format!("{}{}", &upper[..1], upper[1..].to_lowercase()),
            );
        }
        Value::Secret(secret) => person.set_text(name, secret.expose()),
    }
}

/// A changed field of an existing record, in the record's own form
/// (`dd/mm/yyyy` dates, sex codes).
fn set_for_update(record: &mut Person, field: Field, value: &Value) {
    let name = field.record_field();
    match value {
        Value::Text(text) => record.set_text(name, text.clone()),
        Value::Date(date) => record.set_text(name, date.format("%d/%m/%Y").to_string()),
        Value::Flag(flag) => record.set(name, serde_json::Value::Bool(*flag)),
        Value::Sex(sex) => record.set_text(name, sex.code()),
        Value::Secret(_) => {}
    }
}

/// Dry run: what each row would do; nothing is saved.
fn plan(w: &mut Work) {
    let reason = match (&w.outcome, &w.row) {
        (Some(Outcome::Failed), _) => return,
        (Some(Outcome::Exists), _) => format!("{}; nothing would be saved", w.reason),
        (Some(Outcome::Unchanged), _) => "nothing to change".to_string(),
        (_, AmsRow::Create { .. }) => "would create the account".to_string(),
        (_, AmsRow::Update { .. }) => format!("would change {}", columns(&w.changes)),
    };
    w.settle(Outcome::Planned, reason);
}

/// What a save's answer makes of its row.
fn saved(w: &mut Work, answer: Result<Person, Error>) {
    let create = matches!(w.row, AmsRow::Create { .. });
    match answer {
        Ok(stored) => {
            w.user_id = stored.id().or(w.user_id);
            let username = stored.text("username");
            if !username.is_empty() {
                w.username = Some(username);
            }
            if create {
                w.settle(Outcome::Created, "created");
            } else {
                let changed = format!("changed {}", columns(&w.changes));
                w.settle(Outcome::Updated, changed);
            }
        }
        Err(e) if create && e.kind() == ErrorKind::AlreadyExists => w.settle(
            Outcome::Exists,
            format!("AMS refused it as a duplicate ({e}); the existing account was left unchanged"),
        ),
        Err(e) if create => w.fail(format!("AMS did not create the account: {e}")),
        Err(e) => w.fail(format!("AMS did not save the change: {e}")),
    }
}

fn columns(fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| f.column())
        .collect::<Vec<_>>()
        .join(", ")
}
