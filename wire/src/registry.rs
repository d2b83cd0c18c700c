//! The plugin registry's HTTP bodies (seed task 12):
//!
//! - `POST /api/plugins` and `GET /api/plugins/{digest}` answer a [`PluginInfo`];
//! - `GET /api/plugins` answers a [`PluginList`];
//! - `PUT /api/plugins/{name}/active` takes an [`ActivateRequest`] and
//!   answers an [`Activation`].
//!
//! These are what clients see, not what the server stores: the on-disk
//! record is the server's own type, converted into these at the route.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A stored module, as the API describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Lower-case hex SHA-256 of the module's bytes: its identity.
    pub digest: String,
    /// Plugin name it was uploaded under.
    pub name: String,
    /// Free-form version label.
    pub version: String,
    /// Size of the module in bytes.
    pub size: u64,
    /// Exported names.
    pub exports: Vec<String>,
    /// Upload time, Unix seconds.
    pub uploaded_at: u64,
    /// Whether the server has stored wasmtime's precompiled code for it
    /// (a restart then loads it without compiling). The artifact itself is
    /// storage detail the API does not show.
    pub precompiled: bool,
}

/// `GET /api/plugins`: every stored module and every name's activation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginList {
    /// Stored modules, by digest.
    pub plugins: Vec<PluginInfo>,
    /// Plugin name → its activation.
    pub active: BTreeMap<String, Activation>,
}

/// A name's active digest and the ones active before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// Digest serving the name now.
    pub active: String,
    /// Previously active digests, oldest first; a rollback returns to the last.
    pub history: Vec<String>,
}

/// `PUT /api/plugins/{name}/active`: `{"digest": "<sha256>"}` or
/// `{"rollback": true}`. Build one with [`ActivateRequest::digest`] or
/// [`ActivateRequest::rollback`]; the server refuses both or neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// The digest to make active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Return to the previously active digest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback: bool,
}

impl ActivateRequest {
    /// Make `digest` the active module.
    pub fn digest(digest: impl Into<String>) -> Self {
        Self {
            digest: Some(digest.into()),
            rollback: false,
        }
    }

    /// Return to the previously active module.
    pub fn rollback() -> Self {
        Self {
            digest: None,
            rollback: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_requests_are_the_two_documented_bodies() {
        assert_eq!(
            serde_json::to_string(&ActivateRequest::digest("ab")).unwrap(),
            r#"{"digest":"ab"}"#
        );
        assert_eq!(
            serde_json::to_string(&ActivateRequest::rollback()).unwrap(),
            r#"{"rollback":true}"#
        );
        assert_eq!(
            serde_json::from_str::<ActivateRequest>(r#"{"rollback":true}"#).unwrap(),
            ActivateRequest::rollback()
        );
        assert!(serde_json::from_str::<ActivateRequest>(r#"{"name":"x"}"#).is_err());
    }

    #[test]
    fn a_plugin_list_survives_the_round_trip_through_json() {
        let list = PluginList {
            plugins: vec![PluginInfo {
                digest: "ab".into(),
                name: "csv".into(),
                version: "1".into(),
                size: 3,
                exports: vec!["wip_process".into()],
                uploaded_at: 1,
                precompiled: true,
            }],
            active: BTreeMap::from([(
                "csv".into(),
                Activation {
                    active: "ab".into(),
                    history: vec![],
                },
            )]),
        };
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(serde_json::from_str::<PluginList>(&json).unwrap(), list);
    }
}
