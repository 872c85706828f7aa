//! The exposure score, in the spirit of `systemd-analyze security`: each rule that could be
//! evaluated on a subject has a weight; the score is the exposed share of the total weight,
//! scaled to 0 (nothing exposed) … 10 (no isolation). A privileged container or a mounted
//! runtime socket is 10 whatever else holds: either one is root on the host. Levels do not
//! change the score (an allowed rule still exposes); rules of weight 0 (contradictions, input
//! problems) are not part of it.

use super::catalog;
use super::Sink;
use serde::Serialize;

/// One line of the breakdown.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub code: &'static str,
    pub summary: &'static str,
    pub weight: u8,
    pub exposed: bool,
}

/// A subject's score and how it was reached.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    pub value: f64,
    pub rating: &'static str,
    pub breakdown: Vec<Item>,
}

impl Score {
    pub fn compute(sink: &Sink) -> Score {
        let mut breakdown: Vec<Item> = sink
            .checked
            .iter()
            .filter_map(|code| catalog::rule(code))
            .filter(|r| r.weight > 0)
            .map(|r| Item { code: r.code, summary: r.summary, weight: r.weight, exposed: sink.fired(r.code) })
            .collect();
        breakdown.sort_by(|a, b| b.exposed.cmp(&a.exposed).then(b.weight.cmp(&a.weight)).then(a.code.cmp(b.code)));
        let total: u32 = breakdown.iter().map(|i| u32::from(i.weight)).sum();
        let exposed: u32 = breakdown.iter().filter(|i| i.exposed).map(|i| u32::from(i.weight)).sum();
        let saturated = breakdown.iter().any(|i| i.exposed && i.weight >= 10);
        let value = if saturated {
            10.0
        } else if total == 0 {
            0.0
        } else {
            (f64::from(exposed) * 100.0 / f64::from(total)).round() / 10.0
        };
        Score { value, rating: rating(value), breakdown }
    }
}

/// The words systemd-analyze uses, on the same 0–10 scale.
pub fn rating(value: f64) -> &'static str {
    match value {
        v if v < 1.0 => "PERFECT",
        v if v < 2.0 => "SAFE",
        v if v < 5.0 => "OK",
        v if v < 7.0 => "MEDIUM",
        v if v < 9.0 => "EXPOSED",
        _ => "UNSAFE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_and_saturation() {
        let mut sink = Sink::default();
        sink.checked("root-user");
        sink.fire("host-pid", "x", None, None);
        let s = Score::compute(&sink);
        assert_eq!(s.value, 6.0); // host-pid 6 of 6 + 4
        assert_eq!(s.rating, "MEDIUM");
        sink.fire("privileged", "x", None, None);
        assert_eq!(Score::compute(&sink).value, 10.0);
        assert_eq!(Score::compute(&Sink::default()).value, 0.0);
    }
}
