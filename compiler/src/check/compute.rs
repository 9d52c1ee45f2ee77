//! `compute`: its head and worker groups, instance types (E0010), images and markets.

use super::fields::title;
use super::value::{Value, Want};
use super::Checker;
use crate::ast::{Attribute, Block};
use crate::catalog::Catalog;
use crate::diag::{suggest, Code, Diagnostic};
use crate::ir::*;
use crate::resolve::Kind;
use crate::schema::{COMPUTE, HEAD, IMAGES, WORKERS};
use std::collections::HashMap;

impl Checker<'_> {
    pub(super) fn compute(&mut self, block: &Block, name: String) -> Compute {
        let f = self.fields(block, &COMPUTE);
        let cloud_attr = self.required(&f, "cloud", "CLOUD_NAME");
        let cloud = self.reference(cloud_attr, Kind::Cloud).map_or(CloudId(0), |c| CloudId(c.value));
        let quota = self
            .reference(f.attr("quota"), Kind::Quota)
            .map(|q| Spanned { value: QuotaId(q.value), span: q.span });
        let budget = self.reference(f.attr("budget"), Kind::Budget).map(|b| BudgetId(b.value));
        let max_cpus = self.int(f.attr("max_cpus"), 0);
        let max_gpus = self.int(f.attr("max_gpus"), 0);
        let auto_terminate_secs = self.duration(f.attr("auto_terminate"));

        let heads: Vec<&Block> = f.blocks("head").collect();
        let head = match heads.first() {
            Some(h) => self.head(h),
            None => {
                self.missing(block, "head", "add `head { instance_type = \"m5.large\" }`");
                placeholder_head(block)
            }
        };

        let mut workers: Vec<WorkerGroup> = Vec::new();
        let mut seen: HashMap<String, crate::source::Span> = HashMap::new();
        for w in f.blocks("workers") {
            self.expect_label(w, true);
            let group = self.worker_group(w);
            if let Some(label) = &w.label {
                if let Some(first) = seen.get(&*label.name) {
                    let d = Diagnostic::new(
                        Code::E0004,
                        format!("worker group `{}` is defined twice in compute `{name}`", label.name),
                        label.span,
                        "defined again here",
                    )
                    .with_label(*first, "first defined here");
                    self.report(d);
                    continue;
                }
                seen.insert(label.name.to_string(), label.span);
            }
            workers.push(group);
        }
        if f.blocks("workers").next().is_none() {
            self.missing(
                block,
                "workers",
                "add at least one `workers NAME { instance_type = \"c5.large\" max = 2 }`",
            );
        }
        Compute {
            name,
            span: block.span,
            cloud,
            quota,
            budget,
            max_cpus,
            max_gpus,
            auto_terminate_secs,
            head,
            workers,
        }
    }

    fn head(&mut self, block: &Block) -> Head {
        self.expect_label(block, false);
        let f = self.fields(block, &HEAD);
        let attr = self.required(&f, "instance_type", "\"m5.large\"");
        let instance_type =
            self.instance_type(attr).unwrap_or_else(|| Spanned { value: String::new(), span: block.header });
        let market = self.keyword::<Market>(f.attr("market"));
        if let Some(m) = &market {
            if m.value == Market::Spot {
                let d = Diagnostic::new(
                    Code::W0002,
                    "head node on spot: if it is reclaimed the whole cluster loses its coordinator",
                    m.span,
                    "spot head node",
                )
                .with_help("use `market = on_demand` for the head; put spot capacity in worker groups");
                self.report(d);
            }
        }
        let image = self.image(f.attr("image"));
        let metrics_port = self.port(f.attr("metrics_port")).unwrap_or(DEFAULT_METRICS_PORT);
        let metrics_from = self.cidrs(f.attr("metrics_from"));
        Head {
            instance_type,
            market: market.map_or(Market::OnDemand, |m| m.value),
            image,
            metrics_port,
            metrics_from,
        }
    }

    fn worker_group(&mut self, block: &Block) -> WorkerGroup {
        let f = self.fields(block, &WORKERS);
        let name = block.label.as_ref().map(|l| l.name.to_string()).unwrap_or_default();
        let instance_types = match (f.attr("instance_type"), f.attr("instance_types")) {
            (Some(one), None) => self.instance_type(Some(one)).into_iter().collect(),
            (None, Some(many)) => self.instance_types(many),
            (Some(one), Some(many)) => {
                let d = Diagnostic::new(
                    Code::E0009,
                    "set `instance_type` or `instance_types`, not both",
                    many.name.span,
                    "second way to pick types",
                )
                .with_label(one.name.span, "first way");
                self.report(d.with_help("use `instance_types = [...]` alone to diversify spot capacity"));
                Vec::new()
            }
            (None, None) if !f.was_suggested("instance_type") && !f.was_suggested("instance_types") => {
                self.missing(
                    block,
                    "instance_type",
                    "add `instance_type = \"c5.large\"` (or `instance_types = [...]`)",
                );
                Vec::new()
            }
            (None, None) => Vec::new(),
        };
        let min = self.int(f.attr("min"), 0);
        let max_attr = self.required(&f, "max", "4");
        let max = self.int(max_attr, 0);
        if let (Some(min), Some(max)) = (&min, &max) {
            if max.value < min.value {
                let d = Diagnostic::new(
                    Code::E0009,
                    format!("`max` ({}) is below `min` ({}) in `{}`", max.value, min.value, title(block)),
                    max.span,
                    "below min",
                )
                .with_label(min.span, "min set here");
                self.report(d.with_help("make `max` at least `min`"));
            }
        }
        let spot = self.reference(f.attr("spot"), Kind::SpotPolicy);
        let market = self.keyword::<Market>(f.attr("market"));
        let purchase = match (spot, market) {
            (Some(policy), Some(m)) if m.value == Market::OnDemand => {
                let d = Diagnostic::new(
                    Code::E0009,
                    "`spot` and `market = on_demand` contradict each other",
                    m.span,
                    "on-demand here",
                )
                .with_label(policy.span, "spot policy here");
                self.report(d.with_help("keep one of them"));
                Purchase::OnDemand
            }
            (Some(policy), _) => Purchase::Spot(Some(SpotPolicyId(policy.value))),
            (None, Some(m)) if m.value == Market::Spot => Purchase::Spot(None),
            _ => Purchase::OnDemand,
        };
        let autoscale = self.boolean(f.attr("autoscale")).unwrap_or(true);
        let image = self.image(f.attr("image"));
        WorkerGroup {
            name,
            span: block.span,
            instance_types,
            min: min.map_or(0, |m| m.value),
            max: max.unwrap_or(Spanned { value: 0, span: block.header }),
            purchase,
            autoscale,
            image,
        }
    }

    fn instance_type(&mut self, attr: Option<&Attribute>) -> Option<Spanned<String>> {
        let s = self.string(attr)?;
        self.known_type(&s.value, s.span).then_some(s)
    }

    fn instance_types(&mut self, attr: &Attribute) -> Vec<Spanned<String>> {
        let Some((Value::List(items), span)) = self.get(Some(attr), Want::List(Box::new(Want::Str))) else {
            return Vec::new();
        };
        if items.is_empty() {
            self.bounds(span, "`instance_types` needs at least one type", "empty list");
        }
        let mut out = Vec::new();
        for (item, item_span) in items {
            if let Value::Str(name) = item {
                if self.known_type(&name, item_span) {
                    out.push(Spanned { value: name, span: item_span });
                }
            }
        }
        out
    }

    /// E0010 unless the catalog knows `name`.
    fn known_type(&mut self, name: &str, span: crate::source::Span) -> bool {
        let catalog = Catalog::get();
        if catalog.lookup(name).is_some() {
            return true;
        }
        let help = suggest::did_you_mean(name, catalog.names()).unwrap_or_else(|| family_help(name));
        let d = Diagnostic::new(
            Code::E0010,
            format!("unknown instance type `{name}`"),
            span,
            "not a known instance type",
        );
        self.report(d.with_help(help));
        false
    }

    fn image(&mut self, attr: Option<&Attribute>) -> Image {
        let Some(s) = self.string(attr) else {
            return Image::Al2023;
        };
        match s.value.as_str() {
            "al2023" => Image::Al2023,
            "ubuntu-24.04" => Image::Ubuntu2404,
            ami if is_ami_id(ami) => Image::Ami(ami.to_string()),
            other => {
                let help = suggest::did_you_mean(other, IMAGES.iter().copied()).unwrap_or_else(|| {
                    "use an AMI id (`ami-0123456789abcdef0`), `al2023` or `ubuntu-24.04`".to_string()
                });
                let d = Diagnostic::new(
                    Code::E0009,
                    format!("unknown image `{other}`"),
                    s.span,
                    "not an AMI id or known image",
                );
                self.report(d.with_help(help));
                Image::Al2023
            }
        }
    }
}

/// The sizes of the type's family if gaform knows it, else the families it knows.
fn family_help(name: &str) -> String {
    let catalog = Catalog::get();
    let family = name.split('.').next().unwrap_or(name);
    let prefix = format!("{family}.");
    let sizes: Vec<&str> = catalog.names().filter(|n| n.starts_with(&prefix)).collect();
    if !sizes.is_empty() {
        return format!("known {family} sizes: {}", sizes.join(", "));
    }
    let mut families: Vec<&str> = catalog.names().filter_map(|n| n.split('.').next()).collect();
    families.dedup();
    format!("gaform knows the {} families", families.join(", "))
}

/// `ami-` and 8 or 17 lowercase hex digits, as EC2 issues them.
fn is_ami_id(s: &str) -> bool {
    s.strip_prefix("ami-").is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn placeholder_head(block: &Block) -> Head {
    Head {
        instance_type: Spanned { value: String::new(), span: block.header },
        market: Market::OnDemand,
        image: Image::Al2023,
        metrics_port: DEFAULT_METRICS_PORT,
        metrics_from: Vec::new(),
    }
}
