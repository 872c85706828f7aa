//! Pull progress on standard error: on a terminal, one live row per layer (bytes, total and
//! rate, redrawn at most ten times a second); otherwise plain lines, one per event, that logs
//! and tests can read; nothing with `--quiet`.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Terminal,
    Plain,
    Quiet,
}

struct Row {
    label: String,
    status: String,
    done: u64,
    total: u64,
    started: Instant,
}

struct State {
    rows: Vec<Row>,
    drawn: usize,
    last_draw: Option<Instant>,
}

/// A progress display shared by the pull's worker threads.
pub struct Progress {
    mode: Mode,
    state: Mutex<State>,
}

/// `1.5 MiB`-style sizes.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    format!("{}/s", human((bytes as f64 / secs) as u64))
}

impl Progress {
    /// Terminal rows if standard error is a terminal, plain lines otherwise.
    pub fn new(quiet: bool) -> Progress {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Terminal
        } else {
            Mode::Plain
        };
        Progress::with_mode(mode)
    }

    pub fn with_mode(mode: Mode) -> Progress {
        Progress { mode, state: Mutex::new(State { rows: Vec::new(), drawn: 0, last_draw: None }) }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// A message of its own (above the rows on a terminal).
    pub fn line(&self, msg: &str) {
        if self.mode == Mode::Quiet {
            return;
        }
        let mut st = self.state.lock().expect("progress lock");
        let mut err = std::io::stderr().lock();
        if self.mode == Mode::Terminal {
            clear(&mut err, st.drawn);
            st.drawn = 0;
        }
        let _ = writeln!(err, "{msg}"); // progress output is best effort
        if self.mode == Mode::Terminal {
            draw(&mut err, &mut st);
        }
    }

    /// Starts a row for a blob of `total` bytes; returns its handle.
    pub fn start(&self, label: &str, total: u64, status: &str) -> usize {
        let mut st = self.state.lock().expect("progress lock");
        st.rows.push(Row { label: label.to_string(), status: status.to_string(), done: 0, total, started: Instant::now() });
        let id = st.rows.len() - 1;
        match self.mode {
            Mode::Plain if status == "downloading" => eprintln!("{label}: {status} ({})", human(total)),
            Mode::Plain => {}
            Mode::Terminal => self.redraw(&mut st, true),
            Mode::Quiet => {}
        }
        id
    }

    /// Bytes done so far for a row.
    pub fn advance(&self, id: usize, done: u64) {
        if self.mode != Mode::Terminal {
            return;
        }
        let mut st = self.state.lock().expect("progress lock");
        st.rows[id].done = done;
        self.redraw(&mut st, false);
    }

    /// A new status for a row (`verified`, `unpacking`, `done`…); `line` is printed as is in
    /// plain mode.
    pub fn status(&self, id: usize, status: &str, line: Option<String>) {
        let mut st = self.state.lock().expect("progress lock");
        st.rows[id].status = status.to_string();
        match self.mode {
            Mode::Plain => {
                let row = &st.rows[id];
                eprintln!("{}", line.unwrap_or_else(|| format!("{}: {status}", row.label)));
            }
            Mode::Terminal => self.redraw(&mut st, true),
            Mode::Quiet => {}
        }
    }

    /// The elapsed time and average rate of a row (for its final line).
    pub fn summary(&self, id: usize, bytes: u64) -> String {
        let st = self.state.lock().expect("progress lock");
        let elapsed = st.rows[id].started.elapsed();
        format!("{} in {:.2}s, {}", human(bytes), elapsed.as_secs_f64(), rate(bytes, elapsed))
    }

    fn redraw(&self, st: &mut State, force: bool) {
        if !force && st.last_draw.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) {
            return;
        }
        let mut err = std::io::stderr().lock();
        clear(&mut err, st.drawn);
        draw(&mut err, st);
    }
}

fn clear(out: &mut impl Write, lines: usize) {
    if lines > 0 {
        let _ = write!(out, "\x1b[{lines}A\x1b[J"); // progress output is best effort
    }
}

fn draw(out: &mut impl Write, st: &mut State) {
    for row in &st.rows {
        let detail = if row.status == "downloading" {
            format!("{} / {}  {}", human(row.done), human(row.total), rate(row.done, row.started.elapsed()))
        } else {
            human(row.total)
        };
        let _ = writeln!(out, "{}: {:<16} {detail}", row.label, row.status); // best effort
    }
    st.drawn = st.rows.len();
    st.last_draw = Some(Instant::now());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_sizes() {
        assert_eq!(super::human(512), "512 B");
        assert_eq!(super::human(1536), "1.5 KiB");
        assert_eq!(super::human(3 << 20), "3.0 MiB");
    }
}
