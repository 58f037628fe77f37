//! The report link in an admins' mail downloads the report: the real S3
//! adapter presigns it against moto, and fetching it gives the report's bytes.

use rollcall_tests::sandbox::SandboxConfig;
use rollcall_tests::world::{InBucket, World};

#[tokio::test]
async fn the_mails_download_link_fetches_the_report() {
    // GIVEN an onboarding file with a row that fails
    let world = World::new(SandboxConfig::online()).await;
    let key = "inbox/arcgis/links.csv";
    world
        .drop_csv(
            key,
            "username,firstname,lastname,email\nnew.member1,New,Member,new.member1@example.org\nbad.row,Bad,Row,not-an-address\n",
        )
        .await;
    let handler = world.handler(world.config()).await;

    // WHEN it runs
    let response = handler.handle(world.s3_event(key)).await.unwrap();

    // THEN the mail has a download link, valid for REPORT_LINK_DAYS (7),
    // that fetches exactly the report
    let mails = world.moto.sent_mails_to(&world.admin_email).await;
    assert_eq!(mails.len(), 1);
    let html = &mails[0].body;
    let (_, after) = html.split_once("<a href=\"").expect("a link in the mail");
    let (href, rest) = after.split_once('"').unwrap();
    assert!(rest.contains(">Download the report</a>"), "{html}");
    let href = href.replace("&amp;", "&");
    assert!(href.contains("X-Amz-Expires=604800"), "{href}");
    let fetched = reqwest::get(&href).await.unwrap();
    assert_eq!(fetched.status(), 200, "{href}");
    let bytes = fetched.bytes().await.unwrap();
    let report = world.text_at(response.report.as_deref().unwrap()).await;
    assert_eq!(bytes.as_ref(), report.as_bytes());
    assert!(report.contains("bad.row"), "{report}");
    // AND the S3 console's page of it and its s3:// URI are beside it
    let shown = rollcall_tests::mail::cells(html);
    assert!(shown.contains("|Open in the S3 console|"), "{shown}");
    assert!(
        shown.contains(response.report.as_deref().unwrap()),
        "{shown}"
    );
}
