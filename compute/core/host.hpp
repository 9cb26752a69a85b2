#pragma once
#include <Eigen/Core>

namespace itslab {

// Host-side particle arrays: rows are particles, columns dimensions (C order, like .npy).
using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

} // namespace itslab
