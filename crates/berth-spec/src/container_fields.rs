//! A service's kernel and host settings as ECS container definition fields:
//! `sysctls` → systemControls, `cap_add`/`cap_drop` → capabilities,
//! `privileged`, `ulimits`, `devices`, `shm_size`, `tmpfs`, `extra_hosts`,
//! `dns`, `dns_search`. Each is checked against what ECS accepts for the
//! app's launch type and network mode (ECS's ContainerDefinition,
//! LinuxParameters and SystemControl reference, and its list of task
//! definition parameters Fargate does not take), with the key and its line.

use crate::app::{ContainerSystem, Device, LaunchType, NetworkMode, Tmpfs, Ulimit};
use crate::node::Seg;
use crate::resolve::{p, Ctx};
use crate::types::{self, ListOrDict, StringOrList};
use crate::units;

/// The hint of every key that needs EC2 instances: the key is the app's.
pub const SET_EC2: &str = "set `x-berth.launch_type: ec2` at the top level of the file (the app's x-berth)";

/// The hint of keys ECS takes only outside the awsvpc network mode.
const SET_BRIDGE: &str =
    "set `x-berth.network.mode: bridge` (or host) at the top level of the file (the app's x-berth), next to `x-berth.launch_type: ec2`";

/// ECS's IPC-namespace kernel parameters (SystemControl); `fs.mqueue.*` and
/// the network namespace's `net.*` are the others it sets.
const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// KernelCapabilities' valid values.
const CAPABILITIES: &[&str] = &[
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// Ulimit's valid names.
const ULIMITS: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// Tmpfs mountOptions' valid names (an option may carry `=value`).
const TMPFS_OPTIONS: &[&str] = &[
    "defaults",
    "ro",
    "rw",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "bind",
    "rbind",
    "unbindable",
    "runbindable",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// Where a service runs: what decides which fields ECS takes.
#[derive(Clone, Copy)]
pub struct Target {
    pub launch: LaunchType,
    pub mode: NetworkMode,
}

struct Keys<'a> {
    service: &'a str,
}

impl Keys<'_> {
    fn at(&self, key: &str) -> Vec<Seg> {
        p(&["services", self.service, key])
    }

    fn item(&self, key: &str, i: usize) -> Vec<Seg> {
        let mut v = self.at(key);
        v.push(Seg::Index(i));
        v
    }

    fn entry(&self, key: &str, name: &str) -> Vec<Seg> {
        let mut v = self.at(key);
        v.push(Seg::Key(name.to_string()));
        v
    }
}

/// Whether the key may be used on this launch type; reports why not.
fn ec2_only(cx: &mut Ctx, path: &[Seg], field: &str, t: Target) -> bool {
    if t.launch == LaunchType::Fargate {
        cx.error(path, format!("{field} is not available on Fargate"), Some(SET_EC2));
        return false;
    }
    true
}

/// Fields ECS takes for the bridge and host network modes only.
fn not_awsvpc(cx: &mut Ctx, path: &[Seg], field: &str, t: Target) -> bool {
    if t.launch == LaunchType::Fargate {
        cx.error(
            path,
            format!("{field} is not available on Fargate"),
            Some(&format!("{SET_EC2}, with `x-berth.network.mode: bridge` (or host)")),
        );
        return false;
    }
    if t.mode == NetworkMode::Awsvpc {
        cx.error(path, format!("ECS does not support {field} for tasks in the awsvpc network mode (berth's default)"), Some(SET_BRIDGE));
        return false;
    }
    true
}

/// The capabilities to add and drop, as ECS names them (`NET_ADMIN`, not
/// `CAP_NET_ADMIN`); on Fargate only SYS_PTRACE may be added.
pub(crate) fn capabilities(cx: &mut Ctx, service: &str, svc: &types::Service, t: Target) -> (Vec<String>, Vec<String>) {
    let keys = Keys { service };
    let mut out = (Vec::new(), Vec::new());
    for (key, list) in [("cap_add", &svc.cap_add), ("cap_drop", &svc.cap_drop)] {
        for (i, cap) in list.iter().flatten().enumerate() {
            let path = keys.item(key, i);
            let upper = cap.trim().to_ascii_uppercase();
            let name = upper.strip_prefix("CAP_").unwrap_or(&upper).to_string();
            if !CAPABILITIES.contains(&name.as_str()) {
                cx.error(
                    &path,
                    format!("{cap:?} is not a Linux capability ECS knows"),
                    Some("use a name like NET_ADMIN or SYS_PTRACE (capabilities(7)), or ALL"),
                );
                continue;
            }
            if key == "cap_add" && t.launch == LaunchType::Fargate && name != "SYS_PTRACE" {
                cx.error(&path, format!("Fargate only allows adding SYS_PTRACE, not {cap}"), Some(&format!("remove it, or {SET_EC2}")));
                continue;
            }
            if key == "cap_add" { &mut out.0 } else { &mut out.1 }.push(name);
        }
    }
    out
}

/// Every other kernel and host setting of the service.
pub(crate) fn system(cx: &mut Ctx, service: &str, svc: &types::Service, t: Target) -> ContainerSystem {
    let keys = Keys { service };
    let mut out = ContainerSystem::default();
    // `privileged: false` is Docker's default: nothing to send (and Fargate
    // takes no privileged field at all).
    if svc.privileged == Some(true) {
        if t.launch == LaunchType::Fargate {
            cx.error(
                &keys.at("privileged"),
                "privileged containers are not available on Fargate",
                Some(&format!("remove it, or {SET_EC2}")),
            );
        } else {
            out.privileged = Some(true);
        }
    }
    out.sysctls = sysctls(cx, &keys, svc.sysctls.as_ref(), t);
    out.ulimits = ulimits(cx, &keys, svc);
    if let Some(devices) = &svc.devices {
        if ec2_only(cx, &keys.at("devices"), "linuxParameters.devices (devices)", t) {
            out.devices = devices.iter().enumerate().filter_map(|(i, d)| device(cx, &keys.item("devices", i), d)).collect();
        }
    }
    if let Some(size) = &svc.shm_size {
        let path = keys.at("shm_size");
        if ec2_only(cx, &path, "linuxParameters.sharedMemorySize (shm_size)", t) {
            match units::parse_memory_mib(&size.text()) {
                Ok(0) => cx.error(&path, "ECS's sharedMemorySize is in MiB: the size is below 1 MiB", Some("give at least 1m")),
                Ok(mib) => out.shm_size_mib = Some(u32::try_from(mib).unwrap_or(u32::MAX)),
                Err(e) => cx.error(&path, e, None),
            }
        }
    }
    if let Some(tmpfs) = &svc.tmpfs {
        if ec2_only(cx, &keys.at("tmpfs"), "linuxParameters.tmpfs (tmpfs)", t) {
            let items: Vec<(Vec<Seg>, &String)> = match tmpfs {
                StringOrList::String(s) => vec![(keys.at("tmpfs"), s)],
                StringOrList::List(l) => l.iter().enumerate().map(|(i, s)| (keys.item("tmpfs", i), s)).collect(),
            };
            out.tmpfs = items.into_iter().filter_map(|(path, s)| tmpfs_mount(cx, &path, s)).collect();
        }
    }
    if let Some(hosts) = &svc.extra_hosts {
        if not_awsvpc(cx, &keys.at("extra_hosts"), "extraHosts (extra_hosts)", t) {
            out.extra_hosts = extra_hosts(cx, &keys, hosts);
        }
    }
    for (key, field) in [("dns", "dnsServers (dns)"), ("dns_search", "dnsSearchDomains (dns_search)")] {
        let value = if key == "dns" { &svc.dns } else { &svc.dns_search };
        let Some(value) = value else { continue };
        if not_awsvpc(cx, &keys.at(key), field, t) {
            let list = match value {
                StringOrList::String(s) => vec![s.clone()],
                StringOrList::List(l) => l.clone(),
            };
            if key == "dns" {
                out.dns_servers = list;
            } else {
                out.dns_search = list;
            }
        }
    }
    out
}

fn sysctls(cx: &mut Ctx, keys: &Keys, value: Option<&ListOrDict>, t: Target) -> Vec<(String, String)> {
    let entries: Vec<(Vec<Seg>, String, Option<String>)> = match value {
        None => return Vec::new(),
        Some(ListOrDict::List(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let (k, v) = item.split_once('=').map_or((item.as_str(), None), |(k, v)| (k, Some(v.to_string())));
                (keys.item("sysctls", i), k.trim().to_string(), v.map(|v| v.trim().to_string()))
            })
            .collect(),
        Some(ListOrDict::Dict(m)) => {
            m.iter().map(|(k, v)| (keys.entry("sysctls", k), k.clone(), v.as_ref().map(types::Scalar::text))).collect()
        }
    };
    let mut out = Vec::new();
    for (path, name, value) in entries {
        let Some(value) = value else {
            cx.error(&path, format!("{name} has no value"), Some("write `name=value`, e.g. net.core.somaxconn=1024"));
            continue;
        };
        let network = name.starts_with("net.");
        if !(network || name.starts_with("fs.mqueue.") || IPC_SYSCTLS.contains(&name.as_str())) {
            let host = if t.launch == LaunchType::Fargate {
                "Fargate hosts cannot be tuned"
            } else {
                "a host-wide setting belongs to the instance (its launch template's user data)"
            };
            cx.error(
                &path,
                format!("{name} is not a namespaced kernel parameter: ECS sets only net.*, fs.mqueue.* and the IPC kernel.* ones in a container"),
                Some(&format!("{host}; ECS's IPC ones are {}", IPC_SYSCTLS.join(", "))),
            );
            continue;
        }
        if network && t.mode == NetworkMode::Host {
            cx.error(
                &path,
                format!("{name}: ECS does not set network kernel parameters for tasks in the host network mode"),
                Some("set it on the instance, or set `x-berth.network.mode: bridge` (or awsvpc) at the top level of the file (the app's x-berth)"),
            );
            continue;
        }
        out.push((name, value));
    }
    out
}

fn limit(cx: &mut Ctx, path: &[Seg], v: &types::StringOrNumber) -> Option<i64> {
    let text = v.text();
    match text.trim().parse::<i64>() {
        Ok(n) if n >= -1 => Some(n),
        _ => {
            cx.error(path, format!("{text:?} is not a limit ECS takes"), Some("give a whole number (-1 is unlimited)"));
            None
        }
    }
}

fn ulimits(cx: &mut Ctx, keys: &Keys, svc: &types::Service) -> Vec<Ulimit> {
    let mut out = Vec::new();
    for (name, value) in svc.ulimits.iter().flatten() {
        let path = keys.entry("ulimits", name);
        if !ULIMITS.contains(&name.as_str()) {
            cx.error(&path, format!("{name:?} is not a ulimit ECS sets"), Some(&format!("ECS's ulimits are {}", ULIMITS.join(", "))));
            continue;
        }
        let (soft, hard) = match value {
            types::Ulimit::Single(v) => {
                let n = limit(cx, &path, v);
                (n, n)
            }
            types::Ulimit::Pair { soft, hard } => (limit(cx, &path, soft), limit(cx, &path, hard)),
        };
        let (Some(soft), Some(hard)) = (soft, hard) else { continue };
        if hard != -1 && (soft == -1 || soft > hard) {
            cx.error(
                &path,
                format!("the soft limit {soft} is above the hard limit {hard}"),
                Some("the soft limit is at most the hard one"),
            );
            continue;
        }
        out.push(Ulimit { name: name.clone(), soft, hard });
    }
    out
}

fn device(cx: &mut Ctx, path: &[Seg], d: &types::Device) -> Option<Device> {
    let (host, container, perms) = match d {
        types::Device::Short(s) => {
            let mut parts = s.splitn(3, ':');
            let host = parts.next().unwrap_or_default().to_string();
            (host, parts.next().map(str::to_string), parts.next().map(str::to_string))
        }
        types::Device::Long { source, target, permissions } => (source.clone(), target.clone(), permissions.clone()),
    };
    if !host.starts_with('/') {
        cx.error(
            path,
            format!("{host:?} is not a device path: ECS maps device files of the instance by path"),
            Some("write /dev/NAME[:/dev/NAME[:rwm]]"),
        );
        return None;
    }
    let mut permissions = Vec::new();
    if let Some(perms) = perms {
        for c in perms.chars() {
            let name = match c {
                'r' => "read",
                'w' => "write",
                'm' => "mknod",
                _ => {
                    cx.error(path, format!("{perms:?}: device permissions are r, w and m"), Some("e.g. /dev/fuse:/dev/fuse:rwm"));
                    return None;
                }
            };
            if !permissions.iter().any(|p| p == name) {
                permissions.push(name.to_string());
            }
        }
    }
    Some(Device { host_path: host, container_path: container.filter(|c| !c.is_empty()), permissions })
}

fn tmpfs_mount(cx: &mut Ctx, path: &[Seg], text: &str) -> Option<Tmpfs> {
    let (target, options) = text.split_once(':').unwrap_or((text, ""));
    if !target.starts_with('/') {
        cx.error(path, format!("{target:?} is not an absolute path in the container"), Some("write /PATH:size=64m"));
        return None;
    }
    let mut size_mib = None;
    let mut mount_options = Vec::new();
    for opt in options.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let (name, value) = opt.split_once('=').unwrap_or((opt, ""));
        if name == "size" {
            match units::parse_memory_mib(value) {
                Ok(mib) if mib > 0 => size_mib = Some(u32::try_from(mib).unwrap_or(u32::MAX)),
                Ok(_) => cx.error(path, "ECS's tmpfs size is in MiB: the size is below 1 MiB", None),
                Err(e) => cx.error(path, e, None),
            }
        } else if TMPFS_OPTIONS.contains(&name) {
            mount_options.push(opt.to_string());
        } else {
            cx.error(path, format!("{name:?} is not a tmpfs mount option ECS takes"), Some("e.g. /run:size=64m,mode=1777,noexec"));
        }
    }
    let Some(size_mib) = size_mib else {
        cx.error(path, format!("ECS needs the size of the tmpfs mount at {target}"), Some(&format!("write `{target}:size=64m`")));
        return None;
    };
    Some(Tmpfs { container_path: target.to_string(), size_mib, mount_options })
}

fn extra_hosts(cx: &mut Ctx, keys: &Keys, hosts: &types::ExtraHosts) -> Vec<(String, String)> {
    let unbracket = |ip: &str| ip.trim().trim_start_matches('[').trim_end_matches(']').to_string();
    let mut out = Vec::new();
    match hosts {
        types::ExtraHosts::List(items) => {
            for (i, item) in items.iter().enumerate() {
                // Compose writes `host=ip`, and the older `host:ip`.
                match item.split_once('=').or_else(|| item.split_once(':')) {
                    Some((host, ip)) if !host.trim().is_empty() && !ip.trim().is_empty() => {
                        out.push((host.trim().to_string(), unbracket(ip)))
                    }
                    _ => cx.error(
                        &keys.item("extra_hosts", i),
                        format!("{item:?} is not a host and an IP address"),
                        Some("write host=IP, e.g. db.local=10.0.0.5"),
                    ),
                }
            }
        }
        types::ExtraHosts::Map(m) => {
            for (host, ips) in m {
                match ips {
                    StringOrList::String(ip) => out.push((host.clone(), unbracket(ip))),
                    StringOrList::List(l) => out.extend(l.iter().map(|ip| (host.clone(), unbracket(ip)))),
                }
            }
        }
    }
    out
}
