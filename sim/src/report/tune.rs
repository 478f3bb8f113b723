//! The charts of `weir tune`'s threshold-tuning report: every analysis
//! config of a sweep as a point on two trade-offs, and heatmaps of one
//! metric over two swept parameters.
//!
//! The scatter chart:
//!
//! ```text
//!  ┌─────────────────────────────────────────────────────────────────────────────┐
//!  │ title                                                                       │
//!  │ ● Pareto front  • other configs  ◎ recommended  ● never promoted  ○ no blast │
//!  ├──────────────────────────────────────┬──────────────────────────────────────┤
//!  │ False rollbacks vs blast radius      │ Time to promote vs missed regressions│
//!  │ median time to promote 2 min ▒▓█ 14  │ colours as on the left; 1 not shown  │
//!  │ req                                  │  %                                   │
//!  │  40 ┤ •   ●#4                        │ 20 ┤ ●#4                             │
//!  │  20 ┤   •    ◎ recommended #9        │ 10 ┤      ◎ recommended #9           │
//!  │   0 ┼──○──────────●#2──              │  0 ┼──────────────●#2──              │
//!  │       false rollbacks (%)            │     median minutes to promote        │
//!  └──────────────────────────────────────┴──────────────────────────────────────┘
//! ```
//!
//! Both panels draw every config the same way, so one config can be found
//! in both: its colour is its median time to promote (light green when
//! fast, dark purple when slow, grey when no healthy release was
//! promoted); configs on the Pareto front are larger, outlined and
//! labelled; the others are small and see-through, so a crowd of them
//! cannot hide the front; the recommended config is ringed. Fronts are
//! drawn after the rest, the recommended config last, so they stay on top.
//!
//! A config without a blast radius (a sweep without bad-release scenarios)
//! is drawn hollow at zero on the left, rather than left out: its false
//! rollbacks are still worth seeing. A config that never promoted a healthy
//! release has no place on the right panel's time axis, so it is left out
//! there, and the panel says how many were.
//!
//! The heatmap:
//!
//! ```text
//!  ┌─────────────────────────────────────────┐
//!  │ title                                   │
//!  │ caption                                 │
//!  │ 0.5% ▓▓▒▒░░ 12%   – no config           │
//!  │   y parameter                           │
//!  │        high │ 3.1% │ 4.0% │  –   │      │
//!  │         low │ 0.5% │ 1.2% │ 12%  │      │
//!  │               10s    30s    60s         │
//!  │                 x parameter             │
//!  └─────────────────────────────────────────┘
//! ```
//!
//! The first y value is the bottom row, as on a chart's axis. Cells run
//! from green (the lowest value present) through yellow to red (the
//! highest), and print their value, so the colours only guide the eye.

use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ReportError;
use super::chart::{
    GRID, LABEL_SIZE, MUTED, TEXT, TITLE_SIZE, draw_text, fail, fit, text_style, text_width,
};
use super::font::ensure_font;
use super::format;
use super::raster::GlyphBackend;

/// One analysis config of a sweep, as a point on the tuning charts.
#[derive(Clone, Debug, PartialEq)]
pub struct TunePoint {
    /// Short label drawn next to front points, e.g. "#17".
    pub label: String,
    /// Share of healthy-release runs not promoted (0..=1).
    pub false_rollback_rate: f64,
    /// Share of bad-release runs not rolled back (0..=1).
    pub miss_rate: f64,
    /// p95 of failed user requests served by a bad canary; None without bad scenarios.
    pub blast_radius_p95: Option<f64>,
    /// Median seconds from release to promotion of healthy releases; None if none promoted.
    pub time_to_promote_median: Option<f64>,
    /// On the Pareto front.
    pub pareto: bool,
    /// The recommended config (at most one).
    pub recommended: bool,
}

/// How heatmap cell values are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellFormat {
    /// A share as a percentage: `0.025` → `2.5%`.
    Percent,
    /// A whole number of things, rounded: `1234.4` → `1,234`.
    Count,
    /// Seconds as a duration: `390` → `6m30s`.
    Seconds,
}

/// A metric over two swept parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Heatmap {
    /// The metric, e.g. "False rollbacks".
    pub title: String,
    /// One line under the title, e.g. "mean over the other parameters; lower is better".
    pub caption: String,
    /// The parameter across, named under the grid.
    pub x_parameter: String,
    /// Its values, left to right, as the columns' labels.
    pub x_values: Vec<String>,
    /// The parameter up, named above the rows' labels.
    pub y_parameter: String,
    /// Its values, bottom to top, as the rows' labels.
    pub y_values: Vec<String>,
    /// `cells[y][x]`; None where no config has that pair of values.
    pub cells: Vec<Vec<Option<f64>>>,
    /// How the cells print their values.
    pub format: CellFormat,
}

const SCATTER_WIDTH: u32 = 1200;
const SCATTER_HEIGHT: u32 = 560;
/// The title and the marker key above both panels.
const TITLE_HEIGHT: i32 = 76;
/// The room above each plot for its heading and its colour key or note.
const HEADING_HEIGHT: u32 = 52;

/// Marker radii in pixels.
const FRONT_RADIUS: i32 = 6;
const OTHER_RADIUS: i32 = 4;
const RECOMMENDED_RADIUS: i32 = 11;
/// How opaque configs off the front are.
const OTHER_OPACITY: f64 = 0.55;

/// Median time to promote, fast to slow: the green-to-purple end of
/// viridis, which reads in order in grey too. Its yellow end is left out:
/// small yellow points vanish on white.
const FAST_TO_SLOW: [RGBColor; 4] = [
    RGBColor(122, 209, 81),
    RGBColor(34, 168, 132),
    RGBColor(49, 104, 142),
    RGBColor(68, 1, 84),
];
/// Configs that never promoted a healthy release have no time to colour.
const NO_TIME: RGBColor = RGBColor(170, 170, 170);

/// Heatmap cells, lowest to highest: ColorBrewer's red-yellow-green,
/// reversed, because every tuned metric is better lower.
const LOW_TO_HIGH: [RGBColor; 5] = [
    RGBColor(26, 150, 65),
    RGBColor(166, 217, 106),
    RGBColor(255, 255, 191),
    RGBColor(253, 174, 97),
    RGBColor(215, 25, 28),
];
const EMPTY_CELL: RGBColor = RGBColor(236, 238, 241);

const CELL_WIDTH: i32 = 90;
const CELL_HEIGHT: i32 = 44;
const HEATMAP_MIN_WIDTH: i32 = 480;
const HEATMAP_MARGIN: i32 = 14;
/// The top of the grid: title, caption, colour key and the y parameter.
const GRID_TOP: i32 = 114;
/// Below the grid: the x values and the x parameter.
const GRID_FOOTER: i32 = 64;
/// The y values' column is at most this wide; longer values are cut.
const MAX_Y_COLUMN: i32 = 220;

/// The scatter chart as an SVG document.
pub fn scatter_svg(title: &str, points: &[TunePoint]) -> Result<String, String> {
    // Plotters measures text with the registered font even for SVG.
    ensure_font()?;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (SCATTER_WIDTH, SCATTER_HEIGHT)).into_drawing_area();
        draw_scatter(&root, title, points)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

/// Writes the scatter chart as a PNG to `path`.
pub fn write_scatter_png(
    title: &str,
    points: &[TunePoint],
    path: &Path,
) -> Result<(), ReportError> {
    let chart_error = |message: String| ReportError::Chart {
        path: path.to_owned(),
        message,
    };
    ensure_font().map_err(chart_error)?;
    let root =
        GlyphBackend(BitMapBackend::new(path, (SCATTER_WIDTH, SCATTER_HEIGHT))).into_drawing_area();
    draw_scatter(&root, title, points).map_err(chart_error)?;
    root.present()
        .map_err(|error| chart_error(error.to_string()))
}

/// The heatmap as an SVG document.
pub fn heatmap_svg(heatmap: &Heatmap) -> Result<String, String> {
    ensure_font()?;
    let layout = HeatmapLayout::of(heatmap)?;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (layout.width, layout.height)).into_drawing_area();
        draw_heatmap(&root, heatmap, &layout)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

/// Writes the heatmap as a PNG to `path`.
pub fn write_heatmap_png(heatmap: &Heatmap, path: &Path) -> Result<(), ReportError> {
    let chart_error = |message: String| ReportError::Chart {
        path: path.to_owned(),
        message,
    };
    ensure_font().map_err(chart_error)?;
    let layout = HeatmapLayout::of(heatmap).map_err(chart_error)?;
    let root =
        GlyphBackend(BitMapBackend::new(path, (layout.width, layout.height))).into_drawing_area();
    draw_heatmap(&root, heatmap, &layout).map_err(chart_error)?;
    root.present()
        .map_err(|error| chart_error(error.to_string()))
}

/// The colour at `fraction` (0 to 1) along `stops`, interpolated in RGB
/// between the two nearest.
fn ramp(stops: &[RGBColor], fraction: f64) -> RGBColor {
    let Some(last) = stops.len().checked_sub(1) else {
        return NO_TIME;
    };
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let position = fraction * last as f64;
    // `position` is between 0 and the last index, so the cast is exact.
    let index = (position.floor() as usize).min(last.saturating_sub(1));
    let from = stops.get(index).copied().unwrap_or(NO_TIME);
    let to = stops.get(index + 1).copied().unwrap_or(from);
    let within = position - index as f64;
    // Between two bytes, so the cast cannot overflow.
    let channel = |from: u8, to: u8| {
        (f64::from(from) + (f64::from(to) - f64::from(from)) * within).round() as u8
    };
    RGBColor(
        channel(from.0, to.0),
        channel(from.1, to.1),
        channel(from.2, to.2),
    )
}

/// White or dark text, whichever reads better on `background`.
fn text_colour_on(background: RGBColor) -> RGBColor {
    let RGBColor(red, green, blue) = background;
    let luminance = 0.2126 * f64::from(red) + 0.7152 * f64::from(green) + 0.0722 * f64::from(blue);
    if luminance < 140.0 { WHITE } else { TEXT }
}

/// The lowest and highest of some values, mapping them onto 0 to 1.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Scale {
    low: f64,
    high: f64,
}

impl Scale {
    /// The range of the finite values; `None` when there are none.
    fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        values.into_iter().filter(|value| value.is_finite()).fold(
            None,
            |scale, value| match scale {
                None => Some(Self {
                    low: value,
                    high: value,
                }),
                Some(Self { low, high }) => Some(Self {
                    low: low.min(value),
                    high: high.max(value),
                }),
            },
        )
    }

    /// Where `value` lies between low and high; the middle when they are
    /// equal, so a scale of one value does not divide by zero.
    fn fraction(self, value: f64) -> f64 {
        if self.high > self.low {
            ((value - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
        } else {
            0.5
        }
    }

    fn is_single(self) -> bool {
        self.high <= self.low
    }
}

/// What an axis of a scatter panel shows, which sets its range and labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Axis {
    /// A share from 0, labelled as a percentage.
    Percent,
    /// Failed requests from 0.
    Requests,
    /// Minutes, over the range of the values: times cluster far from 0.
    Minutes,
}

impl Axis {
    fn starts_at_zero(self) -> bool {
        !matches!(self, Self::Minutes)
    }

    /// The span of an axis with nothing to show, or nothing but zeros.
    fn fallback_span(self) -> f64 {
        match self {
            Self::Percent => 0.05,
            Self::Requests | Self::Minutes => 1.0,
        }
    }

    fn label(self, value: f64) -> String {
        match self {
            Self::Percent => format::with_unit(value * 100.0, "%"),
            Self::Requests | Self::Minutes => format::number(value),
        }
    }

    /// A range holding every finite value with a little room around it,
    /// never empty and never NaN: one point, or many equal ones, get a
    /// span of their own.
    fn range(self, values: impl IntoIterator<Item = f64>) -> Range<f64> {
        let fallback = self.fallback_span();
        let Some(Scale { low, high }) = Scale::of(values) else {
            return 0.0..fallback;
        };
        let low = if self.starts_at_zero() {
            low.min(0.0)
        } else {
            low
        };
        let span = high - low;
        if span <= 0.0 && high == 0.0 {
            // Nothing but zeros: the axis's usual first stretch.
            return 0.0..fallback;
        }
        let padding = if span > 0.0 {
            span * 0.08
        } else {
            (high.abs() * 0.1).max(fallback * 0.5)
        };
        // Axes from zero keep zero as their edge: a tick at -2% would
        // read as a value.
        let start = if self.starts_at_zero() && low >= 0.0 {
            low
        } else if low >= 0.0 {
            (low - padding).max(0.0)
        } else {
            low - padding
        };
        let end = high + padding;
        if end > start && (end - start).is_finite() {
            start..end
        } else {
            0.0..fallback
        }
    }
}

/// A config where one panel draws it.
#[derive(Clone, Copy, Debug)]
struct Placed<'a> {
    point: &'a TunePoint,
    x: f64,
    y: f64,
    /// Drawn as an outline: the config has no value for the y axis and
    /// stands at zero.
    hollow: bool,
}

fn time_colour(point: &TunePoint, times: Option<Scale>) -> RGBColor {
    match (point.time_to_promote_median, times) {
        (Some(seconds), Some(scale)) if seconds.is_finite() => {
            ramp(&FAST_TO_SLOW, scale.fraction(seconds / 60.0))
        }
        _ => NO_TIME,
    }
}

/// The label next to a front or recommended config.
fn point_label(point: &TunePoint) -> String {
    if point.recommended {
        format!("recommended {}", point.label)
    } else {
        point.label.clone()
    }
}

fn draw_scatter<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    points: &[TunePoint],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(fail)?;
    let width = SCATTER_WIDTH as i32;
    let title = fit(title, TITLE_SIZE, width - 28)?;
    draw_text(root, &title, (14, 12), &text_style(TITLE_SIZE, TEXT))?;
    let times = Scale::of(
        points
            .iter()
            .filter_map(|point| point.time_to_promote_median)
            .map(|seconds| seconds / 60.0),
    );
    let any_hollow = points.iter().any(|point| point.blast_radius_p95.is_none());
    draw_marker_key(root, (14, 46), any_hollow)?;

    let areas = root.split_by_breakpoints([width / 2], [TITLE_HEIGHT]);
    let [_, _, left, right] = areas.as_slice() else {
        return Err("the chart has too few panels".to_owned());
    };
    draw_blast_panel(left, points, times)?;
    draw_promotion_panel(right, points, times)
}

/// The key to the markers, in one row under the title.
fn draw_marker_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (left, top): (i32, i32),
    any_hollow: bool,
) -> Result<(), String> {
    let colour = ramp(&FAST_TO_SLOW, 0.5);
    let middle = top + 8;
    let mut x = left;
    let mut entries = vec![
        (KeyMarker::Front, "Pareto front (labelled)"),
        (KeyMarker::Other, "other configs"),
        (KeyMarker::Recommended, "recommended"),
        (KeyMarker::NoTime, "no healthy release promoted"),
    ];
    if any_hollow {
        entries.push((
            KeyMarker::Hollow,
            "no blast radius (no bad scenarios): at 0",
        ));
    }
    for (marker, label) in entries {
        let centre = (x + RECOMMENDED_RADIUS, middle);
        match marker {
            KeyMarker::Front => draw_front_marker(area, centre, colour, false),
            KeyMarker::Other => draw_other_marker(area, centre, colour, false),
            KeyMarker::Recommended => draw_front_marker(area, centre, colour, false)
                .and_then(|()| draw_recommended_ring(area, centre)),
            KeyMarker::NoTime => draw_front_marker(area, centre, NO_TIME, false),
            KeyMarker::Hollow => draw_front_marker(area, centre, colour, true),
        }?;
        let text_left = x + 2 * RECOMMENDED_RADIUS + 6;
        draw_text(
            area,
            label,
            (text_left, top + 1),
            &text_style(LABEL_SIZE, TEXT),
        )?;
        x = text_left + text_width(label, LABEL_SIZE)? + 20;
    }
    Ok(())
}

/// A symbol in the marker key.
#[derive(Clone, Copy, Debug)]
enum KeyMarker {
    Front,
    Other,
    Recommended,
    NoTime,
    Hollow,
}

/// A config on the front: larger, filled and outlined in dark, or white
/// inside a ring of its colour when hollow.
fn draw_front_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    centre: (i32, i32),
    colour: RGBColor,
    hollow: bool,
) -> Result<(), String> {
    let (fill, outline) = if hollow {
        (WHITE.filled(), colour.stroke_width(2))
    } else {
        (colour.filled(), TEXT.stroke_width(1))
    };
    area.draw(&Circle::new(centre, FRONT_RADIUS, fill))
        .and_then(|()| area.draw(&Circle::new(centre, FRONT_RADIUS, outline)))
        .map_err(fail)
}

/// A config off the front: small and see-through.
fn draw_other_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    centre: (i32, i32),
    colour: RGBColor,
    hollow: bool,
) -> Result<(), String> {
    let style = if hollow {
        colour.mix(OTHER_OPACITY + 0.2).stroke_width(1)
    } else {
        colour.mix(OTHER_OPACITY).filled()
    };
    area.draw(&Circle::new(centre, OTHER_RADIUS, style))
        .map_err(fail)
}

/// The ring around the recommended config.
fn draw_recommended_ring<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    centre: (i32, i32),
) -> Result<(), String> {
    area.draw(&Circle::new(
        centre,
        RECOMMENDED_RADIUS,
        TEXT.stroke_width(2),
    ))
    .map_err(fail)
}

/// The colour key of the time to promote: a gradient from the fastest
/// config's median to the slowest's.
fn draw_time_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (left, top): (i32, i32),
    times: Option<Scale>,
) -> Result<(), String> {
    let style = text_style(LABEL_SIZE, TEXT);
    let Some(times) = times else {
        return draw_text(
            area,
            "no healthy release was promoted: every config is grey",
            (left, top),
            &text_style(LABEL_SIZE, MUTED),
        );
    };
    let heading = "median time to promote:";
    draw_text(area, heading, (left, top), &style)?;
    let mut x = left + text_width(heading, LABEL_SIZE)? + 10;
    if times.is_single() {
        area.draw(&Rectangle::new(
            [(x, top), (x + 14, top + 14)],
            ramp(&FAST_TO_SLOW, 0.5).filled(),
        ))
        .map_err(fail)?;
        let label = format!("{} min for every config", format::number(times.low));
        return draw_text(area, &label, (x + 20, top), &style);
    }
    let low = format!("{} min", format::number(times.low));
    draw_text(area, &low, (x, top), &style)?;
    x += text_width(&low, LABEL_SIZE)? + 6;
    x += draw_gradient(area, (x, top), &FAST_TO_SLOW)? + 6;
    draw_text(
        area,
        &format!("{} min", format::number(times.high)),
        (x, top),
        &style,
    )
}

/// A colour key's gradient along `stops`, with its top-left corner at
/// `(left, top)`. Returns its width.
fn draw_gradient<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (left, top): (i32, i32),
    stops: &[RGBColor],
) -> Result<i32, String> {
    // Steps narrow enough to read as a smooth gradient.
    const STEPS: i32 = 30;
    const STEP_WIDTH: i32 = 4;
    for step in 0..STEPS {
        let colour = ramp(stops, f64::from(step) / f64::from(STEPS - 1));
        let start = left + step * STEP_WIDTH;
        area.draw(&Rectangle::new(
            [(start, top), (start + STEP_WIDTH, top + 14)],
            colour.filled(),
        ))
        .map_err(fail)?;
    }
    Ok(STEPS * STEP_WIDTH)
}

fn draw_blast_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: &[TunePoint],
    times: Option<Scale>,
) -> Result<(), String> {
    draw_text(
        area,
        "False rollbacks vs blast radius",
        (24, 4),
        &text_style(LABEL_SIZE + 2, TEXT),
    )?;
    draw_time_key(area, (24, 29), times)?;
    let placed: Vec<Placed<'_>> = points
        .iter()
        .filter(|point| point.false_rollback_rate.is_finite())
        .map(|point| {
            let blast = point.blast_radius_p95.filter(|blast| blast.is_finite());
            Placed {
                point,
                x: point.false_rollback_rate,
                y: blast.unwrap_or(0.0),
                hollow: blast.is_none(),
            }
        })
        .collect();
    draw_plot(
        &area.margin(HEADING_HEIGHT, 0, 0, 0),
        &placed,
        times,
        (
            Axis::Percent,
            "false rollbacks (healthy releases not promoted)",
        ),
        (Axis::Requests, "blast radius (p95 failed requests)"),
    )
}

fn draw_promotion_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: &[TunePoint],
    times: Option<Scale>,
) -> Result<(), String> {
    draw_text(
        area,
        "Time to promote vs missed regressions",
        (24, 4),
        &text_style(LABEL_SIZE + 2, TEXT),
    )?;
    let placed: Vec<Placed<'_>> = points
        .iter()
        .filter_map(|point| {
            let seconds = point
                .time_to_promote_median
                .filter(|seconds| seconds.is_finite())?;
            point.miss_rate.is_finite().then_some(Placed {
                point,
                x: seconds / 60.0,
                y: point.miss_rate,
                hollow: false,
            })
        })
        .collect();
    let left_out = points.len() - placed.len();
    let note = match left_out {
        0 => "colours as on the left".to_owned(),
        1 => "colours as on the left; 1 config never promoted, not shown".to_owned(),
        _ => format!(
            "colours as on the left; {} configs never promoted, not shown",
            format::count(left_out as u64)
        ),
    };
    draw_text(area, &note, (24, 29), &text_style(LABEL_SIZE, MUTED))?;
    draw_plot(
        &area.margin(HEADING_HEIGHT, 0, 0, 0),
        &placed,
        times,
        (Axis::Minutes, "median minutes to promote a healthy release"),
        (Axis::Percent, "missed regressions (bad releases)"),
    )
}

/// One panel's axes, markers and labels.
fn draw_plot<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    placed: &[Placed<'_>],
    times: Option<Scale>,
    (x_axis, x_description): (Axis, &str),
    (y_axis, y_description): (Axis, &str),
) -> Result<(), String> {
    let x_range = x_axis.range(placed.iter().map(|placed| placed.x));
    let y_range = y_axis.range(placed.iter().map(|placed| placed.y));
    let mut chart = ChartBuilder::on(plot)
        .margin(12)
        .margin_right(24)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range, y_range)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|value| x_axis.label(*value))
        .y_label_formatter(&|value| y_axis.label(*value))
        .x_desc(x_description)
        .y_desc(y_description)
        .label_style(text_style(LABEL_SIZE, TEXT))
        .axis_desc_style(text_style(LABEL_SIZE + 1, TEXT))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(fail)?;

    let (plot_left, plot_top) = plot.get_base_pixel();
    // The marker's centre in `plot`'s own pixels.
    let centre = |placed: &Placed<'_>| {
        let (x, y) = chart.backend_coord(&(placed.x, placed.y));
        (x - plot_left, y - plot_top)
    };

    // Off the front first, then the front, then the recommended config, so
    // the configs that matter are drawn over the crowd. The sort is stable:
    // equal ranks keep the caller's order.
    let mut order: Vec<&Placed<'_>> = placed.iter().collect();
    order.sort_by_key(|placed| draw_rank(placed.point));
    for placed in &order {
        let colour = time_colour(placed.point, times);
        let at = centre(placed);
        if placed.point.pareto || placed.point.recommended {
            draw_front_marker(plot, at, colour, placed.hollow)?;
        } else {
            draw_other_marker(plot, at, colour, placed.hollow)?;
        }
        if placed.point.recommended {
            draw_recommended_ring(plot, at)?;
        }
    }

    let (columns, rows) = chart.plotting_area().get_pixel_range();
    let bounds = Bounds {
        left: columns.start - plot_left,
        right: columns.end - plot_left,
        top: rows.start - plot_top,
        bottom: rows.end - plot_top,
    };
    // The recommended config's label is placed first, so it gets the best
    // spot; labels avoid each other and every labelled marker.
    let mut labelled: Vec<&Placed<'_>> = placed
        .iter()
        .filter(|placed| placed.point.pareto || placed.point.recommended)
        .collect();
    labelled.sort_by_key(|placed| std::cmp::Reverse(placed.point.recommended));
    let mut taken: Vec<Bounds> = labelled
        .iter()
        .map(|placed| {
            let (x, y) = centre(placed);
            let radius = if placed.point.recommended {
                RECOMMENDED_RADIUS
            } else {
                FRONT_RADIUS
            };
            Bounds::around((x, y), radius)
        })
        .collect();
    for placed in labelled {
        let label = point_label(placed.point);
        let radius = if placed.point.recommended {
            RECOMMENDED_RADIUS
        } else {
            FRONT_RADIUS
        };
        let size = (text_width(&label, LABEL_SIZE)?, LABEL_SIZE as i32);
        let spot = place_label(centre(placed), radius, size, &bounds, &taken);
        plot.draw(&Rectangle::new(
            [
                (spot.left - 2, spot.top - 1),
                (spot.right + 2, spot.bottom + 1),
            ],
            WHITE.mix(0.8).filled(),
        ))
        .map_err(fail)?;
        draw_text(
            plot,
            &label,
            (spot.left, spot.top),
            &text_style(LABEL_SIZE, TEXT),
        )?;
        taken.push(spot);
    }

    if placed.is_empty() {
        let note = "no configs to show";
        draw_text(
            plot,
            note,
            (
                (bounds.left + bounds.right - text_width(note, LABEL_SIZE + 1)?) / 2,
                (bounds.top + bounds.bottom) / 2 - 8,
            ),
            &text_style(LABEL_SIZE + 1, MUTED),
        )?;
    }
    Ok(())
}

fn draw_rank(point: &TunePoint) -> u8 {
    if point.recommended {
        2
    } else if point.pareto {
        1
    } else {
        0
    }
}

/// A box of pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bounds {
    left: i32,
    right: i32,
    top: i32,
    bottom: i32,
}

impl Bounds {
    fn around((x, y): (i32, i32), radius: i32) -> Self {
        Self {
            left: x - radius,
            right: x + radius,
            top: y - radius,
            bottom: y + radius,
        }
    }

    fn overlaps(&self, other: &Self) -> bool {
        self.left < other.right
            && other.left < self.right
            && self.top < other.bottom
            && other.top < self.bottom
    }
}

/// Where a label of `(width, height)` goes next to a marker at `centre`:
/// right of it, else left, above, below, then the diagonals and a step
/// further up, each moved inside the plot (so a marker on an axis still
/// gets a label beside it); the first spot clear of `taken` (the markers
/// and the labels placed so far) wins, else the one overlapping fewest.
fn place_label(
    (x, y): (i32, i32),
    radius: i32,
    (width, height): (i32, i32),
    plot: &Bounds,
    taken: &[Bounds],
) -> Bounds {
    let gap = 4;
    let (right, left) = (x + radius + gap, x - radius - gap - width);
    let (above, below) = (y - radius - gap - height, y + radius + gap);
    let (centred, middle) = (x - width / 2, y - height / 2);
    let candidates = [
        (right, middle),
        (left, middle),
        (centred, above),
        (centred, below),
        (right, above),
        (left, above),
        (right, below),
        (left, below),
        (centred, above - height - gap),
    ]
    .map(|(left, top)| {
        // Moved inside the plot where it is big enough to hold the label.
        let left = left.min(plot.right - width).max(plot.left);
        let top = top.min(plot.bottom - height).max(plot.top);
        Bounds {
            left,
            right: left + width,
            top,
            bottom: top + height,
        }
    });
    let overlaps = |spot: &Bounds| taken.iter().filter(|taken| spot.overlaps(taken)).count();
    // `min_by_key` keeps the first of equals: the preferred spot.
    candidates
        .iter()
        .copied()
        .min_by_key(|spot| overlaps(spot))
        .unwrap_or(candidates[0])
}

/// The heatmap's size and where its grid sits, worked out before the
/// canvas exists.
#[derive(Clone, Copy, Debug)]
struct HeatmapLayout {
    width: u32,
    height: u32,
    /// The y values' column: its right edge, and its width.
    column_right: i32,
    column_width: i32,
    grid_left: i32,
    columns: i32,
    rows: i32,
}

impl HeatmapLayout {
    fn of(heatmap: &Heatmap) -> Result<Self, String> {
        let columns = i32::try_from(heatmap.x_values.len()).map_err(fail)?;
        let rows = i32::try_from(heatmap.y_values.len()).map_err(fail)?;
        let mut column_width = text_width(&heatmap.y_parameter, LABEL_SIZE + 1)?;
        for value in &heatmap.y_values {
            column_width = column_width.max(text_width(value, LABEL_SIZE)?);
        }
        let column_width = column_width.clamp(40, MAX_Y_COLUMN);
        let grid_width = columns.saturating_mul(CELL_WIDTH);
        let content = column_width + 10 + grid_width;
        let width = (content + 2 * HEATMAP_MARGIN).max(HEATMAP_MIN_WIDTH);
        // Centred when the minimum width leaves room.
        let content_left = (width - content) / 2;
        let grid_height = if columns == 0 || rows == 0 {
            CELL_HEIGHT
        } else {
            rows.saturating_mul(CELL_HEIGHT)
        };
        let height = GRID_TOP + grid_height + GRID_FOOTER;
        Ok(Self {
            width: u32::try_from(width).map_err(fail)?,
            height: u32::try_from(height).map_err(fail)?,
            column_right: content_left + column_width,
            column_width,
            grid_left: content_left + column_width + 10,
            columns,
            rows,
        })
    }
}

fn cell_text(value: f64, cell_format: CellFormat) -> String {
    match cell_format {
        CellFormat::Percent => format::percent(value),
        // Rounded and at least zero, so the cast is exact (and saturates
        // for absurd values rather than wrapping).
        CellFormat::Count => format::count(value.round().max(0.0) as u64),
        CellFormat::Seconds => format::seconds(value),
    }
}

/// The cell at column `x` and row `y`, if present and finite; rows too
/// short for the x values read as empty.
fn cell(heatmap: &Heatmap, x: usize, y: usize) -> Option<f64> {
    heatmap
        .cells
        .get(y)
        .and_then(|row| row.get(x))
        .copied()
        .flatten()
        .filter(|value| value.is_finite())
}

fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    heatmap: &Heatmap,
    layout: &HeatmapLayout,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(fail)?;
    let width = i32::try_from(layout.width).map_err(fail)?;
    let text_room = width - 2 * HEATMAP_MARGIN;
    let title = fit(&heatmap.title, TITLE_SIZE, text_room)?;
    draw_text(
        root,
        &title,
        (HEATMAP_MARGIN, 12),
        &text_style(TITLE_SIZE, TEXT),
    )?;
    let caption = fit(&heatmap.caption, LABEL_SIZE, text_room)?;
    draw_text(
        root,
        &caption,
        (HEATMAP_MARGIN, 42),
        &text_style(LABEL_SIZE, MUTED),
    )?;

    let present = (0..heatmap.y_values.len())
        .flat_map(|y| (0..heatmap.x_values.len()).filter_map(move |x| cell(heatmap, x, y)));
    let scale = Scale::of(present);
    draw_cell_key(root, (HEATMAP_MARGIN, 66), scale, heatmap.format)?;

    if layout.columns == 0 || layout.rows == 0 {
        let note = "no values to show";
        draw_text(
            root,
            note,
            (
                (width - text_width(note, LABEL_SIZE + 1)?) / 2,
                GRID_TOP + CELL_HEIGHT / 2 - 8,
            ),
            &text_style(LABEL_SIZE + 1, MUTED),
        )?;
        return Ok(());
    }

    let y_parameter = fit(&heatmap.y_parameter, LABEL_SIZE + 1, layout.column_width)?;
    root.draw(&Text::new(
        y_parameter,
        (layout.column_right, GRID_TOP - 6),
        text_style(LABEL_SIZE + 1, TEXT).pos(Pos::new(HPos::Right, VPos::Bottom)),
    ))
    .map_err(fail)?;

    let grid_bottom = GRID_TOP + layout.rows * CELL_HEIGHT;
    for (row, y_value) in (0..layout.rows).zip(&heatmap.y_values) {
        // The first y value is the bottom row, as on a chart's axis.
        let top = grid_bottom - (row + 1) * CELL_HEIGHT;
        let label = fit(y_value, LABEL_SIZE, layout.column_width)?;
        root.draw(&Text::new(
            label,
            (layout.column_right, top + CELL_HEIGHT / 2),
            text_style(LABEL_SIZE, TEXT).pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(fail)?;
        for column in 0..layout.columns {
            let left = layout.grid_left + column * CELL_WIDTH;
            // Both indices come from the lengths of the value lists.
            let value = cell(
                heatmap,
                usize::try_from(column).unwrap_or(usize::MAX),
                usize::try_from(row).unwrap_or(usize::MAX),
            );
            let (fill, text) = match (value, scale) {
                (Some(value), Some(scale)) => (
                    ramp(&LOW_TO_HIGH, scale.fraction(value)),
                    cell_text(value, heatmap.format),
                ),
                _ => (EMPTY_CELL, "–".to_owned()),
            };
            root.draw(&Rectangle::new(
                [(left, top), (left + CELL_WIDTH, top + CELL_HEIGHT)],
                fill.filled(),
            ))
            .map_err(fail)?;
            // White lines between cells keep neighbours of one colour apart.
            root.draw(&Rectangle::new(
                [(left, top), (left + CELL_WIDTH, top + CELL_HEIGHT)],
                WHITE.stroke_width(2),
            ))
            .map_err(fail)?;
            let colour = if value.is_some() {
                text_colour_on(fill)
            } else {
                MUTED
            };
            let text = fit(&text, LABEL_SIZE, CELL_WIDTH - 8)?;
            root.draw(&Text::new(
                text,
                (left + CELL_WIDTH / 2, top + CELL_HEIGHT / 2),
                text_style(LABEL_SIZE, colour).pos(Pos::new(HPos::Center, VPos::Center)),
            ))
            .map_err(fail)?;
        }
    }

    for (column, x_value) in (0..layout.columns).zip(&heatmap.x_values) {
        let label = fit(x_value, LABEL_SIZE, CELL_WIDTH - 6)?;
        root.draw(&Text::new(
            label,
            (
                layout.grid_left + column * CELL_WIDTH + CELL_WIDTH / 2,
                grid_bottom + 6,
            ),
            text_style(LABEL_SIZE, TEXT).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(fail)?;
    }
    let x_parameter = fit(&heatmap.x_parameter, LABEL_SIZE + 1, text_room)?;
    let grid_centre = layout.grid_left + layout.columns * CELL_WIDTH / 2;
    // Centred under the grid, but kept inside the canvas.
    let x_width = text_width(&x_parameter, LABEL_SIZE + 1)?;
    let x_left = (grid_centre - x_width / 2).clamp(
        HEATMAP_MARGIN,
        (width - HEATMAP_MARGIN - x_width).max(HEATMAP_MARGIN),
    );
    draw_text(
        root,
        &x_parameter,
        (x_left, grid_bottom + 30),
        &text_style(LABEL_SIZE + 1, TEXT),
    )
}

/// The heatmap's colour key: the lowest value, the gradient, the highest,
/// and what an empty cell means.
fn draw_cell_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (left, top): (i32, i32),
    scale: Option<Scale>,
    cell_format: CellFormat,
) -> Result<(), String> {
    let style = text_style(LABEL_SIZE, TEXT);
    let mut x = left;
    match scale {
        None => {
            let note = "no config has a value";
            draw_text(area, note, (x, top), &text_style(LABEL_SIZE, MUTED))?;
            x += text_width(note, LABEL_SIZE)? + 20;
        }
        Some(scale) if scale.is_single() => {
            area.draw(&Rectangle::new(
                [(x, top), (x + 14, top + 14)],
                ramp(&LOW_TO_HIGH, 0.5).filled(),
            ))
            .map_err(fail)?;
            let label = format!("{} in every cell", cell_text(scale.low, cell_format));
            draw_text(area, &label, (x + 20, top), &style)?;
            x += 20 + text_width(&label, LABEL_SIZE)? + 20;
        }
        Some(scale) => {
            let low = cell_text(scale.low, cell_format);
            draw_text(area, &low, (x, top), &style)?;
            x += text_width(&low, LABEL_SIZE)? + 6;
            x += draw_gradient(area, (x, top), &LOW_TO_HIGH)? + 6;
            let high = cell_text(scale.high, cell_format);
            draw_text(area, &high, (x, top), &style)?;
            x += text_width(&high, LABEL_SIZE)? + 20;
        }
    }
    area.draw(&Rectangle::new(
        [(x, top), (x + 14, top + 14)],
        EMPTY_CELL.filled(),
    ))
    .map_err(fail)?;
    draw_text(
        area,
        "– no config",
        (x + 20, top),
        &text_style(LABEL_SIZE, MUTED),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(label: &str, false_rollback_rate: f64, miss_rate: f64) -> TunePoint {
        TunePoint {
            label: label.to_owned(),
            false_rollback_rate,
            miss_rate,
            blast_radius_p95: Some(12.0),
            time_to_promote_median: Some(600.0),
            pareto: false,
            recommended: false,
        }
    }

    /// Two front configs (one recommended), two others, and one config that
    /// never promoted and has no blast radius.
    fn example() -> Vec<TunePoint> {
        vec![
            TunePoint {
                pareto: true,
                recommended: true,
                blast_radius_p95: Some(8.0),
                time_to_promote_median: Some(540.0),
                ..point("#1", 0.02, 0.05)
            },
            TunePoint {
                pareto: true,
                blast_radius_p95: Some(30.0),
                time_to_promote_median: Some(300.0),
                ..point("#2", 0.0, 0.15)
            },
            TunePoint {
                time_to_promote_median: Some(900.0),
                ..point("#3", 0.1, 0.2)
            },
            point("#4", 0.05, 0.1),
            TunePoint {
                blast_radius_p95: None,
                time_to_promote_median: None,
                ..point("#5", 0.3, 0.0)
            },
        ]
    }

    /// An SVG text element holding exactly `text`.
    fn text_element(text: &str) -> String {
        format!(">\n{text}\n</text>")
    }

    fn heatmap() -> Heatmap {
        Heatmap {
            title: "False rollbacks".to_owned(),
            caption: "mean over the other parameters; lower is better".to_owned(),
            x_parameter: "interval".to_owned(),
            x_values: vec!["30s".to_owned(), "1m".to_owned(), "2m".to_owned()],
            y_parameter: "threshold".to_owned(),
            y_values: vec!["99%".to_owned(), "99.5%".to_owned()],
            cells: vec![
                vec![Some(0.012), Some(0.25), None],
                vec![Some(0.0), Some(0.1), Some(0.5)],
            ],
            format: CellFormat::Percent,
        }
    }

    /// A fresh directory under the system's temp directory, unique to this
    /// process and test.
    fn scratch(name: &str) -> std::path::PathBuf {
        let directory =
            std::env::temp_dir().join(format!("weir-tune-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&directory);
        std::fs::create_dir_all(&directory).expect("scratch directory");
        directory
    }

    #[test]
    fn the_scatter_labels_the_front_and_rings_the_recommended_config() {
        let svg = scatter_svg("podinfo sweep · 5 configs", &example()).expect("drawn");
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("podinfo sweep · 5 configs"));
        assert!(svg.contains("False rollbacks vs blast radius"));
        assert!(svg.contains("Time to promote vs missed regressions"));
        // Front labels in both panels; configs off the front are unlabelled.
        assert_eq!(svg.matches(&text_element("recommended #1")).count(), 2);
        assert_eq!(svg.matches(&text_element("#2")).count(), 2);
        assert!(!svg.contains(&text_element("#3")));
        assert!(svg.contains(&text_element(
            "colours as on the left; 1 config never promoted, not shown"
        )));
        assert!(svg.contains(&text_element("5 min")));
        assert!(svg.contains(&text_element("15 min")));
        // The key: front (2 circles), other (1), recommended (3), never
        // promoted (2), hollow (2). Left panel: two front configs (2
        // each), the ring, three others (1 each). Right panel: the same
        // without #5, which never promoted.
        let key = 2 + 1 + 3 + 2 + 2;
        let left = 2 * 2 + 1 + 3;
        let right = 2 * 2 + 1 + 2;
        assert_eq!(svg.matches("<circle").count(), key + left + right);
    }

    #[test]
    fn the_scatter_is_the_same_every_time() {
        let first = scatter_svg("sweep", &example()).expect("drawn");
        let second = scatter_svg("sweep", &example()).expect("drawn");
        assert_eq!(first, second);
    }

    #[test]
    fn degenerate_scatters_still_draw() {
        let one = [TunePoint {
            pareto: true,
            recommended: true,
            ..point("#1", 0.0, 0.0)
        }];
        let equal: Vec<TunePoint> = (1..=4)
            .map(|index| TunePoint {
                pareto: index == 1,
                ..point(&format!("#{index}"), 0.25, 0.25)
            })
            .collect();
        let unknown = [TunePoint {
            blast_radius_p95: None,
            time_to_promote_median: None,
            ..point("#1", f64::NAN, f64::INFINITY)
        }];
        for points in [&one[..], &equal, &[], &unknown] {
            let svg = scatter_svg("degenerate", points).expect("drawn");
            assert!(!svg.contains("NaN"), "{svg}");
            assert!(!svg.contains("inf"), "{svg}");
        }
        let empty = scatter_svg("empty", &[]).expect("drawn");
        assert_eq!(
            empty.matches(&text_element("no configs to show")).count(),
            2
        );
    }

    #[test]
    fn axis_ranges_are_never_empty() {
        for axis in [Axis::Percent, Axis::Requests, Axis::Minutes] {
            for values in [
                vec![],
                vec![0.0],
                vec![7.0, 7.0],
                vec![-1.0, 3.0],
                vec![f64::NAN],
            ] {
                let range = axis.range(values.iter().copied());
                assert!(range.end > range.start, "{axis:?} {values:?}: {range:?}");
                for value in values.iter().filter(|value| value.is_finite()) {
                    assert!(range.contains(value), "{axis:?} {values:?}: {range:?}");
                }
            }
        }
        assert_eq!(Axis::Percent.range([0.0, 0.5]), 0.0..0.54);
        assert_eq!(Axis::Minutes.range([12.0]), 10.8..13.2);
        assert_eq!(Axis::Requests.range([0.0, 0.0]), 0.0..1.0);
    }

    #[test]
    fn ramps_run_between_their_ends() {
        assert_eq!(ramp(&LOW_TO_HIGH, 0.0), LOW_TO_HIGH[0]);
        assert_eq!(ramp(&LOW_TO_HIGH, 1.0), LOW_TO_HIGH[4]);
        assert_eq!(ramp(&LOW_TO_HIGH, 0.5), LOW_TO_HIGH[2]);
        assert_eq!(ramp(&FAST_TO_SLOW, 2.0), FAST_TO_SLOW[3]);
        assert_eq!(ramp(&FAST_TO_SLOW, f64::NAN), ramp(&FAST_TO_SLOW, 0.5));
        let single = Scale::of([3.0, 3.0]).expect("a scale");
        assert_eq!(single.fraction(3.0), 0.5);
        assert_eq!(text_colour_on(LOW_TO_HIGH[0]), WHITE);
        assert_eq!(text_colour_on(LOW_TO_HIGH[2]), TEXT);
    }

    #[test]
    fn the_heatmap_prints_every_cell() {
        let svg = heatmap_svg(&heatmap()).expect("drawn");
        for text in ["1.2%", "25.0%", "0.0%", "10.0%", "50.0%", "–"] {
            assert!(svg.contains(&text_element(text)), "{text}");
        }
        for text in ["30s", "1m", "2m", "99%", "99.5%", "interval", "threshold"] {
            assert!(svg.contains(&text_element(text)), "{text}");
        }
        assert!(svg.contains("mean over the other parameters; lower is better"));
        assert_eq!(svg, heatmap_svg(&heatmap()).expect("drawn"));

        let counts = Heatmap {
            cells: vec![vec![Some(1234.4), None, Some(3.6)]],
            y_values: vec!["only".to_owned()],
            format: CellFormat::Count,
            ..heatmap()
        };
        let svg = heatmap_svg(&counts).expect("drawn");
        assert!(svg.contains(&text_element("1,234")));
        assert!(svg.contains(&text_element("4")));
        let seconds = Heatmap {
            format: CellFormat::Seconds,
            cells: vec![vec![Some(390.0), Some(45.0), None], vec![None; 3]],
            ..heatmap()
        };
        let svg = heatmap_svg(&seconds).expect("drawn");
        assert!(svg.contains(&text_element("6m30s")));
        assert!(svg.contains(&text_element("45s")));
    }

    #[test]
    fn degenerate_heatmaps_still_draw() {
        let all_none = Heatmap {
            cells: vec![vec![None; 3]; 2],
            ..heatmap()
        };
        let svg = heatmap_svg(&all_none).expect("drawn");
        assert_eq!(svg.matches(&text_element("–")).count(), 6);
        let equal = Heatmap {
            cells: vec![vec![Some(0.1); 3]; 2],
            ..heatmap()
        };
        let svg = heatmap_svg(&equal).expect("drawn");
        assert!(svg.contains(&text_element("10.0% in every cell")));
        assert!(!svg.contains("NaN"));
        let ragged = Heatmap {
            cells: vec![vec![Some(0.1)]],
            ..heatmap()
        };
        assert!(heatmap_svg(&ragged).is_ok());
        let empty = Heatmap {
            x_values: vec![],
            y_values: vec![],
            cells: vec![],
            ..heatmap()
        };
        let svg = heatmap_svg(&empty).expect("drawn");
        assert!(svg.contains(&text_element("no values to show")));
        assert!(svg.contains("width=\"480\""));
    }

    #[test]
    fn pngs_are_written() {
        let directory = scratch("png");
        let scatter = directory.join("scatter.png");
        write_scatter_png("sweep", &example(), &scatter).expect("written");
        let heatmap_path = directory.join("heatmap.png");
        write_heatmap_png(&heatmap(), &heatmap_path).expect("written");
        for path in [&scatter, &heatmap_path] {
            let bytes = std::fs::read(path).expect("read");
            assert!(
                bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
                "{}",
                path.display()
            );
        }
        let again = directory.join("again.png");
        write_scatter_png("sweep", &example(), &again).expect("written");
        assert_eq!(
            std::fs::read(&scatter).expect("read"),
            std::fs::read(&again).expect("read")
        );
        std::fs::remove_dir_all(&directory).expect("cleaned up");
    }
}
