//! A stack: one `.gaf` file, checked, turned into its desired state, and the provider that
//! observes and changes what it owns. Shared by plan, apply, destroy, status and logs.

use crate::failure::Failure;
use crate::load::{read_and_check, Checked, Report};
use gaform_compiler::ir::{self, Program, Provider as Cloud};
use gaform_compiler::plan::{self, Desired};
use gaform_compiler::CheckOptions;
use gaform_providers::books::Books;
use gaform_providers::clouds::Clouds;
use gaform_providers::local::{LocalProvider, StackDir};
use gaform_providers::CloudError;
use gaform_providers::{JobSetup, Provider};
use gaform_runtime::hex::hex;
use gaform_runtime::store::{Store, StoreError};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A checked file and what it asks for.
pub struct Stack {
    pub file: PathBuf,
    pub sha256: String,
    pub desired: Arc<Desired>,
    /// Every cloud of the file behind one provider.
    pub provider: Arc<dyn Provider>,
    /// The local cloud's provider, which also keeps the stack's local records.
    pub local: Arc<LocalProvider>,
    /// The provider of each aws cloud the file uses, by cloud name.
    pub aws: Vec<(String, Arc<dyn Provider>)>,
    pub program: Arc<Program>,
    /// Where each job's results go on either cloud: `results/JOB` under the directory
    /// gaform runs in.
    pub results: PathBuf,
}

/// One cloud's books: the aws cloud's name, or `None` for the local cloud's records.
pub type CloudBooks = (Option<String>, Arc<dyn Books>);

impl Stack {
    /// The books of every cloud of the stack, the local records first (`None`), then each
    /// aws cloud's by name; ready for writing when `write` (apply hands budgets over).
    pub fn books(&self, write: bool) -> Result<Vec<CloudBooks>, Failure> {
        let mut out: Vec<CloudBooks> = vec![(None, Arc::new(self.local.stack().clone()))];
        for (cloud, provider) in &self.aws {
            out.extend(provider.books(write)?.map(|b| (Some(cloud.clone()), b)));
        }
        Ok(out)
    }

    /// Whether `compute` keeps its books with `cloud` (`None`: the local cloud).
    pub fn keeps_books(&self, compute: &str, cloud: Option<&str>) -> bool {
        self.desired.resources.iter().any(|r| {
            r.addr.compute() == Some(compute)
                && match cloud {
                    None => r.provider != "aws",
                    Some(name) => r.provider == "aws" && r.cloud == name,
                }
        })
    }
}

/// Why a stack could not be loaded: diagnostics already printed, or a failure to say.
pub enum LoadError {
    Reported,
    Failed(Failure),
}

impl From<Failure> for LoadError {
    fn from(failure: Failure) -> LoadError {
        LoadError::Failed(failure)
    }
}

impl From<String> for LoadError {
    fn from(message: String) -> LoadError {
        LoadError::Failed(message.into())
    }
}

/// The records directory of `file`: `.gaform/STEM` beside it, so that several files in one
/// directory are separate stacks. Absolute, because instances get it on their command line.
pub fn stack_dir(file: &Path) -> StackDir {
    let base = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
    let stem = file.file_stem().map_or_else(|| "stack".into(), |s| s.to_string_lossy().into_owned());
    StackDir::new(base.join(".gaform").join(stem))
}

/// Reads and checks `file` (data errors are errors here) and builds its desired state;
/// the file's diagnostics are printed.
pub fn load(file: &Path) -> Result<Stack, LoadError> {
    load_reporting(file, true)
}

/// `load`, printing nothing: what `status` and `events` need of the file (its clouds),
/// which a file that does not check cannot give.
pub fn load_quietly(file: &Path) -> Option<Stack> {
    load_reporting(file, false).ok()
}

fn load_reporting(file: &Path, report: bool) -> Result<Stack, LoadError> {
    let report = if report { Report::All } else { Report::Nothing };
    let Some(Checked { program, base, host, source }) =
        read_and_check(file, &CheckOptions { data_errors: true }, report)?
    else {
        return Err(LoadError::Reported);
    };
    let sha256 = hex(&Sha256::digest(source.text.as_bytes()));
    let desired = Arc::new(plan::desired(&program, &host));
    let program = Arc::new(program);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the gaform executable: {e}"))?;
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let setup: Arc<dyn JobSetup> = Arc::new(Setup { program: program.clone(), base });
    let results = cwd.join("results");
    let local = Arc::new(LocalProvider::new(stack_dir(file), exe, results.clone(), Some(setup.clone())));
    let mut aws = Vec::new();
    for cloud in program.clouds.iter().filter(|c| c.provider == Cloud::Aws && used(&program, c)) {
        aws.push((cloud.name.clone(), connect_aws(file, cloud, setup.clone())?));
    }
    let provider = Arc::new(Clouds { local: local.clone(), aws: aws.clone() });
    Ok(Stack { file: file.to_path_buf(), sha256, desired, provider, local, aws, program, results })
}

#[cfg(feature = "aws")]
fn connect_aws(
    file: &Path,
    cloud: &ir::Cloud,
    setup: Arc<dyn JobSetup>,
) -> Result<Arc<dyn Provider>, Failure> {
    let stack = file.file_stem().map_or_else(|| "stack".into(), |s| s.to_string_lossy().into_owned());
    let region = cloud.region.as_deref().ok_or_else(|| format!("cloud `{}` has no region", cloud.name))?;
    let tags = cloud.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let provider = gaform_providers::aws::AwsProvider::connect(
        &stack,
        &cloud.name,
        region,
        cloud.profile.as_deref(),
        tags,
        Some(setup),
    )?;
    Ok(Arc::new(provider))
}

#[cfg(not(feature = "aws"))]
fn connect_aws(_: &Path, cloud: &ir::Cloud, _: Arc<dyn JobSetup>) -> Result<Arc<dyn Provider>, Failure> {
    use gaform_compiler::ir::Keyword;
    Err(format!(
        "cloud `{}` uses the {} provider, which this build leaves out (build with the `aws` feature)",
        cloud.name,
        cloud.provider.keyword()
    )
    .into())
}

fn used(program: &Program, cloud: &ir::Cloud) -> bool {
    program.computes.iter().any(|c| program.clouds.get(c.cloud.0).is_some_and(|cl| cl.name == cloud.name))
}

/// Prepares a job's runtime store from the program: the one place plan-time islands meet
/// the runtime's configuration.
struct Setup {
    program: Arc<Program>,
    base: PathBuf,
}

impl JobSetup for Setup {
    fn blobs(&self, name: &str, units: u64) -> Result<Vec<(String, Vec<u8>)>, CloudError> {
        let job = self
            .program
            .jobs
            .iter()
            .find(|j| j.name == name)
            .ok_or_else(|| format!("no job `{name}` in the file"))?;
        let config = crate::job::job_config(job, units / job.folds.max(1));
        let files = crate::job::read_data(&self.base, job)?;
        let blobs = Blobs::default();
        gaform_runtime::ga::prepare(&blobs, &config, &crate::job::prepared(&files))
            .map_err(|e| e.to_string())?;
        Ok(blobs.0.into_inner().map_err(|_| "a job's blobs were poisoned".to_string())?.into_iter().collect())
    }
}

/// A store in memory: where a job's first blobs are made before a cloud takes them.
#[derive(Default)]
struct Blobs(std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>);

impl Store for Blobs {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.lock().ok().and_then(|b| b.get(key).cloned()))
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        gaform_runtime::store::check_key(key)?;
        if let Ok(mut b) = self.0.lock() {
            b.insert(key.to_string(), bytes.to_vec());
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        if let Ok(mut b) = self.0.lock() {
            b.remove(key);
        }
        Ok(())
    }

    fn describe(&self) -> String {
        "the job's first blobs".into()
    }
}
