// ivfast._core: the compiled kernels. One register_* per concept, each in its own file.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_black(py::module_& m);
void register_fourier(py::module_& m);
void register_american(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "ivfast compiled kernels (private; use the ivfast package API).";
  register_black(m);
  register_fourier(m);
  register_american(m);
}
