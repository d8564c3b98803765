//! Label schemas: the built-in SDoH and outcome schemas, schema files, and the label list.

use std::path::Path;

use api::{Label, LabelLook, SchemaSummary};
use store::schema::{SchemaFile, parse_schema};

use crate::error::Error;
use crate::project::Project;

/// Schemas shipped with Clinitune, by name: (name, TOML).
pub const BUILTIN: &[(&str, &str)] = &[
    ("sdoh", include_str!("../../../assets/schemas/sdoh.toml")),
    (
        "outcomes",
        include_str!("../../../assets/schemas/outcomes.toml"),
    ),
];

/// A schema parsed and validated, ready to add to a project.
#[derive(Debug, Clone)]
pub struct ParsedSchema {
    file: SchemaFile,
    labels: Vec<Label>,
    text: String,
}

/// Reads a schema from a TOML file path or, when no such file exists, a built-in name.
pub fn load(name_or_path: &str) -> Result<ParsedSchema, Error> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|source| store::Error::Io {
            action: "read",
            path: path.to_owned(),
            source,
        })?;
        let (file, labels) = parse_schema(&path.display().to_string(), &text)?;
        return Ok(ParsedSchema { file, labels, text });
    }
    match BUILTIN.iter().find(|(name, _)| *name == name_or_path) {
        Some((name, text)) => {
            let (file, labels) = parse_schema(&format!("built-in {name}"), text)?;
            Ok(ParsedSchema {
                file,
                labels,
                text: (*text).to_owned(),
            })
        }
        None => Err(Error::UnknownSchema {
            name: name_or_path.to_owned(),
        }),
    }
}

/// Adds a schema (file path or built-in name) to the project, replacing one of the same name.
pub fn add(project: &mut Project, name_or_path: &str) -> Result<SchemaSummary, Error> {
    let parsed = load(name_or_path)?;
    add_parsed(project, &parsed)
}

pub(crate) fn add_parsed(
    project: &mut Project,
    parsed: &ParsedSchema,
) -> Result<SchemaSummary, Error> {
    project.store.write(|tx| {
        tx.add_schema(&parsed.file, &parsed.labels, &parsed.text)?;
        tx.audit(
            "system",
            "add_schema",
            "label_schema",
            None,
            None,
            &serde_json::json!({ "name": parsed.file.name, "labels": parsed.labels.len() }),
        )
    })?;
    Ok(SchemaSummary {
        name: parsed.file.name.clone(),
        version: parsed.file.version,
        description: parsed.file.description.clone(),
        labels: parsed.labels.iter().map(|l| l.name.clone()).collect(),
    })
}

/// The project's schemas.
pub fn list(project: &Project) -> Result<Vec<SchemaSummary>, Error> {
    Ok(project.store.db().schemas()?)
}

/// Every label of the project, with colours, hotkeys and attributes.
pub fn labels(project: &Project) -> Result<Vec<Label>, Error> {
    Ok(project.store.db().labels()?)
}

/// Changes a label's display name, colour and hotkey (audited under `annotator`).
pub fn update_label(
    project: &mut Project,
    name: &str,
    look: &LabelLook,
    annotator: &str,
) -> Result<Label, Error> {
    project.store.write(|tx| {
        let before = tx.label(name)?;
        let after = tx.update_label_look(name, &look.display, &look.color, look.hotkey.as_deref())?;
        tx.audit(
            annotator,
            "update_label",
            "label",
            None,
            None,
            &serde_json::json!({
                "label": after.name,
                "from": { "display": before.display, "color": before.color, "hotkey": before.hotkey },
                "to": { "display": after.display, "color": after.color, "hotkey": after.hotkey },
            }),
        )?;
        Ok(after)
    })
}

#[cfg(test)]
mod tests;
