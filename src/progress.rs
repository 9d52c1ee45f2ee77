//! How a run shows it is alive: a progress bar on a terminal, plain lines otherwise (logs,
//! CI, a worker's captured output).

use gaform_runtime::ga::Event;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Receives island events and shows them.
pub struct Progress {
    bar: Option<ProgressBar>,
    generations: u64,
}

impl Progress {
    /// For `islands` islands of `generations` bred generations each.
    pub fn new(islands: u64, generations: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(islands * (generations + 1));
            let style =
                ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} generations {msg}")
                    .map(|s| s.progress_chars("=> "))
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress { bar, generations }
    }

    /// Shows one event.
    pub fn event(&self, event: Event) {
        match (event, &self.bar) {
            (Event::Generation { best, .. }, Some(bar)) => {
                bar.inc(1);
                if best.is_finite() {
                    bar.set_message(format!("(island best {best:.4})"));
                }
            }
            (Event::Resumed { island, generation }, Some(bar)) => {
                bar.inc(generation + 1);
                bar.println(format!(
                    "island {island}: resumed from its checkpoint at generation {generation}"
                ));
            }
            (event, None) => errln!("{}", event.line(self.generations)),
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
