//! The SVG line charts' geometry, shared by the dashboard's p99 over the
//! last minute and the noisy-neighbour run's p99 per window: one box size,
//! one way to place a series in it.

/// Width of a chart's view box.
pub(super) const WIDTH: f64 = 600.0;
/// Height of a chart's view box.
pub(super) const HEIGHT: f64 = 120.0;
/// Room left above the highest value.
const HEADROOM: f64 = 10.0;

/// The x of slot `i` of `slots` spread across the box.
pub(super) fn x_of(i: usize, slots: usize) -> f64 {
    i as f64 * WIDTH / slots.saturating_sub(1).max(1) as f64
}

/// The largest of `values`, at least 1 (an empty or flat-zero series
/// stays on the floor instead of dividing by zero).
pub(super) fn scale(values: &[f64]) -> f64 {
    values.iter().copied().fold(1.0, f64::max)
}

/// `values` as an SVG `points` list: value `i` at slot `i` of `slots`,
/// scaled so `max` touches the top (less its headroom).
pub(super) fn polyline_points(values: &[f64], slots: usize, max: f64) -> String {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let y = HEIGHT - v / max * (HEIGHT - HEADROOM);
            format!("{:.1},{y:.1}", x_of(i, slots))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_value_reaches_the_top_and_zero_the_floor() {
        let points = polyline_points(&[0.0, 5.0, 10.0], 3, scale(&[0.0, 5.0, 10.0]));
        assert_eq!(points, "0.0,120.0 300.0,65.0 600.0,10.0");
        assert_eq!(scale(&[]), 1.0);
        assert_eq!(x_of(0, 1), 0.0);
    }
}
