//! Fargate Spot interruptions, as a fault (`spot_interrupt=SERVICE`): at the
//! next tick the service's tasks that run on FARGATE_SPOT are stopped with
//! the reason ECS gives ("Your Spot Task was interrupted."), and ECS starts
//! replacements as for any stopped task. Interruptions are not failed
//! launches: they never count towards the circuit breaker.

use berth_model::resources::CapacityProviderStrategyItem;

/// The stopped reason ECS gives a Spot task AWS reclaimed.
pub const INTERRUPTED: &str = "Your Spot Task was interrupted.";

/// How many of `n` tasks a strategy places on FARGATE_SPOT: the bases
/// first, the rest by weight (rounded, as ECS spreads whole tasks).
pub fn spot_tasks(strategy: &[CapacityProviderStrategyItem], n: usize) -> usize {
    let spot = strategy.iter().find(|i| i.capacity_provider == "FARGATE_SPOT");
    let Some(spot) = spot else { return 0 };
    let bases: usize = strategy.iter().map(|i| i.base as usize).sum();
    let spot_base = (spot.base as usize).min(n);
    let rest = n.saturating_sub(bases.min(n));
    let weights: u32 = strategy.iter().map(|i| i.weight).sum();
    let by_weight = if weights == 0 { 0 } else { (rest as f64 * f64::from(spot.weight) / f64::from(weights)).round() as usize };
    (spot_base + by_weight).min(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(p: &str, weight: u32, base: u32) -> CapacityProviderStrategyItem {
        CapacityProviderStrategyItem { capacity_provider: p.into(), weight, base }
    }

    #[test]
    fn bases_first_then_weights() {
        assert_eq!(spot_tasks(&[item("FARGATE_SPOT", 1, 0), item("FARGATE", 1, 0)], 4), 2);
        assert_eq!(spot_tasks(&[item("FARGATE_SPOT", 2, 0), item("FARGATE", 1, 1)], 4), 2);
        assert_eq!(spot_tasks(&[item("FARGATE", 1, 0)], 4), 0);
        assert_eq!(spot_tasks(&[item("FARGATE_SPOT", 1, 3)], 2), 2);
    }
}
