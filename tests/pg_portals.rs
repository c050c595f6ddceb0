//! Portals read in pieces (issue 16): an Execute with `max_rows` > 0 sends at most that
//! many rows, then PortalSuspended, and the next Execute of the portal goes on where the
//! last stopped, as PostgreSQL does for pgjdbc's `setFetchSize` and node-postgres' cursors.
//! Over a bounded table and over an endless streaming query, whose pieces arrive while the
//! job runs.

mod common;

use common::{exec, scalar, Eddy};

#[tokio::test]
async fn a_bounded_portal_is_read_in_pieces() {
    let eddy = Eddy::start();
    let mut client = eddy.connect().await;
    exec(
        &client,
        "CREATE TABLE seq (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '25', \
         'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '25')",
    )
    .await;
    let tx = client.transaction().await.unwrap();
    let portal = tx
        .bind("SELECT id FROM seq ORDER BY id", &[])
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut pieces = Vec::new();
    loop {
        let rows = tx.query_portal(&portal, 10).await.unwrap();
        pieces.push(rows.len());
        if rows.is_empty() {
            break;
        }
        seen.extend(rows.iter().map(|r| r.get::<_, i64>(0)));
    }
    // 25 rows in pieces of 10: the third piece ends the portal, and a portal that ended
    // is read as empty.
    assert_eq!(pieces, [10, 10, 5, 0]);
    assert_eq!(seen, (1..=25).collect::<Vec<i64>>());

    // A second portal exactly as long as its pieces: PostgreSQL does not look ahead, so
    // the last full piece is suspended and the next Execute completes with no rows.
    let portal = tx
        .bind("SELECT id FROM seq WHERE id <= 20", &[])
        .await
        .unwrap();
    assert_eq!(tx.query_portal(&portal, 10).await.unwrap().len(), 10);
    assert_eq!(tx.query_portal(&portal, 10).await.unwrap().len(), 10);
    assert_eq!(tx.query_portal(&portal, 10).await.unwrap().len(), 0);
    tx.commit().await.unwrap();
    assert_eq!(
        scalar(&client, "SELECT count(*) FROM seq").await.as_deref(),
        Some("25")
    );
}

#[tokio::test]
async fn a_streaming_portal_is_read_in_pieces_while_it_runs() {
    let eddy = Eddy::start();
    let mut client = eddy.connect().await;
    exec(
        &client,
        "CREATE TABLE ticks (id BIGINT) WITH ('connector' = 'datagen', \
         'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000', \
         'rows-per-second' = '200')",
    )
    .await;
    let tx = client.transaction().await.unwrap();
    let portal = tx.bind("SELECT id FROM ticks", &[]).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        // Each piece returns as soon as it has its rows; the query never ends.
        let rows = tx.query_portal(&portal, 7).await.unwrap();
        assert_eq!(rows.len(), 7);
        seen.extend(rows.iter().map(|r| r.get::<_, i64>(0)));
    }
    // The source's subtasks split the sequence; no row comes twice.
    let distinct: std::collections::BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(distinct.len(), 21, "{seen:?}");
    // Closing the portal (ending the transaction) stops reading; the session goes on.
    tx.rollback().await.unwrap();
    assert_eq!(scalar(&client, "SELECT 1 + 1").await.as_deref(), Some("2"));
}
