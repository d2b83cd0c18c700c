//! The Go inspector's answer (its JSON contract), parsed into Rust types.

use serde::Deserialize;

/// What the inspector found, or why it could not.
#[derive(Debug, Clone, PartialEq)]
pub enum Inspection {
    /// A parsed module.
    Module(Box<ModuleReport>),
    /// The bytes were not a (valid) module.
    Rejected {
        /// Machine-readable reason (`not_wasm`, `truncated`, `malformed`, ...).
        code: String,
        /// Human-readable message.
        message: String,
    },
}

/// A parsed module.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModuleReport {
    /// Raw size.
    pub size: u64,
    /// gzip -9 size, computed in the browser by Go.
    pub gzip_size: u64,
    /// Every section in order.
    pub sections: Vec<Section>,
    /// Imports.
    #[serde(default)]
    pub imports: Vec<Import>,
    /// Exports.
    #[serde(default)]
    pub exports: Vec<Export>,
    /// Custom sections.
    #[serde(default)]
    pub custom_sections: Vec<CustomSection>,
}

/// One section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Section {
    /// Section id.
    pub id: u8,
    /// Section name (`code`, `data`, or a custom section's name).
    pub name: String,
    /// Payload size in bytes.
    pub size: u64,
}

/// One import.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// `func`, `memory`, ...
    pub kind: String,
}

/// One export.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// `func`, `memory`, ...
    pub kind: String,
}

/// One custom section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CustomSection {
    /// Its name (`name`, `producers`, ...).
    pub name: String,
    /// Payload size.
    pub size: u64,
}

#[derive(Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

impl Inspection {
    /// Parses the inspector's JSON.
    pub fn parse(json: &str) -> Result<Self, String> {
        let envelope: Envelope = serde_json::from_str(json)
            .map_err(|e| format!("inspector answered invalid JSON: {e}"))?;
        if envelope.ok {
            let report: ModuleReport = serde_json::from_str(json)
                .map_err(|e| format!("inspector answered an unexpected shape: {e}"))?;
            Ok(Self::Module(Box::new(report)))
        } else {
            let error = envelope
                .error
                .ok_or("inspector reported failure without an error")?;
            Ok(Self::Rejected {
                code: error.code,
                message: error.message,
            })
        }
    }
}
