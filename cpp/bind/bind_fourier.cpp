#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "ivfast/fourier_surface.hpp"
#include "strided.hpp"

namespace py = pybind11;
using ivfast_bind::CArray;
namespace fr = ivfast::fourier;

namespace {

py::array_t<double> fourier_prices(int kind, const CArray<double>& params, const CArray<double>& strikes,
                                   const CArray<double>& taus, double spot, double rate, double dividend, int side,
                                   int threads, double tolerance) {
  if (kind < 0 || kind > 2) throw py::value_error("model kind: expected 0 (Black-Scholes), 1 (Heston) or 2 (Bates)");
  const auto model = static_cast<fr::ModelKind>(kind);
  const auto n_par = static_cast<py::ssize_t>(fr::parameter_count(model));
  if (params.ndim() != 2 || params.shape(1) != n_par) {
    throw py::value_error("params: expected shape (n_sets, " + std::to_string(n_par) + ")");
  }
  if (strikes.ndim() != 1 || taus.ndim() != 1) throw py::value_error("strikes, taus: expected 1-D arrays");
  if (side < 0 || side > 2) throw py::value_error("side: expected 0 (put), 1 (call) or 2 (out of the money)");
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
    fr::price_surfaces(model, params.data(), static_cast<std::size_t>(n_sets), static_cast<std::size_t>(n_par), grid,
                       static_cast<fr::OptionSide>(side), dst, threads, settings);
  }
  return out;
}

}  // namespace

void register_fourier(py::module_& m) {
  m.def("fourier_prices", &fourier_prices, py::arg("kind"), py::arg("params"), py::arg("strikes"), py::arg("taus"),
        py::arg("spot"), py::arg("rate"), py::arg("dividend"), py::arg("side"), py::arg("threads"),
        py::arg("tolerance"),
        "Discounted Carr-Madan/FFTW prices, shape (n_sets, n_taus, n_strikes); NaN for invalid inputs.");
}
