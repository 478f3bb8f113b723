//! Threshold tuning: how often an analysis config gets releases wrong, and
//! which config to use.
//!
//! ```text
//!   --canary FILE ─┐
//!   --space  FILE ─┼─▶ Space (configs) ─┐
//!   --suite  DIR  ─┴─▶ scenarios ───────┴─▶ Sweep::run ─▶ Results ──▶ results.json
//!                                           (--shard I/N)   │  ▲
//!                                                           │  └── Results::merge (weir tune merge)
//!                                                           ▼
//!                                   score (rates, times, front, rank) ─▶ report::write
//!                                   budgets (weir check) ─────────────▶ pass / fail
//! ```
//!
//! * `space`: the parameters to sweep and the configs they span;
//! * `sweep`: configs × scenarios × seeds on all cores, sharded, stoppable;
//! * `results`: the raw outcome of every run, mergeable across shards;
//! * `score`: error rates with Wilson intervals, time and blast-radius
//!   quantiles, the Pareto front, the ranking;
//! * `budgets`: the limits `weir check` holds a config to;
//! * `report`: Markdown, CSV, JSON, charts and the recommended YAML patch.

pub mod budgets;
pub mod report;
pub mod results;
pub mod score;
pub mod space;
pub mod sweep;

pub use budgets::{BudgetResult, Budgets, DecideOn};
pub use results::{Results, ResultsError, RunOutcome, Shard};
pub use score::{ConfigScore, Estimate, score};
pub use space::{Config, Setting, Space};
pub use sweep::Sweep;
