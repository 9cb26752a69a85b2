#include "engine/sweep.hpp"

#include "backend/backend.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "engine/experiment.hpp"
#include "engine/run.hpp"
#include "io/preset_schema.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <memory>
#include <set>
#include <sstream>

namespace itslab {

using nlohmann::json;

namespace {

constexpr const char* kMmdNote =
    "mmd = MMD^2 by random Fourier features (D=1024) against the exact mixture, "
    "median-heuristic bandwidth of the model";
constexpr const char* kFidNote =
    "fid = Frechet distance of the bundled classifier's 128-d features (not Inception) against "
    "the Fashion-MNIST test set";

// What the table's metric columns mean, for the metrics it has.
json metric_notes(const SweepTable& t) {
  json notes = json::object();
  for (const std::string& m : t.metric_names()) {
    if (m == "mmd")
      notes["mmd"] = kMmdNote;
    if (m == "fid")
      notes["fid"] = kFidNote;
  }
  return notes;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos)
      return out;
    start = p + 1;
  }
}

json parse_value(const std::string& text) {
  json v = json::parse(text, nullptr, false);
  if (v.is_discarded() || v.is_object() || v.is_array())
    return json(text);
  return v;
}

std::string value_text(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

bool digits_only(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

const std::vector<TypeSpec>* component_specs(const std::string& key) {
  if (key == "process")
    return &process_specs();
  if (key == "schedule")
    return &schedule_specs();
  if (key == "solver")
    return &solver_specs();
  return nullptr;
}

// The object holding the last segment of path, or Error naming the path.
json& parent_of(json& root, const std::vector<std::string>& seg, const std::string& path) {
  json* cur = &root;
  for (size_t i = 0; i + 1 < seg.size(); ++i) {
    if (!cur->is_object() || !cur->contains(seg[i]) || !(*cur)[seg[i]].is_object())
      throw Error(path + ": no such preset field ('" + seg[i] +
                  "' is not an object of the preset)");
    cur = &(*cur)[seg[i]];
  }
  return *cur;
}

std::string fmt_double(double v, const char* f = "%.17g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos)
    return s;
  std::string q = "\"";
  for (char c : s)
    q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// RFC 4180 records: quoted fields may hold commas, quotes ("") and newlines.
std::vector<std::vector<std::string>> parse_csv(const std::string& text,
                                                const std::string& origin) {
  std::vector<std::vector<std::string>> recs;
  std::vector<std::string> rec;
  std::string field;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      rec.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')
        ++i;
      if (any || !field.empty()) {
        rec.push_back(std::move(field));
        recs.push_back(std::move(rec));
      }
      rec.clear();
      field.clear();
      any = false;
    } else {
      field += c;
      any = true;
    }
  }
  if (quoted)
    throw Error(origin + ": unterminated quoted field");
  if (any || !field.empty()) {
    rec.push_back(std::move(field));
    recs.push_back(std::move(rec));
  }
  return recs;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

SweepAxis parse_vary(const std::string& flag) {
  const size_t eq = flag.find('=');
  if (eq == std::string::npos)
    throw Error("--vary '" + flag + "': expected path=value1,value2,... (e.g. schedule.steps=4,8)");
  SweepAxis a;
  a.path = flag.substr(0, eq);
  if (a.path.empty())
    throw Error("--vary '" + flag + "': the field path before '=' is empty");
  for (const std::string& seg : split(a.path, '.'))
    if (seg.empty())
      throw Error("--vary '" + flag + "': '" + a.path + "' has an empty path segment");
  const std::string list = flag.substr(eq + 1);
  if (list.empty())
    throw Error("--vary '" + flag + "': no values after '='");
  for (const std::string& v : split(list, ',')) {
    if (v.empty())
      throw Error("--vary '" + flag + "': empty value in the list");
    a.values.push_back(parse_value(v));
  }
  return a;
}

std::pair<int, int> parse_shard(const std::string& text) {
  const std::string form = " (expected i/n with 0 ≤ i < n, 0-based, e.g. 0/10 … 9/10)";
  const size_t slash = text.find('/');
  if (slash == std::string::npos)
    throw Error("--shard '" + text + "': missing '/'" + form);
  const std::string i = text.substr(0, slash), n = text.substr(slash + 1);
  if (!digits_only(i) || !digits_only(n) || i.size() > 9 || n.size() > 9)
    throw Error("--shard '" + text + "': i and n must be non-negative integers" + form);
  const int ii = std::stoi(i), nn = std::stoi(n);
  if (nn < 1)
    throw Error("--shard '" + text + "': n must be ≥ 1" + form);
  if (ii >= nn)
    throw Error("--shard '" + text + "': i must be < n (shards are 0-based)" + form);
  return {ii, nn};
}

int64_t Sweep::grid_size() const {
  int64_t n = 1;
  for (const SweepAxis& a : axes)
    n *= static_cast<int64_t>(a.values.size());
  return n;
}

std::string Sweep::id() const {
  json j{{"base", base}, {"metrics", metrics}};
  for (const SweepAxis& a : axes)
    j["axes"].push_back({a.path, a.values});
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, fnv1a(j.dump()));
  return buf;
}

std::map<std::string, json> Sweep::settings(int64_t index) const {
  std::map<std::string, json> s;
  for (size_t k = axes.size(); k-- > 0;) {
    const int64_t n = static_cast<int64_t>(axes[k].values.size());
    s[axes[k].path] = axes[k].values[static_cast<size_t>(index % n)];
    index /= n;
  }
  return s;
}

json Sweep::row_json(int64_t index) const {
  json j = base;
  if (!metrics.empty())
    j["metrics"] = metrics;
  const auto s = settings(index);
  std::set<std::string> varied;
  for (const auto& [path, v] : s)
    varied.insert(path);
  // Types first, so a type change never drops a parameter another axis sets.
  for (int pass = 0; pass < 2; ++pass)
    for (const SweepAxis& a : axes) {
      const auto seg = split(a.path, '.');
      const bool is_type = seg.size() == 2 && seg[1] == "type" && component_specs(seg[0]);
      if (is_type != (pass == 0))
        continue;
      json& parent = parent_of(j, seg, a.path);
      const json& v = s.at(a.path);
      if (is_type && v.is_string()) {
        if (const TypeSpec* spec = find_spec(*component_specs(seg[0]), v.get<std::string>())) {
          std::set<std::string> keep = {"type"};
          for (const ParamSpec& p : spec->params)
            keep.insert(p.name);
          for (auto it = parent.begin(); it != parent.end();) {
            if (!keep.count(it.key()) && !varied.count(seg[0] + "." + it.key()))
              it = parent.erase(it);
            else
              ++it;
          }
        }
      }
      parent[seg.back()] = v;
    }
  return j;
}

std::vector<std::string> SweepTable::metric_names() const {
  std::set<std::string> names;
  for (const SweepRow& r : rows)
    for (const auto& [k, v] : r.metrics)
      names.insert(k);
  return {names.begin(), names.end()};
}

SweepTable run_sweep(const Sweep& s, const SweepOptions& o) {
  SweepTable t;
  t.id = s.id();
  t.grid = s.grid_size();
  t.shard = std::to_string(s.shard) + "/" + std::to_string(s.shards);
  for (const SweepAxis& a : s.axes)
    t.paths.push_back(a.path);
  std::vector<int64_t> mine;
  for (int64_t i = s.shard; i < t.grid; i += s.shards)
    mine.push_back(i);
  const int64_t total = static_cast<int64_t>(mine.size());

  std::map<std::string, std::unique_ptr<Backend>> backends;
  std::map<std::string, MetricReference> refs; // per (model, class, n)
  int64_t done = 0;
  for (const int64_t index : mine) {
    if (o.cancel && o.cancel->load()) {
      t.cancelled = true;
      break;
    }
    SweepRow row;
    row.index = index;
    row.settings = s.settings(index);
    try {
      const json pj = s.row_json(index);
      const PresetLoad l = parse_preset(pj.dump(), "sweep row " + std::to_string(index));
      for (const std::string& w : l.warnings)
        for (const auto& [path, v] : row.settings)
          if (w.rfind(path + ":", 0) == 0)
            throw Error(path + ": not a field of this preset (unknown field)");
      const Preset& p = l.preset;
      const Experiment e = build_experiment(p);
      auto& be = backends[p.backend];
      if (!be || !be->usable()) // none yet, or its device was lost in an earlier row
        be = std::move(make_backend(p.backend).backend);
      RunOptions ro;
      ro.cancel = o.cancel;
      const SampleResult r = sample(*be, e, p, ro);
      row.nfe = r.nfe;
      row.wall_ms = r.wall_ms;
      const MetricReference* ref = nullptr;
      if (e.mixture) {
        const std::string key = pj["model"].dump() + "|" + std::to_string(r.samples.rows());
        auto it = refs.find(key);
        if (it == refs.end())
          it = refs.emplace(key, make_metric_reference(metric_target(e, p), r.samples.rows(), true))
                   .first;
        ref = &it->second;
      }
      row.metrics = experiment_metrics(*be, e, p, r.samples, ref).values;
      // With a reward, rows compare methods at equal compute: the reward of the returned
      // samples (final-population rows `selected`) and the model evaluations of all particles.
      if (!r.final_reward.empty()) {
        double sum = 0, best = -std::numeric_limits<double>::infinity();
        const size_t n = r.selected.empty() ? r.final_reward.size() : r.selected.size();
        for (size_t i = 0; i < n; ++i) {
          const double v =
              r.final_reward[r.selected.empty() ? i : static_cast<size_t>(r.selected[i])];
          sum += v;
          best = std::max(best, v);
        }
        row.metrics["reward_mean"] = sum / static_cast<double>(n);
        row.metrics["reward_max"] = best;
        row.metrics["nfe_total"] = static_cast<double>(r.nfe_total);
      }
    } catch (const Cancelled&) {
      t.cancelled = true;
      break;
    } catch (const std::exception& e) {
      row.error = e.what();
      std::replace(row.error.begin(), row.error.end(), '\n', ';');
    }
    t.rows.push_back(std::move(row));
    ++done;
    if (o.on_progress)
      o.on_progress(done, total);
  }
  return t;
}

std::string sweep_to_csv(const SweepTable& t) {
  std::ostringstream out;
  out << "# " << kSweepSchema << " grid=" << t.grid << " id=" << t.id << " shard=" << t.shard
      << (t.cancelled ? " cancelled=1" : "");
  const json notes = metric_notes(t);
  for (auto it = notes.begin(); it != notes.end(); ++it)
    out << (it == notes.begin() ? " ; " : "; ") << it.value().get<std::string>();
  out << "\n";
  const auto metrics = t.metric_names();
  out << "index";
  for (const std::string& p : t.paths)
    out << "," << csv_field(p);
  out << ",nfe,wall_ms";
  for (const std::string& m : metrics)
    out << "," << csv_field(m);
  out << ",error\n";
  for (const SweepRow& r : t.rows) {
    out << r.index;
    for (const std::string& p : t.paths)
      out << "," << csv_field(r.settings.count(p) ? value_text(r.settings.at(p)) : "");
    out << "," << r.nfe << "," << fmt_double(r.wall_ms, "%.3f");
    for (const std::string& m : metrics)
      out << "," << (r.metrics.count(m) ? fmt_double(r.metrics.at(m)) : "");
    out << "," << csv_field(r.error) << "\n";
  }
  return out.str();
}

json sweep_to_json(const SweepTable& t) {
  json j{{"schema", kSweepSchema}, {"id", t.id},      {"grid", t.grid},
         {"shard", t.shard},       {"vary", t.paths}, {"notes", metric_notes(t)},
         {"rows", json::array()}};
  if (t.cancelled)
    j["cancelled"] = true;
  for (const SweepRow& r : t.rows) {
    json rj{{"index", r.index}, {"settings", r.settings}, {"nfe", r.nfe}, {"wall_ms", r.wall_ms}};
    rj["metrics"] = r.metrics;
    if (!r.error.empty())
      rj["error"] = r.error;
    j["rows"].push_back(rj);
  }
  return j;
}

SweepTable sweep_from_csv(const std::string& text, const std::string& origin) {
  const std::string tag = std::string("# ") + kSweepSchema + " ";
  if (text.rfind(tag, 0) != 0)
    throw Error(origin + ": not a sweep table (first line must start with '" + tag + "')");
  SweepTable t;
  const std::string first = text.substr(0, text.find('\n'));
  std::istringstream words(first.substr(tag.size()));
  std::string w;
  bool have_grid = false;
  while (words >> w && w != ";") {
    const size_t eq = w.find('=');
    if (eq == std::string::npos)
      continue;
    const std::string k = w.substr(0, eq), v = w.substr(eq + 1);
    if (k == "grid" && digits_only(v)) {
      t.grid = std::stoll(v);
      have_grid = true;
    } else if (k == "id") {
      t.id = v;
    } else if (k == "shard") {
      t.shard = v;
    } else if (k == "cancelled") {
      t.cancelled = v == "1";
    }
  }
  if (!have_grid || t.id.empty())
    throw Error(origin + ": the header line lacks grid= or id=");
  const auto recs = parse_csv(text.substr(first.size()), origin);
  if (recs.empty())
    throw Error(origin + ": no column header");
  const auto& head = recs[0];
  const auto nfe_at = std::find(head.begin(), head.end(), "nfe") - head.begin();
  if (head.empty() || head[0] != "index" || nfe_at + 2 >= static_cast<long>(head.size()) ||
      head[nfe_at + 1] != "wall_ms" || head.back() != "error")
    throw Error(origin + ": columns must be index, <fields…>, nfe, wall_ms, <metrics…>, error");
  t.paths.assign(head.begin() + 1, head.begin() + nfe_at);
  const std::vector<std::string> metrics(head.begin() + nfe_at + 2, head.end() - 1);
  for (size_t i = 1; i < recs.size(); ++i) {
    const auto& r = recs[i];
    const std::string where = origin + ": line " + std::to_string(i + 2);
    if (r.size() != head.size())
      throw Error(where + ": " + std::to_string(r.size()) + " fields, the header has " +
                  std::to_string(head.size()));
    SweepRow row;
    try {
      if (!digits_only(r[0]))
        throw Error("index");
      row.index = std::stoll(r[0]);
      for (size_t k = 0; k < t.paths.size(); ++k)
        row.settings[t.paths[k]] = parse_value(r[1 + k]);
      row.nfe = std::stoi(r[nfe_at]);
      row.wall_ms = std::stod(r[nfe_at + 1]);
      for (size_t k = 0; k < metrics.size(); ++k)
        if (!r[nfe_at + 2 + k].empty())
          row.metrics[metrics[k]] = std::stod(r[nfe_at + 2 + k]);
    } catch (const std::exception&) {
      throw Error(where + ": malformed number");
    }
    row.error = r.back();
    t.rows.push_back(std::move(row));
  }
  return t;
}

SweepTable sweep_from_json(const std::string& text, const std::string& origin) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("schema", "") != kSweepSchema)
    throw Error(origin + std::string(": not a sweep table (needs \"schema\": \"") + kSweepSchema +
                "\")");
  try {
    SweepTable t;
    t.id = j.at("id").get<std::string>();
    t.grid = j.at("grid").get<int64_t>();
    t.shard = j.at("shard").get<std::string>();
    t.paths = j.at("vary").get<std::vector<std::string>>();
    t.cancelled = j.value("cancelled", false);
    for (const json& rj : j.at("rows")) {
      SweepRow r;
      r.index = rj.at("index").get<int64_t>();
      r.settings = rj.at("settings").get<std::map<std::string, json>>();
      r.nfe = rj.at("nfe").get<int>();
      r.wall_ms = rj.at("wall_ms").get<double>();
      r.metrics = rj.at("metrics").get<std::map<std::string, double>>();
      r.error = rj.value("error", "");
      t.rows.push_back(std::move(r));
    }
    return t;
  } catch (const json::exception& e) {
    throw Error(origin + ": malformed sweep table (" + e.what() + ")");
  }
}

SweepTable read_sweep_file(const std::string& path) {
  if (ends_with(path, ".csv"))
    return sweep_from_csv(read_file(path), path);
  if (ends_with(path, ".json"))
    return sweep_from_json(read_file(path), path);
  throw Error(path + ": sweep tables are .csv or .json");
}

void write_sweep_file(const SweepTable& t, const std::string& path) {
  if (ends_with(path, ".csv"))
    write_file_atomic(path, sweep_to_csv(t));
  else if (ends_with(path, ".json"))
    write_file_atomic(path, sweep_to_json(t).dump(2) + "\n");
  else
    throw Error(path + ": --out must end in .csv or .json");
}

SweepTable merge_sweeps(const std::vector<SweepTable>& parts, const std::vector<std::string>& names,
                        std::vector<int64_t>* missing) {
  if (parts.empty())
    throw Error("merge: no input tables");
  SweepTable m;
  m.id = parts[0].id;
  m.grid = parts[0].grid;
  m.paths = parts[0].paths;
  m.shard = "merged";
  std::map<int64_t, size_t> seen; // index → part
  for (size_t i = 0; i < parts.size(); ++i) {
    const SweepTable& p = parts[i];
    const std::string name = i < names.size() ? names[i] : "input " + std::to_string(i + 1);
    const std::string first = names.empty() ? "input 1" : names[0];
    if (p.id != m.id || p.grid != m.grid)
      throw Error("merge: " + name + " is from a different sweep (id=" + p.id +
                  " grid=" + std::to_string(p.grid) + ") than " + first + " (id=" + m.id +
                  " grid=" + std::to_string(m.grid) + ")");
    if (p.paths != m.paths)
      throw Error("merge: " + name + " varies different fields than " + first);
    m.cancelled = m.cancelled || p.cancelled;
    for (const SweepRow& r : p.rows) {
      if (r.index < 0 || r.index >= m.grid)
        throw Error("merge: " + name + ": row index " + std::to_string(r.index) +
                    " outside the grid of " + std::to_string(m.grid));
      if (auto it = seen.find(r.index); it != seen.end())
        throw Error("merge: row " + std::to_string(r.index) + " is in both " +
                    (it->second < names.size() ? names[it->second] : "an earlier input") + " and " +
                    name);
      seen[r.index] = i;
      m.rows.push_back(r);
    }
  }
  std::sort(m.rows.begin(), m.rows.end(),
            [](const SweepRow& a, const SweepRow& b) { return a.index < b.index; });
  if (missing) {
    missing->clear();
    for (int64_t i = 0; i < m.grid; ++i)
      if (!seen.count(i))
        missing->push_back(i);
  }
  return m;
}

} // namespace itslab
