//! Where each part of the screen goes, for a given terminal size. One pure
//! function, [`areas`], used by the drawing code and by the key and mouse
//! handling (page size, which row a click hit), so they agree.
//!
//! Two shapes: stacked (list above the detail pane; 80×24 is the design
//! size) and side by side (wide terminals: list left, detail and a taller
//! waveform right).

use ratatui::layout::Rect;

/// The smallest terminal hark draws its UI in.
pub const MIN_WIDTH: u16 = 40;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: u16 = 10;
/// From this width on, the detail pane goes beside the list.
pub const WIDE_FROM: u16 = 120;

/// The parts of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    /// The terminal is below [`MIN_WIDTH`]×[`MIN_HEIGHT`]: only a notice is drawn.
    pub too_small: bool,
    /// The query line (one row).
    pub query: Rect,
    /// The hit list, its heading row included.
    pub list: Rect,
    /// The detail pane with its border.
    pub detail: Rect,
    /// The text inside the detail pane.
    pub detail_text: Rect,
    /// The waveform inside the detail pane.
    pub waveform: Rect,
    /// The status line.
    pub status: Rect,
    /// The key help line.
    pub help: Rect,
}

impl Areas {
    /// Rows of hits the list shows (its height less the heading).
    pub fn list_rows(&self) -> usize {
        usize::from(self.list.height.saturating_sub(1))
    }
}

/// The layout of a terminal of `area`.
pub fn areas(area: Rect) -> Areas {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return Areas {
            too_small: true,
            ..Areas::default()
        };
    }
    let row = |y: u16, height: u16| Rect::new(area.x, y, area.width, height);
    let query = row(area.y, 1);
    let help = row(area.bottom() - 1, 1);
    let status = row(area.bottom() - 2, 1);
    let middle = row(area.y + 1, area.height - 3);

    let (list, detail) = if area.width >= WIDE_FROM && middle.height >= 12 {
        let list_width = area.width * 58 / 100;
        (
            Rect::new(middle.x, middle.y, list_width, middle.height),
            Rect::new(
                middle.x + list_width,
                middle.y,
                area.width - list_width,
                middle.height,
            ),
        )
    } else {
        // 80x24: 21 middle rows, 10 for the detail pane, 11 for the list.
        let detail_height = (middle.height * 48 / 100).clamp(4, 12);
        let list_height = middle.height - detail_height;
        (
            Rect::new(middle.x, middle.y, middle.width, list_height),
            Rect::new(
                middle.x,
                middle.y + list_height,
                middle.width,
                detail_height,
            ),
        )
    };

    let inner = Rect::new(
        detail.x + 1,
        detail.y + 1,
        detail.width.saturating_sub(2),
        detail.height.saturating_sub(2),
    );
    // The waveform takes the bottom of the pane: two fifths of it, 1 to 10 rows.
    let wave_height = (inner.height * 2 / 5).clamp(1, 10).min(inner.height);
    let waveform = Rect::new(
        inner.x,
        inner.bottom() - wave_height,
        inner.width,
        wave_height,
    );
    let detail_text = Rect::new(inner.x, inner.y, inner.width, inner.height - wave_height);

    Areas {
        too_small: false,
        query,
        list,
        detail,
        detail_text,
        waveform,
        status,
        help,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fits(inner: Rect, outer: Rect) -> bool {
        inner.x >= outer.x
            && inner.y >= outer.y
            && inner.right() <= outer.right()
            && inner.bottom() <= outer.bottom()
    }

    #[test]
    fn every_size_from_the_minimum_up_tiles_the_screen() {
        for w in [40u16, 60, 79, 80, 119, 120, 200, 300] {
            for h in [10u16, 11, 15, 23, 24, 40, 60] {
                let screen = Rect::new(0, 0, w, h);
                let a = areas(screen);
                assert!(!a.too_small);
                for part in [a.query, a.list, a.detail, a.status, a.help] {
                    assert!(fits(part, screen), "{w}x{h}: {part:?}");
                }
                assert!(
                    fits(a.waveform, a.detail) && fits(a.detail_text, a.detail),
                    "{w}x{h}"
                );
                assert!(a.waveform.height >= 1, "{w}x{h}: no waveform row");
                assert!(a.list_rows() >= 2, "{w}x{h}: list too short");
                // No two parts overlap.
                let parts = [a.query, a.list, a.detail, a.status, a.help];
                for (i, p) in parts.iter().enumerate() {
                    for q in &parts[i + 1..] {
                        assert!(
                            p.intersection(*q).is_empty(),
                            "{w}x{h}: {p:?} overlaps {q:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn design_size_gives_ten_hits_and_a_three_row_waveform() {
        let a = areas(Rect::new(0, 0, 80, 24));
        assert_eq!(a.list_rows(), 10);
        assert_eq!(a.list.width, 80);
        assert_eq!(a.waveform.height, 3);
        assert_eq!(a.detail_text.height, 5);
    }

    #[test]
    fn wide_terminals_put_the_detail_beside_the_list() {
        let a = areas(Rect::new(0, 0, 160, 40));
        assert_eq!(a.list.height, 37);
        assert_eq!(a.detail.x, a.list.right());
        assert!(a.waveform.height >= 8);
    }

    #[test]
    fn tiny_terminals_get_a_notice() {
        assert!(areas(Rect::new(0, 0, 39, 24)).too_small);
        assert!(areas(Rect::new(0, 0, 80, 9)).too_small);
    }
}
