//! The list of every endpoint, from which both the router and
//! `/openapi.json` are built (`crate::openapi`).

use super::*;

/// Every endpoint, once: its handler and what `/openapi.json` says of it.
/// The router and the document are both built from this list, so a route
/// is added here, with every status code its handler can answer. Implied
/// ones are added for you: 401 and 500 behind the key check, 403 for admin
/// routes (any method but GET), 400 for `{id}`, and 400, 413 and 415 with a
/// body.
pub fn routes() -> Vec<Route> {
    use crate::openapi::types::{
        AnyObject, Health, HistoryEntry, Integration, ScriptAnswer, StatusAnswer, ValidationAnswer,
    };
    use junction_core::PlatformDescriptor;
    const NOT_FOUND: &str = "No Integration found with ID n.";
    const NO_SCRIPT: &str = "The platform has no such script.";
    let script = |r: Route, summary: &'static str| {
        r.summary(summary)
            .ok::<ScriptAnswer>(200, "The script; secrets appear as [redacted].")
            .err(422, NO_SCRIPT)
    };
    vec![
        Route::get("/healthz", healthz)
            .public()
            .summary("Liveness; needs no key.")
            .ok::<Health>(200, "Alive."),
        Route::get("/ui", crate::ui::index)
            .public()
            .summary("The status page. Needs no key: it holds no data, asks for a key and sends it to the API as a bearer header.")
            .text(200, "The page.", "text/html"),
        Route::get("/ui/", crate::ui::slash)
            .public()
            .summary("Redirects to /ui.")
            .empty(308, "To /ui."),
        Route::get("/ui/app.js", crate::ui::app_js)
            .public()
            .summary("The status page's script.")
            .text(200, "The script.", "text/javascript"),
        Route::get("/ui/app.css", crate::ui::app_css)
            .public()
            .summary("The status page's style sheet.")
            .text(200, "The style sheet.", "text/css"),
        Route::get("/integrations", crate::list::list)
            .summary("Integrations by id, a bare array: a keyset page (`limit`, `after`; a `Link: <…>; rel=\"next\"` header while a page is full), or without `limit` the whole list, streamed.")
            .query("limit", "A page of at most this many, by id. Without it, the whole list, streamed.",
                serde_json::json!({"type": "integer", "minimum": 1, "maximum": crate::list::MAX_LIMIT}))
            .query("after", "Only integrations with a greater id (keyset).",
                serde_json::json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": i64::MAX}))
            .query("type", "Only integrations of this platform.", serde_json::json!({"type": "string"}))
            .query("status", "Only integrations in this status.", serde_json::json!({"$ref": "#/components/schemas/Status"}))
            .ok::<Vec<Integration>>(200, "Integrations.")
            .err(400, "A bad or unknown query parameter, named in details."),
        Route::post("/integrations", create)
            .summary("Create an integration; tests and set-up continue in the background.")
            .header("Idempotency-Key", "A retried create with the same key and body answers the first one's integration.",
                serde_json::json!({"type": "string", "minLength": 1, "maxLength": 255}))
            .payload()
            .ok::<Integration>(202, "Accepted: status `creating`.")
            .links_to_id()
            .err(409, "An integration for the same platform account exists, or the Idempotency-Key was used with another body.")
            .err(422, "The platform refused the request."),
        Route::post("/integrations/validate", validate)
            .summary("Dry run: the tests create would run; nothing stored.")
            .payload()
            .ok::<ValidationAnswer>(200, "Results."),
        script(Route::post("/integrations/scripts/create", script_create).payload(), "Manual set-up script."),
        script(Route::post("/integrations/scripts/initial-create", script_initial).payload(), "First-stage manual script (Redshift, Synapse)."),
        script(Route::post("/integrations/scripts/cleanup", script_cleanup).payload(), "Removes what a failed create left."),
        script(Route::post("/integrations/scripts/post-cleanup", script_post_cleanup).payload(), "Second cleanup stage, after scripts/cleanup (Synapse: the logins in master)."),
        Route::get("/integrations/{id}", get_one)
            .summary("One integration.")
            .ok::<Integration>(200, "The integration.")
            .err(404, NOT_FOUND),
        Route::put("/integrations/{id}", edit)
            .summary("Edit an integration (or retry a failed create). Secrets left out are kept.")
            .edit_payload()
            .ok::<Integration>(202, "Accepted: status `editing` (or `creating`).")
            .err(404, NOT_FOUND)
            .err(409, "An operation is running, or the integration is deleted.")
            .err(422, "The platform refused the request."),
        Route::delete("/integrations/{id}", delete)
            .summary("Delete (disable). Automatically set-up integrations need privileged credentials in the body, used once and never stored.")
            .delete_credentials()
            .ok::<Integration>(202, "Accepted: status `deleting`.")
            .err(404, NOT_FOUND)
            .err(409, "An operation is running, or it is deleted.")
            .err(422, "The platform refused the request."),
        Route::get("/integrations/{id}/status", status)
            .summary("The status only.")
            .ok::<StatusAnswer>(200, "Status.")
            .err(404, NOT_FOUND),
        Route::get("/integrations/{id}/history", history)
            .summary("Every status change and validation run.")
            .ok::<Vec<HistoryEntry>>(200, "History, oldest first.")
            .err(404, NOT_FOUND),
        Route::post("/integrations/{id}/migrate", migrate)
            .summary("Bring the platform's set-up to the newest version.")
            .ok::<Integration>(202, "Accepted: status `migrating`.")
            .err(404, NOT_FOUND)
            .err(409, "Already at the newest version, or an operation is running.")
            .err(422, "The platform refused the request."),
        Route::post("/integrations/{id}/disable", disable)
            .summary("Switch the integration off without touching the platform: status `disabled` (not in use, never re-validated; its platform account stays taken).")
            .ok::<Integration>(200, "Disabled.")
            .err(404, NOT_FOUND)
            .err(409, "An operation is running, or the status does not allow it (disabled, createError, deleted)."),
        Route::post("/integrations/{id}/enable", enable)
            .summary("Validate with the stored credentials, then enable a disabled integration. When a test fails it stays `disabled` and the answer is 422, naming each failed test; the results are stored and in the history.")
            .ok::<Integration>(200, "Enabled: the validation passed.")
            .err(404, NOT_FOUND)
            .err(409, "Not disabled, or an operation or another enable is running on it.")
            .err(422, "The validation failed: still disabled; `details` has each failed or warning test (path `validationResults.validationTests[i]`)."),
        script(Route::post("/integrations/{id}/scripts/edit", script_edit).edit_payload(), "Script from the stored configuration to a new one.")
            .err(404, NOT_FOUND)
            .err(409, "The integration is deleted."),
        script(Route::post("/integrations/{id}/scripts/delete", script_delete), "Script that removes the set-up.")
            .err(404, NOT_FOUND)
            .err(409, "The integration is deleted."),
        Route::get("/platforms", platforms)
            .summary("Installed platforms: tests, prerequisites, config JSON Schema.")
            .ok::<Vec<PlatformDescriptor>>(200, "Platforms."),
        Route::get("/plugins", plugin_loads)
            .summary("Shared-library plugins of --plugin-dir: loaded, or refused with the reason.")
            .ok::<Vec<crate::registry::PluginLoad>>(200, "Libraries."),
        Route::get("/metrics", metrics)
            .summary("Prometheus text.")
            .text(200, "Metrics.", "text/plain"),
        Route::get("/openapi.json", openapi)
            .summary("This document.")
            .ok::<AnyObject>(200, "OpenAPI 3.1."),
    ]
    .into_iter()
    // Events (`GET /events`) and webhooks.
    .chain(crate::events::routes())
    .collect()
}
