//! Line charts drawn as SVG by the page itself (no chart library): axes with ticks, units and a
//! legend, themed by CSS variables so they read in light and dark. A new point adds one line
//! segment; the rest of the chart is touched only when the axes must grow.

use leptos::prelude::*;

/// One line of a chart.
#[derive(Clone)]
pub struct Series {
    /// Its name in the legend.
    pub name: String,
    /// CSS class that colours it (`s1` … `s4`).
    pub class: &'static str,
    /// Its points, `(x, y)`, in increasing `x`; only ever appended to (or replaced whole).
    pub points: RwSignal<Vec<(f64, f64)>>,
}

const W: f64 = 560.0;
const H: f64 = 220.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;

/// A round step near `span / target` (1, 2 or 5 times a power of ten).
pub fn nice_step(span: f64, target: f64) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / target.max(1.0);
    let power = 10f64.powf(raw.log10().floor());
    let unit = raw / power;
    let nice = if unit <= 1.0 {
        1.0
    } else if unit <= 2.0 {
        2.0
    } else if unit <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// The y axis for values from `lo` to `hi`: round bounds and their tick step.
pub fn nice_domain(lo: f64, hi: f64) -> (f64, f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let (lo, hi) = if hi - lo < 1e-9 {
        let pad = if lo.abs() > 1e-9 { lo.abs() * 0.1 } else { 1.0 };
        (lo - pad, hi + pad)
    } else {
        (lo, hi)
    };
    let step = nice_step(hi - lo, 4.0);
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

/// A tick's label: as few decimals as the step needs.
pub fn tick_label(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let text = format!("{v:.decimals$}");
    if text.starts_with('-') && text.trim_start_matches(['-', '0', '.']).is_empty() {
        text.trim_start_matches('-').to_owned()
    } else {
        text
    }
}

/// A line chart of `series` against steps `0..=x_max`.
#[component]
pub fn LineChart(
    /// The chart's element id.
    id: &'static str,
    /// What it shows, above it.
    title: &'static str,
    /// The x axis's name and unit.
    x_label: &'static str,
    /// The y axis's name and unit.
    y_label: &'static str,
    /// The last x (total steps), known from the plan.
    #[prop(into)]
    x_max: Signal<f64>,
    /// The lines.
    series: Vec<Series>,
    /// Leave out each line's last value in the legend and its end dot (curves whose last
    /// point means nothing, such as ROC curves ending at 1).
    #[prop(optional)]
    hide_last: bool,
    /// The x axis is a fraction (ticks below 1), not a count of steps.
    #[prop(optional)]
    fractional_x: bool,
) -> impl IntoView {
    let all = series.clone();
    // The axes change only when a point falls outside them (Memo compares).
    let domain = Memo::new(move |_| {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for s in &all {
            s.points.with(|p| {
                for &(_, y) in p.iter().filter(|(_, y)| y.is_finite()) {
                    lo = lo.min(y);
                    hi = hi.max(y);
                }
            });
        }
        nice_domain(lo, hi)
    });
    let for_x = series.clone();
    let x_end = Memo::new(move |_| {
        let seen = series_x_max(&for_x);
        x_max.get().max(seen).max(1.0)
    });
    let sx = move |x: f64| LEFT + x / x_end.get() * (W - LEFT - RIGHT);
    let sy = move |y: f64| {
        let (lo, hi, _) = domain.get();
        TOP + (hi - y) / (hi - lo) * (H - TOP - BOTTOM)
    };
    let y_ticks = move || {
        let (lo, hi, step) = domain.get();
        let n = ((hi - lo) / step).round() as usize;
        (0..=n)
            .map(|i| {
                let v = lo + step * i as f64;
                let y = sy(v);
                view! {
                    <g class="tick">
                        <line x1=LEFT x2=W - RIGHT y1=y y2=y class="grid"></line>
                        <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end">{tick_label(v, step)}</text>
                    </g>
                }
            })
            .collect_view()
    };
    let x_ticks = move || {
        let end = x_end.get();
        let step = if fractional_x {
            nice_step(end, 5.0)
        } else {
            nice_step(end, 5.0).max(1.0)
        };
        let n = (end / step).floor() as usize;
        (0..=n)
            .map(|i| {
                let v = step * i as f64;
                let x = sx(v);
                view! {
                    <g class="tick">
                        <line x1=x x2=x y1=H - BOTTOM y2=H - BOTTOM + 4.0 class="axis"></line>
                        <text x=x y=H - BOTTOM + 16.0 text-anchor="middle">{tick_label(v, step)}</text>
                    </g>
                }
            })
            .collect_view()
    };
    let lines = all_lines(series.clone(), sx, sy, !hide_last);
    let legend = series
        .iter()
        .map(|s| {
            let class = format!("swatch {}", s.class);
            let last = s.points;
            view! {
                <li>
                    <span class=class aria-hidden="true"></span>
                    {s.name.clone()}
                    <span class="last">
                        {move || if hide_last { String::new() } else { last.with(|p| p.last().map(|&(_, y)| format!(" {}", short(y))).unwrap_or_default()) }}
                    </span>
                </li>
            }
        })
        .collect_view();
    let count = {
        let series = series.clone();
        move || {
            series
                .iter()
                .map(|s| s.points.with(Vec::len))
                .sum::<usize>()
        }
    };
    view! {
        <figure class="chart" id=id data-points=count>
            <figcaption>{title}</figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=title>
                <g class="y-axis">{y_ticks}</g>
                <g class="x-axis">{x_ticks}</g>
                <line x1=LEFT x2=LEFT y1=TOP y2=H - BOTTOM class="axis"></line>
                <line x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM class="axis"></line>
                <text class="label" x=(LEFT + W - RIGHT) / 2.0 y=H - 6.0 text-anchor="middle">{x_label}</text>
                <text class="label" transform=format!("translate(14 {}) rotate(-90)", (TOP + H - BOTTOM) / 2.0) text-anchor="middle">{y_label}</text>
                {lines}
            </svg>
            <ul class="legend">{legend}</ul>
        </figure>
    }
}

/// A figure with three significant digits.
pub fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-3..4).contains(&magnitude) {
        return format!("{v:.2e}");
    }
    let decimals = (2 - magnitude).max(0) as usize;
    format!("{v:.decimals$}")
}

fn series_x_max(series: &[Series]) -> f64 {
    series
        .iter()
        .filter_map(|s| s.points.with(|p| p.last().map(|&(x, _)| x)))
        .fold(0.0, f64::max)
}

/// A segment: its index and end points.
type Segment = (usize, (f64, f64), (f64, f64));

fn segments(points: &[(f64, f64)]) -> Vec<Segment> {
    points
        .windows(2)
        .enumerate()
        .map(|(i, w)| (i, w[0], w[1]))
        .collect()
}

/// Each series as one `<line>` per segment, added as points arrive; a segment's coordinates
/// follow only the axes.
fn all_lines(
    series: Vec<Series>,
    sx: impl Fn(f64) -> f64 + Copy + Send + Sync + 'static,
    sy: impl Fn(f64) -> f64 + Copy + Send + Sync + 'static,
    end_dot: bool,
) -> impl IntoView {
    series
        .into_iter()
        .map(|s| {
            let points = s.points;
            let class = format!("series {}", s.class);
            let segment = move |(_, a, b): Segment| {
                view! {
                    <line x1=move || sx(a.0) y1=move || sy(a.1) x2=move || sx(b.0) y2=move || sy(b.1)></line>
                }
            };
            let last = move || {
                if !end_dot {
                    return None;
                }
                points.with(|p| {
                    p.last().map(|&(x, y)| {
                        view! { <circle r="3" cx=move || sx(x) cy=move || sy(y)></circle> }
                    })
                })
            };
            view! {
                <g class=class data-series=s.name.clone()>
                    <For
                        each=move || points.with(|p| segments(p))
                        key=|&(i, a, b)| (i, a.0.to_bits(), a.1.to_bits(), b.0.to_bits(), b.1.to_bits())
                        children=segment
                    />
                    {last}
                </g>
            }
        })
        .collect_view()
}

#[cfg(test)]
mod tests;
