#include <pybind11/native_enum.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "ivfast/fourier_surface.hpp"
#include "strided.hpp"

namespace py = pybind11;
using ivfast_bind::CArray;
namespace fr = ivfast::fourier;

namespace {

py::array_t<double> fourier_prices(fr::ModelKind kind, const CArray<double>& params, const CArray<double>& strikes,
                                   const CArray<double>& taus, double spot, double rate, double dividend,
                                   fr::OptionSide side, int threads, double tolerance) {
  const auto n_par = static_cast<py::ssize_t>(fr::parameter_count(kind));
  if (params.ndim() != 2 || params.shape(1) != n_par) {
    throw py::value_error("params: expected shape (n_sets, " + std::to_string(n_par) + ")");
  }
  if (strikes.ndim() != 1 || taus.ndim() != 1) throw py::value_error("strikes, taus: expected 1-D arrays");
  if (!(tolerance > 0.0)) throw py::value_error("tolerance: expected a positive number");
  const py::ssize_t n_sets = params.shape(0), n_k = strikes.shape(0), n_t = taus.shape(0);
  py::array_t<double> out({n_sets, n_t, n_k});
  const fr::SurfaceGrid grid{strikes.data(), static_cast<std::size_t>(n_k), taus.data(), static_cast<std::size_t>(n_t),
                             spot,           rate,                          dividend};
  fr::CarrMadanSettings settings;
  settings.tolerance = tolerance;
  double* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    fr::price_surfaces(kind, params.data(), static_cast<std::size_t>(n_sets), static_cast<std::size_t>(n_par), grid,
                       side, dst, threads, settings);
  }
  return out;
}

}  // namespace

void register_fourier(py::module_& m) {
  py::native_enum<fr::ModelKind>(m, "ModelKind", "enum.Enum", "Model of fourier_prices' parameter rows.")
      .value("BLACK_SCHOLES", fr::ModelKind::black_scholes, "Columns: vol.")
      .value("HESTON", fr::ModelKind::heston, "Columns: v0, kappa, theta, sigma, rho.")
      .value("BATES", fr::ModelKind::bates, "Columns: v0, kappa, theta, sigma, rho, lam, beta, alpha.")
      .finalize();
  py::native_enum<fr::OptionSide>(m, "OptionSide", "enum.Enum", "Which price fourier_prices returns.")
      .value("PUT", fr::OptionSide::put)
      .value("CALL", fr::OptionSide::call)
      .value("OUT_OF_THE_MONEY", fr::OptionSide::out_of_the_money, "Puts below the forward, calls at or above.")
      .finalize();
  m.def("fourier_prices", &fourier_prices, py::arg("kind"), py::arg("params"), py::arg("strikes"), py::arg("taus"),
        py::arg("spot"), py::arg("rate"), py::arg("dividend"), py::arg("side"), py::arg("threads"),
        py::arg("tolerance"),
        "Discounted Carr-Madan/FFTW prices, shape (n_sets, n_taus, n_strikes); NaN for invalid inputs.");
}
