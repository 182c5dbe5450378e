#include "runtime/control/template_provider.hpp"

#include "runtime/base/expression.hpp"

namespace keel::control {

attempt_result template_provider::complete(const model_call& call) {
  attempt_result r;
  if (!call.template_text.is_null()) {
    r.model = "template:inline";
    r.json = call.template_text.is_string() ? nlohmann::json() : call.template_text;
    r.text = call.template_text.is_string() ? call.template_text.get<std::string>() : call.template_text.dump();
    r.output_tokens = static_cast<int>(r.text.size() / 4);
    r.finish_reason = "stop";
    return r;
  }
  r.model = "template:" + call.template_name;
  auto it = templates_.find(call.template_name);
  if (it == templates_.end()) {
    r.failure = attempt_failure::unavailable;
    r.error = call.template_name.empty() ? "the request names no template"
                                         : "no template named '" + call.template_name + "'";
    if (!call.tools.empty()) r.error += " (the template provider cannot call tools; it can only answer a template's text)";
    return r;
  }
  auto out = wf::render(it->second, call.context);
  if (!out) {
    r.failure = attempt_failure::unavailable;
    r.error = "template '" + call.template_name + "': " + out.err().message;
    return r;
  }
  if (out->is_string()) {
    r.text = out->get<std::string>();
  } else {
    r.json = *out;
    r.text = out->dump();
  }
  r.output_tokens = static_cast<int>(r.text.size() / 4);
  r.finish_reason = "stop";
  return r;
}

}  // namespace keel::control
