// Evaluates an ivfast surface exported as TorchScript (.pt) or as an AOTInductor package (.pt2)
// at the points of a text file and prints total variance, implied vol and the derivatives.
//
// Usage:   surface_consumer MODEL POINTS [cpu|cuda]
//   MODEL   file written by ivfast.export.export_surface (format chosen by its suffix)
//   POINTS  one point per line: "k tau" (k = ln(K/F), tau in years)
// Output:  one line per point, "k tau w iv dw/dk d2w/dk2 dw/dtau", 17 significant digits.
// A .pt2 package runs only on the device type it was compiled for and takes inputs of its dtype
// (metadata key "ivfast_metadata_dtype"); a .pt file casts the inputs itself.

#include <torch/script.h>

#if __has_include(<torch/csrc/inductor/aoti_package/model_package_loader.h>)
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#define IVFAST_HAVE_AOTI 1
#endif

#include <cstdio>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Results {
  torch::Tensor w, iv, w_k, w_kk, w_tau;
};

std::pair<torch::Tensor, torch::Tensor> read_points(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open points file " + path);
  std::vector<double> k, tau;
  std::string a, b;
  while (in >> a >> b) {  // tokens through stod: operator>> does not parse "nan"
    try {
      k.push_back(std::stod(a));
      tau.push_back(std::stod(b));
    } catch (const std::logic_error&) {
      throw std::runtime_error("points file " + path + ": expected pairs of numbers 'k tau', got '" + a + " " + b + "'");
    }
  }
  if (!in.eof()) throw std::runtime_error("points file " + path + ": odd number of values");
  auto options = torch::TensorOptions().dtype(torch::kFloat64);
  const auto n = static_cast<int64_t>(k.size());
  return {torch::from_blob(k.data(), {n}, options).clone(), torch::from_blob(tau.data(), {n}, options).clone()};
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Results run_torchscript(const std::string& path, const torch::Tensor& k, const torch::Tensor& tau,
                        const torch::Device& device) {
  torch::jit::ExtraFilesMap extra{{"ivfast_metadata.json", ""}};
  torch::jit::Module module = torch::jit::load(path, device, extra);
  if (extra["ivfast_metadata.json"].empty()) throw std::runtime_error(path + " is not an exported ivfast surface");
  module.eval();
  const std::vector<torch::jit::IValue> inputs{k.to(device), tau.to(device)};
  Results r;
  r.w = module.forward(inputs).toTensor();
  r.iv = module.get_method("implied_vol")(inputs).toTensor();
  const auto jet = module.get_method("derivatives")(inputs).toTuple();
  r.w_k = jet->elements()[1].toTensor();
  r.w_kk = jet->elements()[2].toTensor();
  r.w_tau = jet->elements()[3].toTensor();
  return r;
}

#ifdef IVFAST_HAVE_AOTI
Results run_pt2(const std::string& path, const torch::Tensor& k, const torch::Tensor& tau,
                const torch::Device& device) {
  torch::inductor::AOTIModelPackageLoader value(path, "model");
  torch::inductor::AOTIModelPackageLoader jet(path, "derivatives");
  const auto metadata = value.get_metadata();
  const auto dtype_entry = metadata.find("ivfast_metadata_dtype");
  if (dtype_entry == metadata.end()) throw std::runtime_error(path + " is not an exported ivfast surface");
  const auto dtype = dtype_entry->second == "float32" ? torch::kFloat32 : torch::kFloat64;
  const std::vector<torch::Tensor> inputs{k.to(device, dtype), tau.to(device, dtype)};
  Results r;
  r.w = value.run(inputs).at(0);
  r.iv = torch::sqrt(r.w / inputs[1]);  // the package has no implied-vol model (see export.py)
  const auto d = jet.run(inputs);
  r.w_k = d.at(1);
  r.w_kk = d.at(2);
  r.w_tau = d.at(3);
  return r;
}
#endif

void print(const torch::Tensor& k, const torch::Tensor& tau, const Results& r) {
  const auto cpu = [](const torch::Tensor& t) { return t.to(torch::kCPU, torch::kFloat64).contiguous(); };
  const auto w = cpu(r.w), iv = cpu(r.iv), w_k = cpu(r.w_k), w_kk = cpu(r.w_kk), w_tau = cpu(r.w_tau);
  const auto* pk = k.data_ptr<double>();
  const auto* pt = tau.data_ptr<double>();
  for (int64_t i = 0; i < k.numel(); ++i) {
    std::printf("%.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", pk[i], pt[i], w.data_ptr<double>()[i],
                iv.data_ptr<double>()[i], w_k.data_ptr<double>()[i], w_kk.data_ptr<double>()[i],
                w_tau.data_ptr<double>()[i]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: %s MODEL(.pt|.pt2) POINTS [cpu|cuda]\n", argv[0]);
    return 2;
  }
  try {
    const std::string model_path = argv[1];
    const torch::Device device(argc == 4 ? argv[3] : "cpu");
    const auto [k, tau] = read_points(argv[2]);
    torch::NoGradGuard no_grad;
    Results r;
    if (ends_with(model_path, ".pt2")) {
#ifdef IVFAST_HAVE_AOTI
      r = run_pt2(model_path, k, tau, device);
#else
      throw std::runtime_error("this libtorch has no AOTInductor package loader; use the TorchScript (.pt) file");
#endif
    } else {
      r = run_torchscript(model_path, k, tau, device);
    }
    print(k, tau, r);
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
