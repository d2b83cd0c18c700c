//! Single byte ranges (`Range: bytes=…`, RFC 9110 §14) on identity
//! responses, so a download of the multi-megabyte Go module can resume.
//! Multi-range requests get the whole file (a server may ignore `Range`).

use std::ops::Range;

/// What a `Range` header asks of a body of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable single range: send the whole body (200).
    Full,
    /// Send these bytes (206).
    Partial(Range<usize>),
    /// Syntactically valid but outside the body (416).
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n` against a body of `len` bytes.
pub fn parse_range(header: &str, len: usize) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let parse = |s: &str| s.trim().parse::<u64>().ok();
    let len64 = len as u64;
    let (first, last) = match (start.trim().is_empty(), end.trim().is_empty()) {
        // bytes=-n: the last n bytes.
        (true, false) => match parse(end) {
            Some(0) => return RangeRequest::Unsatisfiable,
            Some(n) => (len64.saturating_sub(n), len64.saturating_sub(1)),
            None => return RangeRequest::Full,
        },
        // bytes=a-: from a to the end.
        (false, true) => match parse(start) {
            Some(a) => (a, len64.saturating_sub(1)),
            None => return RangeRequest::Full,
        },
        (false, false) => match (parse(start), parse(end)) {
            (Some(a), Some(b)) if a <= b => (a, b.min(len64.saturating_sub(1))),
            _ => return RangeRequest::Full,
        },
        (true, true) => return RangeRequest::Full,
    };
    if len == 0 || first >= len64 {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Partial(first as usize..last as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::RangeRequest::*;
    use super::*;

    #[test]
    fn closed_range_is_inclusive() {
        assert_eq!(parse_range("bytes=0-3", 10), Partial(0..4));
    }

    #[test]
    fn open_range_runs_to_the_end() {
        assert_eq!(parse_range("bytes=7-", 10), Partial(7..10));
    }

    #[test]
    fn suffix_range_takes_the_last_bytes() {
        assert_eq!(parse_range("bytes=-4", 10), Partial(6..10));
        assert_eq!(parse_range("bytes=-40", 10), Partial(0..10));
    }

    #[test]
    fn end_past_the_body_is_clamped() {
        assert_eq!(parse_range("bytes=5-99", 10), Partial(5..10));
    }

    #[test]
    fn start_past_the_body_is_unsatisfiable() {
        assert_eq!(parse_range("bytes=10-", 10), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), Unsatisfiable);
    }

    #[test]
    fn malformed_or_multiple_ranges_get_the_full_body() {
        assert_eq!(parse_range("bytes=0-1,4-5", 10), Full);
        assert_eq!(parse_range("items=0-1", 10), Full);
        assert_eq!(parse_range("bytes=5-2", 10), Full);
        assert_eq!(parse_range("bytes=x-", 10), Full);
    }
}
