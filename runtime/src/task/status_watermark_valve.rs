//! Where watermarks are merged: a subtask's watermark is the minimum over its input
//! channels; a finished channel no longer holds it back.

use crate::time::Watermark;

/// Flink's `StatusWatermarkValve`.
#[derive(Debug)]
pub struct StatusWatermarkValve {
    channels: Vec<Watermark>,
    finished: Vec<bool>,
    last_emitted: Watermark,
}

impl StatusWatermarkValve {
    /// A valve over `num_channels` inputs, none of which has reported yet.
    pub fn new(num_channels: usize) -> Self {
        Self {
            channels: vec![Watermark::MIN; num_channels],
            finished: vec![false; num_channels],
            last_emitted: Watermark::MIN,
        }
    }

    fn advance(&mut self) -> Option<Watermark> {
        let min = self
            .channels
            .iter()
            .zip(&self.finished)
            .filter(|(_, f)| !**f)
            .map(|(w, _)| *w)
            .min()
            .unwrap_or(Watermark::MAX);
        if min > self.last_emitted {
            self.last_emitted = min;
            Some(min)
        } else {
            None
        }
    }

    /// Records a channel's watermark; returns the new subtask watermark if it advanced.
    pub fn input_watermark(&mut self, channel: usize, watermark: Watermark) -> Option<Watermark> {
        if watermark > self.channels[channel] {
            self.channels[channel] = watermark;
        }
        self.advance()
    }

    /// Records the end of a channel; returns the new subtask watermark if it advanced.
    pub fn channel_finished(&mut self, channel: usize) -> Option<Watermark> {
        self.finished[channel] = true;
        self.advance()
    }

    /// Whether every channel has ended.
    pub fn all_finished(&self) -> bool {
        self.finished.iter().all(|f| *f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_over_channels_and_finished_channels_release() {
        let mut v = StatusWatermarkValve::new(2);
        assert_eq!(v.input_watermark(0, Watermark(10)), None);
        assert_eq!(v.input_watermark(1, Watermark(5)), Some(Watermark(5)));
        assert_eq!(v.input_watermark(1, Watermark(20)), Some(Watermark(10)));
        assert_eq!(v.input_watermark(1, Watermark(3)), None);
        assert_eq!(v.channel_finished(0), Some(Watermark(20)));
        assert!(!v.all_finished());
        assert_eq!(v.channel_finished(1), Some(Watermark::MAX));
        assert!(v.all_finished());
    }
}
