#include "io/preset_schema.hpp"

namespace itslab {

namespace {
using K = ParamSpec::Kind;
constexpr double kInf = std::numeric_limits<double>::infinity();

ParamSpec num(std::string name, double def, double lo, double hi, std::string help,
              bool lo_open = true) {
  return {std::move(name), K::number, def, lo, hi, lo_open, {}, "", std::move(help)};
}
ParamSpec integer(std::string name, double def, double lo, double hi, std::string help) {
  return {std::move(name), K::integer, def, lo, hi, false, {}, "", std::move(help)};
}
ParamSpec choice(std::string name, std::vector<std::string> choices, std::string help) {
  ParamSpec p{std::move(name), K::text, 0, 0, 0, false, std::move(choices), "", std::move(help)};
  p.def_text = p.choices.front();
  return p;
}
ParamSpec free_text(std::string name, std::string help) {
  ParamSpec p{std::move(name), K::text, 0, 0, 0, false, {}, "", std::move(help)};
  p.optional = true;
  return p;
}
ParamSpec list(std::string name, std::string help) {
  ParamSpec p{std::move(name), K::number_list, 0, 0, kInf, false, {}, "", std::move(help)};
  p.optional = true;
  return p;
}
ParamSpec t_param(std::string name, std::string help) {
  ParamSpec p = num(std::move(name), -1, 0, 1, std::move(help), false);
  p.optional = true;
  return p;
}
} // namespace

const std::vector<TypeSpec>& process_specs() {
  static const std::vector<TypeSpec> s = {
      {"vp_linear",
       "Variance preserving, linear β(t) = β_min + t(β_max − β_min); α = exp(−¼t²Δβ − ½tβ_min), "
       "σ = √(1 − α²); t ∈ [1e-3, 1]",
       {num("beta_min", 0.1, 0, 1000, "β(0), the noise rate at the data end"),
        num("beta_max", 20, 0, 1000, "β(1), the noise rate at the noise end"),
        t_param("t_min", "smallest positive time sampled (default 1e-3)"),
        t_param("t_max", "time sampling starts from (default 1)")}},
      {"vp_cosine",
       "Variance preserving, cosine ᾱ(t) = cos²((t+s)/(1+s)·π/2)/cos²(s/(1+s)·π/2); t ∈ [1e-3, "
       "0.9946]",
       {num("s", 0.008, 0, 1, "offset s that keeps β finite near t = 0", false),
        t_param("t_min", "smallest positive time sampled (default 1e-3)"),
        t_param("t_max", "time sampling starts from (default 0.9946; t = 1 is singular)")}},
      {"ve",
       "Variance exploding, σ(t) = σ_min (σ_max/σ_min)^t, α = 1; x_T = σ_max·z",
       {num("sigma_min", 0.01, 0, kInf, "σ at t = 0"), num("sigma_max", 50, 0, kInf, "σ at t = 1"),
        t_param("t_min", "smallest positive time sampled (default 1e-5)"),
        t_param("t_max", "time sampling starts from (default 1)")}},
      {"edm",
       "Karras et al. (EDM): α = 1, σ(t) = t ∈ [σ_min, σ_max]; x_T = σ_max·z",
       {num("sigma_min", 0.002, 0, kInf, "smallest positive σ sampled"),
        num("sigma_max", 80, 0, kInf, "σ sampling starts from"),
        num("sigma_data", 0.5, 0, kInf, "data std used by EDM preconditioning of trained nets")}},
      {"flow_linear",
       "Rectified flow / flow matching: x_t = (1 − t)·x0 + t·ε, t from 1 (noise) to 0 (data)",
       {t_param("t_min", "smallest positive time sampled (default 0: uniform grids end at 0)"),
        t_param("t_max", "time sampling starts from (default 1)")}},
  };
  return s;
}

const std::vector<TypeSpec>& schedule_specs() {
  const ParamSpec steps{
      "steps", K::integer, 20,
      1,       10000,      false,
      {},      "",         "number of solver steps M (M + 1 grid nodes, the last at σ = 0)"};
  static const std::vector<TypeSpec> s = {
      {"uniform", "uniform in the process's own time t", {steps}},
      {"logsnr", "uniform in half log-SNR λ = log(α/σ) (DPM-Solver 'logSNR')", {steps}},
      {"karras",
       "σ_i = (σ_max^{1/ρ} + i/(M−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ (Karras et al. 2022, eq. 5)",
       {steps, num("rho", 7, 0, 100, "ρ: larger values put more steps near σ_min")}},
      {"cosine",
       "uniform time of a cosine VP process between the same σ ends",
       {steps, num("s", 0.008, 0, 1, "cosine offset s", false)}},
      {"exponential", "σ = exp(linspace(log σ_max, log σ_min, M))", {steps}},
      {"polyexponential",
       "σ = exp(r^ρ (log σ_max − log σ_min) + log σ_min), r = linspace(1, 0, M) (k-diffusion)",
       {steps,
        num("rho", 1, 0, 100, "ρ: 1 is the exponential schedule; larger puts steps near σ_min")}},
      {"ays",
       "Align Your Steps (Sabour et al. 2024): a published 10-step table, log-linearly "
       "interpolated to M steps; the last level is replaced by σ = 0 (ComfyUI's convention)",
       {steps,
        {"table",
         K::text,
         0,
         0,
         0,
         false,
         {"sd15", "sdxl", "svd"},
         "sd15",
         "which published table: Stable Diffusion 1.5, SDXL or Stable Video Diffusion"},
        {"range",
         K::text,
         0,
         0,
         0,
         false,
         {"process", "table"},
         "process",
         "'process' maps the table's σ range log-linearly onto the process's; 'table' uses the "
         "published σ values as they are"}}},
      {"time_shift",
       "uniform in t, then shifted t' = s·t/(1 + (s−1)·t) on t/t_max (SD3 / Flux; for flows "
       "λ' = λ − log s): s > 1 spends more steps at high noise",
       {steps, num("shift", 3, 0, 100, "shift s (SD3 default 3; Flux 1024² ≈ 3.16)")}},
      {"custom",
       "an explicit descending list of σ_edm values ('sigmas') or process times ('t'); σ = 0 is "
       "appended",
       {{"sigmas", K::number_list, 0, 0, kInf, false, {}, "", "descending σ_edm nodes", true},
        {"t", K::number_list, 0, 0, kInf, false, {}, "", "descending process-time nodes", true}}},
      {"boss",
       "Bellman-optimal steps for the loaded model and solver (BOSS): dynamic programming over "
       "Karras-spaced candidate σ nodes minimising the summed one-step local error of the solver "
       "against a fine Heun reference; computed once and cached (export with `itslab-cli "
       "export-schedule`)",
       {steps,
        {"candidates",
         K::integer,
         200,
         2,
         2000,
         false,
         {},
         "",
         "candidate σ nodes (Karras-spaced between the process's σ_max and σ_min)"},
        {"particles",
         K::integer,
         256,
         2,
         1 << 20,
         false,
         {},
         "",
         "reference particles the local errors are averaged over"}}},
      {"search",
       "AutoDiffusion-style evolutionary search over step placements for the loaded model and "
       "solver: elitist mutation + crossover of σ grids, fitness = a sample metric against the "
       "exact model at fixed noise; computed once and cached (export with `itslab-cli "
       "export-schedule`)",
       {steps,
        {"population", K::integer, 16, 2, 1000, false, {}, "", "grids evaluated per generation"},
        {"generations",
         K::integer,
         10,
         0,
         1000,
         false,
         {},
         "",
         "generations after the initial one"},
        {"particles",
         K::integer,
         2048,
         2,
         1 << 20,
         false,
         {},
         "",
         "particles per fitness evaluation (fixed noise)"},
        {"metric",
         K::text,
         0,
         0,
         0,
         false,
         {"frechet", "mmd", "sliced_wasserstein"},
         "frechet",
         "fitness: Fréchet distance, MMD² or sliced Wasserstein against exact samples"}}},
  };
  return s;
}

const std::vector<TypeSpec>& solver_specs() {
  const ParamSpec s_noise = num("s_noise", 1, 0, 10, "multiplier of the injected noise", false);
  const ParamSpec eta =
      num("eta", 1, 0, 10, "η: SDE strength (0 = ODE, 1 = reverse SDE); noise σ'√(1 − e^{−2ηh})",
          false);
  const std::vector<ParamSpec> churn = {
      num("s_churn", 0, 0, 1000, "EDM S_churn: total churn, γ = min(s_churn/M, √2 − 1); 0 = off",
          false),
      num("s_tmin", 0, 0, kInf, "churn only where σ/α ≥ s_tmin", false),
      num("s_tmax", 1e9, 0, kInf, "churn only where σ/α ≤ s_tmax (1e9 = ∞)", false),
      num("s_noise", 1, 0, 10, "multiplier of the churn noise (EDM S_noise)", false)};
  static const std::vector<TypeSpec> s = {
      {"euler",
       "Euler in (σ, x/α): x' = α'D + σ'ε̂ (= DDIM η = 0); order 1, NFE = M; optional EDM churn: "
       "ρ̂ = ρ(1 + γ), x̃ += s_noise √(ρ̂² − ρ²) z, γ = min(s_churn/M, √2 − 1) on s_tmin ≤ ρ ≤ s_tmax",
       churn},
      {"heun",
       "Heun (Karras et al. Alg. 1): Euler predictor + trapezoidal corrector; order 2, NFE = 2M − "
       "1 (last step Euler); optional EDM churn (Alg. 2): ρ̂ = ρ(1 + γ), x̃ += s_noise √(ρ̂² − ρ²) z, "
       "γ = min(s_churn/M, √2 − 1) on s_tmin ≤ ρ ≤ s_tmax",
       churn},
      {"ddim",
       "DDIM: x' = α'D + √(σ'² − c²)ε̂ + c·z with c = η σ' √(1 − e^{−2h}); η = 0 deterministic",
       {num("eta", 0, 0, 1, "η: 0 = deterministic DDIM, 1 = DDPM posterior noise", false)}},
      {"euler_ancestral",
       "ancestral Euler (k-diffusion): step to σ_down, add σ_up noise; η = 1 is DDPM-like",
       {num("eta", 1, 0, 1, "η: share of the step taken as fresh noise", false), s_noise}},
      {"euler_maruyama",
       "reverse SDE dx = [f x − (1+γ²)/2 g² ∇log p] dt + γ g dw̄; γ = 0 probability-flow ODE, "
       "γ = 1 the standard reverse SDE",
       {num("diffusion_scale", 1, 0, 10, "γ: 0 = probability-flow ODE, 1 = reverse SDE", false),
        {"form",
         K::text,
         0,
         0,
         0,
         false,
         {"exponential", "plain"},
         "exponential",
         "'exponential' integrates the linear part exactly; 'plain' is textbook Euler–Maruyama"}}},
      {"dpmpp_2m",
       "DPM-Solver++(2M) (Lu et al. 2022): second-order multistep in log-SNR; NFE = M",
       {}},
      {"dpmpp_2m_sde",
       "SDE-DPM-Solver++(2M) (k-diffusion): x' = (σ'/σ)e^{−ηh} x + α'(1 − e^{−H})D0 + α'·½(1 − "
       "e^{−H})D1 + s_noise σ'√(1 − e^{−2ηh}) z, H = (1 + η)h, D1 = (D0 − D₋₁)/r0; NFE = M",
       {eta,
        s_noise,
        {"solver_type",
         K::text,
         0,
         0,
         0,
         false,
         {"midpoint", "heun"},
         "midpoint",
         "D1 weight: 'midpoint' ½(1 − e^{−H}) (k-diffusion default), 'heun' φ2 = 1 + "
         "expm1(−H)/H"}}},
      {"dpmpp_3m",
       "DPM-Solver++(3M) ODE: x' = (σ'/σ)x + α'(1 − e^{−h})D0 + α'(φ2 D1 − 2φ3 D2), φ2 = "
       "1 + expm1(−h)/h, φ3 = φ2/h − ½; the D2 weight −2φ3 is the exact one (true order 3); the "
       "published −φ3 (k-diffusion/diffusers) is only order 2; NFE = M",
       {}},
      {"dpmpp_3m_sde",
       "SDE-DPM-Solver++(3M): x' = (σ'/σ)e^{−ηh} x + α'(1 − e^{−H})D0 + α'(φ2 D1 − 2φ3 D2) + "
       "s_noise σ'√(1 − e^{−2ηh}) z, H = (1 + η)h, φ2 = 1 + expm1(−H)/H, φ3 = φ2/H − ½ (exact D2 "
       "weight −2φ3, not the published −φ3); η = 0 is dpmpp_3m; NFE = M",
       {eta, s_noise}},
      {"ddpm",
       "DDPM ancestral: x' = (σ'/σ)e^{−h} x + α'(1 − e^{−2h})D + √var z; posterior var = "
       "σ'²(1 − e^{−2h}) (= DDIM η = 1), beta var = (α'² + σ'²)σ²/(α² + σ²)(1 − e^{−2h}) "
       "(= 1 − ᾱ/ᾱ' for VP); NFE = M",
       {{"variance",
         K::text,
         0,
         0,
         0,
         false,
         {"posterior", "beta"},
         "posterior",
         "'posterior' β̃ (fixed_small) or 'beta' β (fixed_large)"},
        s_noise}},
      {"pc_langevin",
       "predictor–corrector (Song et al. 2021): corrector_steps Langevin moves x += εs + √(2ε)z, "
       "ε = 2a(snr‖z‖/‖s‖)², s = (αD − x)/σ², then a reverse-SDE step (euler_maruyama γ = 1); NFE "
       "= "
       "M(corrector_steps + 1)",
       {num("snr", 0.16, 0, 10, "signal-to-noise ratio r of the Langevin step ‖εs‖/‖√(2ε)z‖"),
        {"corrector_steps",
         K::integer,
         1,
         0,
         15,
         false,
         {},
         "",
         "Langevin corrector moves per noise level"},
        {"step_norm",
         K::text,
         0,
         0,
         0,
         false,
         {"batch", "sigma"},
         "batch",
         "'batch': norms averaged over particles (score_sde; couples particles); 'sigma': ε = "
         "2a(snr σ)², per particle"}}},
      {"momentum",
       "GHVB / heavy-ball momentum on PLMS (Wizadwongsa et al. 2023) in (σ, x/α): GHVB v ← (1 − "
       "β)v + β ε̂, x̃' = x̃ + (ρ' − ρ)·AB_r(β; v)/β; HB v ← (1 − β)v + β AB_r(1; ε̂), x̃' = x̃ + "
       "(ρ' − ρ)v; order r = ⌈m⌉, β = m − r + 1; NFE = M",
       {num("momentum", 1.8, 0, 4,
            "momentum number m: order ⌈m⌉ with damping β = m − ⌈m⌉ + 1 (integer m = PLMS-m)"),
        {"method",
         K::text,
         0,
         0,
         0,
         false,
         {"ghvb", "hb"},
         "ghvb",
         "'ghvb' generalised heavy ball (order ⌈m⌉), 'hb' heavy ball (order 1 for β < 1)"}}},
      {"deis",
       "DEIS tAB in log ρ (Zhang & Chen 2022; diffusers DEIS): x'/α' = x/α − ∫ e^{−λ} ε̂(λ) dλ with "
       "ε̂ Lagrange in λ through the last q nodes; order q (1 = euler), warm-up q = min(order, i + "
       "1); NFE = M",
       {{"order",
         K::integer,
         3,
         1,
         3,
         false,
         {},
         "",
         "q: number of ε̂ values (order of the method)"},
        {"lower_order_final",
         K::integer,
         1,
         0,
         1,
         false,
         {},
         "",
         "1: order ≤ M − i on the last steps (the step into σ = 0 is always first order)"}}},
      {"unipc",
       "UniPC (Zhao et al. 2023), data prediction: UniP-p predictor + UniC-p corrector reusing the "
       "next model value (NFE = M); order p + 1 with the corrector; B(h) = −h (bh1) or e^{−h} − 1 "
       "(bh2); the step into σ = 0 is x = α'D",
       {{"order", K::integer, 2, 1, 3, false, {}, "", "p: predictor order (1–3)"},
        {"variant",
         K::text,
         0,
         0,
         0,
         false,
         {"bh1", "bh2"},
         "bh2",
         "B(h): 'bh1' −h (few steps, unconditional), 'bh2' e^{−h} − 1 (diffusers default)"},
        {"corrector", K::integer, 1, 0, 1, false, {}, "", "1: apply UniC after each model call"},
        {"lower_order_final",
         K::integer,
         1,
         0,
         1,
         false,
         {},
         "",
         "1: order ≤ M − i on the last steps (as diffusers; the step into σ = 0 is always x = "
         "D)"}}},
  };
  return s;
}

const std::vector<TypeSpec>& guidance_specs() {
  static const std::vector<TypeSpec> s = {
      {"none", "no guidance: the conditional (or unconditional) model as it is", {}},
      {"cfg",
       "classifier-free guidance D = D_u + w (D_c − D_u) toward model.class (Ho & Salimans 2022); "
       "exact conditional and unconditional mixture denoisers",
       {num("scale", 3, 0, 100, "w: 0 = unconditional, 1 = conditional, > 1 = guided", false),
        {"interval",
         K::number_list,
         0,
         0,
         kInf,
         false,
         {},
         "",
         "[t_lo, t_hi]: guide only while the process time is inside (Kynkäänniemi et al. 2024); "
         "outside, the conditional model",
         true},
        num("rescale", 0, 0, 1,
            "φ: blend with the guided ε rescaled to the conditional ε's per-sample std (Lin et "
            "al. 2024)",
            false)}},
  };
  return s;
}

const std::vector<TypeSpec>& particle_method_specs() {
  const std::vector<ParamSpec> smc = {
      integer("resample_every", 1, 1, 1 << 20,
              "consider resampling at steps k = 0, every, 2·every, … (k counts from the noisiest "
              "step)"),
      num("ess_threshold", 0.5, 0, 1,
          "κ: resample at those steps when ESS < κ·N; 1 = always, 0 = never (importance "
          "sampling)",
          false),
      choice("scheme", {"systematic", "multinomial", "stratified", "residual"},
             "resampling scheme (all unbiased; systematic has the smallest offspring variance)"),
      choice("selection", {"sample", "argmax", "weighted"},
             "final output: 'sample' draws ∝ weight (a sample of the target), 'argmax' the "
             "highest-reward particles (highest weight without a reward), 'weighted' all "
             "particles with their weights in the report"),
      integer("keep", 0, 0, 1 << 24,
              "particles returned by 'sample' and 'argmax' (0 = as many as particles)")};
  auto with = [](std::vector<ParamSpec> a, const std::vector<ParamSpec>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  static const std::vector<TypeSpec> s = {
      {"independent", "N independent samples of the sampler (no reward, no weights)", {}},
      {"best_of_n",
       "best-of-N: the particles are split into groups; each keeps its `keep` highest-reward "
       "final samples (mode seeking: E[max r] grows like the N-th order statistic)",
       {integer("group", 0, 0, 1 << 24, "particles per group (0 = one group of all particles)"),
        integer("keep", 1, 1, 1 << 24, "highest-reward samples kept per group")}},
      {"random_search",
       "random search over initial noises (Ma et al. 2025): every particle keeps the best of "
       "`iterations` independent noises run through the sampler; NFE = iterations × steps",
       {integer("iterations", 8, 1, 100000,
                "noises tried per particle (the first is the plain "
                "sampler's own)")}},
      {"zero_order_search",
       "zero-order search over initial noises (Ma et al. 2025): each particle's pivot noise "
       "tries `neighbors` candidates per iteration and moves to the best if it improves the "
       "reward; NFE = (1 + (iterations − 1) × neighbors) × steps",
       {integer("iterations", 8, 1, 100000,
                "iterations, counting the evaluation of the initial pivot"),
        integer("neighbors", 4, 1, 4096, "candidates per pivot per iteration"),
        num("radius", 0.3, 0, 1,
            "r: 'marginal' candidates y = √(1 − r²) n + r ε; 'sphere' keeps ‖y‖ = ‖n‖ with "
            "cos(y, n) = √(1 − r²)"),
        choice("neighborhood", {"marginal", "sphere"},
               "'marginal' keeps y ~ N(0, I) in any dimension; 'sphere' is the reference "
               "implementation's norm-preserving rule (in 2-D it never changes ‖n‖)")}},
      {"fk_steering",
       "Feynman–Kac steering (Singhal et al. 2025): SMC toward p(x0)·exp(λ r(x0)) with "
       "potentials from the reward of x̂0(x_t) at every step, resampling, and the final "
       "correction that makes the target exact for every potential",
       with({num("lambda", 1, 0, 1e6, "λ: tilt strength of the target p(x)·exp(λ r(x))"),
             choice("potential", {"difference", "max", "sum"},
                    "log G_k: 'difference' λ(r_k − r_{k−1}), 'max' λ max_{j≤k} r_j, 'sum' λ "
                    "Σ_{j≤k} r_j; all end with the exact correction to λ r(x0)")},
            smc)},
      {"fkc",
       "Feynman–Kac correctors (Skreta et al. 2025): SMC with the SDE weights that make the "
       "composed score exact: 'anneal' p^β, 'product' p·q (q = second_model), 'cfg' "
       "p(x|c)^w p(x)^{1−w}; weight increment (g²/2)(‖Σ c_i s_i‖² − Σ c_i ‖s_i‖²) per unit time",
       with({choice("target", {"anneal", "product", "cfg"}, "the target to sample"),
             num("beta", 2, 0, 100, "β of 'anneal' (p^β)"),
             num("weight", 3, 0, 100, "w of 'cfg' (p(x|c)^w p(x)^{1−w}); needs model.class", false),
             free_text("second_model", "built-in mixture id of the second expert of 'product'"),
             integer("exact_init", 1, 0, 1,
                     "1: initial weights log ρ_T(x) − log N(x; 0, v/Σc) with the exact mixture "
                     "marginals (else 0: the Gaussian approximation of ρ_T)")},
            smc)},
  };
  return s;
}

const std::vector<TypeSpec>& reward_specs() {
  static const std::vector<TypeSpec> s = {
      {"none", "no reward", {}},
      {"linear",
       "r = a·x + b",
       {list("a", "weights a, one per dimension"), num("b", 0, -kInf, kInf, "offset b", false)}},
      {"region",
       "soft indicator of a region: sigmoid(margin / temperature), margin = signed distance to "
       "the boundary (box: min over coordinates of the distance to the nearer face; disc: "
       "radius − ‖x − center‖)",
       {choice("shape", {"disc", "box"}, "'disc' (center, radius) or 'box' (lo, hi)"),
        list("center", "disc centre"), num("radius", 1, 0, kInf, "disc radius"),
        list("lo", "box lower corner"), list("hi", "box upper corner"),
        num("temperature", 0.1, 0, kInf,
            "softness T of the edge (x units); → 0 is a hard "
            "indicator")}},
      {"distance", "r = −‖x − center‖²", {list("center", "the point rewarded")}},
      {"class_logprob",
       "r = log p(class | x), exact under a labelled mixture",
       {integer("class", 0, 0, 1 << 20, "the class rewarded"),
        free_text("mixture", "built-in mixture id (default: the preset's model)")}},
      {"log_density",
       "r = log p(x), exact under a mixture",
       {free_text("mixture", "built-in mixture id (default: the preset's model)")}},
      {"classifier_logprob",
       "r = log p(class | x) under a trained image classifier (its logits; bundled: the "
       "Fashion-MNIST classifier), for image models",
       {integer("class", 0, 0, 1 << 20, "the class rewarded"),
        free_text("classifier", "classifier model folder (default: the bundled Fashion-MNIST "
                                "classifier)")}},
      {"expression",
       "r = an arithmetic expression of the coordinates: x0, x1, … (or x[i]; x, y in 2-D), + − * "
       "/ ^, comparisons, && || !, abs sqrt exp log sin cos tanh sigmoid softplus min max pow "
       "atan2 hypot clamp …, pi, e",
       {free_text("expr", "the expression, e.g. \"-(x0 - 1)^2 + 0.5*sin(3*x1)\"")}},
  };
  return s;
}

const TypeSpec* find_spec(const std::vector<TypeSpec>& specs, const std::string& type) {
  for (const TypeSpec& t : specs)
    if (t.type == type)
      return &t;
  return nullptr;
}

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> m = {"frechet",       "mmd",           "sliced_wasserstein",
                                             "log_density",   "mode_coverage", "fid",
                                             "class_accuracy"};
  return m;
}

} // namespace itslab
