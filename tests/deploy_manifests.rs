//! The Kubernetes manifests under deploy/kubernetes: valid YAML, every file listed in the
//! kustomization, the config map's keys known to `eddy`, the commands real subcommands, and
//! every port a Service exposes served by a container.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_yaml::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes")
}

fn docs(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir().join(file)).unwrap();
    // Documents are separated by `---` lines.
    text.split("\n---\n")
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.starts_with('#'))
        })
        .map(|d| serde_yaml::from_str(d).unwrap_or_else(|e| panic!("{file}: {e}")))
        .collect()
}

fn eddy(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn manifests_parse_and_agree_with_eddy() {
    let mut files: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    assert!(files.remove("kustomization.yaml"));
    let kustomization = &docs("kustomization.yaml")[0];
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, files, "kustomization resources");

    let mut kinds = Vec::new();
    let mut container_ports = BTreeSet::new();
    let mut service_ports = BTreeSet::new();
    let config_docs = String::from_utf8(eddy(&["config-docs"]).stdout).unwrap();
    for file in &files {
        for doc in docs(file) {
            let kind = doc["kind"].as_str().unwrap().to_string();
            match kind.as_str() {
                "ConfigMap" => {
                    let text = doc["data"]["eddy.yaml"].as_str().unwrap();
                    let config: serde_yaml::Mapping = serde_yaml::from_str(text).unwrap();
                    for key in config.keys() {
                        let key = key.as_str().unwrap();
                        assert!(
                            config_docs.contains(&format!("`{key}`")),
                            "{file}: eddy has no key {key}"
                        );
                    }
                }
                "Deployment" | "StatefulSet" => {
                    for c in doc["spec"]["template"]["spec"]["containers"]
                        .as_sequence()
                        .unwrap()
                    {
                        let command: Vec<&str> = c["command"]
                            .as_sequence()
                            .unwrap()
                            .iter()
                            .map(|v| v.as_str().unwrap())
                            .collect();
                        assert_eq!(command[0], "eddy", "{file}");
                        // The subcommand and its flags parse (clap refuses unknown ones).
                        // Kubernetes fills in $(POD_IP); any address will do here.
                        let mut help: Vec<String> = command[1..]
                            .iter()
                            .map(|a| a.replace("$(POD_IP)", "10.0.0.7"))
                            .collect();
                        help.push("--help".into());
                        let help: Vec<&str> = help.iter().map(String::as_str).collect();
                        let out = eddy(&help);
                        assert!(
                            out.status.success(),
                            "{file}: {command:?}: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                        for p in c["ports"].as_sequence().unwrap() {
                            container_ports.insert(p["containerPort"].as_u64().unwrap());
                        }
                    }
                }
                "Service" => {
                    for p in doc["spec"]["ports"].as_sequence().into_iter().flatten() {
                        service_ports.insert(p["port"].as_u64().unwrap());
                    }
                }
                _ => {}
            }
            kinds.push(kind);
        }
    }
    for k in [
        "ConfigMap",
        "Deployment",
        "StatefulSet",
        "Service",
        "Namespace",
    ] {
        assert!(kinds.iter().any(|x| x == k), "no {k} in {kinds:?}");
    }
    let unserved: Vec<_> = service_ports.difference(&container_ports).collect();
    assert!(
        unserved.is_empty(),
        "Service ports without a container: {unserved:?}"
    );
}
