//! Which inputs `process_flaky` traps on: the guest hashes its input with
//! FNV-1a and traps when the hash mod 100 is below its trap percentage, so
//! an input whose hash is divisible by 100 traps at any percentage. Tests
//! that need a candidate to fail every call it gets send only those.

/// Whether `process_flaky` traps on `input`, whatever its percentage.
pub fn traps_in_flaky(input: &[u8]) -> bool {
    fnv1a(input).is_multiple_of(100)
}

/// The hash `guest-go/sandbox/process` picks its latent bug's inputs with.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, b| {
        (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}
