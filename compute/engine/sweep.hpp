#pragma once
#include "io/preset.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace itslab {

inline constexpr const char* kSweepSchema = "itslab.sweep/1";

// One axis of a sweep: a preset field by dotted path ("solver.type", "schedule.steps",
// "particles.count") and the JSON values it takes.
struct SweepAxis {
  std::string path;
  std::vector<nlohmann::json> values;
};

// "path=v1,v2,..." as given to --vary: each value is JSON when it parses as JSON (4, 0.5,
// true, "x"), else the plain string (euler). Throws Error naming the flag when malformed.
SweepAxis parse_vary(const std::string& flag);

// "i/n": shard i of n, 0-based (0 ≤ i < n), the form of $SLURM_ARRAY_TASK_ID/N for
// `#SBATCH --array=0-(N-1)`. Throws Error explaining the form when malformed.
std::pair<int, int> parse_shard(const std::string& text);

// The grid: every combination of the axes' values, row-major over the axes in order (the last
// axis varies fastest). Row i of the grid is run by shard i % n.
struct Sweep {
  nlohmann::json base; // the preset every row starts from (preset_to_json)
  std::vector<SweepAxis> axes;
  int shard = 0, shards = 1;
  // Metric names to compute instead of the preset's own (empty: the preset's).
  std::vector<std::string> metrics;

  int64_t grid_size() const;
  // Identifies the sweep (base preset, axes, metric override) independent of the shard: a
  // 16-digit hex FNV-1a hash. Shards of one sweep share it; merge rejects a mismatch.
  std::string id() const;
  // The value of every axis at grid row `index`, by path.
  std::map<std::string, nlohmann::json> settings(int64_t index) const;
  // The preset JSON of grid row `index`: base with every axis set. Setting a component's
  // "type" drops the parameters that the new type does not take (so solver.type=heun after a
  // ddim preset does not carry ddim's eta over); parameters both types take are kept.
  nlohmann::json row_json(int64_t index) const;
};

struct SweepRow {
  int64_t index = 0;
  std::map<std::string, nlohmann::json> settings; // path → value
  int nfe = 0;
  std::map<std::string, double> metrics;
  double wall_ms = 0; // sampling wall time
  std::string error;  // non-empty: the row's preset was invalid or its run failed
};

// A sweep's output (or a merge of shards): header fields plus the rows in index order.
struct SweepTable {
  std::string id;
  int64_t grid = 0;
  std::string shard = "0/1"; // "i/n", or "merged"
  std::vector<std::string> paths;
  std::vector<SweepRow> rows;
  bool cancelled = false;
  std::vector<std::string> metric_names() const; // union over rows, sorted
};

struct SweepOptions {
  const std::atomic<bool>* cancel = nullptr;
  // Rows finished (ok or error) of this shard's total, after each row.
  std::function<void(int64_t done, int64_t total)> on_progress;
};

// Runs this shard's rows on the CPU or the preset's backend. An invalid combination or a failed
// run becomes an error row; cancellation stops after the current row and returns the rows done
// with cancelled = true. Reference samples, bandwidths and random features are built once per
// (model, n). "mmd" is the random-Fourier-feature estimate against the exact mixture
// (metric/mmd_rff.hpp), not the exact O(n²) statistic.
SweepTable run_sweep(const Sweep& s, const SweepOptions& o = {});

// The output files. CSV: a comment line "# itslab.sweep/1 grid=N id=HEX shard=i/n ...", then
// columns index, <paths…>, nfe, wall_ms, <metrics…>, error. JSON: the same fields and rows.
// Rows of a preset with a reward add reward_mean, reward_max (of the returned samples) and
// nfe_total (model evaluations of all particles) to their metrics.
std::string sweep_to_csv(const SweepTable& t);
nlohmann::json sweep_to_json(const SweepTable& t);
SweepTable sweep_from_csv(const std::string& text, const std::string& origin);
SweepTable sweep_from_json(const std::string& text, const std::string& origin);
// By extension (.csv or .json); Error otherwise.
SweepTable read_sweep_file(const std::string& path);
void write_sweep_file(const SweepTable& t, const std::string& path);

// Joins shards of one sweep: same id and grid size or Error naming the file; a row index seen
// twice is an Error; rows sorted by index. `missing` gets the indices no shard had.
SweepTable merge_sweeps(const std::vector<SweepTable>& parts, const std::vector<std::string>& names,
                        std::vector<int64_t>* missing = nullptr);

} // namespace itslab
