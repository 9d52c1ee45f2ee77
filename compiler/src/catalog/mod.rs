//! The bundled instance catalog and AWS region list: data, not logic. The compiler uses it
//! for E0010 (unknown type), E0011 (vCPU/GPU totals) and W0001 (cost at max scale).

mod regions;

pub use regions::REGIONS;

use std::collections::HashMap;
use std::sync::OnceLock;

/// The region whose prices stand in for regions the catalog has no column for.
pub const FALLBACK_PRICE_REGION: &str = "us-east-1";

/// One EC2 instance type.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceType {
    pub name: String,
    pub vcpus: u32,
    pub memory_gib: f64,
    pub gpus: u32,
    /// Empty when the type has no GPU.
    pub gpu_model: String,
    pub arch: String,
    /// On-demand USD per hour, keyed by region code.
    pub prices: HashMap<String, f64>,
}

impl InstanceType {
    /// The on-demand hourly price in `region`, and whether it is that region's own price
    /// (false: the fallback region's price stands in).
    pub fn price(&self, region: &str) -> Option<(f64, bool)> {
        match self.prices.get(region) {
            Some(&p) => Some((p, true)),
            None => self.prices.get(FALLBACK_PRICE_REGION).map(|&p| (p, false)),
        }
    }
}

/// All known instance types.
pub struct Catalog {
    types: Vec<InstanceType>,
    by_name: HashMap<String, usize>,
}

impl Catalog {
    /// The bundled catalog, parsed once.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| parse(include_str!("instances.csv")))
    }

    /// The instance type called `name`.
    pub fn lookup(&self, name: &str) -> Option<&InstanceType> {
        self.by_name.get(name).and_then(|&i| self.types.get(i))
    }

    /// Every type name, for suggestions.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.types.iter().map(|t| t.name.as_str())
    }

    /// Every type.
    pub fn types(&self) -> &[InstanceType] {
        &self.types
    }
}

/// True for a known AWS region code.
pub fn is_region(code: &str) -> bool {
    REGIONS.contains(&code)
}

/// Parses the CSV; malformed rows are skipped (a unit test proves there are none).
fn parse(text: &str) -> Catalog {
    let mut lines = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let header: Vec<&str> = lines.next().map(|h| h.split(',').collect()).unwrap_or_default();
    let regions: Vec<&str> = header.iter().skip(6).copied().collect();
    let mut types = Vec::new();
    for line in lines {
        if let Some(t) = parse_row(line, &regions) {
            types.push(t);
        }
    }
    let by_name = types.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
    Catalog { types, by_name }
}

fn parse_row(line: &str, regions: &[&str]) -> Option<InstanceType> {
    let fields: Vec<&str> = line.split(',').collect();
    let [name, vcpus, memory, gpus, gpu_model, arch, prices @ ..] = fields.as_slice() else {
        return None;
    };
    if prices.len() != regions.len() {
        return None;
    }
    let prices = regions
        .iter()
        .zip(prices)
        .map(|(r, p)| p.parse::<f64>().ok().map(|p| (r.to_string(), p)))
        .collect::<Option<HashMap<_, _>>>()?;
    Some(InstanceType {
        name: name.to_string(),
        vcpus: vcpus.parse().ok()?,
        memory_gib: memory.parse().ok()?,
        gpus: gpus.parse().ok()?,
        gpu_model: gpu_model.to_string(),
        arch: arch.to_string(),
        prices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_parses() {
        let text = include_str!("instances.csv");
        let rows = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).count() - 1;
        assert_eq!(Catalog::get().types().len(), rows);
    }

    #[test]
    fn covers_the_required_families() {
        let families =
            ["m5", "m6i", "m7i", "c5", "c5a", "c6i", "c7i", "r5", "r6i", "t3", "p3", "p4d", "g4dn", "g5"];
        for family in families {
            let prefix = format!("{family}.");
            assert!(Catalog::get().names().any(|n| n.starts_with(&prefix)), "{family}");
        }
        for t in Catalog::get().types() {
            for region in ["us-east-1", "us-west-2", "eu-west-1"] {
                assert!(t.prices.get(region).is_some_and(|p| *p > 0.0), "{} {region}", t.name);
            }
            assert!(t.vcpus > 0 && t.memory_gib > 0.0);
        }
    }

    #[test]
    fn known_figures() {
        let c5 = Catalog::get().lookup("c5.4xlarge");
        assert_eq!(c5.map(|t| (t.vcpus, t.gpus)), Some((16, 0)));
        assert_eq!(c5.and_then(|t| t.price("us-east-1")), Some((0.68, true)));
        let p3 = Catalog::get().lookup("p3.2xlarge");
        assert_eq!(p3.map(|t| (t.vcpus, t.gpus)), Some((8, 1)));
        assert_eq!(p3.and_then(|t| t.price("ap-south-1")), Some((3.06, false)));
    }
}
