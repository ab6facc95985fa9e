//! The manual scripts: what an operator runs by hand instead of an automatic
//! set-up, written by the platform, scrubbed of every secret.

use super::{Host, HostError};
use crate::payload::Payload;
use crate::secrets::{ScrubList, Secrets};
use junction_core::{OpError, Script, ScriptKind};

/// What a script is written for.
pub enum ScriptFor {
    /// A configuration not stored (create, initial-create, cleanup).
    New(Payload),
    /// A stored integration, and for an edit the configuration it moves to.
    Stored { id: i64, edit: Option<Payload> },
}

impl Host {
    /// The manual-script endpoints.
    pub async fn script(&self, kind: ScriptKind, target: ScriptFor) -> Result<Script, HostError> {
        if let (ScriptKind::Delete, ScriptFor::Stored { id, edit: None }) = (kind, &target) {
            if let Some(script) = self.leftovers_script(*id).await? {
                return Ok(script);
            }
        }
        let (entry, config, previous, mut scrub) = match target {
            ScriptFor::Stored { id, edit } => {
                let row = self.integration(id).await?;
                // Its secrets went with the delete: there is nothing to script.
                if row.status == junction_core::Status::Deleted {
                    return Err(HostError::Conflict(format!(
                        "Integration {id} is deleted: there is no set-up to script."
                    )));
                }
                let entry = self.platforms.get(&row.type_name)?;
                let paths = entry.secret_paths();
                let stored = self.full_config(&row)?;
                let mut scrub = ScrubList::of(&stored, paths);
                match edit {
                    Some(p) => {
                        if p.type_name != row.type_name {
                            return Err(HostError::field(
                                "type",
                                format!("integration {id} is a {} integration", row.type_name),
                            ));
                        }
                        let mut new_config = p.config;
                        Secrets::keep_omitted(&mut new_config, &stored, paths);
                        scrub.add(&new_config, paths);
                        let parsed = entry
                            .platform
                            .parse(&new_config, p.auto_bootstrap)
                            .map_err(|e| HostError::Invalid(e).scrubbed(&scrub))?;
                        (entry, parsed.full, Some(stored), scrub)
                    }
                    None => (entry, stored, None, scrub),
                }
            }
            ScriptFor::New(p) => {
                let entry = self.platforms.get(&p.type_name)?;
                let scrub = ScrubList::of(&p.config, entry.secret_paths());
                let parsed = entry
                    .platform
                    .parse(&p.config, p.auto_bootstrap)
                    .map_err(|e| HostError::Invalid(e).scrubbed(&scrub))?;
                (entry, parsed.full, None, scrub)
            }
        };
        scrub.add(&config, entry.secret_paths());
        let script = entry
            .platform
            .script(kind, &config, previous.as_ref())
            .map_err(|e| {
                match e {
                    OpError::Invalid(errors) => HostError::Invalid(errors),
                    OpError::Unsupported(m) | OpError::Failed(m) => HostError::Refused {
                        message: m,
                        details: Vec::new(),
                    },
                }
                .scrubbed(&scrub)
            })?;
        Ok(Script {
            language: script.language,
            statements: script.statements.iter().map(|s| scrub.text(s)).collect(),
        })
    }
}

impl Host {
    /// For an integration a recovery left objects of: the statements that
    /// remove exactly those, last created first (the journal's undos).
    async fn leftovers_script(&self, id: i64) -> Result<Option<Script>, HostError> {
        let row = self.integration(id).await?;
        let Some(text) = &row.leftovers else {
            return Ok(None);
        };
        let left: Vec<serde_json::Value> =
            serde_json::from_str(text).map_err(HostError::internal)?;
        let entry = self.platforms.get(&row.type_name)?;
        let stored = self.full_config(&row)?;
        let scrub = ScrubList::of(&stored, entry.secret_paths());
        let language = entry
            .platform
            .script(ScriptKind::Delete, &stored, None)
            .map(|s| s.language)
            .unwrap_or_else(|_| "text".into());
        let statements = left
            .iter()
            .rev()
            .filter_map(|o| o.get("undo").and_then(serde_json::Value::as_str))
            .map(|u| scrub.text(u))
            .collect();
        Ok(Some(Script {
            language,
            statements,
        }))
    }
}
