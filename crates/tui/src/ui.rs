//! Drawing: [`draw`] renders an [`App`] into a ratatui frame. A pure
//! function of the state (and the frame's size), so rendering tests draw
//! into a `TestBackend` and compare text. It only reads the app's parts;
//! the app never calls in here.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table};
use ratatui::Frame;
use unicode_segmentation::UnicodeSegmentation;

use crate::app::{
    file_name, App, Categories, DetailState, Device, Focus, LineEditor, Overlay, Suggested,
    ViewKind,
};
use crate::backend::{FileDetail, Hit, Matched};
use crate::keymap;
use crate::layout::{self, Areas};
use crate::{strings, text, waveform};

/// Spinner frames, one per tick while something runs.
const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// Width of the score bar, in cells.
const BAR_WIDTH: usize = 5;
/// Partial block characters, one to seven eighths wide.
const EIGHTHS: [char; 7] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// Styles, with or without colour (`NO_COLOR`).
#[derive(Debug, Clone, Copy)]
struct Theme {
    color: bool,
}

impl Theme {
    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }
    fn accent(self) -> Style {
        self.fg(Color::Cyan)
    }
    fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }
    fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    fn selected(self, focused: bool) -> Style {
        match (self.color, focused) {
            (true, true) => Style::new().bg(Color::Blue).fg(Color::White),
            (true, false) => Style::new().bg(Color::DarkGray),
            (false, true) => Style::new().add_modifier(Modifier::REVERSED),
            (false, false) => Style::new().add_modifier(Modifier::UNDERLINED),
        }
    }
    fn key(self) -> Style {
        self.accent().add_modifier(Modifier::BOLD)
    }
}

/// Draws the whole UI.
pub fn draw(frame: &mut Frame, app: &App) {
    let theme = Theme {
        color: app.settings().color,
    };
    let areas = layout::areas(frame.area());
    if areas.too_small {
        frame.render_widget(
            Paragraph::new(strings::TOO_SMALL).wrap(ratatui::widgets::Wrap { trim: true }),
            frame.area(),
        );
        return;
    }
    draw_query(frame, app, theme, areas.query);
    draw_list(frame, app, theme, areas.list);
    draw_detail(frame, app, theme, &areas);
    if !draw_status(frame, app, theme, areas.status, areas.help) {
        draw_key_line(frame, app, theme, areas.help);
    }
    match &app.overlay {
        Some(Overlay::Help { scroll }) => draw_help(frame, theme, *scroll),
        Some(Overlay::Export { folder, files }) => draw_export(frame, theme, folder, files.len()),
        None => {}
    }
}

fn draw_query(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let focused = app.focus == Focus::Query && app.overlay.is_none();
    let title = text::shown(&app.view().title());
    let prompt = Span::styled(
        strings::QUERY_PROMPT,
        theme.accent().add_modifier(Modifier::BOLD),
    );
    let title_width = Span::raw(&title).width() as u16 + 1;
    let text_width = area
        .width
        .saturating_sub(prompt.width() as u16 + title_width);
    let text = app.query.text();
    let mut spans = vec![prompt.clone()];
    let mut cursor_x = area.x + prompt.width() as u16;
    if text.is_empty() {
        let hint = if focused {
            strings::QUERY_PLACEHOLDER_FOCUSED
        } else {
            strings::QUERY_PLACEHOLDER
        };
        spans.push(Span::styled(
            truncate(hint, usize::from(text_width)),
            theme.dim(),
        ));
    } else {
        let (shown, cursor) = scrolled(app.query.editor(), usize::from(text_width));
        cursor_x += cursor as u16;
        let style = if focused {
            Style::new().add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        };
        spans.push(Span::styled(shown, style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    let title_area = Rect::new(
        area.right().saturating_sub(title_width),
        area.y,
        title_width,
        1,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(title, theme.dim())).right_aligned(),
        title_area,
    );
    if focused {
        frame.set_cursor_position((cursor_x.min(area.right().saturating_sub(1)), area.y));
    }
}

/// The part of the editor's text that fits `width` cells with the cursor in
/// view, and the cursor's cell offset within it. One pass over the
/// graphemes: a pasted line can be thousands of them, and this runs on
/// every draw.
fn scrolled(editor: &LineEditor, width: usize) -> (String, usize) {
    let line = editor.text();
    let cells: Vec<(usize, usize)> = line
        .grapheme_indices(true)
        .map(|(at, g)| (at, text::grapheme_width(g)))
        .collect();
    let before_cursor = cells.partition_point(|&(at, _)| at < editor.cursor_byte());
    // Back from the cursor while the text before it leaves a cell for it.
    let (mut start, mut cursor) = (before_cursor, 0);
    while start > 0 && cursor + cells[start - 1].1 < width.max(1) {
        start -= 1;
        cursor += cells[start].1;
    }
    let (mut end, mut used) = (start, 0);
    while end < cells.len() && used + cells[end].1 <= width {
        used += cells[end].1;
        end += 1;
    }
    let byte = |i: usize| cells.get(i).map_or(line.len(), |&(at, _)| at);
    (line[byte(start)..byte(end)].to_string(), cursor)
}

/// `text` cut to `width` cells, ending in "…" when cut.
fn truncate(text: &str, width: usize) -> String {
    if Span::raw(text).width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        let candidate = format!("{out}{c}");
        if Span::raw(&candidate).width() + 1 > width {
            break;
        }
        out = candidate;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

fn draw_list(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let view = app.view();
    let rows = usize::from(area.height.saturating_sub(1));
    let rank_width = view.hits.len().max(1).to_string().len().max(2) as u16;
    let columns = Columns::fitting(area.width, rank_width);
    let widths = columns.widths(rank_width);
    let header = Row::new(columns.keep([
        strings::COL_RANK,
        strings::COL_SCORE,
        "",
        strings::COL_NAME,
        strings::COL_DURATION,
        strings::COL_FORMAT,
        strings::COL_MATCHED,
    ]))
    .style(theme.dim().add_modifier(Modifier::BOLD));

    if view.hits.is_empty() {
        let note = if app.busy().is_some() {
            strings::SEARCHING
        } else if matches!(view.kind, ViewKind::Copies { .. }) {
            strings::NO_COPIES_LISTED
        } else {
            strings::NO_HITS
        };
        frame.render_widget(
            Table::new(Vec::<Row>::new(), widths)
                .header(header)
                .column_spacing(1),
            area,
        );
        let below = Rect::new(
            area.x,
            area.y + 1,
            area.width,
            area.height.saturating_sub(1),
        );
        frame.render_widget(
            Paragraph::new(Span::styled(note, theme.dim())).centered(),
            below,
        );
        return;
    }

    let offset = view.offset.min(view.hits.len().saturating_sub(rows));
    let top = view.hits.iter().map(|h| h.score).fold(0.0f32, f32::max);
    let playing = app.audio.playing.as_ref().map(|p| p.id);
    let focused = app.focus == Focus::List;
    // A list of copies is not ranked: no score, no "by"; each says how it
    // relates to the keeper after its name instead.
    let copies = matches!(view.kind, ViewKind::Copies { .. });
    let body: Vec<Row> = view
        .hits
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows)
        .map(|(i, hit)| {
            let mark = match view.mark_of(hit.id) {
                Some(true) => {
                    Span::styled("+", theme.fg(Color::Green).add_modifier(Modifier::BOLD))
                }
                Some(false) => Span::styled("-", theme.fg(Color::Red).add_modifier(Modifier::BOLD)),
                None => Span::raw(" "),
            };
            let play = if playing == Some(hit.id) {
                strings::PLAYING_MARK
            } else {
                " "
            };
            // Grey on the selected row's grey bar would not show.
            let dim = if i == view.selected {
                Style::new()
            } else {
                theme.dim()
            };
            let row = Row::new(
                columns.keep([
                    Cell::from(Span::styled(
                        format!("{:>w$}", i + 1, w = usize::from(rank_width)),
                        dim,
                    )),
                    Cell::from(Span::styled(
                        if copies {
                            String::new()
                        } else {
                            score_bar(hit.score, top)
                        },
                        theme.accent(),
                    )),
                    Cell::from(Line::from(vec![mark, Span::styled(play, theme.accent())])),
                    Cell::from(name_cell(
                        hit,
                        view.notes.get(&hit.id).map(String::as_str),
                        columns.name,
                        theme,
                    )),
                    Cell::from(
                        Line::from(hit.duration_s.map(strings::duration).unwrap_or_default())
                            .right_aligned(),
                    ),
                    Cell::from(format_cell(hit)),
                    Cell::from(Span::styled(
                        if copies { "" } else { matched(hit.matched) },
                        dim,
                    )),
                ]),
            );
            if i == view.selected {
                row.style(theme.selected(focused))
            } else if view.mark_of(hit.id) == Some(false) {
                // Marked unwanted: kept at the bottom, so it can be unmarked.
                row.style(theme.dim())
            } else {
                row
            }
        })
        .collect();
    frame.render_widget(
        Table::new(body, widths).header(header).column_spacing(1),
        area,
    );
}

/// Which of the list's columns fit a list `width` cells wide, and how wide
/// the name is: the name keeps at least [`Columns::NAME_MIN`] cells, the
/// others go first (format, what matched, the score bar, the length).
#[derive(Debug, Clone, Copy)]
struct Columns {
    /// Shown: rank, score, marks, name, length, format, matched.
    shown: [bool; 7],
    /// The name column's width.
    name: usize,
}

impl Columns {
    const NAME_MIN: usize = 16;
    /// The fixed columns' widths, rank's aside (rank, score, marks, _,
    /// length, format, matched).
    const FIXED: [u16; 7] = [0, BAR_WIDTH as u16, 2, 0, 7, 9, 6];
    /// The order columns are dropped in.
    const DROP: [usize; 4] = [5, 6, 1, 4];

    fn fitting(width: u16, rank_width: u16) -> Columns {
        let mut shown = [true; 7];
        let name = |shown: &[bool; 7]| {
            let fixed: u16 = (0..7)
                .filter(|&c| shown[c] && c != 3)
                .map(|c| if c == 0 { rank_width } else { Self::FIXED[c] } + 1)
                .sum();
            usize::from(width.saturating_sub(fixed))
        };
        for column in Self::DROP {
            if name(&shown) >= Self::NAME_MIN {
                break;
            }
            shown[column] = false;
        }
        Columns {
            name: name(&shown),
            shown,
        }
    }

    fn widths(&self, rank_width: u16) -> Vec<Constraint> {
        let all = (0..7).map(|c| match c {
            0 => Constraint::Length(rank_width),
            3 => Constraint::Fill(1),
            c => Constraint::Length(Self::FIXED[c]),
        });
        self.keep(all)
    }

    /// The shown columns of a row of all seven.
    fn keep<T>(&self, cells: impl IntoIterator<Item = T>) -> Vec<T> {
        cells
            .into_iter()
            .zip(self.shown)
            .filter_map(|(cell, shown)| shown.then_some(cell))
            .collect()
    }
}

/// The hit's file name, escaped and cut in the middle to `width` cells,
/// where its matching moment starts when it is a moment inside a long file
/// (playback starts there too), and the view's `note` on it (a copy's
/// relation to its keeper), in at most half the width.
fn name_cell(hit: &Hit, note: Option<&str>, width: usize, theme: Theme) -> Line<'static> {
    let at = hit
        .offset_s
        .map(|at| format!(" @{}", strings::duration(at)))
        .unwrap_or_default();
    let note = note
        .map(|n| {
            format!(
                "  {}",
                text::fit_middle(&text::shown(n), (width / 2).saturating_sub(2))
            )
        })
        .unwrap_or_default();
    let room = width.saturating_sub(text::width(&at) + text::width(&note));
    let mut spans = vec![Span::raw(text::fit_middle(
        &text::shown(&file_name(hit)),
        room,
    ))];
    if !at.is_empty() {
        spans.push(Span::styled(at, theme.accent()));
    }
    if !note.is_empty() {
        spans.push(Span::styled(note, theme.accent()));
    }
    Line::from(spans)
}

/// A bar of `score` relative to `top`, in eighths of a cell.
fn score_bar(score: f32, top: f32) -> String {
    if top.is_nan() || top <= 0.0 || !score.is_finite() {
        return String::new();
    }
    let eighths = ((score / top).clamp(0.0, 1.0) * (BAR_WIDTH * 8) as f32).round() as usize;
    let mut bar = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        bar.push(EIGHTHS[eighths % 8 - 1]);
    }
    bar
}

fn format_cell(hit: &Hit) -> String {
    match (hit.channels, hit.sample_rate) {
        (Some(c), Some(r)) => format!("{c}ch {}", strings::rate(r)),
        (Some(c), None) => format!("{c}ch"),
        (None, Some(r)) => strings::rate(r),
        (None, None) => String::new(),
    }
}

fn matched(m: Matched) -> &'static str {
    match m {
        Matched::Sound => strings::MATCHED_SOUND,
        Matched::Words => strings::MATCHED_WORDS,
        Matched::Both => strings::MATCHED_BOTH,
        Matched::Filter => strings::MATCHED_FILTER,
    }
}

fn draw_detail(frame: &mut Frame, app: &App, theme: Theme, areas: &Areas) {
    let title = app
        .selected_hit()
        .map(|h| {
            let room = usize::from(areas.detail.width.saturating_sub(4));
            text::fit_middle(&text::shown(&file_name(h)), room)
        })
        .unwrap_or_default();
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.dim());
    if !title.is_empty() {
        block = block.title(Span::styled(
            format!(" {title} "),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(block, areas.detail);
    let text = areas.detail_text;
    let lines: Vec<Line> = match &app.detail.shown {
        None => vec![Line::styled(strings::DETAIL_NONE, theme.dim())],
        Some(DetailState::Loading(_)) => match app.selected_hit() {
            Some(hit) => vec![
                Line::styled(text::shown_path(&hit.path), theme.dim()),
                Line::styled(strings::DETAIL_LOADING, theme.dim()),
            ],
            None => vec![Line::styled(strings::DETAIL_LOADING, theme.dim())],
        },
        Some(DetailState::Failed(_, cause)) => {
            vec![Line::styled(strings::detail_failed(cause), theme.error())]
        }
        Some(DetailState::Ready(detail)) => detail_lines(
            detail,
            (&app.categories, app.settings().min_confidence),
            theme,
            text,
        ),
    };
    // Wrapped, so a long path shows its ending (the name) too.
    frame.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }),
        text,
    );

    let wave = areas.waveform;
    match &app.detail.shown {
        Some(DetailState::Ready(detail)) if detail.peaks.is_empty() => {
            frame.render_widget(
                Paragraph::new(Span::styled(strings::NO_WAVEFORM, theme.dim())),
                wave,
            );
        }
        Some(DetailState::Ready(detail)) => {
            let progress = app
                .audio
                .playing
                .as_ref()
                .filter(|p| p.id == detail.id)
                .and_then(|p| {
                    let duration = p.duration_s.or(detail.duration_s)?;
                    (duration > 0.0).then(|| p.position_s / duration)
                });
            frame.render_widget(
                Paragraph::new(waveform_lines(&detail.peaks, wave, progress, theme)),
                wave,
            );
        }
        _ => {}
    }
}

fn detail_lines(
    detail: &FileDetail,
    (categories, min_confidence): (&Categories, f32),
    theme: Theme,
    area: Rect,
) -> Vec<Line<'static>> {
    let path = text::shown_path(&detail.path);
    let width = usize::from(area.width.max(1));
    // The extra rows of lines that wrap (the path, the evidence) leave
    // less room for tags.
    let extra_rows = |line: &str| text::width(line).max(1).div_ceil(width) - 1;
    let height = usize::from(area.height).saturating_sub(extra_rows(&path));
    let mut lines = vec![Line::styled(path, theme.dim())];
    let mut format: Vec<String> = Vec::new();
    format.extend(detail.format.clone());
    format.extend(detail.codec.clone());
    format.extend(detail.bits_per_sample.map(|b| format!("{b}-bit")));
    format.extend(
        detail
            .sample_rate
            .map(|r| format!("{} Hz", strings::thousands(u64::from(r)))),
    );
    format.extend(detail.channels.map(|c| format!("{c} ch")));
    format.extend(detail.duration_s.map(strings::duration));
    if !format.is_empty() {
        lines.push(labelled(strings::LABEL_FORMAT, format.join(" · "), theme));
    }
    let ucs: Vec<String> = [
        detail.ucs_cat_id.clone(),
        match (&detail.ucs_category, &detail.ucs_subcategory) {
            (Some(c), Some(s)) => Some(format!("{c} / {s}")),
            (Some(c), None) => Some(c.clone()),
            _ => None,
        },
        detail.ucs_fx_name.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !ucs.is_empty() {
        lines.push(labelled(strings::LABEL_UCS, ucs.join(" · "), theme));
    }
    // The suggestion's line comes before the tags; its evidence after
    // them, where there is room (the tags say more about the sound).
    let mut evidence = None;
    match categories.of(detail.id) {
        Some(Suggested::Ready(s)) => {
            let label = Span::styled(format!("{}  ", strings::LABEL_SUGGESTED), theme.accent());
            let shown = match s.suggested(min_confidence) {
                Some(c) => {
                    lines.push(Line::from(vec![
                        label,
                        Span::styled(
                            text::shown(&strings::suggested(
                                &c.cat_id,
                                &c.category,
                                &c.subcategory,
                                c.confidence,
                            )),
                            Style::new().add_modifier(Modifier::BOLD),
                        ),
                        Span::styled(format!("  {}", strings::ACCEPT_HINT), theme.dim()),
                    ]));
                    Some(c)
                }
                None => {
                    let best = s.best();
                    if let Some(b) = best {
                        lines.push(Line::from(vec![
                            label,
                            Span::styled(
                                text::shown(&strings::best_guess(
                                    &b.cat_id,
                                    b.confidence,
                                    min_confidence,
                                )),
                                theme.dim(),
                            ),
                        ]));
                    }
                    best
                }
            };
            // Names of the user's files: escaped.
            evidence = shown.map(|c| text::shown(&s.explain(c)));
        }
        Some(Suggested::Failed(cause)) => lines.push(Line::from(vec![
            Span::styled(format!("{}  ", strings::LABEL_SUGGESTED), theme.accent()),
            Span::styled(text::shown(&strings::suggestion_failed(cause)), theme.dim()),
        ])),
        Some(Suggested::Loading | Suggested::None) | None => {}
    }
    // Descriptions and titles first: they say most about a sound.
    let rank = |key: &str| {
        let name = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
        if name.contains("description") || name.contains("comment") || name == "icmt" {
            0
        } else if name.contains("title") || name.contains("name") || name == "inam" {
            1
        } else {
            2
        }
    };
    let mut tags: Vec<&(String, String)> = detail
        .tags
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    tags.sort_by_key(|(k, _)| rank(k));
    let room = height.saturating_sub(lines.len());
    if tags.is_empty() {
        lines.push(Line::styled(strings::NO_TAGS, theme.dim()));
    } else if tags.len() <= room {
        lines.extend(tags.iter().map(|(k, v)| labelled(k, v.clone(), theme)));
    } else if room > 0 {
        lines.extend(
            tags.iter()
                .take(room - 1)
                .map(|(k, v)| labelled(k, v.clone(), theme)),
        );
        lines.push(Line::styled(
            strings::more_tags(tags.len() - (room - 1)),
            theme.dim(),
        ));
    }
    if let Some(evidence) = evidence {
        if lines.len() + extra_rows(&evidence) < height {
            lines.push(Line::styled(evidence, theme.dim()));
        }
    }
    lines
}

/// A `label  value` line, both escaped (tags come from the files).
fn labelled(label: &str, value: String, theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{}  ", text::shown(label)), theme.accent()),
        Span::raw(text::shown(&value)),
    ])
}

fn waveform_lines(
    peaks: &[(i8, i8)],
    area: Rect,
    progress: Option<f64>,
    theme: Theme,
) -> Vec<Line<'static>> {
    let width = usize::from(area.width);
    let cursor = progress.map(|p| waveform::cursor_column(p, width));
    waveform::braille(peaks, width, usize::from(area.height))
        .into_iter()
        .map(|row| {
            let chars: Vec<char> = row.chars().collect();
            let Some(cursor) = cursor else {
                return Line::styled(row, theme.accent());
            };
            // Played, the cursor cell, still to come.
            let played: String = chars[..cursor].iter().collect();
            let at: String = chars[cursor..=cursor].iter().collect();
            let rest: String = chars[cursor + 1..].iter().collect();
            Line::from(vec![
                Span::styled(played, theme.accent()),
                Span::styled(at, Style::new().add_modifier(Modifier::REVERSED)),
                Span::styled(rest, theme.dim()),
            ])
        })
        .collect()
}

/// Draws the status line; a message longer than its room (or of several
/// lines, such as an error and its `hint:`) wraps onto the key line below,
/// and then `true` is returned: the key line is taken.
fn draw_status(frame: &mut Frame, app: &App, theme: Theme, area: Rect, below: Rect) -> bool {
    // Right: playback. Left: a message, or the index; then what runs.
    let mut right: Vec<Span> = Vec::new();
    match &app.audio.device {
        Device::Missing(_) => right.push(Span::styled(strings::NO_AUDIO, theme.dim())),
        Device::Unknown | Device::Ready => {
            if let Some(p) = &app.audio.playing {
                let clock = format!(
                    "{} {}",
                    strings::PLAYING_MARK,
                    strings::play_clock(p.position_s, p.duration_s)
                );
                right.push(Span::styled(clock, theme.accent()));
                right.push(Span::raw(" "));
            }
            right.push(Span::styled(
                strings::volume_short(app.audio.volume),
                theme.dim(),
            ));
            if app.audio.looping {
                right.push(Span::styled(
                    format!(" {}", strings::LOOP_ON),
                    theme.accent(),
                ));
            }
            if app.audio.audition {
                right.push(Span::styled(
                    format!(" {}", strings::AUDITION_ON),
                    theme.accent(),
                ));
            }
        }
    }
    let right = Line::from(right);
    let right_width = (right.width() as u16 + 1).min(area.width / 2);

    let mut left: Vec<Span> = Vec::new();
    let mut more_lines: Vec<Line> = Vec::new();
    if let Some(busy) = app.busy() {
        left.push(Span::styled(
            format!("{} {busy}… ", SPINNER[app.status.spinner % SPINNER.len()]),
            theme.accent(),
        ));
    }
    match &app.status.message {
        Some(m) => {
            let style = if m.error { theme.error() } else { Style::new() };
            // Line by line: a line break is the message's, not the file
            // name's it quotes (those are escaped).
            let mut lines = m.text.lines().map(text::shown);
            left.push(Span::styled(lines.next().unwrap_or_default(), style));
            more_lines.extend(lines.map(|l| Line::styled(l, style)));
        }
        None => match &app.status.summary {
            Some(Ok(s)) => {
                left.push(Span::raw(strings::summary(s.files, s.embedded, s.failed)));
                if let Some(model) = &s.model {
                    left.push(Span::styled(format!(" · {model}"), theme.dim()));
                }
            }
            Some(Err(cause)) => left.push(Span::styled(cause.clone(), theme.error())),
            None => left.push(Span::styled(strings::SUMMARY_UNKNOWN, theme.dim())),
        },
    }
    let width = area.width - right_width;
    let mut text = vec![Line::from(left)];
    text.extend(more_lines);
    let rows: usize = text
        .iter()
        .map(|l| l.width().max(1).div_ceil(usize::from(width.max(1))))
        .sum();
    let taken = rows > 1 && below.y == area.bottom();
    let height = if taken { 2 } else { 1 };
    let left_area = Rect::new(area.x, area.y, width, height);
    let right_area = Rect::new(area.right() - right_width, area.y, right_width, 1);
    frame.render_widget(Clear, Rect::new(area.x, area.y, area.width, height));
    frame.render_widget(
        Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: false }),
        left_area,
    );
    frame.render_widget(Paragraph::new(right).right_aligned(), right_area);
    taken
}

fn draw_key_line(frame: &mut Frame, app: &App, theme: Theme, area: Rect) {
    let context = app.context();
    // Hints in table order while they fit; the last two (keys, quit) always.
    let hints = keymap::hints(context);
    let width_of =
        |(keys, word): &(&str, &str)| Span::raw(*keys).width() + 1 + Span::raw(*word).width() + 2;
    let tail = hints.len().saturating_sub(2);
    let mut room = usize::from(area.width)
        - hints[tail..]
            .iter()
            .map(width_of)
            .sum::<usize>()
            .min(usize::from(area.width));
    let mut shown = Vec::new();
    for (i, hint) in hints.iter().enumerate() {
        if i >= tail || width_of(hint) <= room {
            room = room.saturating_sub(if i >= tail { 0 } else { width_of(hint) });
            shown.push(*hint);
        }
    }
    let mut spans = Vec::new();
    for (keys, word) in shown {
        if !spans.is_empty() {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(keys, theme.key()));
        spans.push(Span::styled(format!(" {word}"), theme.dim()));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_help(frame: &mut Frame, theme: Theme, scroll: usize) {
    let area = frame.area();
    let box_area = area.centered(Constraint::Percentage(90), Constraint::Percentage(90));
    frame.render_widget(Clear, box_area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.accent())
        .title(Span::styled(
            strings::HELP_TITLE,
            Style::new().add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(box_area);
    frame.render_widget(block, box_area);
    let all = keymap::help_lines();
    let key_width = all
        .iter()
        .filter(|(h, _, _)| !h)
        .map(|(_, k, _)| Span::raw(k).width())
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = all
        .into_iter()
        .skip(scroll)
        .map(|(heading, keys, help)| {
            if heading {
                Line::styled(keys, Style::new().add_modifier(Modifier::BOLD))
            } else {
                let pad = key_width.saturating_sub(Span::raw(&keys).width());
                Line::from(vec![
                    Span::styled(format!("  {keys}{}", " ".repeat(pad)), theme.key()),
                    Span::raw(format!("  {help}")),
                ])
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_export(frame: &mut Frame, theme: Theme, folder: &LineEditor, files: usize) {
    let area = frame.area();
    let box_area = area.centered(Constraint::Percentage(80), Constraint::Length(3));
    frame.render_widget(Clear, box_area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.accent())
        .title(Span::styled(
            strings::export_prompt(files),
            Style::new().add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(box_area);
    frame.render_widget(block, box_area);
    let (shown, cursor) = scrolled(folder, usize::from(inner.width.saturating_sub(1)));
    frame.render_widget(Paragraph::new(shown), inner);
    frame.set_cursor_position((inner.x + cursor as u16, inner.y));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bars_are_relative_to_the_top_hit() {
        assert_eq!(score_bar(1.0, 1.0), "█████");
        assert_eq!(score_bar(0.5, 1.0), "██▌");
        assert_eq!(score_bar(0.0, 1.0), "");
        assert_eq!(score_bar(0.3, 0.0), "");
        assert_eq!(score_bar(f32::NAN, 1.0), "");
    }

    #[test]
    fn long_queries_scroll_to_keep_the_cursor_in_view() {
        let editor = LineEditor::new("distant thunder rumble over hills");
        let (shown, cursor) = scrolled(&editor, 10);
        assert!(
            "distant thunder rumble over hills".ends_with(&shown),
            "{shown}"
        );
        assert!(cursor <= 10);
        let mut editor = editor;
        editor.apply(crate::keymap::Edit::Home);
        let (shown, cursor) = scrolled(&editor, 10);
        assert_eq!((shown.as_str(), cursor), ("distant th", 0));
        for _ in 0..9 {
            editor.apply(crate::keymap::Edit::Right);
        }
        let (shown, cursor) = scrolled(&editor, 10);
        assert_eq!((shown.as_str(), cursor), ("distant th", 9));
        editor.apply(crate::keymap::Edit::Right);
        let (shown, cursor) = scrolled(&editor, 10);
        assert_eq!((shown.as_str(), cursor), ("istant thu", 9));
    }

    #[test]
    fn wide_characters_scroll_by_their_cells() {
        // Two cells each: the cursor's cell stays free at the end.
        let editor = LineEditor::new("雷雨雷雨雷雨");
        assert_eq!(scrolled(&editor, 5), ("雷雨".to_string(), 4));
        let mut editor = LineEditor::new("é雷");
        editor.apply(crate::keymap::Edit::Home);
        assert_eq!(scrolled(&editor, 2), ("é".to_string(), 0));
    }
}
