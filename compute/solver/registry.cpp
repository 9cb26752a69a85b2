#include "core/error.hpp"
#include "solver/solver.hpp"

namespace itslab {

std::unique_ptr<Solver> make_euler(const SolverParams& p);
std::unique_ptr<Solver> make_heun(const SolverParams& p);
std::unique_ptr<Solver> make_ddim(const SolverParams& p);
std::unique_ptr<Solver> make_euler_ancestral(const SolverParams& p);
std::unique_ptr<Solver> make_euler_maruyama(const SolverParams& p);
std::unique_ptr<Solver> make_dpmpp_2m();
std::unique_ptr<Solver> make_dpmpp_2m_sde(const SolverParams& p);
std::unique_ptr<Solver> make_dpmpp_3m(const SolverParams& p);
std::unique_ptr<Solver> make_dpmpp_3m_sde(const SolverParams& p);
std::unique_ptr<Solver> make_ddpm(const SolverParams& p);
std::unique_ptr<Solver> make_pc_langevin(const SolverParams& p);
std::unique_ptr<Solver> make_momentum(const SolverParams& p);
std::unique_ptr<Solver> make_deis(const SolverParams& p);
std::unique_ptr<Solver> make_unipc(const SolverParams& p);

std::vector<std::string> solver_types() {
  return {"euler",          "heun",     "ddim",         "euler_ancestral",
          "euler_maruyama", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_3m",
          "dpmpp_3m_sde",   "ddpm",     "pc_langevin",  "momentum",
          "deis",           "unipc"};
}

std::unique_ptr<Solver> make_solver(const SolverParams& p) {
  if (p.type == "euler")
    return make_euler(p);
  if (p.type == "heun")
    return make_heun(p);
  if (p.type == "ddim")
    return make_ddim(p);
  if (p.type == "euler_ancestral")
    return make_euler_ancestral(p);
  if (p.type == "euler_maruyama")
    return make_euler_maruyama(p);
  if (p.type == "dpmpp_2m")
    return make_dpmpp_2m();
  if (p.type == "dpmpp_2m_sde")
    return make_dpmpp_2m_sde(p);
  if (p.type == "dpmpp_3m")
    return make_dpmpp_3m(p);
  if (p.type == "dpmpp_3m_sde")
    return make_dpmpp_3m_sde(p);
  if (p.type == "ddpm")
    return make_ddpm(p);
  if (p.type == "pc_langevin")
    return make_pc_langevin(p);
  if (p.type == "momentum")
    return make_momentum(p);
  if (p.type == "deis")
    return make_deis(p);
  if (p.type == "unipc")
    return make_unipc(p);
  std::string known;
  for (const std::string& t : solver_types())
    known += (known.empty() ? "" : ", ") + t;
  throw Error("solver.type: unknown solver '" + p.type + "' (expected one of: " + known + ")");
}

} // namespace itslab
