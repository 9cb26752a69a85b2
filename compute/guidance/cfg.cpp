#include "guidance/cfg.hpp"

#include <cmath>
#include <vector>

namespace itslab {

namespace {
void ensure(Backend& be, Tensor& t, int64_t rows, int64_t cols) {
  if (t.empty() || t.backend() != &be || t.rows() != rows || t.cols() != cols)
    t = be.alloc(rows, cols);
}

// Unbiased per-row standard deviation of e [n, d] into std [n] (torch.std's convention).
std::vector<float> row_std(Backend& be, const Tensor& e, Tensor& stats) {
  const int64_t n = e.rows();
  const double d = static_cast<double>(e.cols());
  std::vector<float> sum(n), sq(n), out(n);
  be.row_reduce(stats, e, RowOp::sum);
  be.download(stats, sum.data());
  be.row_reduce(stats, e, RowOp::sum_squares);
  be.download(stats, sq.data());
  for (int64_t i = 0; i < n; ++i) {
    const double var = (sq[i] - sum[i] * static_cast<double>(sum[i]) / d) / std::max(1.0, d - 1);
    out[i] = static_cast<float>(std::sqrt(std::max(0.0, var)));
  }
  return out;
}
} // namespace

void CfgModel::denoise(Backend& be, Tensor& x0, const Tensor& x, double t, const ProcessPoint& pt,
                       int cls) const {
  inner_.denoise(be, x0, x, t, pt, cls);
  if (cls < 0 || !active(t))
    return;
  ensure(be, Du_, x.rows(), x.cols());
  inner_.denoise(be, Du_, x, t, pt, -1);
  // ε is undefined where α = 0 or σ = 0, and there is nothing to rescale
  const bool rescale = p_.rescale > 0 && pt.alpha > 0 && pt.sigma > 0;
  const double a = pt.alpha, s = pt.sigma, w = p_.scale;
  if (rescale) {
    ensure(be, eps_c_, x.rows(), x.cols());
    be.lincomb(eps_c_, {{&x, 1 / s}, {&x0, -a / s}}); // ε = (x − α D)/σ
  }
  be.lincomb(x0, {{&Du_, 1 - w}, {&x0, w}});
  if (!rescale)
    return;
  ensure(be, eps_g_, x.rows(), x.cols());
  ensure(be, stats_, x.rows(), 1);
  ensure(be, ratio_, x.rows(), 1);
  be.lincomb(eps_g_, {{&x, 1 / s}, {&x0, -a / s}});
  const std::vector<float> sc = row_std(be, eps_c_, stats_), sg = row_std(be, eps_g_, stats_);
  std::vector<float> r(sc.size());
  for (size_t i = 0; i < r.size(); ++i)
    r[i] = sg[i] > 0 ? sc[i] / sg[i] : 1.0f;
  be.upload(ratio_, r.data());
  // ε_final = φ r ε_cfg + (1 − φ) ε_cfg, then D = (x − σ ε_final)/α
  const double phi = p_.rescale;
  be.lincomb(eps_g_, {{&eps_g_, phi, &ratio_}, {&eps_g_, 1 - phi}});
  be.lincomb(x0, {{&x, 1 / a}, {&eps_g_, -s / a}});
}

} // namespace itslab
