//! Unpredictable values from the operating system's CSPRNG: request ids,
//! rollout salts and the demo's credentials.

/// `N` random bytes, hex-encoded, or the error when the OS has no
/// randomness to give (the demo's start-up reports it).
pub fn try_hex<const N: usize>() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// `N` random bytes, hex-encoded. Linux's `getrandom(2)` fails only before
/// the kernel's pool is seeded at boot, long before a server serves.
pub fn hex<const N: usize>() -> String {
    try_hex::<N>().expect("the operating system's CSPRNG")
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_draws_differ_and_have_two_hex_digits_per_byte() {
        let (a, b) = (super::hex::<16>(), super::hex::<16>());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
