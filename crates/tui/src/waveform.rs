//! The waveform overview drawn in braille from the peaks stored at index
//! time.
//!
//! A braille character is a 2×4 grid of dots, so a `width`×`height` cell
//! area has `2·width` dot columns across time and `4·height` dot rows of
//! amplitude. Each dot column covers an equal share of the peaks (merging
//! neighbours when there are more peaks than columns, repeating them when
//! there are fewer) and lights the dots from its highest to its lowest
//! sample. Hand-written: the mapping is a few lines, and ratatui's `Canvas`
//! would draw the same dots with per-point floating-point overhead.

/// The bit of each dot in a braille character, by (column, row).
const DOT_BITS: [[u8; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];

/// The waveform of `peaks` as `height` lines of `width` braille
/// characters. Empty `peaks` or a zero size give blank lines of the size.
pub fn braille(peaks: &[(i8, i8)], width: usize, height: usize) -> Vec<String> {
    let mut cells = vec![vec![0u8; width]; height];
    let columns = width * 2;
    let rows = height * 4;
    if !peaks.is_empty() && columns > 0 && rows > 0 {
        for column in 0..columns {
            let start = column * peaks.len() / columns;
            let end = ((column + 1) * peaks.len() / columns).max(start + 1);
            let (lo, hi) = peaks[start..end.min(peaks.len())]
                .iter()
                .fold((i8::MAX, i8::MIN), |(lo, hi), &(min, max)| {
                    (lo.min(min), hi.max(max))
                });
            let (top, bottom) = (dot_row(hi, rows), dot_row(lo, rows));
            for row in top..=bottom {
                cells[row / 4][column / 2] |= DOT_BITS[column % 2][row % 4];
            }
        }
    }
    cells
        .into_iter()
        .map(|line| {
            line.into_iter()
                .map(|bits| char::from_u32(0x2800 + u32::from(bits)).unwrap_or(' '))
                .collect()
        })
        .collect()
}

/// The dot row (0 at the top) of the amplitude `value` (±127 full scale).
fn dot_row(value: i8, rows: usize) -> usize {
    let value = f64::from(value.clamp(-127, 127));
    let fraction = (127.0 - value) / 254.0;
    ((fraction * (rows - 1) as f64).round() as usize).min(rows - 1)
}

/// The cell column of the play position `progress` (0 to 1) in a waveform
/// `width` cells wide.
pub fn cursor_column(progress: f64, width: usize) -> usize {
    if width == 0 || !progress.is_finite() {
        return 0;
    }
    ((progress.clamp(0.0, 1.0) * width as f64) as usize).min(width - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_fills_every_dot() {
        let lines = braille(&[(-127, 127); 10], 5, 2);
        assert_eq!(lines, vec!["⣿⣿⣿⣿⣿", "⣿⣿⣿⣿⣿"]);
    }

    #[test]
    fn silence_is_a_centre_line() {
        // 8 dot rows: 0 maps to row round(3.5) = 4, the top dot of the second line.
        let lines = braille(&[(0, 0); 4], 2, 2);
        assert_eq!(lines, vec!["⠀⠀", "⠉⠉"]);
    }

    #[test]
    fn columns_follow_time() {
        // First half silent, second half full scale; 4 peaks over 4 dot columns.
        let peaks = [(0, 0), (0, 0), (-127, 127), (-127, 127)];
        let lines = braille(&peaks, 2, 1);
        // 4 dot rows: 0 maps to round(1.5) = 2, the third dot of each column.
        assert_eq!(lines, vec!["⠤⣿"]);
    }

    #[test]
    fn positive_only_peaks_light_the_upper_half() {
        let lines = braille(&[(0, 127)], 1, 2);
        // Rows 0..=4 of 8: the whole first line and the top dots of the second.
        assert_eq!(lines, vec!["⣿", "⠉"]);
    }

    #[test]
    fn fewer_peaks_than_columns_repeat_and_more_merge() {
        let few = braille(&[(-127, 127)], 3, 1);
        assert_eq!(few, vec!["⣿⣿⣿"]);
        // Many peaks, one loud one in the middle: only the middle column is full.
        let mut many = vec![(0i8, 0i8); 600];
        many[300] = (-127, 127);
        let lines = braille(&many, 3, 1);
        let chars: Vec<char> = lines[0].chars().collect();
        assert_eq!(chars[0], '⠤');
        assert_ne!(chars[1], '⠤');
        assert_eq!(chars[2], '⠤');
    }

    #[test]
    fn no_peaks_give_blank_lines() {
        assert_eq!(braille(&[], 3, 2), vec!["⠀⠀⠀", "⠀⠀⠀"]);
        assert!(braille(&[(1, 2)], 0, 0).is_empty());
    }

    #[test]
    fn cursor_column_spans_the_width() {
        assert_eq!(cursor_column(0.0, 10), 0);
        assert_eq!(cursor_column(0.55, 10), 5);
        assert_eq!(cursor_column(1.0, 10), 9);
        assert_eq!(cursor_column(2.0, 10), 9);
        assert_eq!(cursor_column(f64::NAN, 10), 0);
    }
}
