//! Timestamps as the data files write them, to naive seconds since 1970-01-01.

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` (or with `T`, and then an optional `Z` or UTC offset
/// such as `+02:00`, and fractions of a second, which are dropped), `M/D/YYYY`, or whole
/// seconds since 1970-01-01 UTC (nine digits or more, as `serve` takes them); the reason if
/// not. A time with an offset is read in UTC.
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    // The common shape, read without splitting (every daily file's and most requests'
    // dates); anything else, and every error, takes the general path below.
    match plain_date(text.as_bytes()) {
        Some(days) => Ok(days * 86_400),
        None => any_timestamp(text),
    }
}

/// Every accepted shape, and the words of every refusal.
fn any_timestamp(text: &str) -> Result<i64, String> {
    let bad = || {
        format!("`{text}` is not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, ISO 8601 with T and Z, M/D/YYYY or epoch seconds)")
    };
    if text.len() >= 9 && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| bad());
    }
    let (date, time) = match text.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    // `…Z`, `…+02:00`: the offset is taken off, so every time is UTC.
    let (time, offset) = match time.map(split_offset) {
        Some(Some((t, offset))) => (Some(t), offset),
        Some(None) => return Err(bad()),
        None => (None, 0),
    };
    let (year, month, day) = if date.contains('/') {
        let mut parts = date.split('/');
        let (m, d, y) = (parts.next(), parts.next(), parts.next());
        if parts.next().is_some() {
            return Err(bad());
        }
        (number(y, 4, 4).ok_or_else(bad)?, number(m, 1, 2).ok_or_else(bad)?, number(d, 1, 2).ok_or_else(bad)?)
    } else {
        let mut parts = date.split('-');
        let (y, m, d) = (parts.next(), parts.next(), parts.next());
        if parts.next().is_some() {
            return Err(bad());
        }
        (number(y, 4, 4).ok_or_else(bad)?, number(m, 2, 2).ok_or_else(bad)?, number(d, 2, 2).ok_or_else(bad)?)
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(format!("`{text}` is not a calendar date"));
    }
    let seconds = match time {
        None => 0,
        Some(t) => {
            let mut parts = t.split(':');
            let (h, m, s) = (parts.next(), parts.next(), parts.next());
            if parts.next().is_some() {
                return Err(bad());
            }
            let (h, m) = (number(h, 2, 2).ok_or_else(bad)?, number(m, 2, 2).ok_or_else(bad)?);
            // Fractions of a second are dropped: bars are whole seconds apart.
            let s = match s.map(|s| s.split_once('.').map_or(s, |(whole, _)| whole)) {
                Some(s) => number(Some(s), 2, 2).ok_or_else(bad)?,
                None => 0,
            };
            if h > 23 || m > 59 || s > 59 {
                return Err(format!("`{text}` is not a time of day"));
            }
            h * 3600 + m * 60 + s
        }
    };
    Ok(days_from_civil(year, month, day) * 86_400 + seconds - offset)
}

/// A time of day and its UTC offset in seconds (`10:00:00+02:00` → `10:00:00`, 7200; `Z`
/// and no offset → 0); `None` for an offset that is not `±HH:MM` or `±HHMM`.
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(t) = time.strip_suffix('Z') {
        return Some((t, 0));
    }
    let Some(at) = time.rfind(['+', '-']) else { return Some((time, 0)) };
    let (t, offset) = time.split_at(at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
    let (h, m) = (number(digits.get(0..2), 2, 2)?, number(digits.get(2..), 2, 2)?);
    (h <= 23 && m <= 59).then_some((t, sign * (h * 3600 + m * 60)))
}

/// Days since 1970-01-01 of a valid `YYYY-MM-DD`; `None` for any other text.
fn plain_date(text: &[u8]) -> Option<i64> {
    let &[y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = text else { return None };
    let digit = |c: u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
    let year = digit(y0)? * 1000 + digit(y1)? * 100 + digit(y2)? * 10 + digit(y3)?;
    let (month, day) = (digit(m0)? * 10 + digit(m1)?, digit(d0)? * 10 + digit(d1)?);
    let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    valid.then(|| days_from_civil(year, month, day))
}

fn number(text: Option<&str>, min_len: usize, max_len: usize) -> Option<i64> {
    let text = text?;
    if text.len() < min_len || text.len() > max_len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `t` moved back `months` calendar months: the same day and time of day of the earlier
/// month, or that month's last day when it has no such day (31 March back one month is 28
/// or 29 February), as pandas' `DateOffset(months=n)` moves a date.
pub fn months_before(t: i64, months: u32) -> i64 {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let index = y * 12 + (m - 1) - i64::from(months);
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    days_from_civil(year, month, d.min(days_in_month(year, month))) * 86_400 + secs
}

/// A timestamp as the data files write it: `YYYY-MM-DD` at midnight, else
/// `YYYY-MM-DD HH:MM:SS` (`parse_timestamp` reads either back).
pub fn format_timestamp(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    if secs == 0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    }
}

/// (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain path reads every date of two centuries as the general path does, and
    /// leaves every impossible one to it.
    #[test]
    fn plain_dates_read_as_the_general_path_reads_them() {
        for days in days_from_civil(1900, 1, 1)..days_from_civil(2100, 1, 1) {
            let (y, m, d) = civil_from_days(days);
            let text = format!("{y:04}-{m:02}-{d:02}");
            assert_eq!(plain_date(text.as_bytes()).map(|d| d * 86_400), any_timestamp(&text).ok(), "{text}");
        }
        for text in
            ["2023-02-29", "2024-13-01", "2024-00-10", "2024-01-00", "2024-04-31", "2024-1-01", "2024/01/01"]
        {
            assert_eq!(plain_date(text.as_bytes()), None, "{text}");
            assert_eq!(parse_timestamp(text), any_timestamp(text), "{text}");
        }
        assert!(parse_timestamp("2024-02-30").unwrap_err().contains("not a calendar date"));
    }

    #[test]
    fn iso_times_with_z_or_an_offset_and_epoch_seconds_read_as_serve_reads_them() {
        let noon = parse_timestamp("2016-03-01 12:00:00").unwrap();
        assert_eq!(parse_timestamp("2016-03-01T12:00:00Z"), Ok(noon));
        assert_eq!(parse_timestamp("2016-03-01T12:00:00.250Z"), Ok(noon));
        assert_eq!(parse_timestamp("2016-03-01T14:00:00+02:00"), Ok(noon));
        assert_eq!(parse_timestamp("2016-03-01T07:00:00-0500"), Ok(noon));
        assert_eq!(parse_timestamp(&noon.to_string()), Ok(noon));
        assert_eq!(parse_timestamp("2016-03-01T00:00:00Z"), parse_timestamp("2016-03-01"));
        assert!(parse_timestamp("2016-03-01T12:00:00+2").is_err());
        assert!(parse_timestamp("12345").is_err(), "too short for epoch seconds");
    }
}
