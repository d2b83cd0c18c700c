//! Which names are ours: the rules of the `Host` check, and of the
//! `--allowed-host` values `config.rs` checks at start-up. No HTTP here:
//! the middleware that answers 421 is in `allowed_hosts/mod.rs`.

use std::net::IpAddr;

use axum::http::uri::Authority;

/// The names a request may address this server by.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    bound: IpAddr,
    names: Vec<String>,
}

impl AllowedHosts {
    /// The server bound to `bound`, also answering `extra` names.
    pub fn new(bound: IpAddr, extra: &[String]) -> Self {
        Self {
            bound,
            names: extra.iter().map(|n| normalize(n)).collect(),
        }
    }

    /// Whether `host` (a `Host` value: a name or IP, maybe with a port)
    /// is one of ours.
    pub fn allows(&self, host: &str) -> bool {
        let Ok(authority) = host.parse::<Authority>() else {
            return false;
        };
        if authority.as_str().contains('@') {
            return false;
        }
        let name = normalize(authority.host());
        if let Ok(ip) = name.parse::<IpAddr>() {
            return ip == self.bound || self.bound.is_unspecified();
        }
        name == "localhost"
            || name.ends_with(".localhost")
            || self
                .names
                .iter()
                .any(|allowed| match allowed.strip_prefix('.') {
                    Some(domain) => name == domain || name.ends_with(allowed.as_str()),
                    None => name == *allowed,
                })
    }
}

/// Lower case, no IPv6 brackets, no trailing dot (`LOCALHOST.` is `localhost`).
fn normalize(name: &str) -> String {
    name.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// An `--allowed-host` value: a name, `.name` for it and its subdomains,
/// or an IP; never a port, a path or a wildcard.
pub fn check_name(name: &str) -> Result<(), String> {
    let bare = name.strip_prefix('.').unwrap_or(name);
    let plain = !bare.is_empty()
        && bare.len() <= 253
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if plain || name.parse::<IpAddr>().is_ok() {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a host name (letters, digits, '-' and '.'; a leading '.' allows subdomains) or an IP"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback(extra: &[&str]) -> AllowedHosts {
        let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        AllowedHosts::new("127.0.0.1".parse().unwrap(), &extra)
    }

    #[test]
    fn a_rebound_name_is_refused_and_our_own_names_pass_with_any_port() {
        let hosts = loopback(&[]);
        for ours in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.:8080",
            "app.localhost:3000",
            "127.0.0.1",
            "127.0.0.1:8080",
        ] {
            assert!(hosts.allows(ours), "{ours}");
        }
        for theirs in [
            "rebind.attacker.example:8080",
            "attacker.example",
            "localhost.attacker.example",
            "127.0.0.2:8080",
            "[::1]:8080",
            "10.0.0.1",
            "user@localhost",
            "",
            "local host",
        ] {
            assert!(!hosts.allows(theirs), "{theirs}");
        }
    }

    #[test]
    fn allowed_hosts_match_exactly_or_with_their_subdomains_after_a_dot() {
        let hosts = loopback(&["wip.example.com", ".corp.example"]);
        assert!(hosts.allows("wip.example.com:443"));
        assert!(hosts.allows("WIP.Example.Com"));
        assert!(!hosts.allows("x.wip.example.com"));
        assert!(hosts.allows("corp.example"));
        assert!(hosts.allows("a.b.corp.example:8080"));
        assert!(!hosts.allows("evilcorp.example"));
    }

    #[test]
    fn bound_to_every_address_any_ip_literal_passes_and_names_still_do_not() {
        let hosts = AllowedHosts::new("0.0.0.0".parse().unwrap(), &[]);
        assert!(hosts.allows("192.168.1.20:8080"));
        assert!(hosts.allows("[::1]:8080"));
        assert!(!hosts.allows("rebind.attacker.example:8080"));
        let v6 = AllowedHosts::new("::1".parse().unwrap(), &[]);
        assert!(v6.allows("[::1]:8080"));
        assert!(!v6.allows("127.0.0.1:8080"));
    }

    #[test]
    fn an_allowed_host_flag_takes_names_and_ips_only() {
        for good in ["wip.example.com", ".example.com", "10.1.2.3", "::1"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "*", "a.example:80", "http://a.example", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
