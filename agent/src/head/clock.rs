//! The head's time: the wall clock in a head, a clock the tests move by hand.

use std::time::Duration;

/// Where a head reads the time and waits.
pub trait Clock {
    /// Unix seconds now.
    fn now(&self) -> f64;
    /// Waits `duration`.
    fn sleep(&self, duration: Duration);
}

/// The machine's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        gaform_providers::local::records::now()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}
