//! The list as pages (keyset, `Link: …; rel="next"`, filters) and as one
//! streamed array; and what an operator notices: one `message` key in a
//! failed operation's JSON log line, a damaged store said once with its path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use junction_testkit::binary::{Server, junction_bin, temp_dir};
use junction_testkit::synthetic::CHECK_PRIVILEGES;
use serde_json::{Value, json};

fn payload(account: &str, extra: Value) -> String {
    let mut config = json!({"account": account, "password": "pw-list-1", "installVersion": 1});
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    json!({"type": "Synthetic", "autoBootstrap": false, "config": config}).to_string()
}

fn create(s: &Server, body: &str) -> i64 {
    let r = s.admin("POST", "/integrations", Some(body));
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["id"].as_i64().unwrap();
    s.settle(id);
    id
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn the_list_pages_by_keyset_with_links_and_filters_and_streams_whole() {
    let s = Server::start("list", &[]);
    let mut all = Vec::new();
    let mut failed = Vec::new();
    for i in 0..7 {
        let extra = if i % 3 == 0 {
            json!({"checks": {CHECK_PRIVILEGES: {"behavior": "fail"}}})
        } else {
            json!({})
        };
        let id = create(&s, &payload(&format!("list-{i}"), extra));
        if i % 3 == 0 {
            failed.push(id);
        }
        all.push(id);
    }
    // Whole, streamed: a bare array of everything, in id order.
    let whole = s.admin("GET", "/integrations", None);
    assert_eq!(whole.status, 200);
    assert_eq!(
        whole.header("transfer-encoding"),
        Some("chunked"),
        "{}",
        whole.head
    );
    assert_eq!(ids(&whole.json()), all);
    // Pages of 3 by following the links.
    let mut path = "/integrations?limit=3".to_owned();
    let mut paged = Vec::new();
    let mut pages = 0;
    loop {
        let r = s.admin("GET", &path, None);
        assert_eq!(r.status, 200, "{}", r.body);
        let page = r.json();
        assert!(page.as_array().unwrap().len() <= 3);
        paged.extend(ids(&page));
        pages += 1;
        let Some(link) = r.header("link") else { break };
        let next = link
            .strip_prefix('<')
            .and_then(|l| l.split_once(">; rel=\"next\""))
            .unwrap()
            .0;
        path = next.to_owned();
    }
    assert_eq!(paged, all);
    assert_eq!(pages, 3);
    // The pages equal the whole list's items.
    let first = s.admin("GET", "/integrations?limit=3", None).json();
    assert_eq!(
        first.as_array().unwrap()[..],
        whole.json().as_array().unwrap()[..3]
    );
    // Filters, on pages and on the stream.
    let errs = s
        .admin("GET", "/integrations?status=createError", None)
        .json();
    assert_eq!(ids(&errs), failed);
    let page = s.admin(
        "GET",
        "/integrations?status=enabled&type=Synthetic&limit=2",
        None,
    );
    assert_eq!(ids(&page.json()).len(), 2);
    let link = page.header("link").unwrap();
    assert!(
        link.contains("status=enabled") && link.contains("type=Synthetic"),
        "{link}"
    );
    assert_eq!(
        s.admin("GET", "/integrations?type=Nope", None).json(),
        json!([])
    );
    assert_eq!(
        s.admin("GET", &format!("/integrations?after={}", all[6]), None)
            .json(),
        json!([])
    );
    for (q, path) in [
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("after=x", "after"),
        ("status=bad", "status"),
        ("sort=id", "sort"),
    ] {
        let r = s.admin("GET", &format!("/integrations?{q}"), None);
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        assert_eq!(r.json()["details"][0]["path"], path, "{q}");
    }
}

#[test]
fn a_failed_operation_logs_one_message_key_and_names_the_reason() {
    let mut s = Server::start("jsonlog", &["--log-format", "json"]);
    create(
        &s,
        &payload(
            "log-1",
            json!({"checks": {CHECK_PRIVILEGES: {"behavior": "fail"}}}),
        ),
    );
    s.terminate();
    let logs = s.logs();
    let line = logs
        .lines()
        .find(|l| l.starts_with('{') && l.contains("operation failed"))
        .unwrap_or_else(|| panic!("no failure line:\n{logs}"));
    assert_eq!(line.matches("\"message\":").count(), 1, "{line}");
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["fields"]["message"], "operation failed", "{line}");
    assert!(
        v["fields"]["reason"]
            .as_str()
            .unwrap()
            .contains("Validation failed"),
        "{line}"
    );
}

#[test]
fn a_damaged_store_is_said_once_with_its_path_and_what_to_do() {
    let dir = temp_dir("damaged");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("junction.db");
    std::fs::write(&db, vec![0x42; 16384]).unwrap();
    let out = std::process::Command::new(junction_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env("JUNCTION_ADMIN_KEY", junction_testkit::binary::ADMIN)
        .env_remove("JUNCTION_SECRET_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("junction: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains(&db.display().to_string()), "{line}");
    assert!(line.contains("restore it from a backup"), "{line}");
    assert_eq!(
        line.matches("not a database").count(),
        1,
        "said once: {line}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn the_data_directory_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = Server::start("modes", &[]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.data_dir), 0o700);
    assert_eq!(mode(&s.data_dir.join("junction.db")), 0o600);
    assert_eq!(mode(&s.data_dir.join("secret.key")), 0o600);
}
