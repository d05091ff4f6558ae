//! The exit codes of the binary beyond 0 (no finding at or above `--fail-on`).

/// There are findings at or above `--fail-on`.
pub const EXIT_FINDINGS: u8 = 1;
/// A usage, config or input error.
pub const EXIT_ERROR: u8 = 2;
