#include "publish/events.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>

namespace amas::publish {

std::string EventJson(const ScaleEvent& e) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("version");
  w.String("1");
  w.Key("kind");
  w.String(e.kind);
  w.Key("target");
  w.String(e.target);
  w.Key("from");
  w.Int(e.from);
  w.Key("to");
  w.Int(e.to);
  w.Key("reason");
  w.String(e.reason);
  w.Key("rules");
  w.StartArray();
  for (const auto& [rule, value] : e.rule_values) {
    w.StartObject();
    w.Key("rule");
    w.String(rule);
    w.Key("value");
    if (std::isfinite(value)) {
      w.Double(value);
    } else {
      w.String(std::isnan(value) ? "NaN" : (value > 0 ? "+Inf" : "-Inf"));
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("timestamp");
  w.String(e.at.ToRFC3339());
  if (!e.error.empty()) {
    w.Key("error");
    w.String(e.error);
  }
  w.EndObject();
  return buf.GetString();
}

}  // namespace amas::publish
