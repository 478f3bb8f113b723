//! What the run charts share: colours, fonts, text measurement, legends
//! drawn in their own column, and the pixel geometry plotters uses, so
//! labels outside a plot can line up with the data inside it.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::FAMILY;

/// The canary is orange and the primary blue in every panel.
pub(super) const CANARY: RGBColor = RGBColor(230, 115, 0);
pub(super) const PRIMARY: RGBColor = RGBColor(31, 119, 180);
pub(super) const FAILURE: RGBColor = RGBColor(214, 39, 40);
pub(super) const SUCCESS: RGBColor = RGBColor(44, 160, 44);
pub(super) const WAITING: RGBColor = RGBColor(176, 122, 0);
pub(super) const NEUTRAL: RGBColor = RGBColor(70, 70, 70);
pub(super) const SCENARIO: RGBColor = RGBColor(0, 128, 128);
pub(super) const THRESHOLD: RGBColor = RGBColor(60, 60, 60);
pub(super) const MIRRORED: RGBColor = RGBColor(148, 103, 189);
pub(super) const TEST: RGBColor = RGBColor(127, 127, 127);
pub(super) const UNROUTED: RGBColor = RGBColor(140, 86, 75);
pub(super) const PRIMARY_FAILURE: RGBColor = RGBColor(240, 140, 170);
pub(super) const TEXT: RGBColor = RGBColor(31, 35, 40);
pub(super) const MUTED: RGBColor = RGBColor(100, 106, 115);
pub(super) const GRID: RGBColor = RGBColor(225, 228, 232);

/// Text sizes in pixels.
pub(super) const TITLE_SIZE: u32 = 22;
pub(super) const HEADLINE_SIZE: u32 = 16;
pub(super) const LABEL_SIZE: u32 = 13;
pub(super) const LEGEND_SIZE: u32 = 13;

/// Plotters errors as text; the caller adds the file's path.
pub(super) fn fail<E: std::fmt::Display>(error: E) -> String {
    error.to_string()
}

pub(super) fn text_style(size: u32, colour: RGBColor) -> TextStyle<'static> {
    TextStyle {
        font: (FAMILY, f64::from(size)).into_font(),
        color: colour.to_backend_color(),
        pos: Pos::default(),
    }
}

/// The width of `text` in pixels at `size`, as plotters will lay it out.
pub(super) fn text_width(text: &str, size: u32) -> Result<i32, String> {
    let (width, _) = (FAMILY, f64::from(size))
        .into_font()
        .box_size(text)
        .map_err(fail)?;
    Ok(i32::try_from(width).unwrap_or(i32::MAX))
}

/// `text` cut to `width` pixels, with an ellipsis when it had to be cut.
pub(super) fn fit(text: &str, size: u32, width: i32) -> Result<String, String> {
    if text_width(text, size)? <= width {
        return Ok(text.to_owned());
    }
    let mut characters: Vec<char> = text.chars().collect();
    while !characters.is_empty() {
        characters.pop();
        let candidate: String = characters.iter().collect::<String>().trim_end().to_owned() + "…";
        if text_width(&candidate, size)? <= width {
            return Ok(candidate);
        }
    }
    Ok(String::new())
}

/// `text` broken into lines at spaces so each fits `width` pixels.
pub(super) fn wrap(text: &str, size: u32, width: i32) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if line.is_empty() || text_width(&candidate, size)? <= width {
            line = candidate;
        } else {
            lines.push(std::mem::replace(&mut line, word.to_owned()));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

/// Draws `text` with its top-left corner at `(x, y)` of `area`.
pub(super) fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    (x, y): (i32, i32),
    style: &TextStyle<'_>,
) -> Result<(), String> {
    area.draw(&Text::new(
        text.to_owned(),
        (x, y),
        style.pos(Pos::new(HPos::Left, VPos::Top)),
    ))
    .map_err(fail)
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug)]
pub(super) enum Swatch {
    Line(RGBColor),
    /// A line with a dot: a series drawn as points and lines.
    Points(RGBColor),
    Dashed(RGBColor),
    Band(RGBColor),
    Dot(RGBColor),
    Ring(RGBColor),
    Triangle(RGBColor),
    Cross(RGBColor),
}

/// The height of one legend entry.
pub(super) const LEGEND_ROW: i32 = 17;

/// Draws a legend in its own column: a heading, an optional grey
/// subheading, then one entry per row. Legends live beside the plots, never
/// on them, so they cannot hide data.
pub(super) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    subheading: Option<&str>,
    entries: &[(Swatch, String)],
) -> Result<(), String> {
    let width = i32::try_from(area.dim_in_pixel().0).unwrap_or(i32::MAX);
    let left = 8;
    let mut y = 8;
    let heading = fit(heading, LABEL_SIZE + 1, width - left - 4)?;
    draw_text(area, &heading, (left, y), &text_style(LABEL_SIZE + 1, TEXT))?;
    y += LEGEND_ROW + 3;
    if let Some(subheading) = subheading {
        let subheading = fit(subheading, LEGEND_SIZE - 1, width - left - 4)?;
        draw_text(
            area,
            &subheading,
            (left, y - 2),
            &text_style(LEGEND_SIZE - 1, MUTED),
        )?;
        y += LEGEND_ROW;
    }
    for (swatch, label) in entries {
        let middle = y + LEGEND_ROW / 2 - 1;
        let (x0, x1) = (left, left + 22);
        match *swatch {
            Swatch::Line(colour) => area.draw(&PathElement::new(
                vec![(x0, middle), (x1, middle)],
                colour.stroke_width(3),
            )),
            Swatch::Points(colour) => area
                .draw(&PathElement::new(
                    vec![(x0, middle), (x1, middle)],
                    colour.stroke_width(2),
                ))
                .and_then(|()| area.draw(&Circle::new((x0 + 11, middle), 3, colour.filled()))),
            Swatch::Dashed(colour) => area
                .draw(&PathElement::new(
                    vec![(x0, middle), (x0 + 8, middle)],
                    colour.stroke_width(2),
                ))
                .and_then(|()| {
                    area.draw(&PathElement::new(
                        vec![(x0 + 13, middle), (x1, middle)],
                        colour.stroke_width(2),
                    ))
                }),
            // A grey edge, so pale bands still show on white.
            Swatch::Band(colour) => area
                .draw(&Rectangle::new(
                    [(x0, middle - 6), (x1, middle + 6)],
                    colour.filled(),
                ))
                .and_then(|()| {
                    area.draw(&Rectangle::new(
                        [(x0, middle - 6), (x1, middle + 6)],
                        GRID.stroke_width(1),
                    ))
                }),
            Swatch::Dot(colour) => area.draw(&Circle::new((x0 + 11, middle), 5, colour.filled())),
            Swatch::Ring(colour) => {
                area.draw(&Circle::new((x0 + 11, middle), 6, colour.stroke_width(2)))
            }
            Swatch::Triangle(colour) => area.draw(&TriangleMarker::new(
                (x0 + 11, middle),
                5,
                colour.stroke_width(2),
            )),
            Swatch::Cross(colour) => {
                area.draw(&Cross::new((x0 + 11, middle), 5, colour.stroke_width(2)))
            }
        }
        .map_err(fail)?;
        let label = fit(label, LEGEND_SIZE, width - x1 - 12)?;
        draw_text(area, &label, (x1 + 8, y), &text_style(LEGEND_SIZE, TEXT))?;
        y += LEGEND_ROW;
    }
    Ok(())
}

/// The horizontal pixel of `value` on an axis from `start` to `end` drawn
/// between pixels `left` and `right`: the same arithmetic as plotters'
/// `f64` coordinates, so text placed outside a chart lines up with it.
pub(super) fn pixel(value: f64, (start, end): (f64, f64), (left, right): (i32, i32)) -> i32 {
    let fraction = (value - start) / (end - start);
    // Bounded by the chart's width in pixels, so the cast cannot overflow.
    left + (f64::from(right - left) * fraction + 1e-3).floor() as i32
}

/// Axis ticks at 1, 2 or 5 times a power of ten, about `count` of them
/// across `span`: the width of one histogram bin or one label step.
pub(super) fn nice_step(span: f64, count: f64) -> f64 {
    if !(span > 0.0 && span.is_finite()) {
        return 1.0;
    }
    let raw = span / count.max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    for multiple in [1.0, 2.0, 5.0, 10.0] {
        if multiple * magnitude >= raw {
            return multiple * magnitude;
        }
    }
    10.0 * magnitude
}
