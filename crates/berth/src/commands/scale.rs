//! `berth scale SERVICE N`: sets a running service's desired count now,
//! outside a plan — for an incident, a load test, a quiet night. Under the
//! app lock, like apply. A service with a scalable target is clamped to
//! its bounds (Application Auto Scaling would move it there anyway), with a
//! warning that the scaler may change the count again. The spec is not
//! changed: without a scaler, the next apply sets `deploy.replicas` again.

use crate::cli::{Cli, ScaleArgs};
use crate::commands::{backend, load_deploy_target, lock, Backend};
use crate::{ExitStatus, Io};

pub fn scale(cli: &Cli, args: &ScaleArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(target) = load_deploy_target(cli, io)? else { return Ok(ExitStatus::Error) };
    if !target.desired.services.iter().any(|s| s.compose_name == args.service) {
        let names: Vec<&str> = target.desired.services.iter().map(|s| s.compose_name.as_str()).collect();
        writeln!(io.stderr, "error: no service {:?} in the spec\n  hint: the services are: {}", args.service, names.join(", "))?;
        return Ok(ExitStatus::Error);
    }
    let rt = backend::runtime()?;
    let backend = rt.block_on(Backend::open(cli, io, &target))?;
    let Some((backend, lock)) = rt.block_on(lock::acquire(cli, io, &target, backend, args.wait_for_lock))? else {
        return Ok(ExitStatus::Error);
    };
    let status = rt.block_on(lock.hold(&backend, async {
        let provider = backend.provider();
        let observed = provider.observe(&berth_plan::scope(&target.desired)).await?;
        let app = &target.desired.app;
        // A blue/green service runs as two colors: the live one has the tasks.
        let service = &args.service;
        let candidates = [format!("service.{service}"), format!("service.{service}-blue"), format!("service.{service}-green")];
        let Some(live) = candidates
            .iter()
            .filter_map(|a| observed.get(a))
            .filter(|r| r.owned_by(app))
            .max_by_key(|r| r.spec["desiredCount"].as_u64().unwrap_or(0))
        else {
            writeln!(io.stderr, "error: service {service:?} is not deployed (app {app}); `berth apply` deploys it")?;
            return anyhow::Ok(ExitStatus::Error);
        };
        let before = live.spec["desiredCount"].as_u64().unwrap_or(0);
        let mut count = args.count;
        if let Some(t) = live.spec.get("scalableTarget").filter(|t| t.is_object()) {
            let bound = |k: &str| t[k].as_u64().and_then(|n| u32::try_from(n).ok());
            let (min, max) = (bound("minCapacity").unwrap_or(0), bound("maxCapacity").unwrap_or(u32::MAX));
            let clamped = count.clamp(min, max.max(min));
            if clamped != count {
                writeln!(io.stderr, "warning: {count} is outside the scalable target's bounds {min}..{max}: scaling to {clamped}")?;
                count = clamped;
            }
            writeln!(
                io.stderr,
                "warning: Application Auto Scaling scales service.{service} and may change the count again at its next evaluation"
            )?;
        }
        let cluster = live.spec["cluster"].as_str().map(|c| c.rsplit('/').next().unwrap_or(c).to_string());
        let cluster = cluster.unwrap_or_else(|| target.desired.cluster.cluster_name.clone());
        provider.set_service_count(&cluster, &live.name, count).await?;
        writeln!(io.stdout, "service.{service} ({}): desired count {before} → {count}", live.name)?;
        Ok(ExitStatus::Success)
    }));
    lock.finish(&rt, &backend, cli, io, status)
}
