//! Ports of this checkout's own: two clones running `cargo xtask test` one
//! after the other (or at once) never meet on a port, and a stand-in left by
//! one is never mistaken for the other's.

use std::path::Path;

/// Stand-ins a checkout may run, each with one port (bqemulator has two).
const SLOTS: u16 = 10;
/// Below Linux's ephemeral range (32768–60999), so a client's port never
/// takes a stand-in's.
const FIRST: u16 = 20_000;
const BLOCKS: u64 = 1_200;

/// The ports of one checkout: a block of [`SLOTS`] chosen by its target
/// directory, or from `JUNCTION_STAND_IN_PORT_BASE`.
pub struct Ports {
    base: u16,
}

impl Ports {
    pub fn for_checkout(root: &Path) -> Ports {
        if let Some(base) = std::env::var("JUNCTION_STAND_IN_PORT_BASE")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            return Ports { base };
        }
        let dir = crate::target_dir(root);
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let hash = dir
            .to_string_lossy()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        let block = u16::try_from(hash % BLOCKS).unwrap_or(0);
        Ports {
            base: FIRST + block * SLOTS,
        }
    }

    pub fn postgres(&self) -> u16 {
        self.base
    }

    /// The first port of a stand-in.
    pub fn of(&self, name: &str) -> u16 {
        let slot = match name {
            "postgres" => 0,
            "moto" => 1,
            "fakesnow" => 2,
            "minilake" => 3,
            "pysqlbridge" => 4,
            "bqemulator" => 5,
            _ => 9,
        };
        self.base + slot
    }

    /// bqemulator's gRPC port.
    pub fn bqemulator_grpc(&self) -> u16 {
        self.base + 6
    }
}
