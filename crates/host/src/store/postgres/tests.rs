//! The store suite on PostgreSQL: a database of its own per test in the
//! stand-in (`cargo xtask stand-ins up postgres`); under `CI=true` a missing
//! stand-in fails the test.

use super::PostgresStore;
use crate::store::{SCHEMA_VERSION, Store};
use junction_testkit::stand_ins::{self, Postgres};
use std::sync::Arc;
use tokio_postgres::NoTls;

pub struct Fixture {
    store: Arc<dyn Store>,
    pg: Postgres,
    database: String,
}

/// A `postgres://` URL for `database` on the stand-in.
pub fn url(pg: &Postgres, database: &str) -> String {
    format!(
        "postgres://{}:{}@{}:{}/{database}?sslmode=disable",
        pg.user, pg.password, pg.host, pg.port
    )
}

async fn admin(pg: &Postgres) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&pg.conninfo(), NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// A new, empty database on the stand-in.
pub async fn new_database(pg: &Postgres, tag: &str) -> String {
    let database = junction_testkit::unique_name(tag, '_');
    admin(pg)
        .await
        .batch_execute(&format!("CREATE DATABASE \"{database}\""))
        .await
        .unwrap();
    database
}

pub async fn drop_database(pg: &Postgres, database: &str) {
    let _ = admin(pg)
        .await
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
        ))
        .await;
}

impl Fixture {
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    pub async fn cleanup(self) {
        drop(self.store);
        drop_database(&self.pg, &self.database).await;
    }
}

pub async fn fixture() -> Option<Fixture> {
    let pg = stand_ins::require::<Postgres>("postgres")?;
    let database = new_database(&pg, "jstore").await;
    let store = PostgresStore::connect(&url(&pg, &database)).await.unwrap();
    Some(Fixture {
        store: Arc::new(store),
        pg,
        database,
    })
}

crate::store_suite!(fixture);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_starting_together_migrate_once_and_the_url_hides_the_password() {
    let Some(pg) = stand_ins::require::<Postgres>("postgres") else {
        return;
    };
    let database = new_database(&pg, "jmigr").await;
    let u = url(&pg, &database);
    let (a, b, c) = tokio::join!(
        PostgresStore::connect(&u),
        PostgresStore::connect(&u),
        PostgresStore::connect(&u)
    );
    let (a, _b, _c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let described = a.describe();
    assert!(
        described.contains(&database) && !described.contains(&pg.password),
        "{described}"
    );
    let client = admin(&Postgres {
        database: database.clone(),
        ..pg.clone()
    })
    .await;
    let rows = client
        .query("SELECT version FROM junction_schema", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i64>(0), SCHEMA_VERSION);
    drop((a, _b, _c));
    drop_database(&pg, &database).await;
}

#[tokio::test]
async fn a_bad_url_is_a_clear_error() {
    let Err(e) = PostgresStore::connect("postgres://u@127.0.0.1:1/x?sslmode=nonsense").await else {
        panic!("a bad URL connected")
    };
    assert!(e.to_string().contains("not a PostgreSQL URL"), "{e}");
}

/// `sslmode=require` speaks TLS: the stand-in, which has none, is refused
/// rather than spoken to in the clear.
#[tokio::test]
async fn sslmode_require_never_falls_back_to_plain_tcp() {
    let Some(pg) = stand_ins::require::<Postgres>("postgres") else {
        return;
    };
    let u = url(&pg, &pg.database).replace("sslmode=disable", "sslmode=require");
    let Err(e) = PostgresStore::connect(&u).await else {
        panic!("connected without TLS")
    };
    let text = e.to_string();
    assert!(text.contains("TLS") || text.contains("SSL"), "{text}");
    assert!(!text.contains(&pg.password), "{text}");
}
