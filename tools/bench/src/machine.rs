//! Where the harness runs: the repository, the architecture measured (natively or under qemu),
//! where that architecture's zips are, and the machine in words for the report.

use std::path::{Path, PathBuf};

use lambda_emulator::Arch;

/// The repository, two levels above this crate.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The architecture measured: `BENCH_ARCH` (x86_64 or arm64), default this machine's. The other
/// one runs under qemu: its figures are emulated, not Lambda's.
pub fn arch() -> Arch {
    match std::env::var("BENCH_ARCH").as_deref() {
        Ok("arm64") => Arch::Arm64,
        Ok("x86_64") => Arch::X86_64,
        Ok(other) => panic!("BENCH_ARCH must be x86_64 or arm64, not {other:?}"),
        Err(_) => Arch::host().expect("a machine of a Lambda architecture"),
    }
}

/// Where the zips are: `BENCH_LAMBDA_DIR` (e.g. a profile variant's `--lambda-dir`) or
/// `target/lambda/<arch>`.
pub fn lambda_dir() -> PathBuf {
    std::env::var_os("BENCH_LAMBDA_DIR").map_or_else(|| arch().lambda_dir(&root()), PathBuf::from)
}

/// The machine, in words, for the report.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let arch = arch();
    let emulated = if arch.is_emulated() {
        format!(
            ", {} binaries under qemu user-mode emulation (emulated figures)",
            arch.name()
        )
    } else {
        String::new()
    };
    format!(
        "{cores} cores ({cpu}), {} Linux{emulated}, DynamoDB Local in memory on loopback",
        std::env::consts::ARCH
    )
}
