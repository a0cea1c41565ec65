//! Leak tracing: which delivered copy a found table most likely came from.
//!
//! For each dataset in the registry, every cell of the found table in a markable column is
//! given its keyed identity (as at marking time), and the selected ones yield a residue: the
//! symbol the cell carries at its fingerprint position of its column. For each candidate copy, a
//! position *agrees* when most of the cells observed at it carry that copy's symbol there. On
//! data that was not marked for the candidate, a position of a column with modulus `m` agrees
//! with chance at most `1/m`, independently across positions, because symbols (one fingerprint
//! per column) and masks are keyed pseudo-random values independent of the data. The evidence is
//! the tail of the resulting Poisson-binomial distribution: the chance that a copy not made for
//! the candidate agrees this well. A candidate is attributed when that chance, multiplied by the
//! number of candidates (Bonferroni), is below [`FALSE_ATTRIBUTION_BOUND`].

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::keys::MarkKey;
use crate::keys::{CellChoice, DatasetKey, parse_canary_digest};
use crate::mark::{MarkingRecord, canary_digest};
use crate::number;
use crate::table::Table;

/// The largest chance of a wrong attribution a trace accepts (after correcting for the number
/// of candidates). One in a billion: across many traces a wrong attribution stays negligible.
pub const FALSE_ATTRIBUTION_BOUND: f64 = 1e-9;

/// The evidence for one candidate copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateEvidence {
    /// Transfer id of the copy.
    pub transfer_id: String,
    /// Recipient code of the copy.
    pub recipient: String,
    /// Agreement the copy was delivered under.
    pub agreement_id: String,
    /// Dataset of the copy.
    pub dataset: String,
    /// Fingerprint positions observed in the found table.
    pub positions_observed: u64,
    /// Observed positions that agree with this copy's fingerprint.
    pub positions_agreeing: u64,
    /// Positions expected to agree by chance alone (the sum of `1/m` over observed positions).
    pub expected_by_chance: f64,
    /// log10 of the binomial tail: the chance that a copy not made for this recipient agrees
    /// as well or better.
    pub p_value_log10: f64,
    /// log10 of the bound on a wrong attribution: `p_value * number of candidates`.
    pub false_attribution_log10: f64,
    /// Whether the bound is below [`FALSE_ATTRIBUTION_BOUND`].
    pub significant: bool,
    /// Canary records of this copy found in the table.
    pub canaries_found: u64,
    /// Per marked column: distinct marked cells observed and how many carry this copy's symbol.
    pub columns: Vec<ColumnEvidence>,
}

/// Evidence from one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnEvidence {
    /// Column name.
    pub column: String,
    /// Distinct marked cells of this column in the found table.
    pub marked_cells: u64,
    /// Of those, cells whose residue is this copy's symbol.
    pub agreeing_cells: u64,
}

/// The answer of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
    /// The found table came from this copy, beyond reasonable doubt.
    Match {
        /// Transfer id of the copy.
        transfer_id: String,
        /// Its recipient.
        recipient: String,
        /// Its agreement.
        agreement_id: String,
        /// `1 - bound on a wrong attribution`, for display; see `false_attribution_log10`.
        confidence: f64,
        /// log10 of the bound on a wrong attribution.
        false_attribution_log10: f64,
    },
    /// No copy explains the table better than chance would.
    NoMatch,
}

/// The full result: verdict, every candidate's evidence (best first), and what was examined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceReport {
    /// The answer.
    pub verdict: Verdict,
    /// Rows in the found table.
    pub rows_examined: u64,
    /// Candidate copies considered.
    pub candidates_considered: u64,
    /// More than one copy is significant: the table may mix copies (collusion) or one
    /// recipient's copy may have been delivered twice. Each is listed in `candidates`.
    pub several_significant: bool,
    /// Evidence per candidate, most likely first.
    pub candidates: Vec<CandidateEvidence>,
}

/// Traces `found` against the marking records of delivered copies. Shorthand for
/// [`Tracer::new`] then [`Tracer::trace`]; build a [`Tracer`] once to trace many files.
///
/// Records of several datasets may be mixed. An empty registry or a table with no markable
/// cell gives [`Verdict::NoMatch`].
pub fn trace(key: &MarkKey, found: &Table, records: &[MarkingRecord]) -> TraceReport {
    Tracer::new(key, records).trace(found)
}

/// The registry prepared for tracing: records grouped by dataset and parameters, with each
/// copy's fingerprints and an index of canary records computed once.
pub struct Tracer<'a> {
    groups: Vec<Group<'a>>,
    candidates: usize,
}

struct Group<'a> {
    params: &'a silkgate_model::MarkingTerms,
    dkey: DatasetKey,
    records: Vec<&'a MarkingRecord>,
    /// Per record, per marking rule: the fingerprint.
    fingerprints: Vec<Vec<Vec<u32>>>,
    /// (rule index, identity tag and residue of that marked cell) to the (record, canary)
    /// pairs holding it.
    canary_index: CanaryIndex,
}

/// (rule index, identity tag, residue) to the (record, canary) pairs holding that marked cell.
type CanaryIndex = HashMap<(usize, [u8; 8], u32), Vec<(usize, usize)>>;

impl<'a> Tracer<'a> {
    /// Prepares `records` for tracing with the node's marking secret.
    pub fn new(key: &MarkKey, records: &'a [MarkingRecord]) -> Self {
        let mut by: BTreeMap<(String, String), Vec<&MarkingRecord>> = BTreeMap::new();
        for r in records {
            let params = serde_json::to_string(&r.params).expect("terms serialise");
            by.entry((r.delivery.dataset.clone(), params))
                .or_default()
                .push(r);
        }
        let groups = by
            .into_iter()
            .map(|((dataset, _), records)| {
                let params = &records[0].params;
                let fingerprints = records
                    .iter()
                    .map(|r| {
                        let d = &r.delivery;
                        params
                            .columns
                            .iter()
                            .map(|rule| {
                                key.fingerprint(
                                    &d.dataset,
                                    &d.transfer_id,
                                    &d.recipient,
                                    &rule.column,
                                    params.fingerprint_symbols,
                                )
                            })
                            .collect()
                    })
                    .collect();
                let mut canary_index = CanaryIndex::new();
                for (ri, record) in records.iter().enumerate() {
                    for (ci, canary) in record.canaries.iter().enumerate() {
                        for (rule_idx, rule) in params.columns.iter().enumerate() {
                            if let Some((tag, digit)) = canary
                                .cells
                                .get(&rule.column)
                                .and_then(|d| parse_canary_digest(d))
                            {
                                canary_index
                                    .entry((rule_idx, tag, digit))
                                    .or_default()
                                    .push((ri, ci));
                            }
                        }
                    }
                }
                Group {
                    params,
                    dkey: key.dataset_key(&dataset),
                    records,
                    fingerprints,
                    canary_index,
                }
            })
            .collect();
        Tracer {
            groups,
            candidates: records.len(),
        }
    }

    /// Traces one found table.
    pub fn trace(&self, found: &Table) -> TraceReport {
        let n_candidates = self.candidates.max(1) as f64;
        let mut candidates = Vec::new();
        for group in &self.groups {
            let obs = group.observe(found);
            for (ri, record) in group.records.iter().enumerate() {
                candidates.push(evaluate(
                    record,
                    &group.fingerprints[ri],
                    &obs,
                    obs.canaries[ri],
                    n_candidates,
                ));
            }
        }
        candidates.sort_by(|a, b| {
            a.p_value_log10
                .total_cmp(&b.p_value_log10)
                .then(b.canaries_found.cmp(&a.canaries_found))
                .then(a.transfer_id.cmp(&b.transfer_id))
        });
        let significant = candidates.iter().filter(|c| c.significant).count();
        let verdict = match candidates.first() {
            Some(best) if best.significant => Verdict::Match {
                transfer_id: best.transfer_id.clone(),
                recipient: best.recipient.clone(),
                agreement_id: best.agreement_id.clone(),
                confidence: 1.0 - 10f64.powf(best.false_attribution_log10),
                false_attribution_log10: best.false_attribution_log10,
            },
            _ => Verdict::NoMatch,
        };
        TraceReport {
            verdict,
            rows_examined: found.rows.len() as u64,
            candidates_considered: self.candidates as u64,
            several_significant: significant > 1,
            candidates,
        }
    }
}

/// One distinct marked cell of the found table.
struct Observation {
    rule: usize,
    position: u32,
    residue: u32,
}

/// What the found table shows for one group.
struct Observations {
    /// Per (rule, position), flattened as `rule * symbols + position`: how many distinct marked
    /// cells carry each residue (moduli are at most 10).
    hist: Vec<[u32; 10]>,
    /// The indices of `hist` that were observed at all.
    touched: Vec<usize>,
    /// Per rule: whether its column is present in the found table.
    present: Vec<bool>,
    /// Per record of the group: canaries found.
    canaries: Vec<u64>,
}

impl Group<'_> {
    fn observe(&self, found: &Table) -> Observations {
        let params = self.params;
        let rules: Vec<(usize, usize)> = params
            .columns
            .iter()
            .enumerate()
            .filter_map(|(ri, rule)| Some((ri, found.column_index(&rule.column)?)))
            .collect();
        let mut present = vec![false; params.columns.len()];
        for &(ri, _) in &rules {
            present[ri] = true;
        }
        let mut cells: Vec<Observation> = Vec::new();
        // Per rule, per identity: the keyed choice, and the observation it produced if selected.
        // One observation per identity: rows that share an identity carry the same symbol in a
        // marked copy, so counting them again would count the same evidence twice. An identity
        // whose cells disagree is dropped (it carries no consistent symbol).
        let mut seen: Vec<HashMap<i128, (CellChoice, Option<usize>)>> =
            vec![HashMap::new(); params.columns.len()];
        let mut canaries = vec![0u64; self.records.len()];
        let mut possible: Vec<(usize, usize)> = Vec::new();
        for row in &found.rows {
            possible.clear();
            for &(ri, ci) in &rules {
                let rule = &params.columns[ri];
                let Some(v) = row
                    .get(ci)
                    .and_then(|c| c.as_text())
                    .and_then(|t| number::parse(t, rule.decimals))
                else {
                    continue;
                };
                let m = rule.modulus();
                let stable = v.value.div_euclid(i128::from(m));
                let digit = v.value.rem_euclid(i128::from(m)) as u32;
                let (choice, obs) = *seen[ri].entry(stable).or_insert_with(|| {
                    let choice = self.dkey.cell(
                        &rule.column,
                        rule.decimals,
                        m,
                        stable,
                        params.select_one_in,
                        params.fingerprint_symbols,
                    );
                    (choice, None)
                });
                if !self.canary_index.is_empty()
                    && let Some(list) = self.canary_index.get(&(ri, choice.tag, digit))
                {
                    possible.extend(list.iter().copied());
                }
                if !choice.selected {
                    continue;
                }
                let residue = (digit + m - choice.mask) % m;
                match obs {
                    Some(idx) => {
                        if cells[idx].residue != residue {
                            // Marks the identity as inconsistent; removed below.
                            cells[idx].position = u32::MAX;
                        }
                    }
                    None => {
                        seen[ri].insert(stable, (choice, Some(cells.len())));
                        cells.push(Observation {
                            rule: ri,
                            position: choice.position,
                            residue,
                        });
                    }
                }
            }
            if !possible.is_empty() {
                possible.sort_unstable();
                possible.dedup();
                let digest = canary_digest(&self.dkey, params, &found.columns, row);
                for &(rec, ci) in &possible {
                    let canary = &self.records[rec].canaries[ci];
                    let mut shared = 0;
                    let mut all_equal = true;
                    for (col, d) in &digest.cells {
                        if let Some(cd) = canary.cells.get(col) {
                            shared += 1;
                            all_equal &= cd == d;
                        }
                    }
                    if all_equal && shared >= 2 {
                        canaries[rec] += 1;
                    }
                }
            }
        }
        let symbols = params.fingerprint_symbols as usize;
        let mut hist = vec![[0u32; 10]; params.columns.len() * symbols];
        let mut touched = Vec::new();
        for o in cells.iter().filter(|o| o.position != u32::MAX) {
            let idx = o.rule * symbols + o.position as usize;
            if hist[idx].iter().all(|&n| n == 0) {
                touched.push(idx);
            }
            hist[idx][o.residue as usize] += 1;
        }
        Observations {
            hist,
            touched,
            present,
            canaries,
        }
    }
}

fn evaluate(
    record: &MarkingRecord,
    fingerprints: &[Vec<u32>],
    obs: &Observations,
    canaries_found: u64,
    n_candidates: f64,
) -> CandidateEvidence {
    let d = &record.delivery;
    let params = &record.params;
    // Per observed (rule, position): the cells there, and those carrying this copy's symbol.
    let symbols = params.fingerprint_symbols as usize;
    let moduli: Vec<u32> = params.columns.iter().map(|c| c.modulus()).collect();
    let mut per_column = vec![(0u64, 0u64); params.columns.len()];
    let mut per_rule = vec![0u64; params.columns.len()];
    let mut x = 0u64;
    for &idx in &obs.touched {
        let (rule, pos) = (idx / symbols, idx % symbols);
        let h = &obs.hist[idx];
        let k: u32 = h.iter().sum();
        let a = h[(fingerprints[rule][pos] % moduli[rule]) as usize];
        per_column[rule].0 += u64::from(k);
        per_column[rule].1 += u64::from(a);
        per_rule[rule] += 1;
        x += u64::from(2 * a > k);
    }
    let observed = obs.touched.len() as u64;
    let groups: Vec<(f64, u64)> = moduli
        .iter()
        .zip(&per_rule)
        .map(|(&m, &k)| (1.0 / f64::from(m), k))
        .collect();
    let p_log10 = poisson_binomial_tail_log10(&groups, x);
    let fa_log10 = (p_log10 + n_candidates.log10()).min(0.0);
    CandidateEvidence {
        transfer_id: d.transfer_id.clone(),
        recipient: d.recipient.clone(),
        agreement_id: d.agreement_id.clone(),
        dataset: d.dataset.clone(),
        positions_observed: observed,
        positions_agreeing: x,
        expected_by_chance: groups.iter().map(|(p, k)| p * *k as f64).sum(),
        p_value_log10: p_log10,
        false_attribution_log10: fa_log10,
        significant: fa_log10 <= FALSE_ATTRIBUTION_BOUND.log10(),
        canaries_found,
        columns: params
            .columns
            .iter()
            .zip(per_column)
            .zip(&obs.present)
            .filter(|(_, present)| **present)
            .map(|((rule, (m, a)), _)| ColumnEvidence {
                column: rule.column.clone(),
                marked_cells: m,
                agreeing_cells: a,
            })
            .collect(),
    }
}

/// log10 of `P(X >= x)` where `X` is the number of successes among independent trials, given
/// as groups of `(chance, trials)` (a Poisson-binomial distribution with few distinct chances:
/// one per column modulus). Exact, by convolving the groups' binomial distributions; where the
/// exact value underflows `f64`, the binomial tail at the largest chance, which is an upper
/// bound (the tail only grows with each chance).
pub fn poisson_binomial_tail_log10(groups: &[(f64, u64)], x: u64) -> f64 {
    let n: u64 = groups.iter().map(|g| g.1).sum();
    if x == 0 {
        return 0.0;
    }
    if x > n {
        return f64::NEG_INFINITY;
    }
    let p_max = groups
        .iter()
        .filter(|g| g.1 > 0)
        .map(|g| g.0)
        .fold(0.0, f64::max);
    let groups: Vec<(f64, u64)> = groups.iter().copied().filter(|g| g.1 > 0).collect();
    if n <= 4096 {
        // Distribution of the successes in all groups but the last, then the last group's
        // survival function finishes the tail in one pass.
        let (last, rest) = groups.split_last().expect("n > 0 means a non-empty group");
        let mut dist = vec![1.0f64];
        for &(p, k) in rest {
            let pmf = binomial_pmf(k, p);
            let mut next = vec![0.0f64; dist.len() + pmf.len() - 1];
            for (i, a) in dist.iter().enumerate() {
                for (j, b) in pmf.iter().enumerate() {
                    next[i + j] += a * b;
                }
            }
            dist = next;
        }
        let last_pmf = binomial_pmf(last.1, last.0);
        let mut survival = vec![0.0f64; last_pmf.len() + 1];
        for j in (0..last_pmf.len()).rev() {
            survival[j] = survival[j + 1] + last_pmf[j];
        }
        let tail: f64 = dist
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let need = (x as usize).saturating_sub(i);
                a * survival.get(need).copied().unwrap_or(0.0)
            })
            .sum();
        if tail > 1e-290 {
            return tail.log10().min(0.0);
        }
    }
    binomial_tail_log10(n, x, p_max)
}

/// `P(Bin(n, p) = k)` for `k` in `0..=n`, computed in log space term by term.
fn binomial_pmf(n: u64, p: f64) -> Vec<f64> {
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut ln_c = 0.0;
    let mut out = Vec::with_capacity(n as usize + 1);
    for k in 0..=n {
        if k > 0 {
            ln_c += ((n - k + 1) as f64).ln() - (k as f64).ln();
        }
        out.push((ln_c + k as f64 * lp + (n - k) as f64 * lq).exp());
    }
    out
}

/// log10 of `P(X >= x)` for `X ~ Binomial(n, p)`, computed in log space so that tails far
/// below `f64`'s smallest value are still ordered correctly.
pub fn binomial_tail_log10(n: u64, x: u64, p: f64) -> f64 {
    if x == 0 || p >= 1.0 {
        return 0.0;
    }
    if x > n {
        return f64::NEG_INFINITY;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let q = 1.0 - p;
    // ln of the first term, C(n, x) p^x q^(n-x).
    let mut ln_c = 0.0;
    for i in 0..x {
        ln_c += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
    }
    let ln_first = ln_c + x as f64 * p.ln() + (n - x) as f64 * q.ln();
    // Sum of the following terms relative to the first.
    let mut sum = 1.0;
    let mut term = 1.0;
    for k in x..n {
        term *= (n - k) as f64 / (k + 1) as f64 * (p / q);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    ((ln_first + sum.ln()) / std::f64::consts::LN_10).min(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over all outcomes of a few trials.
    fn brute(chances: &[f64], x: u64) -> f64 {
        let n = chances.len();
        (0u32..1 << n)
            .filter(|mask| u64::from(mask.count_ones()) >= x)
            .map(|mask| {
                (0..n)
                    .map(|i| {
                        if mask >> i & 1 == 1 {
                            chances[i]
                        } else {
                            1.0 - chances[i]
                        }
                    })
                    .product::<f64>()
            })
            .sum()
    }

    #[test]
    fn tails_match_brute_force() {
        let groups = [(0.1, 3), (0.5, 4), (1.0 / 3.0, 2)];
        let chances: Vec<f64> = groups
            .iter()
            .flat_map(|&(p, k)| std::iter::repeat_n(p, k as usize))
            .collect();
        for x in 0..=10 {
            let got = poisson_binomial_tail_log10(&groups, x);
            let want = brute(&chances, x).log10();
            assert!(
                (got - want).abs() < 1e-9 || (x == 10 && got == f64::NEG_INFINITY),
                "x={x}: {got} vs {want}"
            );
        }
        // Binomial: P(Bin(10, 0.5) >= 8) = 56/1024.
        assert!((binomial_tail_log10(10, 8, 0.5) - (56.0f64 / 1024.0).log10()).abs() < 1e-12);
        assert_eq!(binomial_tail_log10(10, 0, 0.5), 0.0);
    }

    #[test]
    fn huge_evidence_does_not_underflow_to_nothing() {
        // 2,000 positions all agreeing at chance 1/10: 10^-2000, below f64; the bound is finite.
        let v = poisson_binomial_tail_log10(&[(0.1, 2000)], 2000);
        assert!(v.is_finite() && v < -1999.0 && v > -2001.0, "{v}");
    }
}
