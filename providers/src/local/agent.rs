//! What a `gaform head` or `gaform worker` process of the local cloud needs of the records:
//! registering itself in the slot it was started for, noticing it was replaced or removed,
//! and finding the job and islands it should run.

use super::records::{InstanceRecord, JobRecord, StackDir};
use crate::process::ProcessId;
use crate::CloudError;
use gaform_compiler::plan::{Addr, JobStatus, Kind};

/// This process's slot.
#[derive(Clone, Debug)]
pub struct Registration {
    pub record: InstanceRecord,
    pub me: ProcessId,
}

/// Claims `address[index]` for this process. `Ok(None)` when another live process holds
/// the slot already: this one is a duplicate and must exit.
pub fn register(stack: &StackDir, address: &Addr, index: u64) -> Result<Option<Registration>, CloudError> {
    let me = ProcessId::current().ok_or("cannot read this process's start time from /proc")?;
    let mut record = stack.instance(address, index)?.ok_or_else(|| {
        format!(
            "{} has no record in {}: instances are started by `gaform apply`",
            address.instance(index),
            stack.root().display()
        )
    })?;
    if let Some(other) = record.process.filter(|p| *p != me && p.is_alive()) {
        eprintln!("{} already runs as pid {}; this duplicate exits", address.instance(index), other.pid);
        return Ok(None);
    }
    record.process = Some(me);
    stack.write_instance(&record)?;
    Ok(Some(Registration { record, me }))
}

impl Registration {
    /// False once the slot's record is gone or names another process: stop at once.
    pub fn is_current(&self, stack: &StackDir) -> bool {
        stack
            .instance(&self.record.address, self.record.index)
            .ok()
            .flatten()
            .is_some_and(|r| r.process == Some(self.me))
    }

    /// True once the slot's record is gone or names another process that is ready to answer:
    /// a service replica serves on while a successor starts and loads its strategy in its
    /// slot (a roll), and drains once the successor can take its connections.
    pub fn displaced(&self, stack: &StackDir) -> bool {
        match stack.instance(&self.record.address, self.record.index) {
            Ok(Some(r)) => r.process.is_some_and(|p| p != self.me) && r.ready_at.is_some(),
            Ok(None) => true,
            // Records out of reach for a moment: no reason to stop serving.
            Err(_) => false,
        }
    }

    /// Records that this service replica has a strategy to answer with, while its slot is
    /// its own (a roll waits for it before it stops the replica this one replaces).
    pub fn mark_ready(&self, stack: &StackDir) -> Result<(), CloudError> {
        let Some(mut record) = stack.instance(&self.record.address, self.record.index)? else {
            return Ok(());
        };
        if record.process == Some(self.me) && record.ready_at.is_none() {
            record.ready_at = Some(super::records::now());
            stack.write_instance(&record)?;
        }
        Ok(())
    }

    /// The slot's record as it is now (an update in place changes its attributes).
    pub fn reload(&self, stack: &StackDir) -> InstanceRecord {
        stack
            .instance(&self.record.address, self.record.index)
            .ok()
            .flatten()
            .unwrap_or_else(|| self.record.clone())
    }
}

/// The running job on `group`, if any (the first by name when several are recorded).
pub fn running_job(stack: &StackDir, group: &Addr) -> Result<Option<JobRecord>, CloudError> {
    Ok(stack.jobs()?.into_iter().find(|j| &j.group == group && j.status == JobStatus::Running))
}

/// True while `compute`'s head process runs.
pub fn head_alive(stack: &StackDir, compute: &str) -> bool {
    let head = Addr::head(compute);
    stack
        .instances()
        .unwrap_or_default()
        .iter()
        .any(|r| r.kind == Kind::Head && r.address == head && r.process.is_some_and(|p| p.is_alive()))
}
