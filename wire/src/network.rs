//! Network profiles (seed task 7 on a real network): the bandwidths and
//! round-trip times the browser bench emulates through the DevTools
//! protocol and the server's throttled lesson endpoint paces to. Defined
//! once, so the bench, the server and the page mean the same link.

use serde::Serialize;

/// A network link: download and upload bandwidth and round-trip time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NetworkProfile {
    /// Stable identifier (URL segment of the throttled endpoint, bench key).
    pub name: &'static str,
    /// What a person reads.
    pub label: &'static str,
    /// Download bandwidth in kbit/s; `None` = not throttled (loopback).
    pub download_kbps: Option<u32>,
    /// Upload bandwidth in kbit/s; `None` = not throttled.
    pub upload_kbps: Option<u32>,
    /// Round-trip time added before a response's headers, in ms.
    pub rtt_ms: u32,
}

/// Where the server serves a catalog asset paced to a profile:
/// `{THROTTLED_PREFIX}/{profile}/{asset path}`.
pub const THROTTLED_PREFIX: &str = "/api/lessons/throttled";

/// No emulation: the machine's own loopback.
pub const LOOPBACK: NetworkProfile = NetworkProfile {
    name: "loopback",
    label: "loopback (no throttling)",
    download_kbps: None,
    upload_kbps: None,
    rtt_ms: 0,
};

/// A cable line: 20 Mbit/s down, 5 up, 40 ms RTT.
pub const CABLE: NetworkProfile = NetworkProfile {
    name: "cable",
    label: "cable: 20 Mbit/s, 40 ms RTT",
    download_kbps: Some(20_000),
    upload_kbps: Some(5_000),
    rtt_ms: 40,
};

/// A DSL line: 5 Mbit/s down, 1 up, 40 ms RTT.
pub const DSL: NetworkProfile = NetworkProfile {
    name: "dsl",
    label: "DSL: 5 Mbit/s, 40 ms RTT",
    download_kbps: Some(5_000),
    upload_kbps: Some(1_000),
    rtt_ms: 40,
};

/// Lighthouse's mobile throttling ("slow 4G"): 1.6 Mbit/s down, 750 kbit/s
/// up, 150 ms RTT.
pub const SLOW_4G: NetworkProfile = NetworkProfile {
    name: "slow-4g",
    label: "slow 4G: 1.6 Mbit/s, 150 ms RTT",
    download_kbps: Some(1_600),
    upload_kbps: Some(750),
    rtt_ms: 150,
};

/// Every profile, fastest first.
pub const PROFILES: [NetworkProfile; 4] = [LOOPBACK, CABLE, DSL, SLOW_4G];

impl NetworkProfile {
    /// The profile called `name`.
    pub fn by_name(name: &str) -> Option<Self> {
        PROFILES.into_iter().find(|p| p.name == name)
    }

    /// The path of the asset at `asset_path` (`/go/….wasm`) paced to this
    /// profile by the server.
    pub fn throttled_path(&self, asset_path: &str) -> String {
        format!(
            "{THROTTLED_PREFIX}/{}/{}",
            self.name,
            asset_path.trim_start_matches('/')
        )
    }

    /// Time `bytes` take at the download bandwidth, in ms (0 unthrottled):
    /// bits divided by kbit/s is milliseconds.
    pub fn transfer_ms(&self, bytes: u64) -> f64 {
        self.download_kbps
            .map_or(0.0, |kbps| (bytes * 8) as f64 / f64::from(kbps))
    }

    /// The least time a response of `bytes` body bytes can take on this
    /// link: one round trip, then the body at the download bandwidth.
    pub fn floor_ms(&self, bytes: u64) -> f64 {
        f64::from(self.rtt_ms) + self.transfer_ms(bytes)
    }

    /// Download bandwidth in bytes per second (DevTools' unit), or `-1.0`
    /// (DevTools' "not throttled").
    pub fn download_bytes_per_s(&self) -> f64 {
        self.download_kbps
            .map_or(-1.0, |kbps| f64::from(kbps) * 1000.0 / 8.0)
    }

    /// Upload bandwidth in bytes per second, or `-1.0` (not throttled).
    pub fn upload_bytes_per_s(&self) -> f64 {
        self.upload_kbps
            .map_or(-1.0, |kbps| f64::from(kbps) * 1000.0 / 8.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_megabyte_on_dsl_takes_its_bits_over_the_bandwidth_plus_one_round_trip() {
        // 1 MB = 8 Mbit at 5 Mbit/s = 1.6 s, + 40 ms.
        assert_eq!(DSL.floor_ms(1_000_000), 1640.0);
        assert_eq!(DSL.download_bytes_per_s(), 625_000.0);
        assert_eq!(LOOPBACK.floor_ms(1_000_000), 0.0);
        assert_eq!(LOOPBACK.download_bytes_per_s(), -1.0);
    }

    #[test]
    fn profile_names_are_unique_and_found_by_name() {
        for p in PROFILES {
            assert_eq!(NetworkProfile::by_name(p.name), Some(p));
            assert!(
                p.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            );
        }
        assert_eq!(NetworkProfile::by_name("../cable"), None);
        assert_eq!(
            CABLE.throttled_path("/go/a.1.wasm"),
            "/api/lessons/throttled/cable/go/a.1.wasm"
        );
    }
}
