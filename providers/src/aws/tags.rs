//! Ownership by tags, with no state file to lose: every resource gaform makes on AWS names
//! its stack, its address and the apply that made it, and carries its attributes, so that
//! `observe` can rebuild what exists from a few paginated listings.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use gaform_compiler::plan::{Addr, Attributes, Kind};

/// The stack a resource belongs to (the `.gaf` file's stem).
pub const STACK: &str = "gaform:stack";
/// The resource's address (`compute.c.workers.cpu`).
pub const ADDRESS: &str = "gaform:address";
/// The apply that made it.
pub const PLAN: &str = "gaform:plan";
/// Prefix of the tags that hold the resource's attributes.
const ATTRIBUTE: &str = "gaform:attr:";

/// The cloud of the stack, within the account and region.
pub const CLOUD: &str = "gaform:cloud";
/// The resource's kind (`worker_group`), as in plans.
pub const KIND: &str = "gaform:kind";
/// The addresses it depends on, comma-separated, so that deletes are ordered.
pub const NEEDS: &str = "gaform:needs";

/// Whose a resource is: what every tag set starts from.
pub struct Owner<'a> {
    pub stack: &'a str,
    pub cloud: &'a str,
    pub apply_id: &'a str,
    /// The cloud block's `tags`.
    pub user: &'a [(String, String)],
}

impl Owner<'_> {
    /// The tags of the resource at `address`.
    pub fn tags(&self, address: &Addr, kind: Kind, needs: &[Addr], attributes: &Attributes) -> Vec<Tag> {
        let mut out: Vec<Tag> = self.user.iter().map(|(k, v)| tag(k, v)).collect();
        out.push(tag(STACK, self.stack));
        out.push(tag(CLOUD, self.cloud));
        out.push(tag(ADDRESS, address.as_str()));
        out.push(tag(PLAN, self.apply_id));
        out.push(tag(KIND, kind_name(kind)));
        let needs: Vec<&str> = needs.iter().map(Addr::as_str).collect();
        out.push(tag(NEEDS, &needs.join(",")));
        // A tag value holds at most 256 characters; attributes are short `.gaf` text.
        out.extend(attributes.iter().map(|(k, v)| tag(&format!("{ATTRIBUTE}{k}"), &truncate(v, 256))));
        out
    }
}

/// A kind as tagged.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::StateDir => "state_dir",
        Kind::Artifacts => "artifacts",
        Kind::Role => "instance_role",
        Kind::SecurityGroup => "security_group",
        Kind::LaunchTemplate => "launch_template",
        Kind::Head => "head",
        Kind::WorkerGroup => "worker_group",
        Kind::Job => "job",
        Kind::Service => "service",
    }
}

/// The tag key an attribute is recorded under (`gaform:attr:NAME`).
pub fn attribute_key(name: &str) -> String {
    format!("{ATTRIBUTE}{name}")
}

/// The kind a tag names.
pub fn kind_of(name: &str) -> Option<Kind> {
    [
        Kind::StateDir,
        Kind::Artifacts,
        Kind::Role,
        Kind::SecurityGroup,
        Kind::LaunchTemplate,
        Kind::Head,
        Kind::WorkerGroup,
        Kind::Job,
        Kind::Service,
    ]
    .into_iter()
    .find(|k| kind_name(*k) == name)
}

/// The addresses in a `gaform:needs` tag.
pub fn needs(tags: &[Tag]) -> Vec<Addr> {
    value(tags, NEEDS)
        .unwrap_or("")
        .split(',')
        .filter(|a| !a.is_empty())
        .map(|a| Addr(a.to_string()))
        .collect()
}

/// One tag.
pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// `tags` for a resource type, as a create call wants them.
pub fn spec(resource: ResourceType, tags: &[Tag]) -> TagSpecification {
    TagSpecification::builder().resource_type(resource).set_tags(Some(tags.to_vec())).build()
}

/// The filters that find everything of a stack's cloud.
pub fn owned(stack: &str, cloud: &str) -> Vec<Filter> {
    vec![
        Filter::builder().name(format!("tag:{STACK}")).values(stack).build(),
        Filter::builder().name(format!("tag:{CLOUD}")).values(cloud).build(),
    ]
}

/// The filter that keeps instances that run or are about to (not stopping, not gone).
pub fn running() -> Filter {
    Filter::builder().name("instance-state-name").values("pending").values("running").build()
}

/// The filters that find one address of a stack's cloud.
pub fn owned_at(stack: &str, cloud: &str, address: &Addr) -> Vec<Filter> {
    let mut filters = owned(stack, cloud);
    filters.push(address_filter(address));
    filters
}

/// The filter that finds one address of a stack.
pub fn address_filter(address: &Addr) -> Filter {
    Filter::builder().name(format!("tag:{ADDRESS}")).values(address.as_str()).build()
}

/// The value of `key` among `tags`.
pub fn value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

/// The attributes recorded in `tags`.
pub fn attributes(tags: &[Tag]) -> Attributes {
    tags.iter()
        .filter_map(|t| Some((t.key()?.strip_prefix(ATTRIBUTE)?.to_string(), t.value()?.to_string())))
        .collect()
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
