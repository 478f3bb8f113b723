//! `timeline.png` and `timeline.svg`: one run as a chart, every panel on
//! the same time axis (minutes since the start).
//!
//! ```text
//!  ┌──────────────────────────────────────────────────────────┬───────────────┐
//!  │ scenario · canary · seed · verdict                       │               │
//!  │ headline: rolled back after 6m: request-success-rate ... │               │
//!  ├──────────────────────────────────────────────────────────┤               │
//!  │   started   new revision      rolled back: failed checks │   markers     │
//!  │      ┆            ┆                      ┆               │               │
//!  ├──────┆────────────┆──────────────────────┆───────────────┼───────────────┤
//!  │ %    ┆ ░░░░░░░░░░░┆░░░░░░░░░░░░░░░░░░░░░░┆▓▓▓▓▓▓▓        │ Rollout       │
//!  │ 100 ─┴──┐         ┆             ┌────────┴──────        │ ─ canary      │
//!  │         └──┐      ┆      ●  ●  │  primary               │ ─ primary     │
//!  │  0 ────────└──────────────────┘  canary                 │ ● failed      │
//!  ├──────────────────────────────────────────────────────────┼───────────────┤
//!  │ %  ●──●──●   ●──◉──◉──◉       canary ● primary ●        │ metric name   │
//!  │ 99 - - - - - - - - - - - - -   threshold                 │ ≥ 99%         │
//!  │    ▲ (no data, on the axis)    ◉ failed check            │ ...           │
//!  ├──────────────────────────────────────────────────────────┼───────────────┤
//!  │ req/s  primary ───  canary ───     failures/s (right) ── │ Traffic       │
//!  └──────────────────── minutes since the start ─────────────┴───────────────┘
//! ```
//!
//! The top panel shows the weights in the routing objects, over bands
//! shaded by the Canary's phase; red dots mark ticks whose checks failed,
//! at the weight the failed interval ran at. Markers for the decisions that
//! matter (started, restarted, rolled back, promoted, waiting for approval)
//! and for the scenario's own steps (a new revision, an approval, a
//! controller restart) run down through every panel; their labels sit in a
//! strip above, stacked in rows so none overlaps another. Then one panel
//! per metric (canary and primary readings, bounds, failed checks ringed,
//! missing readings drawn on the axis) and one for traffic (requests per
//! second per version; failures per second on the right-hand axis, because
//! they are orders of magnitude fewer).

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use weir_api::CanaryPhase;
use weir_engine::Decision;

use super::ReportError;
use super::chart::{
    CANARY, FAILURE, GRID, HEADLINE_SIZE, LABEL_SIZE, MIRRORED, MUTED, NEUTRAL, PRIMARY,
    PRIMARY_FAILURE, SCENARIO, SUCCESS, Swatch, TEST, TEXT, THRESHOLD, TITLE_SIZE, UNROUTED,
    WAITING, draw_legend, draw_text, fail, fit, pixel, text_style, text_width, wrap,
};
use super::font::ensure_font;
use super::format;
use super::raster::GlyphBackend;
use super::summary::{RunSummary, verdict_words};
use crate::record::{
    LogSource, MetricInfo, Reading, RunRecord, TrafficSample, Verdict, decision_label,
};
use crate::time::SimTime;

const WIDTH: u32 = 1400;
/// The legend column on the right of every panel.
const LEGEND_WIDTH: u32 = 250;
/// Everything left of the legend column.
const CHART_WIDTH: u32 = WIDTH - LEGEND_WIDTH;
const MARGIN: u32 = 10;
/// Room for the y labels and description on the left, and for the
/// failures/s axis on the right. Every panel reserves both, so all plots
/// span the same pixels and times line up vertically.
const LEFT_AXIS: u32 = 78;
const RIGHT_AXIS: u32 = 70;
const X_AXIS: u32 = 24;
const TITLE_HEIGHT: u32 = 84;
const WEIGHT_HEIGHT: u32 = 300;
const METRIC_HEIGHT: u32 = 200;
const TRAFFIC_HEIGHT: u32 = 230;
const FOOTER_HEIGHT: u32 = 28;
const MARKER_ROW: i32 = 18;
/// Marker labels that fit in no row are left out (their lines stay).
const MARKER_ROWS: usize = 8;

/// The plot's horizontal pixels in every panel.
const PLOT_LEFT: i32 = (MARGIN + LEFT_AXIS) as i32;
const PLOT_RIGHT: i32 = (CHART_WIDTH - MARGIN - RIGHT_AXIS) as i32;

/// The strip along the bottom of the weight panel while traffic is mirrored.
const MIRRORING: RGBColor = RGBColor(196, 172, 220);

/// Writes the chart as a PNG to `path`.
pub(super) fn write_png(
    record: &RunRecord,
    summary: &RunSummary,
    path: &Path,
) -> Result<(), ReportError> {
    let chart_error = |message: String| ReportError::Chart {
        path: path.to_owned(),
        message,
    };
    ensure_font().map_err(chart_error)?;
    let layout = Layout::of(record).map_err(chart_error)?;
    let root = GlyphBackend(BitMapBackend::new(path, (WIDTH, layout.height()))).into_drawing_area();
    draw(&root, record, summary, &layout).map_err(chart_error)?;
    root.present()
        .map_err(|error| chart_error(error.to_string()))
}

/// The chart as an SVG document.
pub(super) fn to_svg(record: &RunRecord, summary: &RunSummary) -> Result<String, String> {
    // Plotters measures text with the registered font even for SVG.
    ensure_font()?;
    let layout = Layout::of(record)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, layout.height())).into_drawing_area();
        draw(&root, record, summary, &layout)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

/// A vertical marker: a decision or a scenario step, with its label's
/// place in the strip above the panels.
#[derive(Debug)]
struct Marker {
    minute: f64,
    label: String,
    colour: RGBColor,
    /// The label's row, 0 nearest the panels; `None` when no row had room.
    row: Option<usize>,
    /// The label's left pixel.
    left: i32,
}

/// What must be known before the canvas exists: the time axis, and how
/// many rows the marker labels need (which sets the chart's height).
#[derive(Debug)]
struct Layout {
    end: f64,
    markers: Vec<Marker>,
    rows: usize,
    metric_panels: usize,
}

impl Layout {
    fn of(record: &RunRecord) -> Result<Layout, String> {
        let end = end_minute(record);
        let mut markers = markers(record);
        let rows = place_labels(&mut markers, end)?;
        Ok(Layout {
            end,
            markers,
            rows,
            metric_panels: record.metrics.len(),
        })
    }

    fn strip_height(&self) -> u32 {
        u32::try_from(self.rows).unwrap_or(0) * MARKER_ROW as u32 + 8
    }

    fn height(&self) -> u32 {
        TITLE_HEIGHT
            + self.strip_height()
            + WEIGHT_HEIGHT
            + u32::try_from(self.metric_panels).unwrap_or(0) * METRIC_HEIGHT
            + TRAFFIC_HEIGHT
            + FOOTER_HEIGHT
    }

    fn x_pixel(&self, minute: f64) -> i32 {
        pixel(minute, (0.0, self.end), (PLOT_LEFT, PLOT_RIGHT))
    }
}

fn minutes(time: SimTime) -> f64 {
    time.as_secs_f64() / 60.0
}

/// The last moment anything happened, in minutes (at least one).
fn end_minute(record: &RunRecord) -> f64 {
    let mut end = minutes(record.end);
    for time in record
        .ticks
        .iter()
        .map(|tick| tick.at)
        .chain(record.traffic.iter().map(|slot| slot.end))
        .chain(record.checks.iter().map(|check| check.at))
        .chain(record.log.iter().map(|entry| entry.at))
    {
        end = end.max(minutes(time));
    }
    if end > 0.0 { end } else { 1.0 }
}

/// Decisions that change what users get, and scenario steps; markers at
/// the same moment share one label.
fn markers(record: &RunRecord) -> Vec<Marker> {
    let mut found: Vec<(f64, String, RGBColor)> = Vec::new();
    let mut previous: Option<Decision> = None;
    for tick in &record.ticks {
        // Waiting and promoting last several ticks: mark where they begin.
        let repeated = previous == Some(tick.decision);
        previous = Some(tick.decision);
        let marker = match tick.decision {
            Decision::Started => Some(("started".to_owned(), NEUTRAL)),
            Decision::Restarted => Some(("restarted".to_owned(), NEUTRAL)),
            Decision::RolledBack(_) => Some((decision_label(tick.decision), FAILURE)),
            Decision::PromotionFailed => Some(("promotion failed".to_owned(), FAILURE)),
            Decision::Promoting if !repeated => Some(("promoting".to_owned(), SUCCESS)),
            Decision::Succeeded if !repeated => Some(("succeeded".to_owned(), SUCCESS)),
            Decision::WaitingForApproval if !repeated => {
                Some(("waiting for approval".to_owned(), WAITING))
            }
            Decision::WaitingForTrafficIncrease if !repeated => {
                Some(("waiting for traffic approval".to_owned(), WAITING))
            }
            Decision::WaitingForPromotion if !repeated => {
                Some(("waiting for promotion approval".to_owned(), WAITING))
            }
            _ => None,
        };
        if let Some((label, colour)) = marker {
            found.push((minutes(tick.at), label, colour));
        }
    }
    for entry in &record.log {
        if entry.source == LogSource::Scenario {
            found.push((minutes(entry.at), short(&entry.message), SCENARIO));
        }
    }
    // A stable sort: at the same minute, decisions stay before scenario steps.
    found.sort_by(|left, right| left.0.total_cmp(&right.0));
    let mut markers: Vec<Marker> = Vec::new();
    for (minute, label, colour) in found {
        match markers.last_mut() {
            Some(last) if (last.minute - minute).abs() < 1e-9 => {
                if !last.label.split(" · ").any(|part| part == label) {
                    last.label = format!("{} · {label}", last.label);
                }
            }
            _ => markers.push(Marker {
                minute,
                label,
                colour,
                row: None,
                left: 0,
            }),
        }
    }
    markers
}

/// A scenario log message short enough for a marker label.
fn short(message: &str) -> String {
    const LIMIT: usize = 32;
    let message = message.trim();
    if message.chars().count() <= LIMIT {
        message.to_owned()
    } else {
        let cut: String = message.chars().take(LIMIT - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Gives each marker label a row in the strip so that no label overlaps
/// another; returns the rows used.
///
/// Row 0 is nearest the panels. A label sits right of its line, or left of
/// it near the right edge. Each line runs down from its label through the
/// rows below, so a label first looks for a row where no line from above
/// crosses it and its own line crosses no label below; when markers are
/// too close for that, it settles for a row where it merely overlaps no
/// other label (labels are drawn on white, over the lines).
fn place_labels(markers: &mut [Marker], end: f64) -> Result<usize, String> {
    const GAP: i32 = 8;
    struct Placed {
        row: usize,
        left: i32,
        right: i32,
        line: i32,
    }
    let mut placed: Vec<Placed> = Vec::new();
    for marker in markers.iter_mut() {
        let line = pixel(marker.minute, (0.0, end), (PLOT_LEFT, PLOT_RIGHT));
        let width = text_width(&marker.label, LABEL_SIZE)?;
        let left = if line + 4 + width <= PLOT_RIGHT + RIGHT_AXIS as i32 {
            line + 4
        } else {
            line - 4 - width
        };
        let right = left + width;
        let free = |row: usize, strict: bool| {
            placed.iter().all(|other| {
                let beside =
                    other.row != row || other.right + GAP <= left || right + GAP <= other.left;
                let not_crossed =
                    other.row <= row || other.line < left - 3 || other.line > right + 3;
                let not_crossing =
                    other.row >= row || line < other.left - 3 || line > other.right + 3;
                beside && (!strict || (not_crossed && not_crossing))
            })
        };
        let row = (0..MARKER_ROWS)
            .find(|&row| free(row, true))
            .or_else(|| (0..MARKER_ROWS).find(|&row| free(row, false)));
        if let Some(row) = row {
            marker.row = Some(row);
            marker.left = left;
            placed.push(Placed {
                row,
                left,
                right,
                line,
            });
        }
    }
    Ok(placed
        .iter()
        .map(|placed| placed.row + 1)
        .max()
        .unwrap_or(1))
}

fn phase_colour(phase: CanaryPhase) -> RGBColor {
    match phase {
        CanaryPhase::Initializing => RGBColor(232, 232, 232),
        CanaryPhase::Initialized => RGBColor(244, 244, 244),
        CanaryPhase::Progressing => RGBColor(222, 235, 250),
        CanaryPhase::Waiting => RGBColor(255, 244, 214),
        CanaryPhase::WaitingPromotion => RGBColor(255, 228, 181),
        CanaryPhase::Promoting => RGBColor(226, 245, 229),
        CanaryPhase::Finalising => RGBColor(206, 236, 211),
        CanaryPhase::Succeeded => RGBColor(183, 224, 189),
        CanaryPhase::Failed => RGBColor(250, 210, 210),
        CanaryPhase::Unset | CanaryPhase::Terminating | CanaryPhase::Terminated => {
            RGBColor(236, 236, 236)
        }
    }
}

/// Phases in lifecycle order, for the legend.
const PHASES: [CanaryPhase; 12] = [
    CanaryPhase::Unset,
    CanaryPhase::Initializing,
    CanaryPhase::Initialized,
    CanaryPhase::Waiting,
    CanaryPhase::Progressing,
    CanaryPhase::WaitingPromotion,
    CanaryPhase::Promoting,
    CanaryPhase::Finalising,
    CanaryPhase::Succeeded,
    CanaryPhase::Failed,
    CanaryPhase::Terminating,
    CanaryPhase::Terminated,
];

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    record: &RunRecord,
    summary: &RunSummary,
    layout: &Layout,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(fail)?;
    // Horizontal bands, top to bottom.
    let mut breakpoints = vec![TITLE_HEIGHT, TITLE_HEIGHT + layout.strip_height()];
    let mut bottom = breakpoints[1] + WEIGHT_HEIGHT;
    breakpoints.push(bottom);
    for _ in &record.metrics {
        bottom += METRIC_HEIGHT;
        breakpoints.push(bottom);
    }
    breakpoints.push(bottom + TRAFFIC_HEIGHT);
    let breakpoints: Vec<i32> = breakpoints
        .into_iter()
        .map(|point| i32::try_from(point).unwrap_or(i32::MAX))
        .collect();
    let bands = root.split_by_breakpoints(Vec::<i32>::new(), breakpoints);
    let [title, strip, weight, rest @ ..] = bands.as_slice() else {
        return Err("the chart has too few panels".to_owned());
    };
    let (metric_bands, rest) = rest.split_at(record.metrics.len());
    let [traffic, footer] = rest else {
        return Err("the chart has too few panels".to_owned());
    };

    draw_title(title, summary)?;
    draw_strip(strip, layout)?;
    draw_weights(weight, record, layout)?;
    for (band, metric) in metric_bands.iter().zip(&record.metrics) {
        draw_metric(band, record, metric, layout)?;
    }
    draw_traffic(traffic, record, layout)?;

    let description = "minutes since the start";
    let width = text_width(description, LABEL_SIZE + 1)?;
    draw_text(
        footer,
        description,
        ((PLOT_LEFT + PLOT_RIGHT - width) / 2, 4),
        &text_style(LABEL_SIZE + 1, TEXT),
    )
}

fn draw_title<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    summary: &RunSummary,
) -> Result<(), String> {
    let title = format!(
        "{} · {} · seed {} · {}",
        summary.scenario,
        summary.canary,
        summary.seed,
        verdict_words(summary.verdict)
    );
    let left = MARGIN as i32 + 4;
    let width = WIDTH as i32 - 2 * left;
    draw_text(
        area,
        &fit(&title, TITLE_SIZE, width)?,
        (left, 10),
        &text_style(TITLE_SIZE, TEXT),
    )?;
    let colour = match summary.verdict {
        Verdict::Promoted => RGBColor(26, 127, 55),
        Verdict::RolledBack => RGBColor(190, 30, 35),
        Verdict::Undecided => MUTED,
    };
    // The headline may run long: two lines at most, the second cut short.
    let lines = wrap(&summary.headline(), HEADLINE_SIZE, width)?;
    for (index, line) in lines.iter().take(2).enumerate() {
        let line = if index == 1 && lines.len() > 2 {
            fit(
                &format!("{line} {}", lines[2..].join(" ")),
                HEADLINE_SIZE,
                width,
            )?
        } else {
            line.clone()
        };
        let top = 42 + 20 * i32::try_from(index).unwrap_or(0);
        draw_text(area, &line, (left, top), &text_style(HEADLINE_SIZE, colour))?;
    }
    Ok(())
}

/// The marker labels, each with a line down to the panels. Lines go
/// first and labels over them on white, so a line passing behind a lower
/// label never strikes through its text.
fn draw_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    layout: &Layout,
) -> Result<(), String> {
    let height = i32::try_from(layout.strip_height()).unwrap_or(0);
    let top = |row: usize| height - 4 - MARKER_ROW * (i32::try_from(row).unwrap_or(0) + 1);
    for marker in &layout.markers {
        let Some(row) = marker.row else { continue };
        let line = layout.x_pixel(marker.minute);
        area.draw(&PathElement::new(
            vec![(line, top(row) + 2), (line, height)],
            marker.colour.mix(0.7).stroke_width(1),
        ))
        .map_err(fail)?;
    }
    for marker in &layout.markers {
        let Some(row) = marker.row else { continue };
        let width = text_width(&marker.label, LABEL_SIZE)?;
        area.draw(&Rectangle::new(
            [
                (marker.left - 2, top(row) + 1),
                (marker.left + width + 2, top(row) + MARKER_ROW - 1),
            ],
            WHITE.filled(),
        ))
        .map_err(fail)?;
        draw_text(
            area,
            &marker.label,
            (marker.left, top(row) + 2),
            &text_style(LABEL_SIZE, marker.colour),
        )?;
    }
    Ok(())
}

/// The marker lines inside one panel, from `bottom` to `top` of its y axis.
fn draw_marker_lines<DB: DrawingBackend, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    layout: &Layout,
    (bottom, top): (Y::ValueType, Y::ValueType),
    opacity: f64,
) -> Result<(), String>
where
    Y: Ranged,
    Y::ValueType: Clone + 'static,
{
    chart
        .draw_series(layout.markers.iter().map(|marker| {
            PathElement::new(
                vec![
                    (marker.minute, bottom.clone()),
                    (marker.minute, top.clone()),
                ],
                marker.colour.mix(opacity).stroke_width(1),
            )
        }))
        .map_err(fail)?;
    Ok(())
}

/// A panel's chart. Only the traffic panel has a right-hand axis; the
/// others leave its room as margin, because plotters repeats the left
/// labels in a right label area.
fn chart_builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    right_axis: bool,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin_left(MARGIN)
        .margin_top(8)
        .margin_bottom(0)
        .x_label_area_size(X_AXIS)
        .y_label_area_size(LEFT_AXIS);
    if right_axis {
        builder
            .margin_right(MARGIN)
            .right_y_label_area_size(RIGHT_AXIS);
    } else {
        builder.margin_right(MARGIN + RIGHT_AXIS);
    }
    builder
}

fn minute_label(minute: &f64) -> String {
    format::number(*minute)
}

/// The step line of a per-tick value: a value set at a tick holds until
/// the next tick (or the end).
fn step_line(points: impl Iterator<Item = (f64, f64)>, end: f64) -> Vec<(f64, f64)> {
    let points: Vec<(f64, f64)> = points.collect();
    let mut line = Vec::with_capacity(points.len() * 2);
    for (index, &(minute, value)) in points.iter().enumerate() {
        let until = points.get(index + 1).map_or(end, |next| next.0);
        line.push((minute, value));
        line.push((until, value));
    }
    simplify(line)
}

/// Drops repeated points and the middle of straight runs. Plotters draws
/// lines wider than a pixel as polygons, and a zero-length segment (the end
/// of one step and the start of the next at the same value) bends them.
fn simplify(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut simplified: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    for point in points {
        if simplified.last() == Some(&point) {
            continue;
        }
        if let [.., before, last] = simplified.as_slice() {
            let horizontal = before.1 == last.1 && last.1 == point.1;
            let vertical = before.0 == last.0 && last.0 == point.0;
            if horizontal || vertical {
                simplified.pop();
            }
        }
        simplified.push(point);
    }
    simplified
}

fn draw_weights<DB: DrawingBackend>(
    band: &DrawingArea<DB, Shift>,
    record: &RunRecord,
    layout: &Layout,
) -> Result<(), String> {
    let (area, legend) = band.split_horizontally(CHART_WIDTH);
    let (low, high) = (-3.0, 103.0);
    let mut chart = chart_builder(&area, false)
        .build_cartesian_2d(0.0..layout.end, low..high)
        .map_err(fail)?;

    // Phase bands first, so the grid and the data are drawn over them.
    chart
        .draw_series(record.ticks.iter().enumerate().map(|(index, tick)| {
            let until = record
                .ticks
                .get(index + 1)
                .map_or(layout.end, |next| minutes(next.at));
            Rectangle::new(
                [(minutes(tick.at), low), (until, high)],
                phase_colour(tick.phase).filled(),
            )
        }))
        .map_err(fail)?;
    let mirrored = record.ticks.iter().any(|tick| tick.mirrored);
    if mirrored {
        chart
            .draw_series(
                record
                    .ticks
                    .iter()
                    .enumerate()
                    .filter(|(_, tick)| tick.mirrored)
                    .map(|(index, tick)| {
                        let until = record
                            .ticks
                            .get(index + 1)
                            .map_or(layout.end, |next| minutes(next.at));
                        Rectangle::new([(minutes(tick.at), low), (until, 4.0)], MIRRORING.filled())
                    }),
            )
            .map_err(fail)?;
    }
    chart
        .configure_mesh()
        .x_labels(20)
        .y_labels(6)
        .x_label_formatter(&minute_label)
        .y_label_formatter(&|percent| format!("{percent:.0}"))
        .y_desc("weight (%)")
        .label_style(text_style(LABEL_SIZE, TEXT))
        .axis_desc_style(text_style(LABEL_SIZE + 1, TEXT))
        .bold_line_style(WHITE.mix(0.8))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(fail)?;
    draw_marker_lines(&mut chart, layout, (low, high), 0.8)?;

    let primary = step_line(
        record
            .ticks
            .iter()
            .map(|tick| (minutes(tick.at), f64::from(tick.primary_weight))),
        layout.end,
    );
    let canary = step_line(
        record
            .ticks
            .iter()
            .map(|tick| (minutes(tick.at), f64::from(tick.canary_weight))),
        layout.end,
    );
    chart
        .draw_series(LineSeries::new(primary, PRIMARY.stroke_width(2)))
        .map_err(fail)?;
    chart
        .draw_series(LineSeries::new(canary, CANARY.stroke_width(3)))
        .map_err(fail)?;

    // A failed check shows on the tick that counted it, at the weight the
    // failed interval ran at (set by the tick before).
    let failures: Vec<(f64, f64)> = record
        .ticks
        .windows(2)
        .filter(|pair| pair[1].failed_checks > pair[0].failed_checks)
        .map(|pair| (minutes(pair[1].at), f64::from(pair[0].canary_weight)))
        .collect();
    chart
        .draw_series(
            failures
                .iter()
                .map(|&point| Circle::new(point, 6, FAILURE.filled())),
        )
        .map_err(fail)?;
    chart
        .draw_series(
            failures
                .iter()
                .map(|&point| Circle::new(point, 6, WHITE.stroke_width(1))),
        )
        .map_err(fail)?;

    let mut entries = vec![
        (Swatch::Line(CANARY), "canary weight".to_owned()),
        (Swatch::Line(PRIMARY), "primary weight".to_owned()),
        (Swatch::Dot(FAILURE), "failed check".to_owned()),
    ];
    if mirrored {
        entries.push((Swatch::Band(MIRRORING), "mirroring".to_owned()));
    }
    for phase in PHASES {
        if record.ticks.iter().any(|tick| tick.phase == phase) {
            entries.push((
                Swatch::Band(phase_colour(phase)),
                super::summary::phase_name(phase).to_owned(),
            ));
        }
    }
    if !layout.markers.is_empty() {
        entries.push((Swatch::Line(NEUTRAL), "decision".to_owned()));
    }
    if record
        .log
        .iter()
        .any(|entry| entry.source == LogSource::Scenario)
    {
        entries.push((Swatch::Line(SCENARIO), "scenario step".to_owned()));
    }
    draw_legend(&legend, "Rollout", Some("phases shaded"), &entries)
}

/// The y range of a metric panel: its readings and bounds with a margin,
/// kept to `[0, 100]` for percentages that live there, so a success rate
/// of 97.8% against 99% is not squashed against a 0–100 axis.
fn metric_range(values: &[f64], min: Option<f64>, max: Option<f64>, unit: &str) -> (f64, f64) {
    let all: Vec<f64> = values
        .iter()
        .copied()
        .chain(min)
        .chain(max)
        .filter(|value| value.is_finite())
        .collect();
    let Some(low) = all.iter().copied().reduce(f64::min) else {
        return (0.0, 1.0);
    };
    let high = all.iter().copied().reduce(f64::max).unwrap_or(low);
    let span = if high > low {
        high - low
    } else {
        (high.abs() * 0.1).max(1.0)
    };
    let mut bottom = low - span * 0.15;
    let mut top = high + span * 0.15;
    if low >= 0.0 && bottom < 0.0 {
        bottom = 0.0;
    }
    if unit == "%" && high <= 100.0 && top > 100.0 {
        // A little over 100 so points at 100% are not cut by the frame.
        top = 100.0 + span * 0.03;
    }
    (bottom, top)
}

fn draw_metric<DB: DrawingBackend>(
    band: &DrawingArea<DB, Shift>,
    record: &RunRecord,
    metric: &MetricInfo,
    layout: &Layout,
) -> Result<(), String> {
    let (area, legend) = band.split_horizontally(CHART_WIDTH);
    let checks: Vec<_> = record
        .checks
        .iter()
        .filter(|check| check.metric == metric.name)
        .collect();
    let values: Vec<f64> = checks
        .iter()
        .flat_map(|check| [check.canary.value(), check.primary.value()])
        .flatten()
        .collect();
    let (low, high) = metric_range(&values, metric.min, metric.max, &metric.unit);
    // Missing readings sit just above the x axis.
    let axis = low + (high - low) * 0.05;
    let mut chart = chart_builder(&area, false)
        .build_cartesian_2d(0.0..layout.end, low..high)
        .map_err(fail)?;
    let unit = metric.unit.clone();
    chart
        .configure_mesh()
        .x_labels(20)
        .y_labels(5)
        .x_label_formatter(&minute_label)
        .y_label_formatter(&|value| format::with_unit(*value, &unit))
        .y_desc(if metric.unit.is_empty() {
            "value".to_owned()
        } else {
            metric.unit.clone()
        })
        .label_style(text_style(LABEL_SIZE, TEXT))
        .axis_desc_style(text_style(LABEL_SIZE + 1, TEXT))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(fail)?;
    draw_marker_lines(&mut chart, layout, (low, high), 0.35)?;

    let mut entries = vec![
        (Swatch::Points(CANARY), "canary".to_owned()),
        (Swatch::Points(PRIMARY), "primary".to_owned()),
    ];
    for (bound, word) in [(metric.min, "min"), (metric.max, "max")] {
        if let Some(bound) = bound {
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, bound), (layout.end, bound)],
                    8,
                    5,
                    THRESHOLD.stroke_width(2),
                ))
                .map_err(fail)?;
            entries.push((
                Swatch::Dashed(THRESHOLD),
                format!("{word} {}", format::with_unit(bound, &metric.unit)),
            ));
        }
    }

    // Primary first, so the canary (what is judged) is drawn on top.
    for (colour, canary) in [(PRIMARY, false), (CANARY, true)] {
        let readings: Vec<(f64, &Reading)> = checks
            .iter()
            .map(|check| {
                let reading = if canary {
                    &check.canary
                } else {
                    &check.primary
                };
                (minutes(check.at), reading)
            })
            .collect();
        // Lines join consecutive values; a missing reading breaks them.
        let mut segment: Vec<(f64, f64)> = Vec::new();
        let mut segments = Vec::new();
        for (minute, reading) in &readings {
            match reading.value().filter(|value| value.is_finite()) {
                Some(value) => segment.push((*minute, value)),
                None => segments.push(std::mem::take(&mut segment)),
            }
        }
        segments.push(segment);
        for segment in segments.into_iter().filter(|segment| segment.len() > 1) {
            chart
                .draw_series(LineSeries::new(segment, colour.stroke_width(2)))
                .map_err(fail)?;
        }
        chart
            .draw_series(readings.iter().filter_map(|(minute, reading)| {
                reading
                    .value()
                    .filter(|value| value.is_finite())
                    .map(|value| Circle::new((*minute, value), 3, colour.filled()))
            }))
            .map_err(fail)?;
        chart
            .draw_series(
                readings
                    .iter()
                    .filter(|(_, reading)| matches!(reading, Reading::NoData { .. }))
                    .map(|(minute, _)| {
                        TriangleMarker::new((*minute, axis), 5, colour.stroke_width(2))
                    }),
            )
            .map_err(fail)?;
        chart
            .draw_series(
                readings
                    .iter()
                    .filter(|(_, reading)| matches!(reading, Reading::Error { .. }))
                    .map(|(minute, _)| Cross::new((*minute, axis), 5, colour.stroke_width(2))),
            )
            .map_err(fail)?;
    }

    // Failed checks: a red ring around what the engine judged.
    let failed: Vec<(f64, f64)> = checks
        .iter()
        .filter(|check| !check.passed)
        .map(|check| {
            let value = check
                .canary
                .value()
                .filter(|value| value.is_finite())
                .unwrap_or(axis);
            (minutes(check.at), value)
        })
        .collect();
    chart
        .draw_series(
            failed
                .iter()
                .map(|&point| Circle::new(point, 7, FAILURE.stroke_width(2))),
        )
        .map_err(fail)?;
    entries.push((Swatch::Ring(FAILURE), "failed check".to_owned()));
    let readings = || {
        checks
            .iter()
            .flat_map(|check| [&check.canary, &check.primary])
    };
    if readings().any(|reading| matches!(reading, Reading::NoData { .. })) {
        entries.push((Swatch::Triangle(MUTED), "no data (on the axis)".to_owned()));
    }
    if readings().any(|reading| matches!(reading, Reading::Error { .. })) {
        entries.push((Swatch::Cross(MUTED), "query error (on the axis)".to_owned()));
    }

    let failures = checks.iter().filter(|check| !check.passed).count();
    let subheading = format!("{} of {} checks failed", failures, checks.len());
    draw_legend(&legend, &metric.name, Some(&subheading), &entries)
}

/// Which requests of a traffic slot a line counts.
type Count = fn(&TrafficSample) -> u64;

/// One line of the traffic panel.
struct TrafficSeries {
    points: Vec<(f64, f64)>,
    colour: RGBColor,
    width: u32,
    label: &'static str,
}

fn draw_traffic<DB: DrawingBackend>(
    band: &DrawingArea<DB, Shift>,
    record: &RunRecord,
    layout: &Layout,
) -> Result<(), String> {
    let (area, legend) = band.split_horizontally(CHART_WIDTH);
    // Per slot: requests per second over the slot's length.
    let rate = |count: Count| -> Vec<(f64, f64)> {
        let mut line = Vec::new();
        for slot in &record.traffic {
            let seconds = slot.end.as_secs_f64() - slot.start.as_secs_f64();
            if seconds > 0.0 {
                let value = count(slot) as f64 / seconds;
                line.push((minutes(slot.start), value));
                line.push((minutes(slot.end), value));
            }
        }
        simplify(line)
    };
    let any = |count: fn(&TrafficSample) -> u64| record.traffic.iter().any(|slot| count(slot) > 0);

    let series = |count: Count, colour, width, label| TrafficSeries {
        points: rate(count),
        colour,
        width,
        label,
    };
    let mut requests = vec![
        series(
            |slot| slot.primary_requests,
            PRIMARY,
            2,
            "primary requests/s",
        ),
        series(|slot| slot.canary_requests, CANARY, 2, "canary requests/s"),
    ];
    // Mirrored, load-test and unrouted requests only when there are any.
    let optional: [(Count, RGBColor, &'static str); 3] = [
        (
            |slot| slot.mirrored_requests,
            MIRRORED,
            "mirrored requests/s",
        ),
        (|slot| slot.test_requests, TEST, "load-test requests/s"),
        (
            |slot| slot.unrouted_requests,
            UNROUTED,
            "unrouted requests/s",
        ),
    ];
    for (count, colour, label) in optional {
        if any(count) {
            requests.push(series(count, colour, 2, label));
        }
    }
    let mut failures = vec![series(
        |slot| slot.canary_failures,
        FAILURE,
        2,
        "canary failures/s (right)",
    )];
    if any(|slot| slot.primary_failures) {
        // Thinner: the primary's failures are the baseline, not the news.
        failures.push(series(
            |slot| slot.primary_failures,
            PRIMARY_FAILURE,
            1,
            "primary failures/s (right)",
        ));
    }

    let peak = |lines: &[TrafficSeries]| {
        lines
            .iter()
            .flat_map(|line| line.points.iter().map(|point| point.1))
            .fold(0.0_f64, f64::max)
    };
    // Some headroom above the peak; an axis of 0–1 when there is nothing.
    let top = |peak: f64| if peak > 0.0 { peak * 1.15 } else { 1.0 };
    let request_top = top(peak(&requests));
    let failure_top = top(peak(&failures));

    let mut chart = chart_builder(&area, true)
        .build_cartesian_2d(0.0..layout.end, 0.0..request_top)
        .map_err(fail)?
        .set_secondary_coord(0.0..layout.end, 0.0..failure_top);
    chart
        .configure_mesh()
        .x_labels(20)
        .y_labels(5)
        .x_label_formatter(&minute_label)
        .y_label_formatter(&|value| format::number(*value))
        .y_desc("requests/s")
        .label_style(text_style(LABEL_SIZE, TEXT))
        .axis_desc_style(text_style(LABEL_SIZE + 1, TEXT))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(fail)?;
    chart
        .configure_secondary_axes()
        .y_labels(5)
        .y_label_formatter(&|value| format::number(*value))
        .y_desc("failures/s")
        .label_style(text_style(LABEL_SIZE, FAILURE))
        .axis_desc_style(text_style(LABEL_SIZE + 1, FAILURE))
        .draw()
        .map_err(fail)?;
    draw_marker_lines(&mut chart, layout, (0.0, request_top), 0.35)?;

    if record.traffic.is_empty() {
        let note = "no traffic in this run";
        let width = text_width(note, LABEL_SIZE + 1)?;
        let height = i32::try_from(area.dim_in_pixel().1).unwrap_or(0);
        draw_text(
            &area,
            note,
            ((PLOT_LEFT + PLOT_RIGHT - width) / 2, height / 2 - 10),
            &text_style(LABEL_SIZE + 1, MUTED),
        )?;
    }

    let mut entries = Vec::new();
    for line in requests {
        chart
            .draw_series(LineSeries::new(
                line.points,
                line.colour.stroke_width(line.width),
            ))
            .map_err(fail)?;
        entries.push((Swatch::Line(line.colour), line.label.to_owned()));
    }
    for line in failures {
        chart
            .draw_secondary_series(LineSeries::new(
                line.points,
                line.colour.stroke_width(line.width),
            ))
            .map_err(fail)?;
        entries.push((Swatch::Line(line.colour), line.label.to_owned()));
    }
    let total_failures: u64 = record.traffic.iter().map(|slot| slot.canary_failures).sum();
    let subheading = format!("{} canary failures in all", format::count(total_failures));
    draw_legend(&legend, "Traffic", Some(&subheading), &entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lines_hold_values_until_the_next_tick_without_repeated_points() {
        let line = step_line(
            [(0.0, 0.0), (1.0, 0.0), (2.0, 10.0), (3.0, 10.0)].into_iter(),
            4.0,
        );
        assert_eq!(line, [(0.0, 0.0), (2.0, 0.0), (2.0, 10.0), (4.0, 10.0)]);
        assert_eq!(step_line(std::iter::empty(), 4.0), []);
    }

    #[test]
    fn percentages_are_zoomed_but_stay_below_100() {
        let (low, high) = metric_range(&[97.8, 99.5, 99.9], Some(99.0), None, "%");
        assert!(low > 97.0 && low < 97.8, "{low}");
        assert!(high > 100.0 && high < 100.1, "{high}");
        assert_eq!(metric_range(&[], None, None, ""), (0.0, 1.0));
        let (low, high) = metric_range(&[5.0], None, None, "ms");
        assert!(low < 5.0 && high > 5.0);
    }

    #[test]
    fn marker_labels_all_find_a_row_and_never_overlap() {
        ensure_font().expect("font");
        let layout = Layout::of(&super::super::fixtures::rolled_back()).expect("layout");
        let labels: Vec<&str> = layout
            .markers
            .iter()
            .map(|marker| marker.label.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "new revision podinfo:6.1.0",
                "started",
                "controller restart",
                "rolled back: failed checks"
            ]
        );
        let mut placed = Vec::new();
        for marker in &layout.markers {
            let row = marker.row.expect("every label has a row");
            let width = text_width(&marker.label, LABEL_SIZE).expect("width");
            placed.push((row, marker.left, marker.left + width));
        }
        for (index, first) in placed.iter().enumerate() {
            for second in &placed[index + 1..] {
                assert!(
                    first.0 != second.0 || first.2 <= second.1 || second.2 <= first.1,
                    "{first:?} overlaps {second:?}"
                );
            }
        }
        assert_eq!(
            layout.rows, 2,
            "`started` sits above the new revision 30 s before it"
        );
    }
}
