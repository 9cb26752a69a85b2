// Every Backend operation on the Vulkan backend against the CPU backend (or an exact / double
// reference), with the validation layer watching every test.
#include "core/error.hpp"
#include "core/philox.hpp"
#include "model/gaussian_mixture.hpp"
#include "vulkan/vulkan_test_util.hpp"

#include <cstring>

using namespace itslab;
using namespace itslab::vulkan_test;

class TestVulkanOps : public QObject {
  Q_OBJECT
  std::unique_ptr<VulkanBackend> vk_;
  CpuBackend cpu_;

  // Isotropic in 6-D, 5 components: with gmm/high-dim-64, a mixture for the denoiser kernel
  // whose dimension loop is outermost on CPU-type devices (8 and 4 particles per invocation).
  static GaussianMixture iso6_mixture() {
    GmmSpec iso6;
    for (int k = 0; k < 5; ++k) {
      iso6.weights.push_back(1 + k);
      const std::vector<float> mu = data(6, 200 + k, -2, 2);
      iso6.means.emplace_back(mu.begin(), mu.end());
      iso6.stds.push_back(0.3 + 0.1 * k);
      iso6.labels.push_back(k % 2);
    }
    return {"iso-6", iso6};
  }

  // The same op on both backends from the same host inputs.
  template <class F> std::pair<std::vector<float>, std::vector<float>> both(F&& f) {
    return {f(*vk_), f(cpu_)};
  }

private slots:
  ITSLAB_VULKAN_FIXTURE

  // Synchronization validation is active: a deliberately missing barrier is reported.
  void validationIsWatching() {
    if (!vk_->validation_active())
      QSKIP("VK_LAYER_KHRONOS_validation is not installed (apt install vulkan-validationlayers)");
    QVERIFY(vk_->provoke_sync_hazard_for_testing() > 0);
  }

  // Random123 known answer: counter (0,0,0,0), key (0,0) is (seed 0, stream 0, step 0,
  // particle 0, dims 0..3).
  void philoxKnownAnswer() {
    Tensor t = vk_->alloc(1, 4);
    vk_->fill_bits(t, {0, 0, 0, 0});
    const auto v = get(*vk_, t);
    const uint32_t want[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    for (int j = 0; j < 4; ++j)
      QCOMPARE(bits(v[j]), want[j]);
  }

  // The raw uint32 stream is bit-identical to compute/core/philox for any key, odd d (partial
  // last block), d < 4 (one block per row), d % 4 = 0 (float4 stores), any first particle.
  void philoxStreamBitExact() {
    const struct {
      NoiseKey key;
      int64_t n, d;
    } cases[] = {{{0x9abcdef012345678ULL, 7, 3, 0}, 4096, 37},
                 {{42, 1, 0, 0}, 20000, 2},
                 {{0xffffffffffffffffULL, 0xffffffffu, 0xffffffffu, 0xfffff000u}, 8192, 5},
                 {{7, 2, 1, 9}, 3001, 1},
                 {{8, 3, 2, 0}, 3001, 3},
                 {{9, 4, 3, 5}, 3001, 8}};
    for (const auto& c : cases) {
      Tensor t = vk_->alloc(c.n, c.d);
      vk_->fill_bits(t, c.key);
      const auto v = get(*vk_, t);
      int64_t bad = 0;
      for (int64_t i = 0; i < c.n; ++i)
        for (int64_t j = 0; j < c.d; ++j)
          bad +=
              bits(v[i * c.d + j]) != philox_bits(c.key.seed, c.key.stream, c.key.step,
                                                  c.key.first_particle + static_cast<uint32_t>(i),
                                                  static_cast<uint32_t>(j));
      QCOMPARE(bad, int64_t{0});
    }
  }

  // Uniforms are an exact function of the words: bit-identical (the GPU rounds (x + ½)·2⁻³²
  // to float with integer operations, ties included).
  void uniformsBitExact() {
    for (int64_t d : {1, 2, 4, 7}) {
      const auto [g, c] = both([d](Backend& be) {
        Tensor t = be.alloc(50000, d);
        be.fill_uniform(t, {123, 4, 5, 6});
        return get(be, t);
      });
      int64_t bad = 0;
      for (size_t i = 0; i < g.size(); ++i)
        bad += bits(g[i]) != bits(c[i]);
      QCOMPARE(bad, int64_t{0});
    }
  }

  // Normals. Double kernels: Box–Muller in double with fdlibm log/sin/cos, rounded to float
  // as the CPU does; the two double results differ by an ulp of double at most, which changes
  // the float only when the exact value lies within 2⁻²⁹ relative of a rounding boundary
  // (probability ~1e-8 per value), so at most 1 float ulp on at most 1e-5 of the values.
  // Float kernels (GPUs): builtin log/sin/cos, whose error lavapipe keeps near 1e-7 but the
  // spec allows up to 2⁻¹¹ absolute for sin/cos: checked at 2e-5 on CPU-type devices, 3e-3
  // elsewhere (5.77·2⁻¹¹ for |z| ≤ 5.77).
  void normalsMatchCpu() {
    const bool was = vk_->double_precision();
    for (bool f64 : {true, false}) {
      if (!vk_->set_double_precision(f64)) {
        qInfo("no shaderFloat64: double kernels not tested");
        continue;
      }
      // d = 9 (a partial last block), 2 and 3 (one block per row), 8 (float4 stores)
      std::vector<float> g, c;
      for (int64_t d : {9, 2, 3, 8}) {
        const auto [gd, cd] = both([d](Backend& be) {
          Tensor t = be.alloc(40000, d);
          be.fill_normal(t, {77, 1, 3, 100});
          return get(be, t);
        });
        g.insert(g.end(), gd.begin(), gd.end());
        c.insert(c.end(), cd.begin(), cd.end());
      }
      int64_t differ = 0;
      double worst = 0;
      for (size_t i = 0; i < g.size(); ++i) {
        differ += bits(g[i]) != bits(c[i]);
        worst = std::max(worst, std::abs(static_cast<double>(g[i]) - c[i]));
        if (f64)
          QVERIFY2(ulps(g[i], c[i]) <= 1, qPrintable(QString("%1 vs %2").arg(g[i]).arg(c[i])));
      }
      qInfo("%s normals: %lld of %zu differ from the CPU, max |diff| %.3g",
            f64 ? "double" : "float", static_cast<long long>(differ), g.size(), worst);
      if (f64)
        QVERIFY(differ <= static_cast<int64_t>(g.size() / 100000));
      else
        QVERIFY(worst <= (cpu_type(*vk_) ? 2e-5 : 3e-3));
    }
    vk_->set_double_precision(was);
  }

  // lincomb with 1..12 terms, row scales, aliasing, float4 and scalar layouts (n·d % 4), with
  // its inputs read as texels and from storage buffers.
  void lincombMatchesCpu() {
    for (bool texel : {true, false})
      lincombMatchesCpuWith(texel);
    // back to the default: texels on CPU-type devices
    vk_->set_texel_loads(cpu_type(*vk_));
    Tensor bad = vk_->alloc(3, 3), x = vk_->alloc(3, 2);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->lincomb(bad, {{&x, 1.0}}));
    Tensor other = cpu_.alloc(3, 2);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->lincomb(x, {{&other, 1.0}}));
  }

private:
  void lincombMatchesCpuWith(bool texel) {
    vk_->set_texel_loads(texel);
    for (int64_t d : {1, 2, 3, 4, 37}) {
      const int64_t n = 1001;
      for (int m : {1, 2, 5, 8, 12}) {
        const auto run = [&](Backend& be) {
          std::vector<Tensor> xs, ss;
          for (int i = 0; i < m; ++i) {
            xs.push_back(put(be, n, d, data(n * d, 10 * i + d)));
            ss.push_back(put(be, n, 1, data(n, 77 + i, 0.5f, 1.5f)));
          }
          Tensor y = be.alloc(n, d);
          std::vector<LinTerm> t;
          for (int i = 0; i < m; ++i)
            t.push_back({&xs[i], 0.37 * (i + 1) - 1.1, i % 3 == 1 ? &ss[i] : nullptr});
          // initializer_list from a vector: spell out by size (the op takes a braced list)
          switch (m) {
          case 1:
            be.lincomb(y, {t[0]});
            be.lincomb(xs[0], {t[0], {&y, 0.5}}); // in place: x0 = a x0 + y/2
            break;
          case 2:
            be.lincomb(y, {t[0], t[1]});
            break;
          case 5:
            be.lincomb(y, {t[0], t[1], t[2], t[3], t[4]});
            be.lincomb(xs[3], {t[0], t[1], t[2], t[3], t[4]}); // aliasing a middle term
            break;
          case 8:
            be.lincomb(y, {t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]});
            break;
          default:
            be.lincomb(y,
                       {t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], t[11]});
          }
          auto out = get(be, y);
          const auto x0 = get(be, xs[0]), x3 = get(be, xs[std::min(m - 1, 3)]);
          out.insert(out.end(), x0.begin(), x0.end());
          out.insert(out.end(), x3.begin(), x3.end());
          return out;
        };
        const auto [g, c] = both(run);
        // float sums of m products in the same order: a few ulp of the largest term
        QVERIFY2(
            rel_diff(g, c) < 2e-6 * m,
            qPrintable(
                QString("d=%1 m=%2 texel %3: %4").arg(d).arg(m).arg(texel).arg(rel_diff(g, c))));
      }
    }
  }

private slots:

  void gatherRowsExact() {
    const std::vector<int64_t> idx = {5, 0, 5, 999, 3, 3, 1, 2};
    const auto [g, c] = both([&](Backend& be) {
      Tensor x = put(be, 1000, 3, data(3000, 5));
      Tensor y = be.alloc(static_cast<int64_t>(idx.size()), 3);
      be.gather_rows(y, x, idx);
      return get(be, y);
    });
    QCOMPARE(g, c);
    Tensor x = vk_->alloc(4, 2), y = vk_->alloc(2, 2);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->gather_rows(y, x, {0, 4}));
    QVERIFY_THROWS_EXCEPTION(Error, vk_->gather_rows(y, x, {-1, 0}));
    Tensor alias = x;
    QVERIFY_THROWS_EXCEPTION(Error, vk_->gather_rows(alias, x, {0, 1, 2, 3}));
  }

  // Sums of d floats in another order than Eigen's: |Δ| ≤ d·2⁻²⁴·Σ|x|; max is exact.
  void rowReduceMatchesCpu() {
    for (int64_t d : {1, 2, 7, 64}) {
      const int64_t n = 3000;
      const auto x = data(n * d, 9 + d);
      for (RowOp op : {RowOp::sum, RowOp::sum_squares, RowOp::max}) {
        const auto [g, c] = both([&](Backend& be) {
          Tensor t = put(be, n, d, x), o = be.alloc(n, 1);
          be.row_reduce(o, t, op);
          return get(be, o);
        });
        for (int64_t i = 0; i < n; ++i) {
          double abs_sum = 0;
          for (int64_t j = 0; j < d; ++j)
            abs_sum += op == RowOp::sum ? std::abs(x[i * d + j]) : x[i * d + j] * x[i * d + j];
          const double tol = op == RowOp::max ? 0.0 : 2.0 * d * std::ldexp(abs_sum, -24);
          QVERIFY2(std::abs(static_cast<double>(g[i]) - c[i]) <= tol,
                   qPrintable(QString("d=%1 row %2: %3 vs %4").arg(d).arg(i).arg(g[i]).arg(c[i])));
        }
      }
    }
  }

  // The GMM posterior mean, isotropic (all built-ins), full covariance, class-conditional,
  // across noise levels. Double kernels match the CPU (double inside, float out) to ~1 float
  // ulp; float kernels to 1e-5·(1 + |x|) (float exp/log-sum-exp; gaussian-mixtures note).
  void gmmDenoiseMatchesCpu() {
    std::vector<GaussianMixture> models;
    for (const char* id : {"gmm/eight-gaussians", "gmm/checkerboard", "gmm/high-dim-64"})
      models.push_back(builtin_gmm(id));
    GmmSpec full;
    full.weights = {0.3, 0.7, 0.5};
    full.means = {{1, 0, -1}, {-1, 2, 0.5}, {0, 0, 0}};
    full.covariances = {{{1, 0.3, 0}, {0.3, 0.5, 0.1}, {0, 0.1, 0.2}},
                        {{0.2, 0, 0}, {0, 0.3, -0.1}, {0, -0.1, 0.4}},
                        {{2, 1, 0}, {1, 2, 0.5}, {0, 0.5, 1}}};
    full.labels = {0, 1, 0};
    models.emplace_back("full-3", full);
    // 64 isotropic components in 48-D: more than the 16 whose loops the kernel unrolls, and a
    // double table (64 rows of 1 + 3·48 entries, 74 KB) larger than lavapipe's 64 KB uniform
    // buffers, so the kernel reads the table from its storage buffer instead
    GmmSpec wide;
    for (int k = 0; k < 64; ++k) {
      wide.weights.push_back(1 + k % 5);
      const std::vector<float> mu = data(48, 100 + k, -3, 3);
      wide.means.emplace_back(mu.begin(), mu.end());
      wide.stds.push_back(0.2 + 0.01 * k);
      wide.labels.push_back(k % 2);
    }
    models.emplace_back("wide-64x48", wide);
    models.push_back(iso6_mixture());
    const bool was = vk_->double_precision();
    for (bool f64 : {true, false}) {
      if (!vk_->set_double_precision(f64))
        continue;
      for (const GaussianMixture& m : models) {
        // not multiples of the particles per invocation: the last invocation's extra ones are
        // computed but must not be stored
        const int64_t d = m.dim(), n = d > 8 ? 258 : 2001;
        const auto x = data(n * d, 3, -4, 4);
        for (double sigma : {0.002, 0.3, 80.0})
          for (int cls : {-1, 1}) {
            const double alpha = sigma > 1 ? 0.2 : 0.9;
            const auto [g, c] = both([&](Backend& be) {
              Tensor t = put(be, n, d, x), o = be.alloc(n, d);
              be.gmm_denoise(o, t, m.kernel_params(), alpha, sigma, cls);
              return get(be, o);
            });
            for (size_t i = 0; i < g.size(); ++i) {
              // float logits sum d terms: their error, and the posterior's, grows with d
              const double tol = f64 ? 4e-7 * (1 + std::abs(c[i]))
                                     : 1e-5 * (1 + std::abs(x[i])) * std::max<double>(1, d / 8.0);
              QVERIFY2(std::abs(static_cast<double>(g[i]) - c[i]) <= tol,
                       qPrintable(QString("%1 σ=%2 cls %3 %4: %5 vs %6")
                                      .arg(m.id().c_str())
                                      .arg(sigma)
                                      .arg(cls)
                                      .arg(f64 ? "f64" : "f32")
                                      .arg(g[i])
                                      .arg(c[i])));
            }
          }
      }
    }
    vk_->set_double_precision(was);
    Tensor t = vk_->alloc(4, 2), o = vk_->alloc(4, 2);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->gmm_denoise(o, t, models[0].kernel_params(), 1, 1, 99));
  }

  // The CPU-type device kernels (chosen with the texel reads) sum every output in the storage-
  // buffer kernel's order: the same bits, whole and in chunks of 64 rows, both precisions, with
  // and without a class. They are the denoiser with the dimension loop outermost (64-D) and the
  // float4 loads and stores (64-D; 2-D and 6-D when the particle count is a multiple of the
  // particles per invocation, 512 here, and 333 is not).
  void denoiserKernelsGiveTheSameBits() {
    const bool was = vk_->double_precision();
    for (const GaussianMixture& m :
         {builtin_gmm("gmm/eight-gaussians"), iso6_mixture(), builtin_gmm("gmm/high-dim-64")})
      for (bool f64 : {true, false}) {
        if (!vk_->set_double_precision(f64))
          continue;
        for (int64_t n : {333, 512}) {
          const int64_t d = m.dim();
          const auto x = data(n * d, 4, -4, 4);
          for (int cls : {-1, 1})
            for (uint64_t bind : {~uint64_t{0}, static_cast<uint64_t>(64 * d * 4)}) {
              vk_->set_max_binding_bytes(bind);
              std::vector<std::vector<float>> outs;
              for (bool texel : {false, true}) {
                vk_->set_texel_loads(texel);
                Tensor t = put(*vk_, n, d, x), o = vk_->alloc(n, d);
                vk_->gmm_denoise(o, t, m.kernel_params(), 0.9, 0.3, cls);
                outs.push_back(get(*vk_, o));
              }
              expect_bits(outs[1], outs[0],
                          QString("%1 %2 n %3 cls %4 binding %5")
                              .arg(m.id().c_str())
                              .arg(f64 ? "f64" : "f32")
                              .arg(n)
                              .arg(cls)
                              .arg(bind));
            }
        }
      }
    vk_->set_max_binding_bytes(~0ull);
    vk_->set_texel_loads(cpu_type(*vk_));
    vk_->set_double_precision(was);
  }

  // A lincomb right after the mixture denoiser runs in the denoiser's dispatch when its terms
  // allow (at most 4, no row scale, the denoiser's output among them, y not that output), with
  // the same bits as the two kernels apart, for both outputs. Ops recorded between the two, or
  // a host upload, record the denoiser first, in order.
  void denoiserFusedWithLincomb() {
    const GaussianMixture m = builtin_gmm("gmm/eight-gaussians");
    const int64_t n = 777, d = 2;
    const auto x0 = data(n * d, 5, -3, 3), prev = data(n * d, 6), other = data(n * d, 7);
    const Tensor scale_host = put(*vk_, n, 1, data(n, 8));
    enum Case {
      in_place,
      three,
      four_last,
      five_terms,
      row_scaled,
      into_output,
      op_between,
      upload_between
    };
    const auto run = [&](Case c, bool fuse) {
      vk_->set_fusion(fuse);
      Tensor x = put(*vk_, n, d, x0), D = vk_->alloc(n, d), P = put(*vk_, n, d, prev),
             y = vk_->alloc(n, d);
      vk_->gmm_denoise(D, x, m.kernel_params(), 0.8, 0.7, -1);
      switch (c) {
      case in_place:
        vk_->lincomb(x, {{&x, 0.9}, {&D, 0.35}});
        break;
      case three:
        vk_->lincomb(y, {{&x, 0.9}, {&D, 0.4}, {&P, -0.1}});
        break;
      case four_last:
        vk_->lincomb(x, {{&P, 0.2}, {&x, 0.7}, {&y, 0.0}, {&D, 0.5}});
        break;
      case five_terms:
        vk_->lincomb(y, {{&x, 0.9}, {&D, 0.4}, {&P, -0.1}, {&x, 0.1}, {&P, 0.3}});
        break;
      case row_scaled:
        vk_->lincomb(y, {{&x, 0.9}, {&D, 0.4, &scale_host}});
        break;
      case into_output:
        vk_->lincomb(D, {{&x, 0.5}, {&D, 0.5}});
        break;
      case op_between:
        vk_->fill_normal(x, {3, 0, 0, 0});
        vk_->lincomb(y, {{&x, 1.0}, {&D, 1.0}});
        break;
      case upload_between:
        vk_->upload(x, other.data());
        vk_->lincomb(y, {{&x, 1.0}, {&D, 1.0}});
        break;
      }
      std::vector<float> out = get(*vk_, x), dv = get(*vk_, D), yv = get(*vk_, y);
      out.insert(out.end(), dv.begin(), dv.end());
      out.insert(out.end(), yv.begin(), yv.end());
      return out;
    };
    const bool f64 = vk_->double_precision();
    for (bool dbl : {true, false}) {
      if (!vk_->set_double_precision(dbl))
        continue;
      for (Case c : {in_place, three, four_last, five_terms, row_scaled, into_output, op_between,
                     upload_between}) {
        const auto fused_calls = [&] {
          int64_t calls = 0;
          for (const auto& [name, t] : vk_->kernel_times())
            calls += name.rfind("gmm_denoise_lincomb", 0) == 0 ? t.calls : 0;
          return calls;
        };
        const std::vector<float> apart = run(c, false);
        vk_->set_profiling(true);
        const std::vector<float> fused = run(c, true);
        const int64_t calls = fused_calls();
        const bool timed = !vk_->kernel_times().empty();
        vk_->set_profiling(false);
        QVERIFY2(std::memcmp(apart.data(), fused.data(), sizeof(float) * apart.size()) == 0,
                 qPrintable(QString("case %1, %2").arg(c).arg(dbl ? "f64" : "f32")));
        // without timestamps, which kernel ran is not observable
        if (timed)
          QCOMPARE(calls, int64_t{c == in_place || c == three || c == four_last ? 1 : 0});
      }
    }
    vk_->set_double_precision(f64);
    vk_->set_fusion(cpu_type(*vk_));
  }

  void rewardMatchesCpu() {
    using Kind = RewardKernelParams::Kind;
    const int64_t n = 5000, d = 3;
    const auto x = data(n * d, 4, -3, 3);
    std::vector<RewardKernelParams> rs(4);
    rs[0] = {Kind::linear, {0.5, -1, 2}, {}, 0.25, 0, 1};
    rs[1] = {Kind::distance, {1, 0, -1}, {}, 0, 0, 1};
    rs[2] = {Kind::box, {-1, -1, -1}, {1, 2, 1}, 0, 0, 0.1};
    rs[3] = {Kind::disc, {0, 1, 0}, {}, 0, 1.5, 0.2};
    const bool was = vk_->double_precision();
    for (bool f64 : {true, false}) {
      if (!vk_->set_double_precision(f64))
        continue;
      for (const RewardKernelParams& r : rs) {
        const auto [g, c] = both([&](Backend& be) {
          Tensor t = put(be, n, d, x), o = be.alloc(n, 1);
          be.reward(o, t, r);
          return get(be, o);
        });
        for (int64_t i = 0; i < n; ++i)
          QVERIFY2(
              std::abs(static_cast<double>(g[i]) - c[i]) <=
                  (f64 ? 1 : 8) * 1.2e-7 * (1 + std::abs(c[i])),
              qPrintable(
                  QString("kind %1: %2 vs %3").arg(static_cast<int>(r.kind)).arg(g[i]).arg(c[i])));
      }
    }
    vk_->set_double_precision(was);
    Tensor t = vk_->alloc(4, 2), o = vk_->alloc(4, 1);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->reward(o, t, rs[0])); // 3 weights, 2 dimensions
  }

  // GEMM + bias + activation against a double reference: |Δ| ≤ in·2⁻²⁴·Σ|x w| plus a few ulp
  // of the activation (both backends), over shapes that are not tile multiples.
  void gemmBiasActMatchesReference() {
    for (int64_t n : {1, 7, 65, 257})
      for (int64_t in : {3, 64, 129})
        for (int64_t out : {3, 64, 129})
          for (Activation act :
               {Activation::none, Activation::silu, Activation::gelu, Activation::relu}) {
            if (n == 257 && act != Activation::silu)
              continue;
            const auto X = data(n * in, 1 + in), Wv = data(out * in, 2 + out, -0.3f, 0.3f),
                       B = data(out, 3, -1, 1);
            for (Backend* be : {static_cast<Backend*>(vk_.get()), static_cast<Backend*>(&cpu_)}) {
              Tensor x = put(*be, n, in, X), w = put(*be, out, in, Wv), b = put(*be, 1, out, B);
              Tensor y = be->alloc(n, out);
              be->gemm_bias_act(y, x, w, b, act);
              const auto g = get(*be, y);
              for (int64_t i = 0; i < n; ++i)
                for (int64_t o = 0; o < out; ++o) {
                  double v = B[o], mag = std::abs(B[o]);
                  for (int64_t k = 0; k < in; ++k) {
                    v += static_cast<double>(X[i * in + k]) * Wv[o * in + k];
                    mag += std::abs(static_cast<double>(X[i * in + k]) * Wv[o * in + k]);
                  }
                  double ref = v;
                  if (act == Activation::silu)
                    ref = v / (1 + std::exp(-v));
                  else if (act == Activation::gelu)
                    ref = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
                  else if (act == Activation::relu)
                    ref = std::max(v, 0.0);
                  const double tol = (in + 2) * std::ldexp(mag, -24) + 1e-6 * (1 + std::abs(ref));
                  QVERIFY2(std::abs(g[i * out + o] - ref) <= tol,
                           qPrintable(QString("%1 n=%2 in=%3 out=%4 act=%5: %6 vs %7")
                                          .arg(be->name().c_str())
                                          .arg(n)
                                          .arg(in)
                                          .arg(out)
                                          .arg(static_cast<int>(act))
                                          .arg(g[i * out + o])
                                          .arg(ref)));
                }
            }
          }
    Tensor x = vk_->alloc(2, 3), w = vk_->alloc(4, 2), b = vk_->alloc(1, 4), y = vk_->alloc(2, 4);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->gemm_bias_act(y, x, w, b, Activation::none));
  }

  // Double kernels: fdlibm sin/cos in double, the CPU's libm in double, both rounded to float:
  // ≤ 1 ulp. Float kernels: the argument s·t·f_k itself is rounded to float, an error of
  // |arg|·2⁻²⁴ in the phase, plus the builtins' error. 32 frequencies go four per invocation
  // (float4 loads and stores), 3 one at a time.
  void timeEmbeddingMatchesCpu() {
    const int64_t n = 3000;
    const auto t = data(n, 8, 0, 1);
    const bool was = vk_->double_precision();
    for (const int64_t dim : {64, 6})
      for (bool f64 : {true, false}) {
        if (!vk_->set_double_precision(f64))
          continue;
        std::vector<float> freqs(dim / 2);
        for (int64_t k = 0; k < dim / 2; ++k)
          freqs[k] = static_cast<float>(std::exp(-std::log(10000.0) * k / (dim / 2)));
        for (double scale : {1.0, 1000.0}) {
          const auto [g, c] = both([&](Backend& be) {
            Tensor tt = put(be, n, 1, t), y = be.alloc(n, dim), f = put(be, 1, dim / 2, freqs);
            be.time_embedding(y, tt, scale, f);
            return get(be, y);
          });
          for (int64_t i = 0; i < n; ++i)
            for (int64_t k = 0; k < dim; ++k) {
              const double arg = scale * t[i];
              const size_t j = static_cast<size_t>(i * dim + k);
              if (f64)
                QVERIFY2(ulps(g[j], c[j]) <= 1 || std::abs(g[j] - c[j]) < 1e-12,
                         qPrintable(QString("%1 vs %2").arg(g[j]).arg(c[j])));
              else
                QVERIFY2(std::abs(g[j] - c[j]) <= 4 * arg * 6e-8 + 2e-6,
                         qPrintable(QString("scale %1: %2 vs %3").arg(scale).arg(g[j]).arg(c[j])));
            }
        }
      }
    vk_->set_double_precision(was);
    Tensor tt = vk_->alloc(4, 1), odd = vk_->alloc(4, 5), f3 = vk_->alloc(1, 3);
    QVERIFY_THROWS_EXCEPTION(Error, vk_->time_embedding(odd, tt, 1.0, f3));
  }

  // Arrays larger than one binding run in row chunks: forcing a 4 KiB binding limit must give
  // the same bits as one dispatch.
  void rowChunksGiveTheSameResult() {
    const int64_t n = 1000, d = 3;
    const auto x = data(n * d, 6);
    const GaussianMixture m = builtin_gmm("gmm/eight-gaussians");
    const auto run = [&]() {
      std::vector<float> all;
      const auto add = [&](const Tensor& t) {
        const auto v = get(*vk_, t);
        all.insert(all.end(), v.begin(), v.end());
      };
      Tensor a = put(*vk_, n, d, x), s = put(*vk_, n, 1, data(n, 2)), y = vk_->alloc(n, d);
      vk_->fill_uniform(y, {5, 0, 0, 0});
      vk_->lincomb(y, {{&a, 0.5, &s}, {&y, 0.0}, {&a, 2.0}});
      add(y);
      vk_->fill_normal(y, {1, 2, 3, 4});
      add(y);
      Tensor r = vk_->alloc(n, 1);
      vk_->row_reduce(r, y, RowOp::sum_squares);
      add(r);
      std::vector<int64_t> idx(n);
      for (int64_t i = 0; i < n; ++i)
        idx[i] = (i * 7919) % n;
      Tensor gth = vk_->alloc(n, d);
      vk_->gather_rows(gth, a, idx);
      add(gth);
      Tensor x2 = put(*vk_, n, 2, data(2 * n, 7)), o2 = vk_->alloc(n, 2);
      vk_->gmm_denoise(o2, x2, m.kernel_params(), 1.0, 0.5, -1);
      add(o2);
      vk_->reward(r, a, {RewardKernelParams::Kind::disc, {0, 0, 0}, {}, 0, 1, 0.3});
      add(r);
      Tensor w = put(*vk_, 5, d, data(5 * d, 8)), b = put(*vk_, 1, 5, data(5, 9)),
             h = vk_->alloc(n, 5);
      vk_->gemm_bias_act(h, a, w, b, Activation::gelu);
      add(h);
      Tensor emb = vk_->alloc(n, 8), tt = put(*vk_, n, 1, data(n, 10, 0, 1)),
             f4 = put(*vk_, 1, 4, data(4, 11, 0, 1));
      vk_->time_embedding(emb, tt, 3.0, f4);
      add(emb);
      return all;
    };
    const auto whole = run();
    vk_->set_max_binding_bytes(4096);
    const auto chunked = run();
    vk_->set_max_binding_bytes(~0ull);
    QCOMPARE(chunked.size(), whole.size());
    for (size_t i = 0; i < whole.size(); ++i)
      QCOMPARE(bits(chunked[i]), bits(whole[i]));
  }

  // More memory than the device has: an Error naming the problem, never a crash; the backend
  // keeps working afterwards.
  void outOfMemoryIsAnError() {
    const VulkanProbe p = probe_vulkan();
    uint64_t heap = 0;
    for (const auto& d : p.devices)
      heap = std::max(heap, d.heap_bytes);
    QVERIFY(heap > 0);
    const int64_t rows = static_cast<int64_t>(heap / 4 / 16) + 1024;
    try {
      Tensor t = vk_->alloc(rows, 16);
      QFAIL("allocating more than the heap succeeded");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("out of device memory") != std::string::npos, e.what());
    }
    Tensor ok = vk_->alloc(10, 2);
    vk_->fill_normal(ok, {1, 0, 0, 0});
    QVERIFY(std::isfinite(get(*vk_, ok)[0]));
  }

  // New arrays are zero, as on the CPU backend.
  void allocZeroes() {
    Tensor x = vk_->alloc(1000, 3);
    vk_->fill_normal(x, {1, 0, 0, 0});
    Tensor y = vk_->alloc(1000, 3); // allocated while work is recorded
    for (float v : get(*vk_, y))
      QCOMPARE(v, 0.0f);
    Tensor z = vk_->alloc(77, 1); // allocated while idle
    for (float v : get(*vk_, z))
      QCOMPARE(v, 0.0f);
  }

  // A solver-style sequence with no read-back is one submission.
  void workIsBatched() {
    Tensor x = vk_->alloc(4096, 2), D = vk_->alloc(4096, 2);
    const GaussianMixture m = builtin_gmm("gmm/eight-gaussians");
    vk_->sync();
    const int64_t before = vk_->submissions();
    vk_->fill_normal(x, {7, 0, 0, 0});
    for (int i = 0; i < 50; ++i) {
      vk_->gmm_denoise(D, x, m.kernel_params(), 1.0, 1.0 / (i + 1), -1);
      vk_->lincomb(x, {{&x, 0.9}, {&D, 0.1}});
    }
    const auto out = get(*vk_, x);
    QCOMPARE(vk_->submissions() - before, int64_t{1});
    QVERIFY(std::isfinite(out[0]));
  }

  // Per-kernel timestamps are collected when profiling is on.
  void profilingCollectsKernelTimes() {
    vk_->set_profiling(true);
    Tensor x = vk_->alloc(10000, 2);
    vk_->fill_normal(x, {1, 0, 0, 0});
    vk_->lincomb(x, {{&x, 2.0}});
    vk_->sync();
    const auto times = vk_->kernel_times();
    vk_->set_profiling(false);
    if (times.empty())
      QSKIP("the device's queue has no timestamps");
    int64_t lincombs = 0, philox = 0;
    for (const auto& [name, t] : times) {
      QVERIFY(t.ms >= 0);
      (name.rfind("lincomb", 0) == 0  ? lincombs
       : name.rfind("philox", 0) == 0 ? philox
                                      : lincombs) +=
          name.rfind("lincomb", 0) == 0 || name.rfind("philox", 0) == 0 ? t.calls : 0;
    }
    QCOMPARE(lincombs, int64_t{1});
    QCOMPARE(philox, int64_t{1});
  }
};

QTEST_APPLESS_MAIN(TestVulkanOps)
#include "test_vulkan_ops.moc"
