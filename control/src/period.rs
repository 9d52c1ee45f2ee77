//! A budget's period as a UTC window: the calendar day, the ISO week (from Monday), the
//! calendar month, or everything since the budget first appeared (`total`).

use crate::ledger::Timestamp;
use gaform_compiler::ir::Period;
use time::{Date, Duration, Month, OffsetDateTime, Time};

/// `[start, end)` of the period holding `now`; `first_seen` starts a `total` period.
pub fn window(period: Period, now: Timestamp, first_seen: Timestamp) -> (Timestamp, Timestamp) {
    let whole = (first_seen, f64::INFINITY);
    let Ok(moment) = OffsetDateTime::from_unix_timestamp(now.floor() as i64) else { return whole };
    let today = moment.date();
    let (start, end) = match period {
        Period::Total => return whole,
        Period::Day => (Some(today), today.next_day()),
        Period::Week => {
            let monday =
                today.checked_sub(Duration::days(i64::from(today.weekday().number_days_from_monday())));
            (monday, monday.and_then(|m| m.checked_add(Duration::days(7))))
        }
        Period::Month => {
            let first = Date::from_calendar_date(today.year(), today.month(), 1).ok();
            let (year, month) = match today.month() {
                Month::December => (today.year() + 1, Month::January),
                m => (today.year(), m.next()),
            };
            (first, Date::from_calendar_date(year, month, 1).ok())
        }
    };
    let seconds = |d: Date| d.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp() as f64;
    match (start, end) {
        (Some(s), Some(e)) => (seconds(s), seconds(e)),
        _ => whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-31T23:59:59Z, a Thursday.
    const NEW_YEARS_EVE: Timestamp = 1_798_761_599.0;
    const DAY: f64 = 86_400.0;

    #[test]
    fn days_weeks_and_months_are_utc_calendar_windows() {
        let midnight = NEW_YEARS_EVE + 1.0;
        assert_eq!(window(Period::Day, NEW_YEARS_EVE, 0.0), (midnight - DAY, midnight));
        assert_eq!(window(Period::Day, midnight, 0.0), (midnight, midnight + DAY), "a new day at 00:00:00");
        // Monday 2026-12-28 to Monday 2027-01-04: an ISO week across the new year.
        assert_eq!(window(Period::Week, NEW_YEARS_EVE, 0.0), (midnight - 4.0 * DAY, midnight + 3.0 * DAY));
        assert_eq!(window(Period::Month, NEW_YEARS_EVE, 0.0), (midnight - 31.0 * DAY, midnight));
        assert_eq!(window(Period::Month, midnight, 0.0), (midnight, midnight + 31.0 * DAY));
        // February of a leap year.
        let feb_2028 = midnight + (365.0 + 31.0) * DAY;
        assert_eq!(window(Period::Month, feb_2028 + 100.0, 0.0), (feb_2028, feb_2028 + 29.0 * DAY));
    }

    #[test]
    fn total_runs_from_the_budgets_first_appearance() {
        assert_eq!(window(Period::Total, NEW_YEARS_EVE, 1_000.0), (1_000.0, f64::INFINITY));
    }
}
