//! Fargate task sizes (DOMAIN.md): each cpu tier allows a memory range in
//! fixed steps. berth picks the smallest valid size that fits a request.

/// `(cpu units, min MiB, max MiB, step MiB)` for every tier, smallest first.
/// The 256 tier allows 512, 1024 and 2048 (the step is irregular there and
/// handled in `memory_options`).
pub const TIERS: &[(u32, u32, u32, u32)] = &[
    (256, 512, 2048, 512),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// The valid memory sizes (MiB) of one cpu tier.
pub fn memory_options(cpu: u32) -> Vec<u32> {
    match cpu {
        256 => vec![512, 1024, 2048],
        _ => TIERS.iter().find(|t| t.0 == cpu).map(|&(_, min, max, step)| (min..=max).step_by(step as usize).collect()).unwrap_or_default(),
    }
}

/// Whether `(cpu, memory)` is a valid Fargate task size.
pub fn is_valid(cpu: u32, memory: u32) -> bool {
    memory_options(cpu).contains(&memory)
}

/// The smallest valid size with at least `cpu` units and `memory` MiB:
/// the lowest tier that can hold both, then its smallest memory option that
/// is large enough. `None` above 16 vCPU / 120 GiB.
pub fn smallest_size(cpu: u64, memory: u64) -> Option<(u32, u32)> {
    TIERS.iter().find_map(|&(tier_cpu, ..)| {
        if u64::from(tier_cpu) < cpu {
            return None;
        }
        memory_options(tier_cpu).into_iter().find(|&m| u64::from(m) >= memory).map(|m| (tier_cpu, m))
    })
}

/// A one-line description of the valid sizes, for hints.
pub fn describe_tiers() -> String {
    TIERS.iter().map(|&(cpu, min, max, _)| format!("{cpu}: {min}-{max} MiB")).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tier_boundary() {
        // (requested cpu units, requested MiB) → chosen size
        type Case = ((u64, u64), (u32, u32));
        let cases: &[Case] = &[
            ((0, 0), (256, 512)),
            ((256, 512), (256, 512)),
            ((256, 513), (256, 1024)),
            ((256, 2048), (256, 2048)),
            ((256, 2049), (512, 3072)),
            ((257, 512), (512, 1024)),
            ((512, 4096), (512, 4096)),
            ((512, 4097), (1024, 5120)),
            ((513, 0), (1024, 2048)),
            ((1024, 8192), (1024, 8192)),
            ((1024, 8193), (2048, 9216)),
            ((1025, 0), (2048, 4096)),
            ((2048, 16384), (2048, 16384)),
            ((2048, 16385), (4096, 17408)),
            ((2049, 0), (4096, 8192)),
            ((4096, 30720), (4096, 30720)),
            ((4096, 30721), (8192, 32768)),
            ((4097, 0), (8192, 16384)),
            ((8192, 61440), (8192, 61440)),
            ((8192, 61441), (16384, 65536)),
            ((8193, 0), (16384, 32768)),
            ((16384, 122880), (16384, 122880)),
            ((16384, 100000), (16384, 106496)),
        ];
        for &((cpu, mem), want) in cases {
            let got = smallest_size(cpu, mem);
            assert_eq!(got, Some(want), "request cpu={cpu} memory={mem}");
            assert!(is_valid(want.0, want.1));
        }
    }

    #[test]
    fn above_the_largest_is_none() {
        assert_eq!(smallest_size(16385, 0), None);
        assert_eq!(smallest_size(1024, 122881), None);
    }

    #[test]
    fn tables_match_domain() {
        assert_eq!(memory_options(512), vec![1024, 2048, 3072, 4096]);
        assert_eq!(memory_options(8192).len(), 12);
        assert_eq!(memory_options(16384).first(), Some(&32768));
        assert_eq!(memory_options(16384).last(), Some(&122880));
        assert!(!is_valid(256, 4096));
        assert!(!is_valid(300, 1024));
    }
}
