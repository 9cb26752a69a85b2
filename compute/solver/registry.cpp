#include "core/error.hpp"
#include "solver/solver.hpp"

namespace itslab {

std::unique_ptr<Solver> make_euler();
std::unique_ptr<Solver> make_heun();
std::unique_ptr<Solver> make_ddim(const SolverParams& p);
std::unique_ptr<Solver> make_euler_ancestral(const SolverParams& p);
std::unique_ptr<Solver> make_euler_maruyama(const SolverParams& p);
std::unique_ptr<Solver> make_dpmpp_2m();

std::vector<std::string> solver_types() {
  return {"euler", "heun", "ddim", "euler_ancestral", "euler_maruyama", "dpmpp_2m"};
}

std::unique_ptr<Solver> make_solver(const SolverParams& p) {
  if (p.type == "euler")
    return make_euler();
  if (p.type == "heun")
    return make_heun();
  if (p.type == "ddim")
    return make_ddim(p);
  if (p.type == "euler_ancestral")
    return make_euler_ancestral(p);
  if (p.type == "euler_maruyama")
    return make_euler_maruyama(p);
  if (p.type == "dpmpp_2m")
    return make_dpmpp_2m();
  throw Error("solver.type: unknown solver '" + p.type +
              "' (expected euler, heun, ddim, euler_ancestral, euler_maruyama or dpmpp_2m)");
}

} // namespace itslab
