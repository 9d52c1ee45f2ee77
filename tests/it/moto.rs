//! moto's EC2 emulator for the aws tests: one server per test on a free loopback port (so
//! parallel tests never see each other's resources), and an independent client (boto3,
//! from the same venv) to list what gaform made. The tests install moto into target/moto
//! themselves on first use (`provision`); `GAFORM_MOTO_VENV` names a venv of one's own.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running moto server, stopped when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
    /// The independent client's interpreter, started on first use and kept: a test polls
    /// S3 and EC2 hundreds of times, and importing boto3 afresh for each look cost more CPU
    /// than the suite's gaform processes (BENCHMARKS.md, "CI time").
    client: Mutex<Option<Interpreter>>,
}

/// A python with boto3 imported that runs one script per line of JSON on its stdin
/// (`{"code": ..., "argv": [...]}`) and answers with one line of JSON (`ok`, `out`, `err`).
struct Interpreter {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// The interpreter's loop: each script runs as `python -c CODE ARGV...` would, with a fresh
/// namespace, its stdout captured and a failure reported instead of ending the loop.
const INTERPRETER: &str = r#"
import boto3, contextlib, io, json, sys, traceback
for line in sys.stdin:
    request = json.loads(line)
    sys.argv = ["-c"] + request["argv"]
    out, ok, err = io.StringIO(), True, ""
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(request["code"], "<test>", "exec"), {"__name__": "__main__"})
    except SystemExit as e:
        ok = e.code in (None, 0)
    except BaseException:
        ok, err = False, traceback.format_exc()
    sys.__stdout__.write(json.dumps({"ok": ok, "out": out.getvalue(), "err": err}) + "\n")
    sys.__stdout__.flush()
"#;

/// moto's own server (`moto_server`'s `main`), less a directory listing per request: to
/// find a request's service it lists moto's package directory and `stat`s its ~180 entries,
/// twice a request, which was half of moto's CPU (3.3 ms a request over HTTP, 1.5 ms with
/// the list read once; BENCHMARKS.md "CI time"). The list cannot change while it runs.
const SERVER: &str = r#"
import sys, moto.backends
modules = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: modules
from moto.server import main
main(sys.argv[1:])
"#;

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
        let python = venv().join("bin/python");
        assert!(python.exists(), "the aws tests need moto's venv at {}", python.display());
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // `GAFORM_MOTO_LOG=DIR`: each server's request log to DIR/moto-PORT.log (what
        // BENCHMARKS.md's request counts were taken from).
        let log = match std::env::var_os("GAFORM_MOTO_LOG") {
            Some(dir) => Stdio::from(
                std::fs::File::create(PathBuf::from(dir).join(format!("moto-{port}.log"))).expect("the log"),
            ),
            None => Stdio::null(),
        };
        let child = Command::new(python)
            .args(["-c", SERVER, "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true")
            .env("MOTO_ENABLE_AMI_VALIDATION", "true")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "moto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto { child, port, client: Mutex::new(None) }
    }

    /// Runs `code` as `python -c code args...` would, in the venv's python with boto3 (one
    /// interpreter per server, kept between calls): what it printed, or why it failed.
    pub fn python(&self, code: &str, args: &[&str]) -> Result<String, String> {
        let mut client = self.client.lock().unwrap_or_else(|e| e.into_inner());
        let interpreter = client.get_or_insert_with(|| {
            let mut child = Command::new(venv().join("bin/python"))
                .args(["-u", "-c", INTERPRETER])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let stdin = child.stdin.take().unwrap();
            let stdout = BufReader::new(child.stdout.take().unwrap());
            Interpreter { child, stdin, stdout }
        });
        let request = serde_json::json!({ "code": code, "argv": args });
        writeln!(interpreter.stdin, "{request}").map_err(|e| format!("the python client is gone: {e}"))?;
        let mut line = String::new();
        interpreter.stdout.read_line(&mut line).map_err(|e| format!("the python client is gone: {e}"))?;
        let answer: serde_json::Value =
            serde_json::from_str(&line).map_err(|e| format!("the python client answered {line:?}: {e}"))?;
        let out = answer["out"].as_str().unwrap_or_default().to_string();
        if answer["ok"] == true {
            Ok(out)
        } else {
            Err(format!("{}{out}", answer["err"].as_str().unwrap_or_default()))
        }
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
        let printed = self.python(script, &[region, &self.endpoint()]).unwrap_or_else(|e| panic!("{e}"));
        serde_json::from_str(&printed).unwrap()
    }

    /// The ids of the live instances in `region` whose `gaform:address` tag is `address`
    /// (one EC2 call: cheap enough to poll).
    pub fn instances_of(&self, region: &str, address: &str) -> Vec<String> {
        let script = r#"
import boto3, sys
ec2 = boto3.client("ec2", region_name=sys.argv[1], endpoint_url=sys.argv[2],
                   aws_access_key_id="testing", aws_secret_access_key="testing")
for r in ec2.describe_instances(Filters=[{"Name": "tag:gaform:address", "Values": [sys.argv[3]]},
                                         {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]:
    for i in r["Instances"]:
        print(i["InstanceId"])
"#;
        let printed =
            self.python(script, &[region, &self.endpoint(), address]).unwrap_or_else(|e| panic!("{e}"));
        printed.lines().map(str::to_string).collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(mut client) = self.client.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = client.child.kill();
            let _ = client.child.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
