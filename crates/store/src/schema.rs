//! Label schemas: the TOML format (see `assets/schemas/README.md`), validation, and storage.

use std::collections::{BTreeMap, BTreeSet};

use api::{AttributeDef, AttributeKind, AttributeValue, Label, LabelScope, SchemaSummary};
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;

use crate::db::{Db, Tx};
use crate::error::{Error, Result, json_column, known};

/// Keys the annotator reserves for navigation and editing; no label or attribute may use them.
pub const RESERVED_HOTKEYS: &[&str] = &["j", "k", "u", "d", "a", "x", "z", "?", " "];

/// The schema that labels found in imported files but in no schema are put in.
pub const IMPORTED_SCHEMA: &str = "imported";

/// A parsed, validated label schema file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaFile {
    /// Schema name, unique in a project.
    pub name: String,
    /// Version number.
    #[serde(default = "one")]
    pub version: i64,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Where it comes from.
    #[serde(default)]
    pub source: String,
    /// Its labels in order.
    pub labels: Vec<LabelFile>,
}

fn one() -> i64 {
    1
}

/// A label as written in a schema file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelFile {
    /// Unique name.
    pub name: String,
    /// Human name; defaults to `name`.
    pub display: Option<String>,
    /// `span`, `doc` or `both`.
    pub scope: String,
    /// `#rrggbb`.
    pub color: String,
    /// One key.
    pub hotkey: Option<String>,
    /// Guideline text.
    #[serde(default)]
    pub description: String,
    /// Attributes.
    #[serde(default)]
    pub attributes: Vec<AttributeFile>,
}

/// An attribute as written in a schema file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeFile {
    /// Name.
    pub name: String,
    /// `flag` or `choice`.
    pub kind: String,
    /// One key.
    pub hotkey: Option<String>,
    /// Default value.
    pub default: Option<toml::Value>,
    /// Meaning.
    #[serde(default)]
    pub description: String,
    /// Values of a choice.
    #[serde(default)]
    pub values: Vec<ValueFile>,
}

/// A choice value as written in a schema file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueFile {
    /// Value name.
    pub name: String,
    /// Meaning.
    #[serde(default)]
    pub description: String,
    /// Attributes this value sets by default.
    #[serde(default)]
    pub defaults: BTreeMap<String, toml::Value>,
}

/// Where a TOML file is wrong and why, without quoting it: the wrong file may be a clinical
/// note, whose text must not reach the screen (toml's own `Display` shows the line).
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let reason = e.message().trim_end_matches('\n').trim_end_matches('.');
    let Some(at) = e.span().map(|s| s.start) else {
        return format!("not a label schema ({reason})");
    };
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    format!("not a label schema: line {line} is not valid TOML ({reason})")
}

fn scalar(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Parses and validates a schema file's text; `origin` names it in errors.
pub fn parse_schema(origin: &str, text: &str) -> Result<(SchemaFile, Vec<Label>)> {
    let bad = |message: String| Error::Schema {
        origin: origin.to_owned(),
        message,
    };
    let file: SchemaFile = toml::from_str(text).map_err(|e| bad(toml_problem(text, &e)))?;
    if !valid_name(&file.name, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
    }) {
        return Err(bad(format!(
            "schema name {:?} must be lowercase letters, digits, _ or -",
            file.name
        )));
    }
    let mut names = BTreeSet::new();
    let mut keys = BTreeMap::new();
    let mut labels = Vec::new();
    for l in &file.labels {
        let at = format!("label {}", l.name);
        if !valid_name(&l.name, |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
        }) {
            return Err(bad(format!(
                "{at}: names are UPPERCASE letters, digits and _"
            )));
        }
        if !names.insert(l.name.to_ascii_uppercase()) {
            return Err(bad(format!("{at} is defined twice")));
        }
        let scope = LabelScope::parse(&l.scope).ok_or_else(|| {
            bad(format!(
                "{at}: scope {:?} is not span, doc or both",
                l.scope
            ))
        })?;
        if !valid_color(&l.color) {
            return Err(bad(format!("{at}: colour {:?} is not #rrggbb", l.color)));
        }
        if let Some(key) = &l.hotkey {
            check_hotkey(key).map_err(|m| bad(format!("{at}: {m}")))?;
            if let Some(other) = keys.insert(key.clone(), l.name.clone()) {
                return Err(bad(format!(
                    "{at}: hotkey {key:?} is already used by {other}"
                )));
            }
        }
        let mut attributes = Vec::new();
        for a in &l.attributes {
            attributes.push(
                parse_attribute(a).map_err(|m| bad(format!("{at}: attribute {}: {m}", a.name)))?,
            );
        }
        labels.push(Label {
            name: l.name.clone(),
            display: l.display.clone().unwrap_or_else(|| l.name.clone()),
            schema: file.name.clone(),
            scope,
            color: l.color.to_ascii_lowercase(),
            hotkey: l.hotkey.clone(),
            description: l.description.clone(),
            attributes,
        });
    }
    // Attribute keys are pressed while a span is selected, so they must not shadow label keys.
    for label in &labels {
        let mut seen = BTreeSet::new();
        for attr in &label.attributes {
            if let Some(key) = &attr.hotkey {
                if let Some(owner) = keys.get(key) {
                    return Err(bad(format!(
                        "label {}: attribute {} hotkey {key:?} is the hotkey of label {owner}",
                        label.name, attr.name
                    )));
                }
                if !seen.insert(key.clone()) {
                    return Err(bad(format!(
                        "label {}: hotkey {key:?} used twice",
                        label.name
                    )));
                }
            }
        }
    }
    Ok((file, labels))
}

fn parse_attribute(a: &AttributeFile) -> Result<AttributeDef, String> {
    if !valid_name(&a.name, |c| {
        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
    }) {
        return Err("names are lowercase letters, digits and _".to_owned());
    }
    if let Some(key) = &a.hotkey {
        check_hotkey(key)?;
    }
    let kind = match a.kind.as_str() {
        "flag" => AttributeKind::Flag,
        "choice" => AttributeKind::Choice,
        other => return Err(format!("kind {other:?} is not flag or choice")),
    };
    if kind == AttributeKind::Choice && a.values.is_empty() {
        return Err("a choice needs values".to_owned());
    }
    if kind == AttributeKind::Flag && !a.values.is_empty() {
        return Err("a flag has no values".to_owned());
    }
    let default = a.default.as_ref().map(scalar);
    if let (AttributeKind::Flag, Some(d)) = (kind, &default)
        && d != "true"
        && d != "false"
    {
        return Err(format!("default {d:?} of a flag must be true or false"));
    }
    let values: Vec<AttributeValue> = a
        .values
        .iter()
        .map(|v| AttributeValue {
            name: v.name.clone(),
            description: v.description.clone(),
            defaults: v
                .defaults
                .iter()
                .map(|(k, v)| (k.clone(), scalar(v)))
                .collect(),
        })
        .collect();
    if let (AttributeKind::Choice, Some(d)) = (kind, &default)
        && !values.iter().any(|v| &v.name == d)
    {
        return Err(format!("default {d:?} is not one of the values"));
    }
    Ok(AttributeDef {
        name: a.name.clone(),
        kind,
        hotkey: a.hotkey.clone(),
        default,
        description: a.description.clone(),
        values,
    })
}

fn valid_name(name: &str, ok: impl Fn(char) -> bool) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(ok)
}

fn valid_color(color: &str) -> bool {
    color.len() == 7
        && color.starts_with('#')
        && color.chars().skip(1).all(|c| c.is_ascii_hexdigit())
}

fn check_hotkey(key: &str) -> Result<(), String> {
    if key.chars().count() != 1 {
        return Err(format!("hotkey {key:?} must be a single key"));
    }
    if RESERVED_HOTKEYS.contains(&key) {
        return Err(format!(
            "hotkey {key:?} is reserved by the annotator (j k u d a x z ? space)"
        ));
    }
    Ok(())
}

/// Palette for labels created on import, distinct on light and dark backgrounds.
const IMPORT_COLORS: &[&str] = &[
    "#64748b", "#0891b2", "#a16207", "#7c3aed", "#be123c", "#15803d", "#c2410c", "#4338ca",
];

impl Tx<'_> {
    /// Adds a schema, or replaces one of the same name (labels in use keep their annotations).
    ///
    /// Fails if a label or hotkey is already taken by another schema of the project.
    pub fn add_schema(&self, file: &SchemaFile, labels: &[Label], definition: &str) -> Result<()> {
        let existing: Option<i64> = self
            .conn()
            .query_row(
                "SELECT id FROM label_schemas WHERE name = ?1",
                [&file.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(Error::sql("reading schemas"))?;
        for label in labels {
            let owner: Option<String> = self
                .conn()
                .query_row(
                    "SELECT s.name FROM labels l JOIN label_schemas s ON s.id = l.schema_id
                     WHERE l.name = ?1 AND s.name <> ?2 AND s.name <> ?3",
                    params![label.name, file.name, IMPORTED_SCHEMA],
                    |r| r.get(0),
                )
                .optional()
                .map_err(Error::sql("reading labels"))?;
            if let Some(owner) = owner {
                return Err(Error::Conflict(format!(
                    "label {} is already defined by schema {owner}",
                    label.name
                )));
            }
            if let Some(key) = &label.hotkey {
                let owner: Option<String> = self
                    .conn()
                    .query_row(
                        "SELECT l.name FROM labels l JOIN label_schemas s ON s.id = l.schema_id
                         WHERE l.hotkey = ?1 AND s.name <> ?2",
                        params![key, file.name],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(Error::sql("reading labels"))?;
                if let Some(owner) = owner {
                    return Err(Error::Conflict(format!(
                        "hotkey {key:?} of label {} is already used by label {owner}",
                        label.name
                    )));
                }
            }
        }
        let schema_id =
            match existing {
                Some(id) => {
                    self.conn()
                        .execute(
                            "UPDATE label_schemas SET version = ?2, description = ?3, source = ?4,
                                definition = ?5 WHERE id = ?1",
                            params![id, file.version, file.description, file.source, definition],
                        )
                        .map_err(Error::sql("updating a schema"))?;
                    id
                }
                None => {
                    self.conn()
                    .execute(
                        "INSERT INTO label_schemas (name, version, description, source, definition)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![file.name, file.version, file.description, file.source, definition],
                    )
                    .map_err(Error::sql("adding a schema"))?;
                    self.conn().last_insert_rowid()
                }
            };
        for (position, label) in labels.iter().enumerate() {
            let attributes =
                serde_json::to_string(&label.attributes).unwrap_or_else(|_| "[]".to_owned());
            // Upsert by name: a label first created by an import moves into this schema.
            self.conn()
                .execute(
                    "INSERT INTO labels (schema_id, position, name, display, scope, color, hotkey,
                                         description, attributes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (name) DO UPDATE SET
                         schema_id = excluded.schema_id, position = excluded.position,
                         display = excluded.display, scope = excluded.scope,
                         color = excluded.color, hotkey = excluded.hotkey,
                         description = excluded.description, attributes = excluded.attributes",
                    params![
                        schema_id,
                        position as i64,
                        label.name,
                        label.display,
                        label.scope.as_str(),
                        label.color,
                        label.hotkey,
                        label.description,
                        attributes,
                    ],
                )
                .map_err(Error::sql("saving a label"))?;
        }
        Ok(())
    }

    /// Creates a label found in an imported file but in no schema (schema `imported`, scope both).
    pub fn create_imported_label(&self, name: &str) -> Result<i64> {
        self.conn()
            .execute(
                "INSERT INTO label_schemas (name, description) VALUES (?1, ?2)
                 ON CONFLICT (name) DO NOTHING",
                params![
                    IMPORTED_SCHEMA,
                    "Labels found in imported files but in no schema."
                ],
            )
            .map_err(Error::sql("adding the imported schema"))?;
        let (schema_id, count): (i64, i64) = self
            .conn()
            .query_row(
                "SELECT s.id, (SELECT count(*) FROM labels WHERE schema_id = s.id)
                 FROM label_schemas s WHERE s.name = ?1",
                [IMPORTED_SCHEMA],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(Error::sql("reading the imported schema"))?;
        let color = IMPORT_COLORS[count.unsigned_abs() as usize % IMPORT_COLORS.len()];
        self.conn()
            .execute(
                "INSERT INTO labels (schema_id, position, name, display, scope, color)
                 VALUES (?1, ?2, ?3, ?3, 'both', ?4)",
                params![schema_id, count, name, color],
            )
            .map_err(Error::sql("adding an imported label"))?;
        Ok(self.conn().last_insert_rowid())
    }
}

impl Tx<'_> {
    /// Changes how a label looks and is keyed: display name, colour (`#rrggbb`) and hotkey
    /// (`None` removes it). Refuses reserved keys and keys another label or attribute uses.
    pub fn update_label_look(
        &self,
        name: &str,
        display: &str,
        color: &str,
        hotkey: Option<&str>,
    ) -> Result<Label> {
        let label = self.label(name)?;
        if display.trim().is_empty() {
            return Err(Error::Invalid(format!(
                "label {name}: the display name is empty"
            )));
        }
        if !valid_color(color) {
            return Err(Error::Invalid(format!(
                "label {name}: colour {color:?} is not of the form #rrggbb"
            )));
        }
        let hotkey = hotkey.map(str::trim).filter(|k| !k.is_empty());
        if let Some(key) = hotkey {
            check_hotkey(key).map_err(|m| Error::Invalid(format!("label {name}: {m}")))?;
            for other in self.labels()? {
                if other.name != label.name && other.hotkey.as_deref() == Some(key) {
                    return Err(Error::Conflict(format!(
                        "hotkey {key:?} is already used by label {}",
                        other.name
                    )));
                }
                if let Some(attr) = other
                    .attributes
                    .iter()
                    .find(|a| a.hotkey.as_deref() == Some(key))
                {
                    return Err(Error::Conflict(format!(
                        "hotkey {key:?} toggles attribute {} of label {}",
                        attr.name, other.name
                    )));
                }
            }
        }
        self.conn()
            .execute(
                "UPDATE labels SET display = ?2, color = ?3, hotkey = ?4 WHERE name = ?1",
                params![
                    label.name,
                    display.trim(),
                    color.to_ascii_lowercase(),
                    hotkey
                ],
            )
            .map_err(Error::sql("updating a label"))?;
        self.label(name)
    }
}

impl Db<'_> {
    /// The id of a label by name (case-insensitive).
    pub fn label_id(&self, name: &str) -> Result<i64> {
        self.find_label_id(name)?.ok_or_else(|| Error::NotFound {
            what: "label",
            id: name.to_owned(),
        })
    }

    /// The id of a label by name, if there is one.
    pub fn find_label_id(&self, name: &str) -> Result<Option<i64>> {
        self.conn
            .prepare_cached("SELECT id FROM labels WHERE name = ?1")
            .and_then(|mut s| s.query_row([name], |r| r.get(0)).optional())
            .map_err(Error::sql("looking up a label"))
    }

    /// All labels of the project, schema by schema, in file order.
    pub fn labels(&self) -> Result<Vec<Label>> {
        self.labels_where("", [])
    }

    /// One label by name.
    pub fn label(&self, name: &str) -> Result<Label> {
        self.labels_where("WHERE l.name = ?1", [name])?
            .pop()
            .ok_or_else(|| Error::NotFound {
                what: "label",
                id: name.to_owned(),
            })
    }

    fn labels_where<P: rusqlite::Params>(&self, condition: &str, params: P) -> Result<Vec<Label>> {
        let sql = format!(
            "SELECT l.name, l.display, s.name, l.scope, l.color, l.hotkey, l.description,
                    l.attributes, l.id
             FROM labels l JOIN label_schemas s ON s.id = l.schema_id
             {condition}
             ORDER BY s.id, l.position"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(Error::sql("reading labels"))?;
        let rows = stmt
            .query_map(params, |r| {
                let id: i64 = r.get(8)?;
                Ok(Label {
                    name: r.get(0)?,
                    display: r.get(1)?,
                    schema: r.get(2)?,
                    scope: known(
                        "labels",
                        id,
                        "scope",
                        &r.get::<_, String>(3)?,
                        LabelScope::parse,
                    )?,
                    color: r.get(4)?,
                    hotkey: r.get(5)?,
                    description: r.get(6)?,
                    attributes: json_column("labels", id, "attributes", &r.get::<_, String>(7)?)?,
                })
            })
            .map_err(Error::sql("reading labels"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql("reading labels"))
    }

    /// The schemas of the project with their label names.
    pub fn schemas(&self) -> Result<Vec<SchemaSummary>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.name, s.version, s.description,
                        (SELECT json_group_array(name) FROM
                            (SELECT name FROM labels WHERE schema_id = s.id ORDER BY position))
                 FROM label_schemas s ORDER BY s.id",
            )
            .map_err(Error::sql("reading schemas"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SchemaSummary {
                    name: r.get(0)?,
                    version: r.get(1)?,
                    description: r.get(2)?,
                    labels: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                })
            })
            .map_err(Error::sql("reading schemas"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql("reading schemas"))
    }
}
