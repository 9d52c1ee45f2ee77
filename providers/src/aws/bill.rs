//! The aws cloud's cost ledger kept level with EC2: each instance of the stack is priced at
//! its launch (a spot instance at the spot price then in effect in its zone, from
//! `DescribeSpotPriceHistory`; an on-demand one at the catalog's price in the region) and
//! ended when EC2 says it is gone, as interrupted when EC2 itself reclaimed a spot
//! instance. Apply records what it starts and terminates as it goes; a head and `plan`
//! reconcile with EC2, so an apply or head killed between a launch and its record leaves
//! no instance unbilled, and the keyed entries never bill one twice.

use super::books::S3Books;
use super::sdk_error as describe;
use super::tags;
use crate::CloudError;
use aws_sdk_ec2::types::{Filter, Instance, InstanceLifecycleType, InstanceStateName};
use gaform_compiler::catalog::Catalog;
use gaform_compiler::ir::Market;
use gaform_compiler::plan::Addr;
use gaform_control::ledger::{End, Entry, Ledger};
use std::collections::BTreeSet;

/// The state reason EC2 gives a spot instance it reclaimed.
const SPOT_RECLAIMED: &str = "Server.SpotInstanceTermination";

/// The ledger entry of an instance as EC2 lists it, priced at its launch; `None` for one
/// that is not the stack's (no address tag).
pub async fn entry_of(ec2: &aws_sdk_ec2::Client, i: &Instance) -> Result<Option<Entry>, CloudError> {
    let (Some(id), Some(address)) = (i.instance_id(), tags::value(i.tags(), tags::ADDRESS)) else {
        return Ok(None);
    };
    let instance_type = i.instance_type().map(|t| t.as_str().to_string()).unwrap_or_default();
    let spot = i.instance_lifecycle() == Some(&InstanceLifecycleType::Spot);
    let started_at = i.launch_time().map_or(0.0, |t| t.secs() as f64 + f64::from(t.subsec_nanos()) / 1e9);
    let zone = i.placement().and_then(|p| p.availability_zone()).unwrap_or_default();
    let on_demand = on_demand_price(ec2, &instance_type);
    let per_hour = if spot {
        // A zone with no history (or an emulator without it) is billed at on-demand: the
        // budget then stops early rather than late.
        spot_price(ec2, &instance_type, zone, started_at).await?.or(on_demand)
    } else {
        on_demand
    };
    Ok(Some(Entry {
        instance: id.to_string(),
        address: address.to_string(),
        compute: Addr(address.to_string()).compute().unwrap_or_default().to_string(),
        instance_type,
        market: if spot { Market::Spot } else { Market::OnDemand },
        per_hour: per_hour.unwrap_or(0.0),
        simulated: false,
        started_at,
        ended_at: None,
        end: None,
    }))
}

fn on_demand_price(ec2: &aws_sdk_ec2::Client, instance_type: &str) -> Option<f64> {
    let region = ec2.config().region().map(|r| r.to_string()).unwrap_or_default();
    Catalog::get().lookup(instance_type)?.price(&region).map(|(price, _)| price)
}

/// The Linux spot price of `instance_type` in `zone` in effect at `at`: the latest price
/// set at or before it (the earliest listed, when all are later).
pub async fn spot_price(
    ec2: &aws_sdk_ec2::Client,
    instance_type: &str,
    zone: &str,
    at: f64,
) -> Result<Option<f64>, CloudError> {
    let when = aws_smithy_types::DateTime::from_secs(at as i64);
    let out = ec2
        .describe_spot_price_history()
        .instance_types(instance_type.into())
        .filters(Filter::builder().name("availability-zone").values(zone).build())
        .start_time(when)
        .end_time(when)
        .send()
        .await
        .map_err(|e| {
            describe(e).context(format!("cannot read the spot price of {instance_type} in {zone}"))
        })?;
    let mut prices: Vec<(f64, f64)> = out
        .spot_price_history()
        .iter()
        .filter(|p| p.product_description().is_some_and(|d| d.as_str().starts_with("Linux/UNIX")))
        .filter_map(|p| {
            let price = p.spot_price()?.parse::<f64>().ok()?;
            Some((p.timestamp().map_or(0.0, |t| t.secs() as f64), price))
        })
        .collect();
    prices.sort_by(|a, b| a.0.total_cmp(&b.0));
    let in_effect = prices.iter().rev().find(|(set, _)| *set <= at).or(prices.first());
    Ok(in_effect.map(|(_, price)| *price))
}

/// Brings the ledger of `stack`'s `cloud` level with EC2 as of `now`: a start for every
/// live instance it lacks, an end for every entry whose instance is gone. Writes what it
/// found into `books` when `write` (apply, heads), else only returns it (`plan`).
pub async fn reconcile(
    ec2: &aws_sdk_ec2::Client,
    books: &S3Books,
    stack: &str,
    cloud: &str,
    now: f64,
    write: bool,
) -> Result<Ledger, CloudError> {
    let mut ledger = books.ledger_async().await?;
    let mut listed = BTreeSet::new();
    let mut pages =
        ec2.describe_instances().set_filters(Some(tags::owned(stack, cloud))).into_paginator().send();
    while let Some(page) = pages.next().await {
        for i in page.map_err(describe)?.reservations().iter().flat_map(|r| r.instances()) {
            let Some(id) = i.instance_id() else { continue };
            listed.insert(id.to_string());
            let state = i.state().and_then(|s| s.name());
            let live = matches!(state, Some(InstanceStateName::Pending | InstanceStateName::Running));
            if live && ledger.get(id).is_none() {
                let Some(entry) = entry_of(ec2, i).await? else { continue };
                if write {
                    books.bill_start(&entry).await?;
                }
                ledger.start(entry);
            } else if !live && ledger.get(id).is_some_and(Entry::is_running) {
                let reclaimed = i.state_reason().and_then(|r| r.code()) == Some(SPOT_RECLAIMED);
                let end = if reclaimed { End::SpotInterrupted } else { End::Terminated };
                let at = transition_time(i).unwrap_or(now);
                if write {
                    books.bill_end(id, at, end).await?;
                }
                ledger.end(id, at, end);
            }
        }
    }
    // Terminated instances drop out of EC2's listings after about an hour.
    let vanished: Vec<String> =
        ledger.running().filter(|e| !listed.contains(&e.instance)).map(|e| e.instance.clone()).collect();
    for id in vanished {
        if write {
            books.bill_end(&id, now, End::Terminated).await?;
        }
        ledger.end(&id, now, End::Terminated);
    }
    Ok(ledger)
}

/// Records a start for each live instance at `address` (all of the stack's cloud when
/// `None`) that the ledger lacks: what apply just launched, priced while the spot price in
/// effect is the one it was launched at. One listing each of EC2 and the ledger, and a
/// write per new instance.
pub async fn record_new(
    ec2: &aws_sdk_ec2::Client,
    books: &S3Books,
    stack: &str,
    cloud: &str,
    address: Option<&Addr>,
) -> Result<usize, CloudError> {
    let billed = books.billed_ids().await?;
    let mut filters = tags::owned(stack, cloud);
    filters.push(tags::running());
    if let Some(a) = address {
        filters.push(tags::address_filter(a));
    }
    let mut recorded = 0;
    let mut pages = ec2.describe_instances().set_filters(Some(filters)).into_paginator().send();
    while let Some(page) = pages.next().await {
        for i in page.map_err(describe)?.reservations().iter().flat_map(|r| r.instances()) {
            if i.instance_id().is_none_or(|id| billed.contains(id)) {
                continue;
            }
            if let Some(entry) = entry_of(ec2, i).await? {
                recorded += usize::from(books.bill_start(&entry).await?);
            }
        }
    }
    Ok(recorded)
}

/// Records that gaform terminated `ids` at `now`.
pub async fn record_ends(books: &S3Books, ids: &[String], now: f64) -> Result<(), CloudError> {
    for id in ids {
        books.bill_end(id, now, End::Terminated).await?;
    }
    Ok(())
}

/// When EC2 says the instance changed state (`User initiated (2026-12-01 10:00:00 GMT)`).
fn transition_time(i: &Instance) -> Option<f64> {
    let reason = i.state_transition_reason()?;
    let inside = reason.split_once('(')?.1.split_once(" GMT)")?.0;
    let at = humantime::parse_rfc3339_weak(inside).ok()?;
    at.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs_f64())
}
