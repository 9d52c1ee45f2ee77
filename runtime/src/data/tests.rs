use super::*;

#[test]
fn every_bundled_layout_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data");
    for (file, rows) in [
        ("GOOG_wiki.csv", 2148),
        ("IBM_wiki.csv", 3270),
        ("SP500_arch.csv", 5031),
        ("MSFT_pmdarima.csv", 7983),
    ] {
        let data = load(&dir.join(file)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(data.len(), rows, "{file}");
    }
}

#[test]
fn unnamed_first_column_crlf_and_slash_dates() {
    let d =
        parse("x", ",Open,High,Low,Close,Volume\r\n2004-08-19,100,104.06,95.96,100.34,22351900\r\n").unwrap();
    assert_eq!((d.time[0], d.close[0]), (days_from_civil(2004, 8, 19) * 86_400, 100.34));
    let d = parse("x", "Date,Open,High,Low,Close,Adj Close,Volume\n1/4/1999,1,2,0.5,1.5,1.5,7\n").unwrap();
    assert_eq!(d.time[0], days_from_civil(1999, 1, 4) * 86_400);
    let d = parse("x", ",Open,High,Low,Close,Volume\n2017-04-19 09:00:00,1,2,0.5,1.5,3\n").unwrap();
    assert_eq!(d.time[0], days_from_civil(2017, 4, 19) * 86_400 + 9 * 3600);
}

#[test]
fn errors_name_line_and_column() {
    let header = "Date,Open,High,Low,Close\n";
    let err = |body: &str| parse("f.csv", &format!("{header}{body}")).unwrap_err().to_string();
    assert_eq!(err("2020-01-02,1,2,0.5,x\n"), "f.csv:2:20: Close `x` is not a number");
    assert_eq!(err("2020-13-02,1,2,0.5,1\n"), "f.csv:2:1: `2020-13-02` is not a calendar date");
    assert_eq!(
        err("2020-01-02,1,2,0.5,1\n2020-01-01,1,2,0.5,1\n"),
        "f.csv:3:1: `2020-01-01` is earlier than line 2: rows must be sorted"
    );
    assert_eq!(
        err("2020-01-02,1,2,0.5,1\n2020-01-02,1,2,0.5,1\n"),
        "f.csv:3:1: duplicate timestamp `2020-01-02` (also on line 2)"
    );
    assert_eq!(err("2020-01-02,1,0.9,0.5,1\n"), "f.csv:2:14: High 0.9 is below max(Open, Close) = 1");
    assert_eq!(err("2020-01-02,1,2,1.5,1\n"), "f.csv:2:16: Low 1.5 is above min(Open, Close) = 1");
    assert_eq!(err("2020-01-02,1,2\n"), "f.csv:2:15: expected 5 fields, as in the header, found 3");
    // Columns count characters, not bytes, on a row that is not ASCII.
    let ticker = |body: &str| parse("f.csv", &format!("Ticker,{header}{body}")).unwrap_err().to_string();
    assert_eq!(ticker("Société,2020-01-02,1,2,0.5,x\n"), "f.csv:2:28: Close `x` is not a number");
    assert_eq!(ticker("SG,2020-01-02,1,2,0.5,x\n"), "f.csv:2:23: Close `x` is not a number");
    assert!(parse("f.csv", "Open,High,Low,Close\n").unwrap_err().message.contains("no date"));
    assert!(parse("f.csv", "Date,Open,High,Low\n").unwrap_err().message.contains("no Close"));
}

#[test]
fn civil_round_trip() {
    for days in [-1000, 0, 1, 59, 365, 11_000, 19_000, 60_000] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
    assert_eq!(civil_from_days(0), (1970, 1, 1));
}

#[test]
fn mutated_files_are_errors_with_a_location_never_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data");
    let text = std::fs::read_to_string(dir.join("GOOG_wiki.csv")).expect("data");
    let head: String = text.lines().take(40).map(|l| format!("{l}\n")).collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pieces =
        [",", "\n", "\r\n", "-", ".", "x", "1e999", "NaN", "2020-02-30", "13/45/2020", "\"", "", "0", "é"];
    for _ in 0..3000 {
        let mut bytes = head.clone().into_bytes();
        for _ in 0..(next() % 4 + 1) {
            let at = (next() as usize) % (bytes.len() + 1);
            match next() % 3 {
                0 if at < bytes.len() => {
                    let end = (at + (next() as usize % 12)).min(bytes.len());
                    bytes.drain(at..end);
                }
                _ => {
                    let piece = pieces[(next() as usize) % pieces.len()];
                    bytes.splice(at..at, piece.bytes());
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = parse("m.csv", &text) {
            assert!(e.line >= 1 && e.column >= 1, "{e}");
        }
    }
}

#[test]
fn months_back_keep_the_day_or_take_the_months_last() {
    let at = |y, m, d| days_from_civil(y, m, d) * 86_400;
    assert_eq!(months_before(at(2020, 3, 31), 1), at(2020, 2, 29));
    assert_eq!(months_before(at(2021, 3, 31), 1), at(2021, 2, 28));
    assert_eq!(months_before(at(2020, 1, 15) + 3600, 2), at(2019, 11, 15) + 3600);
    assert_eq!(months_before(at(2020, 12, 31), 24), at(2018, 12, 31));
    assert_eq!(months_before(at(1970, 1, 1), 1), at(1969, 12, 1));
}
