//! moto's EC2 emulator for the aws tests: one server per test on a free loopback port (so
//! parallel tests never see each other's resources), and an independent client (boto3,
//! from the same venv) to list what gaform made. The tests install moto into target/moto
//! themselves on first use (`provision`); `GAFORM_MOTO_VENV` names a venv of one's own.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running moto server, stopped when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
}

/// What the venv holds: moto's server at the version the tests were written against, and
/// boto3 as the independent client. A change here reinstalls the venv.
const REQUIREMENTS: [&str; 2] = ["moto[server]==5.1.22", "boto3<2"];

/// The venv with moto and boto3, installed into target/moto on first use.
pub fn venv() -> PathBuf {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let venv = VENV.get_or_init(|| match std::env::var_os("GAFORM_MOTO_VENV") {
        Some(own) => Ok(PathBuf::from(own)),
        None => crate::provision::component("moto", &REQUIREMENTS.join("\n"), |dir| {
            crate::provision::python_venv(dir, &REQUIREMENTS)
        }),
    });
    venv.clone().unwrap_or_else(|e| panic!("the aws tests need moto's EC2 emulator: {e}"))
}

impl Moto {
    pub fn start() -> Moto {
        let server = venv().join("bin/moto_server");
        assert!(server.exists(), "the aws tests need moto's server at {}", server.display());
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true")
            .env("MOTO_ENABLE_AMI_VALIDATION", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "moto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto { child, port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment that points gaform (or any SDK) at this server, and nowhere else.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ]
    }

    /// What an independent client sees in `region`: live instances, security groups,
    /// launch templates and fleets, with their tags, as JSON.
    pub fn list(&self, region: &str) -> serde_json::Value {
        let script = r#"
import boto3, json, sys
ec2 = boto3.client("ec2", region_name=sys.argv[1], endpoint_url=sys.argv[2],
                   aws_access_key_id="testing", aws_secret_access_key="testing")
tags = lambda x: {t["Key"]: t["Value"] for t in x.get("Tags", [])}
out = {
  "instances": [dict(id=i["InstanceId"], type=i["InstanceType"], lifecycle=i.get("InstanceLifecycle", "on-demand"), tags=tags(i))
                for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
                if i["State"]["Name"] in ("pending", "running")],
  "security_groups": [dict(id=g["GroupId"], name=g["GroupName"], tags=tags(g), ingress=g["IpPermissions"])
                      for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"],
  "launch_templates": [dict(id=t["LaunchTemplateId"], name=t["LaunchTemplateName"], tags=tags(t))
                       for t in ec2.describe_launch_templates()["LaunchTemplates"]],
  "fleets": [dict(id=f["FleetId"], state=f["FleetState"]) for f in ec2.describe_fleets()["Fleets"]],
}
s3 = boto3.client("s3", region_name=sys.argv[1], endpoint_url=sys.argv[2],
                  aws_access_key_id="testing", aws_secret_access_key="testing")
import base64
out["boot"] = {}
for t in ec2.describe_launch_templates()["LaunchTemplates"]:
    data = ec2.describe_launch_template_versions(LaunchTemplateId=t["LaunchTemplateId"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    out["boot"][t["LaunchTemplateName"]] = dict(
        user_data=base64.b64decode(data.get("UserData", "")).decode(),
        profile=data.get("IamInstanceProfile", {}).get("Name"))
iam = boto3.client("iam", region_name=sys.argv[1], endpoint_url=sys.argv[2],
                   aws_access_key_id="testing", aws_secret_access_key="testing")
out["roles"] = [dict(name=r["RoleName"], path=r["Path"],
                     policy=json.dumps(iam.get_role_policy(RoleName=r["RoleName"], PolicyName="gaform-stack-access")["PolicyDocument"]))
                for r in iam.list_roles(PathPrefix="/gaform/")["Roles"]]
out["objects"] = sorted(o["Key"] for b in s3.list_buckets()["Buckets"]
                        for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", []))
print(json.dumps(out))
"#;
        let out: Output = Command::new(venv().join("bin/python"))
            .args(["-c", script, region, &self.endpoint()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
