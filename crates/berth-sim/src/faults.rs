//! Fault injection, for tests and for trying failure paths by hand.
//!
//! Through the sim's API ([`crate::Sim::faults_mut`]), or from the command
//! line: an image whose reference contains `crashloop`, `unhealthy` or
//! `hang` behaves that way, and `BERTH_SIM_FAULTS` takes a comma list such
//! as `throttle=3,5xx=1,crashloop=api,unhealthy=web,hang=worker,spot_interrupt=shop-web`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// The next N API calls are throttled.
    #[serde(default)]
    pub throttle_next: u32,
    /// The next N API calls fail with a 5xx.
    #[serde(default)]
    pub server_error_next: u32,
    /// Images whose reference contains one of these crash right after starting.
    #[serde(default)]
    pub crashloop: Vec<String>,
    /// Images whose reference contains one of these never pass health checks.
    #[serde(default)]
    pub unhealthy: Vec<String>,
    /// Images whose reference contains one of these never leave PENDING.
    #[serde(default)]
    pub hang: Vec<String>,
    /// Services (by ECS name) whose Fargate Spot tasks are interrupted at the next tick, once.
    #[serde(default)]
    pub spot_interrupt: Vec<String>,
}

/// How a task of a given image behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Healthy,
    CrashLoop,
    Unhealthy,
    Hang,
}

impl Faults {
    pub fn parse(text: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once('=').ok_or_else(|| format!("{item:?} is not KEY=VALUE"))?;
            let count = || value.parse::<u32>().map_err(|_| format!("{key}: {value:?} is not a count"));
            match key {
                "throttle" => f.throttle_next = count()?,
                "5xx" => f.server_error_next = count()?,
                "crashloop" => f.crashloop.push(value.to_string()),
                "unhealthy" => f.unhealthy.push(value.to_string()),
                "hang" => f.hang.push(value.to_string()),
                "spot_interrupt" => f.spot_interrupt.push(value.to_string()),
                other => return Err(format!("unknown fault {other:?} (throttle, 5xx, crashloop, unhealthy, hang, spot_interrupt)")),
            }
        }
        Ok(f)
    }

    pub fn behaviour(&self, image: &str) -> Behaviour {
        let hit = |marker: &str, list: &[String]| image.contains(marker) || list.iter().any(|s| image.contains(s.as_str()));
        if hit("crashloop", &self.crashloop) {
            Behaviour::CrashLoop
        } else if hit("unhealthy", &self.unhealthy) {
            Behaviour::Unhealthy
        } else if hit("hang", &self.hang) {
            Behaviour::Hang
        } else {
            Behaviour::Healthy
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_match() {
        let f = Faults::parse("throttle=2, crashloop=api ,unhealthy=web").expect("parses");
        assert_eq!(f.throttle_next, 2);
        assert_eq!(f.behaviour("r/shop/api:1"), Behaviour::CrashLoop);
        assert_eq!(f.behaviour("r/shop/web:1"), Behaviour::Unhealthy);
        assert_eq!(f.behaviour("nginx:crashloop"), Behaviour::CrashLoop);
        assert_eq!(f.behaviour("nginx:1"), Behaviour::Healthy);
        assert!(Faults::parse("explode=1").is_err());
        assert!(Faults::parse("throttle=x").is_err());
    }
}
