//! How the API's answers read as tables: integrations (id, type, status,
//! account, last validated, failing tests), a status, a history, and one
//! test's result as a line.

use super::table::{Cell, Colour, Table, join_truncated};
use serde_json::Value;

/// The widest the failing-tests column gets before it is cut at a name.
const FAILING_MAX: usize = 60;

/// How each platform names its account, for the list (the status page
/// shows the same; the host's account key is not in the answer).
pub fn account(i: &Value) -> String {
    let c = &i["config"];
    let s = |k: &str| match &c[k] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let join = |parts: &[Option<String>], sep: &str| {
        parts
            .iter()
            .flatten()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(sep)
    };
    let with_port =
        |port: &str| s("host").map(|h| format!("{h}:{}", s("port").unwrap_or(port.to_owned())));
    match i["type"].as_str().unwrap_or_default() {
        "Native S3" => join(
            &[s("awsAccountId"), s("awsRegion"), s("awsLocationPath")],
            " · ",
        ),
        "Redshift" => with_port("5439").unwrap_or_default(),
        "Snowflake" => s("host").unwrap_or_default(),
        "Databricks" => s("workspaceUrl").unwrap_or_default(),
        "Google BigQuery" => {
            let project =
                s("projectId").or_else(|| c["credential"]["projectId"].as_str().map(str::to_owned));
            join(&[project, s("dataset")], " / ")
        }
        "Azure Synapse Analytics" => with_port("1433")
            .map(|h| format!("{h}/{}", s("database").unwrap_or_default()))
            .unwrap_or_default(),
        _ => s("account")
            .or_else(|| s("host"))
            .or_else(|| s("workspaceUrl"))
            .unwrap_or_default(),
    }
}

/// The names of the tests that failed.
pub fn failing(i: &Value) -> Vec<String> {
    i["validationResults"]["validationTests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["status"] == "failed")
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect()
}

/// A status's colour: green in use and well, red after a failure, yellow
/// while an operation runs.
pub fn status_colour(status: &str) -> Option<Colour> {
    match junction_core::Status::parse(status) {
        Some(s) if s.in_progress() => Some(Colour::Yellow),
        _ if status == "enabled" => Some(Colour::Green),
        _ if status.ends_with("Error") => Some(Colour::Red),
        _ => Some(Colour::Dim),
    }
}

/// `2026-11-28T10:30:00.123Z` as `2026-11-28 10:30:00Z`.
pub fn short_time(at: &str) -> String {
    match (at.get(..10), at.get(11..19)) {
        (Some(day), Some(time)) if at.len() > 19 => format!("{day} {time}Z"),
        _ => at.to_owned(),
    }
}

/// When the integration's tests last ran, from its history.
pub fn last_validation(history: &Value) -> Option<String> {
    history
        .as_array()?
        .iter()
        .rev()
        .find(|e| e["event"] == "validation")
        .and_then(|e| e["at"].as_str())
        .map(short_time)
}

/// Integrations as a table; `last` gives each one's last validation.
pub fn integrations(items: &[Value], last: impl Fn(i64) -> Option<String>) -> Table {
    let mut t = Table::new(&[
        "ID",
        "TYPE",
        "STATUS",
        "ACCOUNT",
        "LAST VALIDATED",
        "FAILING TESTS",
    ]);
    for i in items {
        let id = i["id"].as_i64().unwrap_or_default();
        let status = i["status"].as_str().unwrap_or_default();
        let failing = join_truncated(&failing(i), FAILING_MAX);
        t.row(vec![
            id.to_string().into(),
            i["type"].as_str().unwrap_or_default().into(),
            Cell::coloured(status, status_colour(status)),
            or_dash(account(i)),
            or_dash(last(id).unwrap_or_default()),
            if failing.is_empty() {
                "-".into()
            } else {
                Cell::coloured(failing, Some(Colour::Red))
            },
        ]);
    }
    t
}

fn or_dash(s: String) -> Cell {
    if s.is_empty() { "-".into() } else { s.into() }
}

/// `GET /integrations/{id}/status` as a table.
pub fn status(v: &Value) -> Table {
    let mut t = Table::new(&["ID", "STATUS"]);
    let status = v["status"].as_str().unwrap_or_default();
    t.row(vec![
        v["id"].as_i64().unwrap_or_default().to_string().into(),
        Cell::coloured(status, status_colour(status)),
    ]);
    t
}

/// A history as a table: each status change and validation run.
pub fn history(v: &Value) -> Table {
    let mut t = Table::new(&["SEQ", "AT", "EVENT", "FROM", "TO", "RESULT", "MESSAGE"]);
    for e in v.as_array().into_iter().flatten() {
        let text = |k: &str| e[k].as_str().unwrap_or("").to_owned();
        let result = e["validationResults"]["status"].as_str().unwrap_or("");
        let to = text("to");
        t.row(vec![
            e["seq"].as_i64().unwrap_or_default().to_string().into(),
            short_time(&text("at")).into(),
            text("event").into(),
            or_dash(text("from")),
            if to.is_empty() {
                "-".into()
            } else {
                Cell::coloured(to.clone(), status_colour(&to))
            },
            if result.is_empty() {
                "-".into()
            } else {
                Cell::coloured(result, test_colour(result))
            },
            text("message").into(),
        ]);
    }
    t
}

fn test_colour(status: &str) -> Option<Colour> {
    match status {
        "passed" => Some(Colour::Green),
        "failed" => Some(Colour::Red),
        "warning" => Some(Colour::Yellow),
        _ => Some(Colour::Dim),
    }
}

/// One test's result as a line: `✓ name`, `✗ name: message` on a terminal,
/// `passed   name`, `failed   name: message` elsewhere (plain ASCII).
pub fn test_line(
    name: &str,
    status: &str,
    message: Option<&str>,
    terminal: bool,
    colour: bool,
) -> String {
    let message = message
        .filter(|m| !m.is_empty() && status != "passed")
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    if terminal {
        let mark = match status {
            "passed" => "✓",
            "failed" => "✗",
            "warning" => "!",
            _ => "-",
        };
        let mark = test_colour(status).map_or(mark.to_owned(), |c| c.paint(mark, colour));
        format!("{mark} {name}{message}")
    } else {
        format!("{status:<8} {name}{message}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_integration_reads_as_a_row() {
        let i = json!({"id": 7, "status": "createError", "type": "Synthetic",
            "config": {"account": "acct-1"},
            "validationResults": {"status": "failed", "validationTests": [
                {"name": "A", "status": "passed", "message": null},
                {"name": "B", "status": "failed", "message": "no"},
                {"name": "C", "status": "warning", "message": "hm"},
                {"name": "D", "status": "failed", "message": "no"}]}});
        let t = integrations(&[i], |id| {
            (id == 7).then(|| "2026-11-28 10:30:00Z".to_owned())
        });
        assert_eq!(
            t.lines(false),
            vec![
                "ID   TYPE        STATUS        ACCOUNT   LAST VALIDATED         FAILING TESTS",
                "7    Synthetic   createError   acct-1    2026-11-28 10:30:00Z   B, D",
            ]
        );
    }

    #[test]
    fn accounts_as_the_status_page_names_them() {
        let a = |t: &str, c: Value| account(&json!({"type": t, "config": c}));
        assert_eq!(a("Redshift", json!({"host": "h"})), "h:5439");
        assert_eq!(a("Redshift", json!({"host": "h", "port": 5440})), "h:5440");
        assert_eq!(
            a(
                "Native S3",
                json!({"awsAccountId": "1", "awsRegion": "eu", "awsLocationPath": "s3://b"})
            ),
            "1 · eu · s3://b"
        );
        assert_eq!(
            a(
                "Google BigQuery",
                json!({"credential": {"projectId": "p"}, "dataset": "d"})
            ),
            "p / d"
        );
        assert_eq!(
            a(
                "Azure Synapse Analytics",
                json!({"host": "h", "database": "db"})
            ),
            "h:1433/db"
        );
        assert_eq!(a("Unknown", json!({})), "");
    }

    #[test]
    fn test_lines_on_and_off_a_terminal() {
        assert_eq!(test_line("A", "passed", None, true, false), "✓ A");
        assert_eq!(test_line("A", "failed", Some("no"), true, false), "✗ A: no");
        assert_eq!(
            test_line("A", "failed", Some("no"), false, false),
            "failed   A: no"
        );
        assert_eq!(
            test_line("A", "passed", Some("ignored"), false, false),
            "passed   A"
        );
        assert_eq!(
            test_line("A", "failed", None, true, true),
            "\x1b[31m✗\x1b[0m A"
        );
        assert_eq!(
            short_time("2026-11-28T10:30:00.123Z"),
            "2026-11-28 10:30:00Z"
        );
    }
}
