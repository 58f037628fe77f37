//! The real AWS adapters (`connectors::aws`) against the shared moto server.
//!
//! Run with `scripts/test` (it starts moto and sets `ROLLCALL_MOTO_URL`).
//! Every test works in its own bucket, secret names and mail addresses, so the
//! tests run in parallel against one server.

use std::collections::HashMap;
use std::time::Duration;

use connectors::aws::AwsClients;
use connectors::mail::{Mail, Mailer};
use connectors::secrets::SecretSource;
use connectors::secrets::{CachedSecrets, DEFAULT_SECRET_TTL};
use connectors::store::{NewObject, ObjectStore};
use connectors::Error;
use rollcall_tests::moto::{unique_name, Moto};

async fn setup() -> (Moto, AwsClients) {
    let moto = Moto::connect().await;
    let clients = AwsClients::from_conf(&moto.conf);
    (moto, clients)
}

fn csv_object(bucket: &str, key: &str, body: &str, if_match: Option<String>) -> NewObject {
    NewObject {
        bucket: bucket.to_string(),
        key: key.to_string(),
        body: body.as_bytes().to_vec(),
        content_type: "text/csv; charset=utf-8".to_string(),
        metadata: HashMap::from([("rollcall-written-by".to_string(), "onboard".to_string())]),
        if_match,
        if_absent: false,
    }
}

// ---------------------------------------------------------------- S3

#[tokio::test]
async fn s3_get_of_a_missing_key_is_none() {
    // GIVEN an empty bucket
    let (moto, aws) = setup().await;
    let bucket = unique_name("missing");
    moto.create_bucket(&bucket).await;

    // WHEN a key that was never written is read
    let got = aws.s3.get(&bucket, "inbox/arcgis/none.csv").await;

    // THEN it is absent, not an error
    assert!(got.expect("get succeeds").is_none());
}

#[tokio::test]
async fn s3_get_of_a_missing_bucket_is_not_found() {
    // GIVEN no bucket of that name
    let (_moto, aws) = setup().await;
    let bucket = unique_name("nobucket");

    // WHEN a key is read from it
    let got = aws.s3.get(&bucket, "a.csv").await;

    // THEN the error says the bucket is missing
    match got {
        Err(Error::NotFound { what }) => assert_eq!(what, format!("bucket {bucket}")),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn s3_put_then_get_round_trips_body_metadata_and_etag() {
    // GIVEN a bucket
    let (moto, aws) = setup().await;
    let bucket = unique_name("roundtrip");
    moto.create_bucket(&bucket).await;
    let key = "reports/onboard/2026-01-01/run 1.csv";
    let mut object = csv_object(&bucket, key, "email,error\nä@example.org,\n", None);
    object
        .metadata
        .insert("Rollcall-Run-Id".to_string(), "run-1".to_string());

    // WHEN the adapter writes it and reads it back
    aws.s3.put(object).await.expect("put succeeds");
    let stored = aws
        .s3
        .get(&bucket, key)
        .await
        .expect("get succeeds")
        .expect("object exists");

    // THEN body, metadata (keys lower-cased), ETag and version come back
    assert_eq!(stored.body, "email,error\nä@example.org,\n".as_bytes());
    assert_eq!(
        stored
            .metadata
            .get("rollcall-written-by")
            .map(String::as_str),
        Some("onboard")
    );
    assert_eq!(
        stored.metadata.get("rollcall-run-id").map(String::as_str),
        Some("run-1")
    );
    let (_, _, etag) = moto.get_object(&bucket, key).await.expect("moto sees it");
    assert_eq!(stored.etag, etag);
    assert!(stored.etag.starts_with('"'), "ETag keeps its quotes");
    assert!(stored.version_id.is_some(), "the bucket is versioned");
    let head = moto
        .s3
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_type(), Some("text/csv; charset=utf-8"));
}

#[tokio::test]
async fn s3_conditional_put_with_the_read_etag_replaces_the_object() {
    // GIVEN an uploaded CSV and its ETag as read by the adapter
    let (moto, aws) = setup().await;
    let bucket = unique_name("ifmatch-ok");
    moto.create_bucket(&bucket).await;
    let key = "inbox/arcgis/users.csv";
    moto.put_object(&bucket, key, b"email\na@x.org\nb@x.org\n", &[])
        .await;
    let read = aws.s3.get(&bucket, key).await.unwrap().unwrap();

    // WHEN the rewrite is put on that ETag
    let result = aws
        .s3
        .put(csv_object(
            &bucket,
            key,
            "email\nb@x.org\n",
            Some(read.etag.clone()),
        ))
        .await;

    // THEN it is written, with a new ETag, and the original stays as a version
    result.expect("conditional put succeeds");
    let (body, metadata, etag) = moto.get_object(&bucket, key).await.unwrap();
    assert_eq!(body, b"email\nb@x.org\n");
    assert_eq!(metadata["rollcall-written-by"], "onboard");
    assert_ne!(etag, read.etag);
    let versions = moto
        .s3
        .list_object_versions()
        .bucket(&bucket)
        .prefix(key)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2);
}

#[tokio::test]
async fn s3_conditional_put_with_a_stale_etag_is_refused_and_changes_nothing() {
    // GIVEN a CSV read by the adapter, then replaced by a new upload
    let (moto, aws) = setup().await;
    let bucket = unique_name("ifmatch-stale");
    moto.create_bucket(&bucket).await;
    let key = "inbox/arcgis/users.csv";
    moto.put_object(&bucket, key, b"email\na@x.org\n", &[])
        .await;
    let read = aws.s3.get(&bucket, key).await.unwrap().unwrap();
    let new_etag = moto
        .put_object(
            &bucket,
            key,
            b"email\nnew@x.org\n",
            &[("uploader", "admin")],
        )
        .await;

    // WHEN the job tries its rewrite on the ETag it read
    let result = aws
        .s3
        .put(csv_object(&bucket, key, "email\n", Some(read.etag)))
        .await;

    // THEN it is refused as a precondition failure and the new upload is intact
    match result {
        Err(Error::PreconditionFailed { bucket: b, key: k }) => {
            assert_eq!((b.as_str(), k.as_str()), (bucket.as_str(), key));
        }
        other => panic!("expected PreconditionFailed, got {other:?}"),
    }
    let (body, metadata, etag) = moto.get_object(&bucket, key).await.unwrap();
    assert_eq!(body, b"email\nnew@x.org\n");
    assert_eq!(metadata["uploader"], "admin");
    assert_eq!(etag, new_etag);
}

#[tokio::test]
async fn s3_conditional_put_on_a_deleted_object_is_a_precondition_failure() {
    // GIVEN a CSV read by the adapter and then deleted
    let (moto, aws) = setup().await;
    let bucket = unique_name("ifmatch-gone");
    moto.create_bucket(&bucket).await;
    let key = "inbox/ams/users.csv";
    moto.put_object(&bucket, key, b"email\na@x.org\n", &[])
        .await;
    let read = aws.s3.get(&bucket, key).await.unwrap().unwrap();
    moto.s3
        .delete_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();

    // WHEN the job tries its rewrite on the ETag it read
    let result = aws
        .s3
        .put(csv_object(&bucket, key, "email\n", Some(read.etag)))
        .await;

    // THEN it is refused and nothing is recreated
    assert!(
        matches!(result, Err(Error::PreconditionFailed { .. })),
        "{result:?}"
    );
    assert!(moto.get_object(&bucket, key).await.is_none());
    assert!(moto.list_keys(&bucket, "inbox/").await.is_empty());
}

#[tokio::test]
async fn s3_unconditional_put_creates_new_keys() {
    // GIVEN a bucket
    let (moto, aws) = setup().await;
    let bucket = unique_name("newkeys");
    moto.create_bucket(&bucket).await;

    // WHEN two reports are put without a condition
    for key in ["reports/a/1.csv", "reports/a/2.csv"] {
        aws.s3
            .put(csv_object(&bucket, key, "row,outcome\n", None))
            .await
            .unwrap();
    }

    // THEN both are listed
    assert_eq!(
        moto.list_keys(&bucket, "reports/").await,
        vec!["reports/a/1.csv", "reports/a/2.csv"]
    );
}

// ---------------------------------------------------------------- SES

#[tokio::test]
async fn ses_sends_to_every_recipient_with_a_neutralised_subject() {
    // GIVEN a verified sender and two admins
    let (moto, aws) = setup().await;
    let from = format!("{}@example.com", unique_name("rollcall"));
    let admin1 = format!("{}@example.org", unique_name("admin"));
    let admin2 = format!("{}@example.org", unique_name("admin"));
    moto.verify_sender(&from).await;
    let mail = Mail {
        from: from.clone(),
        to: vec![admin1.clone(), admin2.clone()],
        subject: "Onboarding done\r\nBcc: attacker@evil.example".to_string(),
        text: "3 users created".to_string(),
        html: "<p>3 users created</p>".to_string(),
    };

    // WHEN the mailer sends the summary
    let id = aws.mail.send(&mail).await.expect("send succeeds");

    // THEN exactly one message reached both admins, with CR/LF gone from the subject
    assert!(!id.is_empty());
    let sent = moto.sent_mails_to(&admin1).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let sent = &sent[0];
    assert_eq!(sent.id, id);
    assert_eq!(sent.source, from);
    assert_eq!(sent.to, vec![admin1, admin2.clone()]);
    assert!(sent.cc.is_empty() && sent.bcc.is_empty());
    assert_eq!(sent.subject, "Onboarding done Bcc: attacker@evil.example");
    assert!(!sent.subject.contains(['\r', '\n']));
    assert_eq!(
        sent.body, "<p>3 users created</p>",
        "moto keeps the HTML part"
    );
    assert_eq!(moto.sent_mails_to(&admin2).await.len(), 1);
    assert!(moto
        .sent_mails_to("attacker@evil.example")
        .await
        .iter()
        .all(|m| m.source != from));
}

#[tokio::test]
async fn ses_refuses_an_unverified_sender() {
    // GIVEN a sender that was never verified
    let (moto, aws) = setup().await;
    let from = format!("{}@example.com", unique_name("unverified"));
    let to = format!("{}@example.org", unique_name("admin"));
    let mail = Mail {
        from,
        to: vec![to.clone()],
        subject: "s".into(),
        text: "t".into(),
        html: "<p>t</p>".into(),
    };

    // WHEN the mailer sends
    let result = aws.mail.send(&mail).await;

    // THEN it fails with the service's error and nothing is delivered
    match result {
        Err(Error::Aws { service, code, .. }) => {
            assert_eq!((service, code.as_str()), ("SES", "MessageRejected"));
        }
        other => panic!("expected MessageRejected, got {other:?}"),
    }
    assert!(moto.sent_mails_to(&to).await.is_empty());
}

// ---------------------------------------------------------------- Secrets Manager

#[tokio::test]
async fn secrets_manager_reads_a_secret_without_revealing_it() {
    // GIVEN a credentials secret
    let (moto, aws) = setup().await;
    let name = unique_name("arcgis-admin");
    let json = r#"{"username":"admin","password":"hunter2-very-secret"}"#;
    let arn = moto.create_secret(&name, json).await;

    // WHEN it is read by name and by ARN
    let by_name = aws.secrets.secret_string(&name).await.expect("by name");
    let by_arn = aws.secrets.secret_string(&arn).await.expect("by arn");

    // THEN the value is there, but formatting never shows it
    assert_eq!(by_name.expose(), json);
    assert_eq!(by_arn, by_name);
    for shown in [format!("{by_name:?}"), format!("{by_name}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("admin"), "{shown}");
    }
}

#[tokio::test]
async fn secrets_manager_reports_a_missing_secret_as_not_found() {
    // GIVEN no secret of that name
    let (_moto, aws) = setup().await;
    let name = unique_name("absent");

    // WHEN it is read
    let result = aws.secrets.secret_string(&name).await;

    // THEN the error names the secret
    match result {
        Err(Error::NotFound { what }) => assert_eq!(what, format!("secret {name}")),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn secrets_manager_refuses_a_binary_secret() {
    // GIVEN a secret holding only binary data
    let (moto, aws) = setup().await;
    let name = unique_name("binary");
    moto.create_binary_secret(&name, b"\x00\x01secret-bytes")
        .await;

    // WHEN it is read as a string
    let result = aws.secrets.secret_string(&name).await;

    // THEN the error names the secret and says why, without the bytes
    match result {
        Err(err @ Error::Secret { .. }) => {
            let message = err.to_string();
            assert!(message.contains(&name), "{message}");
            assert!(message.contains("binary"), "{message}");
            assert!(!message.contains("secret-bytes"), "{message}");
        }
        other => panic!("expected Error::Secret, got {other:?}"),
    }
}

#[tokio::test]
async fn cached_secrets_serve_the_first_value_until_invalidated() {
    // GIVEN a secret read once through the cache
    let (moto, aws) = setup().await;
    let name = unique_name("rotating");
    moto.create_secret(&name, r#"{"password":"old"}"#).await;
    let cached = CachedSecrets::new(aws.secrets.clone(), DEFAULT_SECRET_TTL);
    assert_eq!(
        cached.secret_string(&name).await.unwrap().expose(),
        r#"{"password":"old"}"#
    );

    // WHEN the secret is rotated in Secrets Manager
    moto.put_secret_value(&name, r#"{"password":"new"}"#).await;

    // THEN the cache still serves the old value (no new call) ...
    assert_eq!(
        cached.secret_string(&name).await.unwrap().expose(),
        r#"{"password":"old"}"#
    );
    assert_eq!(
        aws.secrets.secret_string(&name).await.unwrap().expose(),
        r#"{"password":"new"}"#,
        "the service itself has the new value"
    );
    // ... until it is invalidated (after an auth failure)
    cached.invalidate(&name).await;
    assert_eq!(
        cached.secret_string(&name).await.unwrap().expose(),
        r#"{"password":"new"}"#
    );
}

#[tokio::test]
async fn cached_secrets_refetch_after_the_ttl() {
    // GIVEN a cache with a short TTL and a secret read through it
    let (moto, aws) = setup().await;
    let name = unique_name("ttl");
    moto.create_secret(&name, "v1").await;
    let cached = CachedSecrets::new(aws.secrets.clone(), Duration::from_millis(200));
    assert_eq!(cached.secret_string(&name).await.unwrap().expose(), "v1");

    // WHEN the secret changes and the TTL passes
    moto.put_secret_value(&name, "v2").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // THEN the next read fetches the new value
    assert_eq!(cached.secret_string(&name).await.unwrap().expose(), "v2");
}

#[tokio::test]
async fn cached_secrets_do_not_cache_failures() {
    // GIVEN a secret that does not exist yet, read through the cache
    let (moto, aws) = setup().await;
    let name = unique_name("later");
    let cached = CachedSecrets::new(aws.secrets.clone(), DEFAULT_SECRET_TTL);
    assert!(matches!(
        cached.secret_string(&name).await,
        Err(Error::NotFound { .. })
    ));

    // WHEN it is created
    moto.create_secret(&name, "now").await;

    // THEN the next read finds it
    assert_eq!(cached.secret_string(&name).await.unwrap().expose(), "now");
}

#[tokio::test]
async fn a_create_only_put_refuses_to_overwrite() {
    // GIVEN a bucket without the state object
    let (moto, clients) = setup().await;
    let bucket = unique_name("create-only");
    moto.create_bucket(&bucket).await;
    let first = NewObject {
        if_absent: true,
        ..csv_object(&bucket, "state/sweep.json", "{\"v\":1}", None)
    };

    // WHEN two runs each try to create it
    clients
        .s3
        .put(first.clone())
        .await
        .expect("the first write creates it");
    let second = NewObject {
        body: b"{\"v\":2}".to_vec(),
        ..first
    };
    let refused = clients.s3.put(second).await;

    // THEN the second is refused and the first content stays
    assert!(
        matches!(refused, Err(connectors::Error::PreconditionFailed { .. })),
        "{refused:?}"
    );
    let (body, _, _) = moto.get_object(&bucket, "state/sweep.json").await.unwrap();
    assert_eq!(body, b"{\"v\":1}");
}
