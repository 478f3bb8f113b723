//! The plan of `weir plan`: CSV (for tools), a text table and an SVG chart
//! (for people).
//!
//! The chart shows the canary's share of traffic over time, shaded by phase,
//! with a red mark at every interval whose checks failed:
//!
//! ```text
//!  %  ▲        ┌──┐
//! 50  │      ┌─┘  │      Progressing ░  Promoting ▒  Finalising ▓
//!     │    ┌─┘    │
//!  0  ┼────┘  ●   └───▶ minutes
//! ```
//!
//! Output is byte-identical for the same plan.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use weir_api::CanaryPhase;

use super::ReportError;
use super::font::ensure_font;
use crate::plan::Plan;

/// The plan as CSV, one row per tick.
pub fn to_csv(plan: &Plan) -> String {
    let mut csv = String::from(
        "minute,phase,decision,canary_weight,primary_weight,mirrored,failed_checks,iterations,events\n",
    );
    for step in &plan.steps {
        let events = step.events.join(" | ").replace('"', "\"\"");
        let _ = writeln!(
            csv,
            "{},{},{:?},{},{},{},{},{},\"{events}\"",
            minutes(step.elapsed),
            step.phase,
            step.decision,
            step.routes.canary,
            step.routes.primary,
            step.routes.mirrored,
            step.failed_checks,
            step.iterations,
        );
    }
    csv
}

/// The plan as a text table, one line per tick.
pub fn to_table(plan: &Plan) -> String {
    let mut table = format!(
        "{}: {} after {} min (interval {})\n{:>6}  {:<16} {:>6} {:>6} {:>6}  events\n",
        plan.canary,
        plan.outcome(),
        minutes(plan.duration()),
        weir_api::duration::format_go_duration(plan.interval),
        "minute",
        "phase",
        "weight",
        "failed",
        "iter",
    );
    for step in &plan.steps {
        let weight = if step.routes.mirrored {
            format!("{}+m", step.routes.canary)
        } else {
            step.routes.canary.to_string()
        };
        let _ = writeln!(
            table,
            "{:>6}  {:<16} {:>6} {:>6} {:>6}  {}",
            minutes(step.elapsed),
            step.phase.as_str(),
            weight,
            step.failed_checks,
            step.iterations,
            step.events.join("; "),
        );
    }
    table
}

fn minutes(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() / 60.0
}

/// Writes `<stem>.csv` and `<stem>.svg` into `directory`; returns their paths.
pub fn write(plan: &Plan, directory: &Path, stem: &str) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(directory).map_err(|source| ReportError::Io {
        path: directory.to_owned(),
        source,
    })?;
    let csv_path = directory.join(format!("{stem}.csv"));
    std::fs::write(&csv_path, to_csv(plan)).map_err(|source| ReportError::Io {
        path: csv_path.clone(),
        source,
    })?;
    let svg_path = directory.join(format!("{stem}.svg"));
    let svg = to_svg(plan).map_err(|message| ReportError::Chart {
        path: svg_path.clone(),
        message,
    })?;
    std::fs::write(&svg_path, svg).map_err(|source| ReportError::Io {
        path: svg_path.clone(),
        source,
    })?;
    Ok(vec![csv_path, svg_path])
}

fn phase_colour(phase: CanaryPhase) -> RGBColor {
    match phase {
        CanaryPhase::Progressing => RGBColor(232, 240, 254),
        CanaryPhase::Waiting | CanaryPhase::WaitingPromotion => RGBColor(255, 243, 205),
        CanaryPhase::Promoting => RGBColor(225, 245, 228),
        CanaryPhase::Finalising => RGBColor(210, 238, 215),
        CanaryPhase::Succeeded => RGBColor(190, 228, 196),
        CanaryPhase::Failed => RGBColor(250, 215, 215),
        _ => RGBColor(245, 245, 245),
    }
}

/// The plan as an SVG chart.
pub fn to_svg(plan: &Plan) -> Result<String, String> {
    // Plotters measures text with the registered font even for SVG, where
    // the viewer renders it: without the font, layout fails.
    ensure_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(|error| error.to_string())?;
        let interval = minutes(plan.interval);
        let end = minutes(plan.duration()) + interval;
        let title = format!(
            "{}: {} after {} min",
            plan.canary,
            plan.outcome(),
            minutes(plan.duration())
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..end, 0.0..105.0)
            .map_err(|error| error.to_string())?;
        chart
            .configure_mesh()
            .x_desc("minutes since the new revision was detected")
            .y_desc("canary share of traffic (%)")
            .x_label_formatter(&|minute| format!("{minute:.0}"))
            .y_label_formatter(&|percent| format!("{percent:.0}"))
            .light_line_style(WHITE)
            .draw()
            .map_err(|error| error.to_string())?;

        // Phase bands: each tick's phase holds until the next tick.
        chart
            .draw_series(plan.steps.iter().map(|step| {
                let start = minutes(step.elapsed);
                Rectangle::new(
                    [(start, 0.0), (start + interval, 105.0)],
                    phase_colour(step.phase).filled(),
                )
            }))
            .map_err(|error| error.to_string())?;
        let mut phases: Vec<CanaryPhase> = Vec::new();
        for step in &plan.steps {
            if !phases.contains(&step.phase) {
                phases.push(step.phase);
            }
        }
        for phase in phases {
            let colour = phase_colour(phase);
            chart
                .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())
                .map_err(|error| error.to_string())?
                .label(phase.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 16, y + 5)], colour.filled())
                });
        }

        // Canary weight as a step line: a weight set at a tick holds for the interval.
        let mut points = Vec::new();
        for step in &plan.steps {
            let start = minutes(step.elapsed);
            points.push((start, f64::from(step.routes.canary)));
            points.push((start + interval, f64::from(step.routes.canary)));
        }
        chart
            .draw_series(LineSeries::new(points, BLUE.stroke_width(2)))
            .map_err(|error| error.to_string())?
            .label("canary weight")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE.stroke_width(2)));

        // Failed checks: where the count went up, at the weight the failed
        // interval was judged at (set by the previous tick).
        let mut failures = Vec::new();
        for pair in plan.steps.windows(2) {
            if pair[1].failed_checks > pair[0].failed_checks {
                failures.push((minutes(pair[1].elapsed), f64::from(pair[0].routes.canary)));
            }
        }
        chart
            .draw_series(
                failures
                    .into_iter()
                    .map(|point| Circle::new(point, 5, RED.filled())),
            )
            .map_err(|error| error.to_string())?
            .label("failed check")
            .legend(|(x, y)| Circle::new((x + 8, y), 5, RED.filled()));

        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|error| error.to_string())?;
        root.present().map_err(|error| error.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanOptions, plan};

    fn sample() -> Plan {
        let canary: weir_api::Canary = serde_saphyr::from_str(
            r#"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis:
    interval: 30s
    threshold: 2
    stepWeight: 25
    maxWeight: 50
    metrics:
    - {name: request-success-rate, thresholdRange: {min: 99}}
"#,
        )
        .expect("valid canary");
        let options = PlanOptions {
            failing_intervals: [1].into(),
            ..PlanOptions::default()
        };
        plan(&canary, &options).expect("plan")
    }

    #[test]
    fn the_csv_has_one_row_per_tick_in_minutes() {
        let csv = to_csv(&sample());
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows.len(), 1 + sample().steps.len());
        assert!(
            rows[1].starts_with("0,Progressing,Started,0,100,false,0,0,"),
            "{}",
            rows[1]
        );
        assert!(
            rows[3].starts_with("1,Progressing,CheckFailed,25,75,false,1,0,"),
            "{}",
            rows[3]
        );
    }

    #[test]
    fn charts_are_byte_identical_for_the_same_plan() {
        let first = to_svg(&sample()).expect("svg");
        let second = to_svg(&sample()).expect("svg");
        assert_eq!(first, second);
        assert!(
            first.contains("podinfo.test: Succeeded after 3 min"),
            "the title states the outcome"
        );
        assert!(first.contains("failed check"));
    }

    #[test]
    fn write_creates_both_files() {
        let directory = std::env::temp_dir().join(format!("weir-report-{}", std::process::id()));
        let written = write(&sample(), &directory, "podinfo-plan").expect("written");
        assert_eq!(written.len(), 2);
        assert!(written.iter().all(|path| path.exists()));
        let _ = std::fs::remove_dir_all(directory);
    }
}
