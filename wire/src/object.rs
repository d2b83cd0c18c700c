//! Request bodies are JSON objects. serde's derived `Deserialize` also
//! reads a struct from an array of its fields in declaration order, so
//! `"thresholds": [1, 1]` would silently mean `{"trap": 1, "deadline": 1}`:
//! a client's typo taken as a setting. [`Object`] and [`object`] accept
//! only a map.

use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// `T`, read only from a JSON object (a request body's outer type).
#[derive(Debug, Clone, PartialEq)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        object(deserializer).map(Object)
    }
}

/// `deserialize_with` for a struct-typed field: a map, never an array.
pub fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    deserializer.deserialize_map(ObjectVisitor(PhantomData))
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RolloutRequest, Thresholds};

    #[test]
    fn bodies_and_their_nested_settings_are_objects_never_arrays() {
        let digest = "a".repeat(64);
        let ok: Object<RolloutRequest> = serde_json::from_str(&format!(
            r#"{{"candidate":"{digest}","percent":10,"thresholds":{{"trap":2}}}}"#
        ))
        .unwrap();
        assert_eq!(ok.0.thresholds.trap, 2.0);
        assert_eq!(ok.0.thresholds.deadline, Thresholds::default().deadline);
        for positional in [
            format!(r#"{{"candidate":"{digest}","percent":10,"thresholds":[]}}"#),
            format!(r#"{{"candidate":"{digest}","percent":10,"thresholds":[1,1]}}"#),
        ] {
            let err = serde_json::from_str::<Object<RolloutRequest>>(&positional).unwrap_err();
            assert!(
                err.to_string().contains("a JSON object"),
                "{positional}: {err}"
            );
        }
        let err = serde_json::from_str::<Object<RolloutRequest>>(&format!(r#"["{digest}",10]"#))
            .unwrap_err();
        assert!(err.to_string().contains("a JSON object"), "{err}");
    }
}
