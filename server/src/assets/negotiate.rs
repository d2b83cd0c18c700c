//! `Accept-Encoding` negotiation with q-values (RFC 9110 §12.5.3) over the
//! encodings a file has pre-compressed variants for.

use http::HeaderValue;

/// A content coding we can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Brotli (`.br` variant).
    Brotli,
    /// Gzip (`.gz` variant).
    Gzip,
    /// The raw bytes.
    Identity,
}

impl Encoding {
    /// Token used in `Accept-Encoding` / `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
            Self::Identity => "identity",
        }
    }

    /// Server preference when the client weighs several codings equally:
    /// smallest bytes first.
    fn rank(self) -> u8 {
        match self {
            Self::Brotli => 0,
            Self::Gzip => 1,
            Self::Identity => 2,
        }
    }
}

/// Weight of identity when the client does not list it: acceptable, but
/// below any coding the client did list (the smallest q the grammar allows),
/// so `gzip;q=0.5` still means "gzip, please".
const IMPLICIT_IDENTITY_Q: f32 = 0.001;

/// Picks the coding to send, or `None` when the client accepts none of the
/// available ones (then the answer is 406).
///
/// - No header: identity (a client that says nothing may not decode anything).
/// - Each coding's weight is its own entry's q, else `*`'s, else 0 — except
///   identity, which is acceptable (at the lowest weight) unless excluded by
///   `identity;q=0` or by `*;q=0` without an identity entry.
/// - Highest q wins; ties go to the smaller encoding (br, gzip, identity).
pub fn negotiate_encoding(
    accept_encoding: Option<&HeaderValue>,
    available: &[Encoding],
) -> Option<Encoding> {
    let Some(header) = accept_encoding.and_then(|v| v.to_str().ok()) else {
        return available
            .contains(&Encoding::Identity)
            .then_some(Encoding::Identity);
    };
    let entries: Vec<(String, f32)> = header.split(',').filter_map(parse_entry).collect();
    let q_of = |name: &str| {
        entries
            .iter()
            .find(|(coding, _)| coding == name)
            .map(|(_, q)| *q)
    };
    let star = q_of("*");
    let weight = |encoding: Encoding| -> f32 {
        match encoding {
            // "x-gzip" is an alias of gzip (RFC 9110 §8.4.1.3).
            Encoding::Gzip => q_of("gzip")
                .or_else(|| q_of("x-gzip"))
                .or(star)
                .unwrap_or(0.0),
            Encoding::Brotli => q_of("br").or(star).unwrap_or(0.0),
            Encoding::Identity => q_of("identity")
                .or(star.filter(|q| *q == 0.0))
                .unwrap_or(IMPLICIT_IDENTITY_Q),
        }
    };
    available
        .iter()
        .map(|&e| (e, weight(e)))
        .filter(|(_, q)| *q > 0.0)
        .max_by(|(a, qa), (b, qb)| qa.total_cmp(qb).then(b.rank().cmp(&a.rank())))
        .map(|(e, _)| e)
}

/// `gzip;q=0.5` → `("gzip", 0.5)`; a malformed q counts as 0 (safest:
/// never send a coding the client may not understand).
fn parse_entry(item: &str) -> Option<(String, f32)> {
    let mut parts = item.split(';');
    let coding = parts.next()?.trim().to_ascii_lowercase();
    if coding.is_empty() {
        return None;
    }
    let mut q = 1.0;
    for param in parts {
        if let Some((key, value)) = param.split_once('=')
            && key.trim().eq_ignore_ascii_case("q")
        {
            q = value
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|q| (0.0..=1.0).contains(q))
                .unwrap_or(0.0);
        }
    }
    Some((coding, q))
}

#[cfg(test)]
mod tests {
    use super::Encoding::{Brotli, Gzip, Identity};
    use super::*;

    const ALL: [Encoding; 3] = [Brotli, Gzip, Identity];

    fn pick(header: &str) -> Option<Encoding> {
        negotiate_encoding(Some(&HeaderValue::from_str(header).unwrap()), &ALL)
    }

    #[test]
    fn no_header_means_identity() {
        assert_eq!(negotiate_encoding(None, &ALL), Some(Identity));
    }

    #[test]
    fn browsers_get_brotli() {
        assert_eq!(pick("gzip, deflate, br, zstd"), Some(Brotli));
    }

    #[test]
    fn gzip_only_client_gets_gzip() {
        assert_eq!(pick("gzip"), Some(Gzip));
    }

    #[test]
    fn br_q0_excludes_brotli() {
        assert_eq!(pick("br;q=0, gzip"), Some(Gzip));
        assert_eq!(pick("br;q=0"), Some(Identity));
    }

    #[test]
    fn higher_q_wins_over_server_preference() {
        assert_eq!(pick("gzip;q=0.5, br;q=0.1"), Some(Gzip));
    }

    #[test]
    fn star_covers_unlisted_codings() {
        assert_eq!(pick("*"), Some(Brotli));
        assert_eq!(pick("gzip;q=1, *;q=0.1"), Some(Gzip));
    }

    #[test]
    fn identity_q0_with_nothing_else_is_not_acceptable() {
        assert_eq!(pick("identity;q=0"), None);
        assert_eq!(pick("*;q=0"), None);
        assert_eq!(pick("identity;q=0, gzip"), Some(Gzip));
    }

    #[test]
    fn identity_q0_on_a_file_without_variants_is_not_acceptable() {
        let header = HeaderValue::from_static("identity;q=0, br");
        assert_eq!(negotiate_encoding(Some(&header), &[Identity]), None);
    }

    #[test]
    fn unknown_codings_fall_back_to_identity() {
        assert_eq!(pick("zstd"), Some(Identity));
    }

    #[test]
    fn malformed_q_counts_as_zero() {
        assert_eq!(pick("br;q=abc, gzip;q=0.3"), Some(Gzip));
    }

    #[test]
    fn coding_names_are_case_insensitive() {
        assert_eq!(pick("BR"), Some(Brotli));
    }
}
