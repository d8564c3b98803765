use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a label may be used: on text spans, on whole documents (or sentences), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelScope {
    /// Only on text spans.
    Span,
    /// Only as a document-level label.
    Doc,
    /// On spans and documents alike (the SDoH labels).
    Both,
}

impl LabelScope {
    /// The name stored in the project and written in schema files.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelScope::Span => "span",
            LabelScope::Doc => "doc",
            LabelScope::Both => "both",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<LabelScope> {
        match s {
            "span" => Some(LabelScope::Span),
            "doc" => Some(LabelScope::Doc),
            "both" => Some(LabelScope::Both),
            _ => None,
        }
    }

    /// Whether spans may carry this label.
    pub fn allows_spans(self) -> bool {
        matches!(self, LabelScope::Span | LabelScope::Both)
    }

    /// Whether documents may carry this label.
    pub fn allows_docs(self) -> bool {
        matches!(self, LabelScope::Doc | LabelScope::Both)
    }
}

/// How an attribute is set: a yes/no flag or one of a list of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    /// `true` or `false` (e.g. adverse).
    Flag,
    /// One of [`AttributeDef::values`] (e.g. housing type).
    Choice,
}

/// One allowed value of a choice attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeValue {
    /// The value as stored (`"undomiciled"`).
    pub name: String,
    /// What the value means, from the guideline.
    pub description: String,
    /// Other attributes this value sets by default (`adverse = "true"`).
    pub defaults: BTreeMap<String, String>,
}

/// An attribute a label's annotations may carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeDef {
    /// Attribute name (`"adverse"`).
    pub name: String,
    /// Flag or choice.
    pub kind: AttributeKind,
    /// Key that toggles or cycles it in the annotator.
    pub hotkey: Option<String>,
    /// Default value, if any.
    pub default: Option<String>,
    /// What it means.
    pub description: String,
    /// Allowed values of a choice attribute (empty for flags).
    pub values: Vec<AttributeValue>,
}

/// A label of a project's schema, as the annotator shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Unique name in the project (`"HOUSING"`).
    pub name: String,
    /// Human name (`"Housing"`).
    pub display: String,
    /// The schema it came from.
    pub schema: String,
    /// Spans, documents or both.
    pub scope: LabelScope,
    /// Highlight colour, `#rrggbb`.
    pub color: String,
    /// Key that applies it.
    pub hotkey: Option<String>,
    /// Guideline text.
    pub description: String,
    /// Attributes its annotations may carry.
    pub attributes: Vec<AttributeDef>,
}

/// A label schema loaded into a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaSummary {
    /// Schema name (`"sdoh"`).
    pub name: String,
    /// Schema version from its file.
    pub version: i64,
    /// What it is for.
    pub description: String,
    /// Names of its labels, in file order.
    pub labels: Vec<String>,
}

/// How a label looks and is keyed, as the schema page edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelLook {
    /// Name shown in the app.
    pub display: String,
    /// Highlight colour, `#rrggbb`.
    pub color: String,
    /// One key that applies the label; `None` for none.
    pub hotkey: Option<String>,
}
