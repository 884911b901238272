use crate::cli::{Cli, IamPolicyArgs};
use crate::commands::load_target;
use crate::{ExitStatus, Io};

pub fn run(cli: &Cli, args: &IamPolicyArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(target) = load_target(cli, io)? else { return Ok(ExitStatus::Error) };
    let region = cli.global.region.clone().or_else(|| target.desired.region.clone());
    let out = if args.execution_role {
        // In CloudFormation's AWS::IAM::Role terms: who may assume it, and what it may do.
        serde_json::json!({
            "AssumeRolePolicyDocument": berth_aws::policy::execution_role_trust_policy(),
            "PolicyDocument": berth_aws::policy::execution_role_policy(&target.desired, region.as_deref()),
        })
    } else {
        berth_aws::policy::policy(&target.desired, region.as_deref())
    };
    serde_json::to_writer_pretty(&mut *io.stdout, &out)?;
    writeln!(io.stdout)?;
    Ok(ExitStatus::Success)
}
