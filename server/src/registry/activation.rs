//! Which digest serves each plugin name: activation and rollback as pure
//! functions over the name table, so the rules are tested without wasm or
//! a disk. The registry persists what they return, then swaps it in.

use super::types::{Activation, PluginMeta, RegistryError};
use crate::digest::PluginDigest;

pub use super::types::Names;

/// The table after a first upload of `name`: it becomes active, unless the
/// name already has an active digest.
pub fn after_first_upload(names: &Names, name: &str, digest: &PluginDigest) -> Option<Names> {
    if names.contains_key(name) {
        return None;
    }
    let mut next = names.clone();
    next.insert(name.to_owned(), Activation::new(digest.clone()));
    Some(next)
}

/// The table with `digest` (a module stored as `meta`) active for `name`;
/// the previous active digest goes onto the history. Activating the
/// active digest changes nothing.
pub fn activate(
    names: &Names,
    name: &str,
    meta: &PluginMeta,
) -> Result<(Names, Activation), RegistryError> {
    if meta.name != name {
        return Err(RegistryError::WrongName {
            digest: meta.digest.to_string(),
            owner: meta.name.clone(),
            name: name.to_owned(),
        });
    }
    let activation = match names.get(name) {
        Some(current) if current.rollout.is_some() => {
            return Err(RegistryError::RolloutInProgress {
                name: name.to_owned(),
            });
        }
        Some(current) if current.active == meta.digest => current.clone(),
        Some(current) => {
            let mut next = current.clone();
            next.history.push(current.active.clone());
            next.active = meta.digest.clone();
            next
        }
        None => Activation::new(meta.digest.clone()),
    };
    let mut next = names.clone();
    next.insert(name.to_owned(), activation.clone());
    Ok((next, activation))
}

/// The table with `name` back on the digest active before the current one.
pub fn rollback(names: &Names, name: &str) -> Result<(Names, Activation), RegistryError> {
    let current = names.get(name).ok_or_else(|| RegistryError::UnknownName {
        name: name.to_owned(),
    })?;
    if current.rollout.is_some() {
        return Err(RegistryError::RolloutInProgress {
            name: name.to_owned(),
        });
    }
    let mut activation = current.clone();
    activation.active = activation
        .history
        .pop()
        .ok_or_else(|| RegistryError::NoPrevious {
            name: name.to_owned(),
        })?;
    let mut next = names.clone();
    next.insert(name.to_owned(), activation.clone());
    Ok((next, activation))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::types::fixtures::{digest, meta};

    #[test]
    fn the_first_upload_of_a_name_activates_it_and_later_ones_do_not() {
        let names = after_first_upload(&Names::new(), "csv", &digest('a')).unwrap();
        assert_eq!(names["csv"].active, digest('a'));
        assert!(after_first_upload(&names, "csv", &digest('b')).is_none());
    }

    #[test]
    fn activation_pushes_the_previous_digest_and_rollback_pops_it() {
        let names = after_first_upload(&Names::new(), "csv", &digest('a')).unwrap();
        let (names, v2) = activate(&names, "csv", &meta("csv", 'b')).unwrap();
        assert_eq!(
            (v2.active.clone(), v2.history.clone()),
            (digest('b'), vec![digest('a')])
        );
        let (again, same) = activate(&names, "csv", &meta("csv", 'b')).unwrap();
        assert_eq!(
            (again, same),
            (names.clone(), v2),
            "re-activating is a no-op"
        );
        let (names, back) = rollback(&names, "csv").unwrap();
        assert_eq!((back.active, back.history), (digest('a'), vec![]));
        assert_eq!(
            rollback(&names, "csv").unwrap_err(),
            RegistryError::NoPrevious { name: "csv".into() }
        );
    }

    #[test]
    fn a_digest_cannot_serve_another_name_and_unknown_names_cannot_roll_back() {
        let names = Names::new();
        assert!(matches!(
            activate(&names, "json", &meta("csv", 'a')),
            Err(RegistryError::WrongName { .. })
        ));
        assert!(matches!(
            rollback(&names, "csv"),
            Err(RegistryError::UnknownName { .. })
        ));
    }
}
