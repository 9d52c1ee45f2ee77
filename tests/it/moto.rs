//! moto's EC2 emulator for the aws tests: one server per test on a free loopback port (so
//! parallel tests never see each other's resources), forked from one warm image per test run
//! (`FACTORY`), and an independent client (boto3, from the same venv) to list what gaform
//! made. The tests install moto into target/moto themselves on first use (`provision`);
//! `GAFORM_MOTO_VENV` names a venv of one's own.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running moto server, stopped when dropped.
pub struct Moto {
    /// The server's process, a child of the suite's moto factory.
    pid: nix::unistd::Pid,
    pub port: u16,
    /// The independent client's interpreter, started on first use and kept: a test polls
    /// S3 and EC2 hundreds of times, and importing boto3 afresh for each look cost more CPU
    /// than the suite's gaform processes (BENCHMARKS.md, "CI time").
    client: Mutex<Option<Interpreter>>,
}

/// A python of the venv running `code`, a loop that answers each line on its stdin with one
/// line on its stdout: the independent client (`INTERPRETER`) and the server factory
/// (`FACTORY`).
struct Interpreter {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Interpreter {
    fn start(code: &str, env: &[(&str, &str)]) -> Interpreter {
        let mut child = Command::new(venv().join("bin/python"))
            .args(["-u", "-c", code])
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Interpreter { child, stdin, stdout }
    }

    /// Its answer to `line`.
    fn ask(&mut self, line: &str) -> std::io::Result<String> {
        writeln!(self.stdin, "{line}")?;
        let mut answer = String::new();
        self.stdout.read_line(&mut answer)?;
        Ok(answer)
    }
}

/// The independent client's loop (boto3 imported once): each script runs as `python -c CODE ARGV...` would, with a fresh
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

/// Starts moto servers for the suite: one python imports moto, its backends and botocore's
/// data once and warms them with a request of each kind the tests make (in an account no
/// test uses), then forks a server per test from that image: what moto's own `main` runs
/// (werkzeug's threaded server over moto's dispatcher), warm. Each server is still a process
/// of its own with nothing shared at run time, so tests stay isolated. A cold server paid
/// ~1.5 s of CPU on its first EC2 request (importing moto's EC2 models, decoding botocore's
/// JSON) and ~0.3 s to start, ~30 times a suite; and moto looked up each request's service by
/// listing its package directory and `stat`ing its ~180 entries, half its CPU per request
/// (3.3 ms over HTTP, 1.5 ms with the list read once). BENCHMARKS.md "CI time" has the
/// figures. Protocol: a line `PORT LOG` (LOG `-` for none) in, the server's pid out. A server
/// dies with the factory (`PR_SET_PDEATHSIG`), and the factory when its stdin closes.
const FACTORY: &str = r#"
import ctypes, os, signal, sys
import moto.backends
modules = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: modules
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple
from werkzeug.test import Client

app = DomainDispatcherApplication(create_backend_app)
app.debug = True
warm = Client(app)
def signed(service):
    return {"Authorization": "AWS4-HMAC-SHA256 Credential=warm/20260101/us-east-1/%s/aws4_request, SignedHeaders=host, Signature=0" % service,
            "x-moto-account-id": "000000000000", "Content-Type": "application/x-www-form-urlencoded"}
for service, action in [("ec2", "DescribeInstances&Version=2016-11-15"), ("sts", "GetCallerIdentity&Version=2011-06-15"),
                        ("iam", "ListRoles&Version=2010-05-08"), ("sns", "ListTopics&Version=2010-03-31"),
                        ("sqs", "ListQueues&Version=2012-11-05")]:
    warm.post("/", headers=signed(service), data="Action=" + action)
warm.get("/", headers=signed("s3"))

signal.signal(signal.SIGCHLD, signal.SIG_IGN)
factory = os.getpid()
for line in sys.stdin:
    port, log = line.rstrip("\n").split(" ", 1)
    pid = os.fork()
    if pid == 0:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
        if os.getppid() != factory:
            os._exit(1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) if log != "-" else null, 2)
        os.environ["MOTO_PORT"] = port
        run_simple("127.0.0.1", int(port), app, threaded=True)
        os._exit(0)
    print(pid, flush=True)
"#;

/// A new moto server on `port`, its request log to `log`, forked by the run's factory
/// (`FACTORY`, started on first use): its pid.
fn fork_server(port: u16, log: Option<PathBuf>) -> u32 {
    static FACTORY_PROCESS: OnceLock<Mutex<Interpreter>> = OnceLock::new();
    let factory = FACTORY_PROCESS.get_or_init(|| {
        Mutex::new(Interpreter::start(
            FACTORY,
            &[("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true"), ("MOTO_ENABLE_AMI_VALIDATION", "true")],
        ))
    });
    let log = log.map_or("-".to_string(), |l| l.display().to_string());
    let answer = factory.lock().unwrap_or_else(|e| e.into_inner()).ask(&format!("{port} {log}"));
    let line = answer.expect("moto's factory answers");
    line.trim()
        .parse()
        .unwrap_or_else(|_| panic!("moto's factory answered {line:?} (its stderr is the test's)"))
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
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // `GAFORM_MOTO_LOG=DIR`: each server's request log to DIR/moto-PORT.log (what
        // BENCHMARKS.md's request counts were taken from).
        let log = std::env::var_os("GAFORM_MOTO_LOG")
            .map(|dir| PathBuf::from(dir).join(format!("moto-{port}.log")));
        let pid = nix::unistd::Pid::from_raw(fork_server(port, log) as i32);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "moto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto { pid, port, client: Mutex::new(None) }
    }

    /// Runs `code` as `python -c code args...` would, in the venv's python with boto3 (one
    /// interpreter per server, kept between calls): what it printed, or why it failed.
    pub fn python(&self, code: &str, args: &[&str]) -> Result<String, String> {
        let mut client = self.client.lock().unwrap_or_else(|e| e.into_inner());
        let interpreter = client.get_or_insert_with(|| Interpreter::start(INTERPRETER, &[]));
        let request = serde_json::json!({ "code": code, "argv": args });
        let line =
            interpreter.ask(&request.to_string()).map_err(|e| format!("the python client is gone: {e}"))?;
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
        // The factory reaps it.
        let _ = nix::sys::signal::kill(self.pid, nix::sys::signal::Signal::SIGKILL);
    }
}
