//! Prints what apply's lean artifact makes of a built gaform binary: its size as built,
//! as shipped, gzipped as uploaded, and how long leaving the debug info out, packing and
//! unpacking take (BENCHMARKS.md, "The
//! artifact instances get"). `cargo run --release -p gaform-providers --features aws
//! --example lean_artifact -- target/release/gaform [OUT]` (OUT: where to write the lean one).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("give the binary to measure")?;
    let built = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
    let started = std::time::Instant::now();
    let lean = gaform_providers::aws::lean::lean(&built)?;
    let took = started.elapsed();
    let mib = |n: usize| n as f64 / 1_048_576.0;
    println!(
        "{path}: {:.1} MiB as built, {:.1} MiB shipped ({:.0}%), lean in {took:.2?}",
        mib(lean.built),
        mib(lean.bytes.len()),
        100.0 * lean.bytes.len() as f64 / lean.built as f64
    );
    let started = std::time::Instant::now();
    let packed = gaform_providers::aws::lean::gzip(&lean.bytes)?;
    let packing = started.elapsed();
    let started = std::time::Instant::now();
    let mut unpacked = Vec::with_capacity(lean.bytes.len());
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(packed.as_slice()), &mut unpacked)
        .map_err(|e| e.to_string())?;
    println!(
        "gzipped as uploaded: {:.1} MiB ({:.0}% of shipped), packed in {packing:.2?}, unpacked in {:.2?}",
        mib(packed.len()),
        100.0 * packed.len() as f64 / lean.bytes.len() as f64,
        started.elapsed()
    );
    if let Some(out) = args.next() {
        std::fs::write(&out, &lean.bytes).map_err(|e| format!("{out}: {e}"))?;
    }
    Ok(())
}
