//! The moto AWS emulator, as the wire tests use it: where it listens (set by
//! `tests/run`), the network setup berth does not own (VPC, subnets, a
//! security group, a shared load balancer and listener), and SDK clients to
//! read back what berth did — with the SDK, not with berth.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::{repo_root, Berth};

pub struct Moto {
    pub endpoint: String,
}

/// The emulator, or `None` (skip) outside CI when it is not running.
pub fn moto() -> Option<Moto> {
    match std::env::var("BERTH_MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(Moto { endpoint }),
        _ if std::env::var("CI").is_ok() => panic!("BERTH_MOTO_ENDPOINT is not set: CI must run the tests through `bash tests/run`"),
        _ => {
            eprintln!("skipped: moto is not running (run the suite with `bash tests/run`)");
            None
        }
    }
}

/// The network an app is deployed into.
#[derive(Debug, Clone)]
pub struct Network {
    pub region: String,
    pub vpc: String,
    pub subnet_a: String,
    pub subnet_b: String,
    pub security_group: String,
    pub listener: String,
}

/// A test's own VPC ([`Moto::vpc`]).
#[derive(Debug, Clone)]
pub struct Vpc {
    pub vpc: String,
    pub subnet_a: String,
    pub subnet_b: String,
    pub security_group: String,
}

impl Network {
    /// The `x-berth.network` value of a spec deployed into this network.
    pub fn yaml(&self) -> String {
        format!("{{ vpc_id: {}, subnets: [{}, {}], security_groups: [{}] }}", self.vpc, self.subnet_a, self.subnet_b, self.security_group)
    }
}

fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find('<')? + start;
    Some(xml[start..end].to_string())
}

impl Moto {
    /// A Query-protocol call (EC2, ELBv2) without the SDK; moto does not
    /// check signatures, it only reads the region from the credential scope.
    pub fn query(&self, region: &str, service: &str, body: &str) -> String {
        let hostport = self.endpoint.trim_start_matches("http://").trim_end_matches('/');
        let mut stream = TcpStream::connect(hostport).expect("connect to moto");
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {hostport}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response
    }

    /// A fresh VPC with two subnets, a security group and a shared ALB with
    /// an HTTP listener, in `region` (each test uses its own region).
    pub fn network(&self, region: &str) -> Network {
        let Vpc { vpc, subnet_a, subnet_b, security_group } = self.vpc(region, 9, "app");
        let listener = self.listener(region, &[&subnet_a, &subnet_b], &security_group, "shared");
        Network { region: region.into(), vpc, subnet_a, subnet_b, security_group, listener }
    }

    /// A VPC of a test's own, `10.<octet>.0.0/16`, with a subnet in each of
    /// the region's zones `a` and `b` and a security group `name` (tests
    /// that share a region each take their own octet).
    pub fn vpc(&self, region: &str, octet: u8, name: &str) -> Vpc {
        let ec2 = |body: &str| self.query(region, "ec2", &format!("{body}&Version=2016-11-15"));
        let vpc = tag(&ec2(&format!("Action=CreateVpc&CidrBlock=10.{octet}.0.0/16")), "vpcId").expect("vpc");
        let subnet = |n: u8, az: &str| {
            let cidr = format!("10.{octet}.{n}.0/24");
            tag(&ec2(&format!("Action=CreateSubnet&VpcId={vpc}&CidrBlock={cidr}&AvailabilityZone={region}{az}")), "subnetId")
                .expect("subnet")
        };
        let (subnet_a, subnet_b) = (subnet(1, "a"), subnet(2, "b"));
        let security_group =
            tag(&ec2(&format!("Action=CreateSecurityGroup&GroupName={name}&GroupDescription={name}&VpcId={vpc}")), "groupId").expect("sg");
        Vpc { vpc, subnet_a, subnet_b, security_group }
    }

    /// An ALB `name` in `subnets` with an HTTP:80 listener answering 404:
    /// the listener's ARN.
    pub fn listener(&self, region: &str, subnets: &[&str], security_group: &str, name: &str) -> String {
        let elb = |body: &str| self.query(region, "elasticloadbalancing", &format!("{body}&Version=2015-12-01"));
        let members: String = subnets.iter().enumerate().map(|(i, s)| format!("&Subnets.member.{}={s}", i + 1)).collect();
        let lb = tag(
            &elb(&format!("Action=CreateLoadBalancer&Name={name}{members}&SecurityGroups.member.1={security_group}")),
            "LoadBalancerArn",
        )
        .expect("load balancer");
        tag(
            &elb(&format!(
                "Action=CreateListener&LoadBalancerArn={lb}&Protocol=HTTP&Port=80&DefaultActions.member.1.Type=fixed-response&DefaultActions.member.1.FixedResponseConfig.StatusCode=404"
            )),
            "ListenerArn",
        )
        .expect("listener")
    }

    /// `berth --backend aws` against moto, for an example, with its network.
    /// What a bootstrap does before the shop example's first deploy: its
    /// repositories exist (tagged for the app) and CI pushed `tag` to each;
    /// the web image lives in another account's repository in ap-northeast-2.
    pub fn prepare_shop(&self, region: &str, tags: &[&str]) {
        block_on(async {
            let here = self.sdk(region).await;
            let there = self.sdk("ap-northeast-2").await;
            for tag in tags {
                there.push_image_for(None, "shop/web", tag, 0).await;
                here.push_image_for(Some("shop"), "shop/api", tag, 0).await;
                here.push_image_for(Some("shop"), "shop/worker", tag, 0).await;
            }
        });
    }

    /// `berth --backend aws` against moto in `region`, with no spec yet.
    pub fn berth_in(&self, region: &str) -> Berth {
        Berth::new(repo_root())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("BERTH_AWS_MAX_ATTEMPTS", "1")
            .args(["--backend".to_string(), "aws".into(), "--endpoint-url".into(), self.endpoint.clone(), "--region".into(), region.into()])
    }

    pub fn berth(&self, net: &Network, example: &str) -> Berth {
        self.berth_in(&net.region).args([
            "-f".to_string(),
            format!("examples/{example}/compose.yaml"),
            "--var".into(),
            "TAG=abc1234".into(),
            "--var".into(),
            format!("VPC_ID={}", net.vpc),
            "--var".into(),
            format!("SUBNET_A={}", net.subnet_a),
            "--var".into(),
            format!("SUBNET_B={}", net.subnet_b),
            "--var".into(),
            format!("SECURITY_GROUP={}", net.security_group),
            "--var".into(),
            format!("LISTENER_ARN={}", net.listener),
        ])
    }

    /// SDK clients for reading back, pointed at moto in `region`.
    pub async fn sdk(&self, region: &str) -> Sdk {
        use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
        let http = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_ecs::config::Credentials::new("test", "test", None, None, "moto"))
            .load()
            .await;
        Sdk {
            ecs: aws_sdk_ecs::Client::new(&conf),
            ecr: aws_sdk_ecr::Client::new(&conf),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&conf),
            sd: aws_sdk_servicediscovery::Client::new(&conf),
            logs: aws_sdk_cloudwatchlogs::Client::new(&conf),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(&conf),
        }
    }
}

impl Sdk {
    /// Pushes an image the way CI would (PutImage with a manifest), creating
    /// the repository when it is not there (tagged for `app` when given, as
    /// a bootstrap before the first deploy would); returns the digest.
    pub async fn push_image_for(&self, app: Option<&str>, repository: &str, tag: &str, build: u32) -> String {
        if self.ecr.describe_repositories().repository_names(repository).send().await.is_err() {
            let mut create = self.ecr.create_repository().repository_name(repository);
            if let Some(app) = app {
                for (k, v) in [("berth:app", app), ("berth:managed", "true")] {
                    create = create.tags(aws_sdk_ecr::types::Tag::builder().key(k).value(v).build().expect("tag"));
                }
            }
            create.send().await.expect("create repository");
        }
        // moto derives the digest from the layers' digests: one layer per build.
        let layer = format!(
            "{:0>64x}",
            (repository.len() as u64) << 40
                | u64::from(build) << 32
                | u64::from(tag.bytes().fold(7u32, |h, b| h.wrapping_mul(31) ^ u32::from(b)))
        );
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,"digest":"sha256:{layer}"}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":1,"digest":"sha256:{layer}"}}]}}"#
        );
        let out = match self.ecr.put_image().repository_name(repository).image_tag(tag).image_manifest(manifest).send().await {
            Ok(out) => out,
            // Pushed before (another test shares this repository): the same build.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_image_already_exists_exception()) => {
                let found = self
                    .ecr
                    .describe_images()
                    .repository_name(repository)
                    .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_tag(tag).build())
                    .send()
                    .await
                    .expect("describe image");
                return found.image_details()[0].image_digest().expect("digest").to_string();
            }
            Err(e) => panic!("put image: {e:?}"),
        };
        out.image().and_then(|i| i.image_id()).and_then(|id| id.image_digest()).expect("digest").to_string()
    }
}

pub struct Sdk {
    pub ecs: aws_sdk_ecs::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub sd: aws_sdk_servicediscovery::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
}

/// A runtime for the SDK calls of a test.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}
