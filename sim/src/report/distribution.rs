//! `distribution.png` and `distribution.svg`: many runs of one scenario.
//!
//! ```text
//!  ┌───────────────────────────────────────────────────────────────────────┐
//!  │ scenario · N runs · promoted 81% · rolled back 18% · undecided 1%     │
//!  ├──────────────────┬───────────────────────────┬────────────────────────┤
//!  │ Outcomes         │ Time to decision          │ Blast radius           │
//!  │  ██              │ ■ promoted ■ rolled back  │ median ┆ p95 ┆         │
//!  │  ██   ▆▆         │   ▃▅█▇▄▂  ┆    ┆          │ █▆▃▂▁  ┆     ┆         │
//!  │  ██   ██   ▁     │   ▃▃▅▃▂   ┆    ┆          │ █▆▃▂▁▁▁┆▁    ┆         │
//!  │ promoted …       │ minutes                   │ failed canary requests │
//!  └──────────────────┴───────────────────────────┴────────────────────────┘
//! ```
//!
//! Bars are counts of runs. The time-to-decision histogram stacks promoted
//! runs under rolled-back ones (undecided runs have no time); dashed lines
//! mark the median and the 95th percentile from the [`Aggregate`].

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ReportError;
use super::aggregate::{Aggregate, Quantiles};
use super::chart::{
    FAILURE, GRID, LABEL_SIZE, MUTED, SUCCESS, TEXT, TITLE_SIZE, draw_text, fail, fit, nice_step,
    text_style, text_width,
};
use super::font::ensure_font;
use super::format;
use super::raster::GlyphBackend;
use super::summary::{RunSummary, verdict_words};
use crate::record::Verdict;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 520;
const TITLE_HEIGHT: i32 = 56;
/// The panels' widths, left to right.
const OUTCOMES_WIDTH: i32 = 360;
const TIMES_WIDTH: i32 = 520;
/// The room above each plot for its heading and key.
const HEADING_HEIGHT: u32 = 52;
/// Histograms aim for about this many bins.
const BINS: f64 = 24.0;

const UNDECIDED: RGBColor = MUTED;
const BLAST: RGBColor = RGBColor(200, 80, 60);

pub(super) fn write_png(
    scenario: &str,
    summaries: &[RunSummary],
    aggregate: &Aggregate,
    path: &Path,
) -> Result<(), ReportError> {
    let chart_error = |message: String| ReportError::Chart {
        path: path.to_owned(),
        message,
    };
    ensure_font().map_err(chart_error)?;
    let root = GlyphBackend(BitMapBackend::new(path, (WIDTH, HEIGHT))).into_drawing_area();
    draw(&root, scenario, summaries, aggregate).map_err(chart_error)?;
    root.present()
        .map_err(|error| chart_error(error.to_string()))
}

pub(super) fn to_svg(
    scenario: &str,
    summaries: &[RunSummary],
    aggregate: &Aggregate,
) -> Result<String, String> {
    // Plotters measures text with the registered font even for SVG.
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, scenario, summaries, aggregate)?;
        root.present().map_err(fail)?;
    }
    Ok(svg)
}

fn verdict_colour(verdict: Verdict) -> RGBColor {
    match verdict {
        Verdict::Promoted => SUCCESS,
        Verdict::RolledBack => FAILURE,
        Verdict::Undecided => UNDECIDED,
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    scenario: &str,
    summaries: &[RunSummary],
    aggregate: &Aggregate,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(fail)?;
    let areas = root.split_by_breakpoints(
        [OUTCOMES_WIDTH, OUTCOMES_WIDTH + TIMES_WIDTH],
        [TITLE_HEIGHT],
    );
    let [_, _, _, outcomes, times, blast] = areas.as_slice() else {
        return Err("the chart has too few panels".to_owned());
    };

    let mut heading = format!("{scenario} · {} runs", format::count(aggregate.runs));
    for (verdict, rate) in aggregate.outcomes() {
        heading.push_str(&format!(
            " · {} {}",
            verdict_words(verdict),
            format::percent(rate.value)
        ));
    }
    let heading = fit(&heading, TITLE_SIZE, WIDTH as i32 - 28)?;
    draw_text(root, &heading, (14, 14), &text_style(TITLE_SIZE, TEXT))?;

    draw_outcomes(outcomes, aggregate)?;
    draw_times(times, summaries, aggregate)?;
    draw_blast_radius(blast, summaries, aggregate)
}

/// A symbol in a panel's key.
#[derive(Clone, Copy, Debug)]
enum Key {
    Bar(RGBColor),
    /// A dashed vertical line: a median or percentile.
    Quantile,
    /// An error bar.
    Interval,
}

/// A panel's heading, and its key: symbols and words side by side.
fn draw_heading<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    heading: &str,
    key: &[(Key, String)],
) -> Result<(), String> {
    draw_text(area, heading, (24, 4), &text_style(LABEL_SIZE + 2, TEXT))?;
    let mut x = 24;
    for (symbol, label) in key {
        match *symbol {
            Key::Bar(colour) => {
                area.draw(&Rectangle::new([(x, 30), (x + 12, 42)], colour.filled()))
            }
            Key::Quantile => area
                .draw(&PathElement::new(
                    vec![(x + 6, 28), (x + 6, 33)],
                    TEXT.stroke_width(1),
                ))
                .and_then(|()| {
                    area.draw(&PathElement::new(
                        vec![(x + 6, 37), (x + 6, 43)],
                        TEXT.stroke_width(1),
                    ))
                }),
            Key::Interval => area
                .draw(&PathElement::new(
                    vec![(x + 6, 29), (x + 6, 43)],
                    TEXT.stroke_width(2),
                ))
                .and_then(|()| {
                    area.draw(&PathElement::new(
                        vec![(x + 2, 29), (x + 10, 29)],
                        TEXT.stroke_width(2),
                    ))
                })
                .and_then(|()| {
                    area.draw(&PathElement::new(
                        vec![(x + 2, 43), (x + 10, 43)],
                        TEXT.stroke_width(2),
                    ))
                }),
        }
        .map_err(fail)?;
        draw_text(area, label, (x + 17, 29), &text_style(LABEL_SIZE, TEXT))?;
        x += 17 + text_width(label, LABEL_SIZE)? + 16;
    }
    Ok(())
}

fn draw_outcomes<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    aggregate: &Aggregate,
) -> Result<(), String> {
    draw_heading(
        area,
        "Outcomes",
        &[(Key::Interval, "Wilson 95% interval".to_owned())],
    )?;
    let plot = area.margin(HEADING_HEIGHT, 0, 0, 0);
    let outcomes = aggregate.outcomes();
    let runs = aggregate.runs as f64;
    let highest = outcomes
        .iter()
        .map(|(_, rate)| (rate.count as f64).max(rate.upper * runs))
        .fold(1.0, f64::max);
    let top = highest * 1.2;
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        // A segmented range has a segment per value up to and including
        // its end: three outcomes are `0..2`.
        .build_cartesian_2d((0u32..2u32).into_segmented(), 0.0..top)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_labels(6)
        .x_label_formatter(&|value| match value {
            SegmentValue::CenterOf(index) => outcomes
                .get(*index as usize)
                .map_or(String::new(), |(verdict, _)| {
                    verdict_words(*verdict).to_owned()
                }),
            _ => String::new(),
        })
        .y_label_formatter(&|count| format!("{count:.0}"))
        .y_desc("runs")
        .label_style(text_style(LABEL_SIZE, TEXT))
        .axis_desc_style(text_style(LABEL_SIZE + 1, TEXT))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(fail)?;
    for (index, (verdict, rate)) in (0u32..).zip(outcomes) {
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(index), 0.0),
                (SegmentValue::Exact(index + 1), rate.count as f64),
            ],
            verdict_colour(verdict).filled(),
        );
        // Gaps between the bars, in pixels.
        bar.set_margin(0, 0, 24, 24);
        chart.draw_series(std::iter::once(bar)).map_err(fail)?;
        // The interval as an error bar, in runs.
        let centre = SegmentValue::CenterOf(index);
        let (lower, upper) = (rate.lower * runs, rate.upper * runs);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(centre.clone(), lower), (centre.clone(), upper)],
                TEXT.stroke_width(2),
            )))
            .map_err(fail)?;
        // Caps a few pixels wide, whatever the bar's width.
        chart
            .draw_series([lower, upper].map(|end| {
                EmptyElement::at((centre.clone(), end))
                    + PathElement::new(vec![(-6, 0), (6, 0)], TEXT.stroke_width(2))
            }))
            .map_err(fail)?;
        // The count above the bar and its interval, clear of the cap.
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((centre, (rate.count as f64).max(upper)))
                    + Text::new(
                        format!(
                            "{} ({})",
                            format::count(rate.count),
                            format::percent(rate.value)
                        ),
                        (0, -6),
                        text_style(LABEL_SIZE, TEXT).pos(Pos::new(HPos::Center, VPos::Bottom)),
                    ),
            ))
            .map_err(fail)?;
    }
    Ok(())
}

/// Counts of `values` in bins of a width of 1, 2 or 5 times a power of
/// ten (whole numbers at least 1 when `whole`), from zero up to the largest
/// value; `series` picks which stacked count a value adds to.
fn histogram(values: &[(f64, usize)], series: usize, whole: bool) -> (f64, Vec<Vec<u64>>) {
    // Only finite values: one infinity would ask for endless bins.
    let values: Vec<(f64, usize)> = values
        .iter()
        .copied()
        .filter(|(value, _)| value.is_finite())
        .collect();
    let largest = values
        .iter()
        .map(|(value, _)| *value)
        .fold(0.0_f64, f64::max);
    let mut width = nice_step(largest, BINS);
    if whole {
        width = width.ceil().max(1.0);
    }
    // `largest / width` is at most about BINS, so the cast is exact.
    let bins = (largest / width).floor() as usize + 1;
    let mut counts = vec![vec![0u64; series]; bins];
    for (value, index) in values {
        let bin = ((value.max(0.0) / width).floor() as usize).min(bins - 1);
        counts[bin][index] += 1;
    }
    (width, counts)
}

/// Draws stacked histogram bars and dashed median and p95 lines.
fn draw_histogram<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    (width, counts): (f64, Vec<Vec<u64>>),
    colours: &[RGBColor],
    quantiles: Option<&Quantiles>,
    x_description: &str,
    empty_note: &str,
) -> Result<(), String> {
    let right = width * counts.len() as f64;
    let highest = counts
        .iter()
        .map(|bin| bin.iter().sum::<u64>())
        .max()
        .unwrap_or(0);
    let top = (highest.max(1) as f64 * 1.15).ceil();
    let mut chart = ChartBuilder::on(plot)
        .margin(12)
        .margin_right(24)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..right, 0.0..top)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(10)
        // No more labels than whole counts, or `{:.0}` would repeat them.
        .y_labels((top as usize + 1).min(6))
        .x_label_formatter(&|value| format::number(*value))
        .y_label_formatter(&|count| format!("{count:.0}"))
        .x_desc(x_description)
        .y_desc("runs")
        .label_style(text_style(LABEL_SIZE, TEXT))
        .axis_desc_style(text_style(LABEL_SIZE + 1, TEXT))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(fail)?;
    for (index, bin) in counts.iter().enumerate() {
        let start = width * index as f64;
        let mut base = 0.0;
        for (count, colour) in bin.iter().zip(colours) {
            if *count == 0 {
                continue;
            }
            let height = *count as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(start, base), (start + width, base + height)],
                    colour.filled(),
                )))
                .map_err(fail)?;
            // A white edge keeps neighbouring bars apart.
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(start, base), (start + width, base + height)],
                    WHITE.stroke_width(1),
                )))
                .map_err(fail)?;
            base += height;
        }
    }
    if highest == 0 {
        let (plot_width, plot_height) = plot.dim_in_pixel();
        let note_width = text_width(empty_note, LABEL_SIZE + 1)?;
        draw_text(
            plot,
            empty_note,
            (
                (i32::try_from(plot_width).unwrap_or(0) - note_width) / 2,
                i32::try_from(plot_height).unwrap_or(0) / 2 - 20,
            ),
            &text_style(LABEL_SIZE + 1, MUTED),
        )?;
    }
    if let Some(quantiles) = quantiles {
        for value in [quantiles.median, quantiles.p95] {
            chart
                .draw_series(DashedLineSeries::new(
                    [(value, 0.0), (value, top)],
                    6,
                    4,
                    TEXT.stroke_width(1),
                ))
                .map_err(fail)?;
        }
    }
    Ok(())
}

fn draw_times<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    summaries: &[RunSummary],
    aggregate: &Aggregate,
) -> Result<(), String> {
    let mut key = vec![
        (Key::Bar(SUCCESS), "promoted".to_owned()),
        (Key::Bar(FAILURE), "rolled back".to_owned()),
    ];
    if let Some(times) = &aggregate.time_to_decision {
        key.push((
            Key::Quantile,
            format!(
                "median {}, p95 {}",
                format::seconds(times.median),
                format::seconds(times.p95)
            ),
        ));
    }
    draw_heading(area, "Time to decision", &key)?;
    let values: Vec<(f64, usize)> = summaries
        .iter()
        .filter_map(|summary| {
            let series = match summary.verdict {
                Verdict::Promoted => 0,
                Verdict::RolledBack => 1,
                Verdict::Undecided => return None,
            };
            summary
                .time_to_decision
                .map(|seconds| (seconds / 60.0, series))
        })
        .collect();
    let minutes = aggregate.time_to_decision.map(|times| Quantiles {
        median: times.median / 60.0,
        p95: times.p95 / 60.0,
        ..times
    });
    draw_histogram(
        &area.margin(HEADING_HEIGHT, 0, 0, 0),
        histogram(&values, 2, false),
        &[SUCCESS, FAILURE],
        minutes.as_ref(),
        "minutes from release to decision",
        "no run decided",
    )
}

fn draw_blast_radius<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    summaries: &[RunSummary],
    aggregate: &Aggregate,
) -> Result<(), String> {
    let mut key = vec![(Key::Bar(BLAST), "runs".to_owned())];
    if let Some(blast) = &aggregate.blast_radius {
        key.push((
            Key::Quantile,
            format!(
                "median {}, p95 {}, max {}",
                format::number(blast.median),
                format::number(blast.p95),
                format::number(blast.max)
            ),
        ));
    }
    draw_heading(area, "Blast radius", &key)?;
    let values: Vec<(f64, usize)> = summaries
        .iter()
        .map(|summary| (summary.blast_radius as f64, 0))
        .collect();
    draw_histogram(
        &area.margin(HEADING_HEIGHT, 0, 0, 0),
        histogram(&values, 1, true),
        &[BLAST],
        aggregate.blast_radius.as_ref(),
        "failed canary requests per run",
        "no runs",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_bin_from_zero_in_round_widths() {
        let values: Vec<(f64, usize)> = [0.0, 1.0, 9.9, 47.0]
            .iter()
            .map(|&value| (value, 0))
            .collect();
        let (width, counts) = histogram(&values, 1, false);
        assert_eq!(width, 2.0);
        assert_eq!(counts.len(), 24);
        assert_eq!(counts[0], [2]);
        assert_eq!(counts[4], [1]);
        assert_eq!(counts[23], [1]);
        let (width, counts) = histogram(&[(0.0, 0), (3.0, 0)], 1, true);
        assert_eq!((width, counts.len()), (1.0, 4));
    }
}
