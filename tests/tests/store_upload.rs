//! Streaming uploads (`connectors::store::Upload`, `CsvUpload`, and the
//! reports written through them, `connectors::report::ReportUpload`): the real S3
//! adapter against moto for what S3 keeps (the object's bytes, metadata and
//! the uploads left open), the in-memory store for a part failing.

use connectors::aws::AwsClients;
use connectors::report::{report_key, ReportUpload, ReportWriter};
use connectors::store::{
    CsvUpload, NewUpload, ObjectStore, Upload, DEFAULT_PART_SIZE, RUN_ID_METADATA,
    WRITTEN_BY_METADATA,
};
use connectors::Error;
use rollcall_tests::fakes::FakeStore;
use rollcall_tests::moto::{unique_name, Moto};

async fn bucket() -> (Moto, AwsClients, String) {
    let moto = Moto::connect().await;
    let aws = AwsClients::from_conf(&moto.conf);
    let bucket = unique_name("upload");
    moto.create_bucket(&bucket).await;
    (moto, aws, bucket)
}

/// `rows` CSV records of about 100 bytes, each different.
fn rows(count: usize) -> Vec<[String; 3]> {
    (0..count)
        .map(|i| {
            [
                format!("member.{i:07}"),
                format!("Member {i}, \"quoted\""),
                "x".repeat(60),
            ]
        })
        .collect()
}

fn expected_csv(rows: &[[String; 3]]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["username", "name", "padding"])
        .unwrap();
    for row in rows {
        writer.write_record(row).unwrap();
    }
    writer.into_inner().unwrap()
}

#[tokio::test]
async fn a_csv_larger_than_a_part_is_uploaded_in_parts_and_reads_back_byte_for_byte() {
    // GIVEN records making about 20 MiB, more than two 8 MiB parts
    let (moto, aws, bucket) = bucket().await;
    let records = rows(200_000);
    let expected = expected_csv(&records);
    assert!(expected.len() > 2 * DEFAULT_PART_SIZE);
    let key = "exports/arcgis-users-20261202T153000Z.csv";

    // WHEN they are streamed to S3
    let target = NewUpload::csv(&bucket, key, "export", "run-1");
    let mut upload = CsvUpload::new(&aws.s3, target, &["username", "name", "padding"]);
    for record in &records {
        upload.row(record).await.expect("row");
    }
    assert_eq!(upload.rows(), 200_000);
    let uploaded = upload.finish().await.expect("finish");

    // THEN the object is the whole CSV, in three parts, marked as rollcall's
    assert_eq!(uploaded.parts, 3);
    assert_eq!(uploaded.bytes, expected.len() as u64);
    assert_eq!(uploaded.uri(), format!("s3://{bucket}/{key}"));
    let (body, metadata, etag) = moto.get_object(&bucket, key).await.expect("the object");
    assert!(body == expected, "the bytes read back differ");
    assert!(etag.ends_with("-3\""), "a multipart ETag: {etag}");
    assert_eq!(metadata[WRITTEN_BY_METADATA], "export");
    assert_eq!(metadata[RUN_ID_METADATA], "run-1");
    let head = moto
        .s3
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/csv; charset=utf-8"));
    assert!(moto.open_uploads(&bucket).await.is_empty());
}

#[tokio::test]
async fn an_output_smaller_than_a_part_is_one_plain_put() {
    // GIVEN three records
    let (moto, aws, bucket) = bucket().await;
    let records = rows(3);
    let key = "exports/ams-groups-20261202T153000Z.csv";

    // WHEN they are streamed to S3
    let target = NewUpload::csv(&bucket, key, "export", "run-2");
    let mut upload = CsvUpload::new(&aws.s3, target, &["username", "name", "padding"]);
    for record in &records {
        upload.row(record).await.expect("row");
    }
    let uploaded = upload.finish().await.expect("finish");

    // THEN one put wrote them: no part, a plain ETag, the marker metadata
    assert_eq!(uploaded.parts, 0);
    let (body, metadata, etag) = moto.get_object(&bucket, key).await.expect("the object");
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "username,name,padding\n\
         member.0000000,\"Member 0, \"\"quoted\"\"\",xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n\
         member.0000001,\"Member 1, \"\"quoted\"\"\",xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n\
         member.0000002,\"Member 2, \"\"quoted\"\"\",xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
    );
    assert!(!etag.contains('-'), "a single-put ETag: {etag}");
    assert_eq!(metadata[WRITTEN_BY_METADATA], "export");
    assert!(moto.open_uploads(&bucket).await.is_empty());
}

#[tokio::test]
async fn an_empty_csv_is_its_header() {
    // GIVEN no records WHEN the CSV is finished
    let (moto, aws, bucket) = bucket().await;
    let key = "exports/empty.csv";
    let upload = CsvUpload::new(
        &aws.s3,
        NewUpload::csv(&bucket, key, "export", "run-3"),
        &["id", "title"],
    );
    let uploaded = upload.finish().await.expect("finish");

    // THEN the object is the header line
    assert_eq!(uploaded.bytes, 9);
    let (body, _, _) = moto.get_object(&bucket, key).await.expect("the object");
    assert_eq!(body, b"id,title\n");
}

#[tokio::test]
async fn an_aborted_upload_leaves_no_object_and_no_parts() {
    // GIVEN an upload with one part already sent
    let (moto, aws, bucket) = bucket().await;
    let key = "exports/aborted.csv";
    let mut upload = Upload::new(&aws.s3, NewUpload::csv(&bucket, key, "export", "run-4"));
    upload
        .write(&vec![b'a'; DEFAULT_PART_SIZE + 10])
        .await
        .expect("the first part");
    assert_eq!(moto.open_uploads(&bucket).await, [key]);

    // WHEN it is aborted
    upload.abort().await.expect("abort");

    // THEN there is no object and no open upload
    assert!(moto.get_object(&bucket, key).await.is_none());
    assert!(moto.open_uploads(&bucket).await.is_empty());
}

#[tokio::test]
async fn an_upload_dropped_before_it_finished_is_aborted() {
    // GIVEN an upload with one part sent
    let (moto, aws, bucket) = bucket().await;
    let key = "exports/dropped.csv";
    let mut upload = Upload::new(&aws.s3, NewUpload::csv(&bucket, key, "export", "run-5"));
    upload
        .write(&vec![b'b'; DEFAULT_PART_SIZE])
        .await
        .expect("the first part");

    // WHEN the writer is dropped (as when a deadline cuts the export short)
    drop(upload);

    // THEN the upload is aborted in the background: no object, no parts
    let mut open = moto.open_uploads(&bucket).await;
    for _ in 0..100 {
        if open.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        open = moto.open_uploads(&bucket).await;
    }
    assert!(open.is_empty(), "still open: {open:?}");
    assert!(moto.get_object(&bucket, key).await.is_none());
}

#[tokio::test]
async fn a_part_that_fails_aborts_the_upload_and_refuses_more() {
    // GIVEN a store whose second part fails
    let store = FakeStore::default();
    store.multipart.fail_part.set(Some(2));
    let key = "exports/failing.csv";
    let mut upload = Upload::new(&store, NewUpload::csv("b", key, "export", "run-6"));
    upload
        .write(&vec![b'c'; DEFAULT_PART_SIZE])
        .await
        .expect("the first part");
    assert_eq!(store.multipart.open(), 1);

    // WHEN the second part is written
    let failed = upload.write(&vec![b'd'; DEFAULT_PART_SIZE]).await;

    // THEN the write fails, the upload is aborted, and the writer takes
    // nothing more: finishing cannot turn the rest into an object
    assert!(
        matches!(failed, Err(Error::Unavailable { .. })),
        "{failed:?}"
    );
    assert_eq!(store.multipart.open(), 0);
    assert!(upload.write(b"more").await.is_err());
    assert!(upload.finish().await.is_err());
    assert!(store.get("b", key).await.unwrap().is_none());
}

#[tokio::test]
async fn a_writer_of_the_fake_store_streams_parts_and_marks_the_object() {
    // GIVEN the in-memory store WHEN 12 MiB and a tail are written
    let store = FakeStore::default();
    let key = "exports/fake.csv";
    let mut upload = Upload::new(&store, NewUpload::csv("b", key, "export", "run-7"));
    let mut expected = Vec::new();
    for chunk in [vec![b'e'; 6 << 20], vec![b'f'; 6 << 20], b"tail".to_vec()] {
        upload.write(&chunk).await.unwrap();
        expected.extend(chunk);
    }
    let uploaded = upload.finish().await.unwrap();

    // THEN it is one object of two parts with the marker metadata
    assert_eq!(uploaded.parts, 2);
    assert_eq!(store.multipart.started(), 1);
    assert_eq!(store.multipart.open(), 0);
    assert!(store.get("b", key).await.unwrap().unwrap().body == expected);
    assert_eq!(store.metadata(key).unwrap()[WRITTEN_BY_METADATA], "export");
}

#[tokio::test]
async fn a_streamed_report_is_byte_for_byte_the_report_built_in_memory() {
    // GIVEN report rows making more than one part, some starting like a
    // spreadsheet formula
    let (moto, aws, bucket) = bucket().await;
    let records: Vec<[String; 3]> = rows(120_000)
        .into_iter()
        .enumerate()
        .map(|(i, [a, b, c])| match i % 3 {
            0 => [format!("={a}"), b, c],
            1 => [a, format!("-{b}"), c],
            _ => [a, b, c],
        })
        .collect();
    let columns = ["username", "name", "padding"];
    let mut in_memory = ReportWriter::new(&columns);
    for record in &records {
        in_memory.row(record);
    }
    let expected = in_memory.finish();
    assert!(expected.len() > DEFAULT_PART_SIZE);
    let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();

    // WHEN they are streamed as the sweep's report
    let mut report = ReportUpload::new(&aws.s3, &bucket, "sweep", date, "run-9", &columns);
    for record in &records {
        report.row(record).await.expect("row");
    }
    assert_eq!(report.rows(), 120_000);
    let uri = report.finish().await.expect("finish");

    // THEN the object at the report's key holds the same bytes, in parts
    let key = report_key("sweep", date, "run-9");
    assert_eq!(uri, format!("s3://{bucket}/{key}"));
    let (body, metadata, etag) = moto.get_object(&bucket, &key).await.expect("the report");
    assert!(body == expected, "the bytes read back differ");
    assert!(etag.ends_with("-2\""), "a multipart ETag: {etag}");
    assert_eq!(metadata[WRITTEN_BY_METADATA], "sweep");
    assert_eq!(metadata[RUN_ID_METADATA], "run-9");
}
