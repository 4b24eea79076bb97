// hpa_conformance: runs every vector of conformance/hpa/vectors.json (schema in
// reference/hpa.md §0) through the decide module's HPA primitives and compares the
// keys listed in each vector's `expected` (subset comparison at every level).
// Vector file: $AMAS_HPA_VECTORS if set and present, else ../shared; exit 77 when
// neither exists. Prints per-op pass counts and the total; non-zero on any failure.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "decide/decide.h"
#include "decide/hpa_types.h"
#include "decide/normalize.h"
#include "decide/reconcile.h"
#include "decide/replica_calc.h"
#include "testing/testing.h"

namespace {

using amas::core::Duration;
using amas::core::Time;
using namespace amas::decide;       // NOLINT: test-local
using namespace amas::decide::hpa;  // NOLINT: test-local
using rapidjson::Value;

// Vectors give ages before "now"; any fixed instant works.
const Time kNow = Time::FromUnixSeconds(1'700'000'000);

Time Ago(int64_t age_s) { return kNow - Duration::Seconds(age_s); }

// The vector file is trusted test data: a missing or mistyped field is reported
// as a failed vector, not a crash.
struct BadVector {
  std::string what;
};

const Value& Field(const Value& obj, const char* key) {
  if (!obj.IsObject() || !obj.HasMember(key)) throw BadVector{std::string("missing ") + key};
  return obj[key];
}
bool IsNullOrAbsent(const Value& obj, const char* key) {
  return !obj.HasMember(key) || obj[key].IsNull();
}
int64_t Int(const Value& obj, const char* key) {
  const Value& v = Field(obj, key);
  if (!v.IsInt64()) throw BadVector{std::string(key) + " is not an integer"};
  return v.GetInt64();
}
int32_t Int32(const Value& obj, const char* key) { return static_cast<int32_t>(Int(obj, key)); }
double Num(const Value& obj, const char* key) {
  const Value& v = Field(obj, key);
  if (!v.IsNumber()) throw BadVector{std::string(key) + " is not a number"};
  return v.GetDouble();
}
bool Bool(const Value& obj, const char* key) {
  const Value& v = Field(obj, key);
  if (!v.IsBool()) throw BadVector{std::string(key) + " is not a bool"};
  return v.GetBool();
}
std::string Str(const Value& obj, const char* key) {
  const Value& v = Field(obj, key);
  if (!v.IsString()) throw BadVector{std::string(key) + " is not a string"};
  return v.GetString();
}

Tolerances ParseTolerance(const Value& in) {
  Tolerances t;
  if (IsNullOrAbsent(in, "tolerance")) return t;
  const Value& v = in["tolerance"];
  t.scale_up = Num(v, "scale_up");
  t.scale_down = Num(v, "scale_down");
  return t;
}

std::optional<ScalingRules> ParseRules(const Value& parent, const char* key) {
  if (IsNullOrAbsent(parent, key)) return std::nullopt;
  const Value& v = parent[key];
  ScalingRules r;
  if (!IsNullOrAbsent(v, "stabilization_window_seconds")) {
    r.stabilization_window_seconds = Int32(v, "stabilization_window_seconds");
  }
  if (!IsNullOrAbsent(v, "select_policy")) {
    auto p = ParseSelectPolicy(Str(v, "select_policy"));
    if (!p.ok()) throw BadVector{p.status().message()};
    r.select_policy = *p;
  }
  if (!IsNullOrAbsent(v, "policies")) {
    std::vector<ScalingPolicy> policies;
    for (const Value& p : v["policies"].GetArray()) {
      auto type = ParsePolicyType(Str(p, "type"));
      if (!type.ok()) throw BadVector{type.status().message()};
      policies.push_back({*type, Int32(p, "value"), Int32(p, "period_seconds")});
    }
    r.policies = std::move(policies);
  }
  if (!IsNullOrAbsent(v, "tolerance")) r.tolerance = Num(v, "tolerance");
  return r;
}

std::vector<ScaleEvent> ParseEvents(const Value& parent, const char* key) {
  std::vector<ScaleEvent> out;
  if (IsNullOrAbsent(parent, key)) return out;
  for (const Value& e : parent[key].GetArray()) {
    ScaleEvent ev{Ago(Int(e, "age_s")), Int32(e, "change"), false};
    if (e.HasMember("outdated")) ev.outdated = Bool(e, "outdated");
    out.push_back(ev);
  }
  return out;
}

std::vector<Recommendation> ParseRecommendations(const Value& recs) {
  std::vector<Recommendation> out;
  for (const Value& r : recs.GetArray())
    out.push_back({Ago(Int(r, "age_s")), Int32(r, "replicas")});
  return out;
}

std::vector<PodSample> ParsePods(const Value& in) {
  std::vector<PodSample> pods;
  for (const Value& p : Field(in, "pods").GetArray()) {
    PodSample s;
    const std::string status = Str(p, "status");
    if (status == "running") {
      s.state = PodState::kRunning;
    } else if (status == "running_cpu_unready") {
      s.state = PodState::kRunningCpuUnready;
    } else if (status == "pending") {
      s.state = PodState::kPending;
    } else if (status == "terminal") {
      s.state = PodState::kTerminal;
    } else {
      throw BadVector{"unknown pod status " + status};
    }
    if (!IsNullOrAbsent(p, "usage_milli")) s.usage_milli = Int(p, "usage_milli");
    if (!IsNullOrAbsent(p, "request_milli")) s.request_milli = Int(p, "request_milli");
    pods.push_back(s);
  }
  return pods;
}

std::vector<int64_t> ParseInts(const Value& parent, const char* key) {
  std::vector<int64_t> out;
  if (IsNullOrAbsent(parent, key)) return out;
  for (const Value& v : parent[key].GetArray()) {
    if (!v.IsInt64()) throw BadVector{std::string(key) + " holds a non-integer"};
    out.push_back(v.GetInt64());
  }
  return out;
}

// --- building the "got" object ---

class Got {
 public:
  Got() { doc_.SetObject(); }
  rapidjson::Document::AllocatorType& a() { return doc_.GetAllocator(); }
  void Set(const char* key, Value v) { doc_.AddMember(Value(key, a()), v, a()); }
  void Int(const char* key, int64_t v) { Set(key, Value(static_cast<int64_t>(v))); }
  void Bool(const char* key, bool v) { Set(key, Value(v)); }
  void Str(const char* key, std::string_view v) {
    Set(key, Value(v.data(), static_cast<rapidjson::SizeType>(v.size()), a()));
  }
  void Null(const char* key) { Set(key, Value(rapidjson::kNullType)); }
  void Error(const std::string& message) { Str("error", message); }
  void Recommendations(const char* key, const std::vector<Recommendation>& recs) {
    Value arr(rapidjson::kArrayType);
    for (const Recommendation& r : recs) arr.PushBack(Value(r.replicas), a());
    Set(key, std::move(arr));
  }
  void Condition(const char* key, const std::optional<amas::decide::hpa::Condition>& c) {
    if (!c.has_value()) return;
    Value obj(rapidjson::kObjectType);
    obj.AddMember("status", Value(c->status), a());
    obj.AddMember("reason",
                  Value(c->reason.data(), static_cast<rapidjson::SizeType>(c->reason.size()), a()),
                  a());
    Set(key, std::move(obj));
  }
  const rapidjson::Document& doc() const { return doc_; }

 private:
  rapidjson::Document doc_;
};

// --- one function per op ---

void RunResourceUtilization(const Value& in, Got& got) {
  const std::vector<PodSample> pods = ParsePods(in);
  const std::vector<int64_t> extra = ParseInts(in, "extra_samples_milli");
  const std::string resource = Str(in, "resource");
  UtilizationInput u;
  u.current_replicas = Int32(in, "current_replicas");
  u.target_utilization = Int32(in, "target_utilization");
  u.resource = resource;
  u.tolerance = ParseTolerance(in);
  u.pods = pods;
  u.extra_samples_milli = extra;
  auto r = ReplicasForUtilization(u);
  if (!r.ok()) return got.Error(r.status().message());
  got.Int("replicas", r->replicas);
  got.Int("utilization", r->utilization);
  got.Int("raw_average_milli", r->raw_average_milli);
}

void RunAverageValue(const Value& in, Got& got) {
  const std::vector<PodSample> pods = ParsePods(in);
  const std::vector<int64_t> extra = ParseInts(in, "extra_samples_milli");
  const std::string resource = IsNullOrAbsent(in, "resource") ? "" : Str(in, "resource");
  AverageValueInput a;
  a.current_replicas = Int32(in, "current_replicas");
  a.target_average_milli = Int(in, "target_average_milli");
  a.resource = resource;
  a.tolerance = ParseTolerance(in);
  a.pods = pods;
  a.extra_samples_milli = extra;
  auto r = ReplicasForAverageValue(a);
  if (!r.ok()) return got.Error(r.status().message());
  got.Int("replicas", r->replicas);
  got.Int("usage_milli", r->usage_milli);
}

void RunValue(const Value& in, Got& got, bool external) {
  ValueInput v;
  v.current_replicas = Int32(in, "current_replicas");
  v.usage_milli = external ? SumExternal(ParseInts(in, "values_milli")) : Int(in, "value_milli");
  v.target_value_milli = Int(in, "target_value_milli");
  v.ready_pod_count = Int(in, "ready_pod_count");
  v.tolerance = ParseTolerance(in);
  got.Int("replicas", ReplicasForValue(v));
  got.Int("usage_milli", v.usage_milli);
}

void RunAverageTarget(const Value& in, Got& got, bool external) {
  AverageTargetInput a;
  a.status_replicas = Int32(in, "status_replicas");
  a.usage_milli = external ? SumExternal(ParseInts(in, "values_milli")) : Int(in, "value_milli");
  a.target_average_milli = Int(in, "target_average_milli");
  a.tolerance = ParseTolerance(in);
  const AverageTargetResult r = ReplicasForAverageTarget(a);
  got.Int("replicas", r.replicas);
  got.Int("usage_milli", r.usage_milli);
}

void RunClassifyPod(const Value& in, Got& got) {
  const Value& p = Field(in, "pod");
  PodStatus pod;
  const std::string phase = Str(p, "phase");
  if (phase == "Running") {
    pod.phase = PodPhase::kRunning;
  } else if (phase == "Pending") {
    pod.phase = PodPhase::kPending;
  } else if (phase == "Succeeded") {
    pod.phase = PodPhase::kSucceeded;
  } else if (phase == "Failed") {
    pod.phase = PodPhase::kFailed;
  } else {
    pod.phase = PodPhase::kUnknown;
  }
  if (p.HasMember("deleted")) pod.deleted = Bool(p, "deleted");
  if (!IsNullOrAbsent(p, "ready_condition")) {
    const std::string c = Str(p, "ready_condition");
    pod.ready = c == "True"    ? ConditionStatus::kTrue
                : c == "False" ? ConditionStatus::kFalse
                               : ConditionStatus::kUnknown;
  }
  if (!IsNullOrAbsent(p, "ready_transition_age_s")) {
    pod.ready_transition = Ago(Int(p, "ready_transition_age_s"));
  }
  if (!IsNullOrAbsent(p, "start_age_s")) pod.start_time = Ago(Int(p, "start_age_s"));
  pod.has_sample = Bool(p, "metric_present");
  if (!IsNullOrAbsent(p, "metric_age_s")) pod.sample_time = Ago(Int(p, "metric_age_s"));
  if (!IsNullOrAbsent(p, "metric_window_s")) {
    pod.sample_window = Duration::Seconds(Int(p, "metric_window_s"));
  }
  ReadinessOptions options;
  options.cpu_initialization_period = Duration::Seconds(Int(in, "cpu_initialization_period_s"));
  options.initial_readiness_delay = Duration::Seconds(Int(in, "initial_readiness_delay_s"));
  const bool cpu = !IsNullOrAbsent(in, "resource") && Str(in, "resource") == "cpu";
  got.Str("class", PodClassName(ClassifyPod(pod, cpu, options, kNow)));
}

std::vector<MetricProposal> ParseProposals(const Value& in, const char* key) {
  std::vector<MetricProposal> out;
  for (const Value& v : Field(in, key).GetArray()) {
    MetricProposal p;
    if (!v.IsNull()) p.replicas = static_cast<int32_t>(v.GetInt64());
    p.failure_reason = "FailedGetExternalMetric";  // the vectors do not say which kind failed
    out.push_back(p);
  }
  return out;
}

void RunCombine(const Value& in, Got& got) {
  const std::vector<MetricProposal> proposals = ParseProposals(in, "proposals");
  const Combined c = CombineProposals(Int32(in, "spec_replicas"), proposals);
  got.Str("result", CombineOutcomeName(c.outcome));
  if (c.outcome == CombineOutcome::kError) {
    got.Null("replicas");
  } else {
    got.Int("replicas", c.replicas);
  }
}

void RunStabilizeLegacy(const Value& in, Got& got) {
  std::vector<Recommendation> recs = ParseRecommendations(Field(in, "recommendations"));
  const int32_t r = StabilizeLegacy(Int32(in, "desired_replicas"),
                                    Duration::Seconds(Int(in, "window_s")), kNow, &recs);
  got.Int("replicas", r);
  got.Recommendations("recommendations_after", recs);
}

void RunConvertLegacy(const Value& in, Got& got) {
  const Bounded b =
      ConvertLegacy({Int32(in, "current_replicas"), Int32(in, "desired_replicas"),
                     Int32(in, "min_replicas"), Int32(in, "max_replicas"),
                     Num(in, "scale_up_limit_factor"), Num(in, "scale_up_limit_minimum")});
  got.Int("replicas", b.replicas);
  got.Str("reason", b.reason);
}

void PutNormalized(const Normalized& n, const History& h, Got& got) {
  got.Int("replicas", n.replicas);
  got.Int("stabilized", n.stabilized);
  got.Str("able_to_scale_reason", n.able_to_scale_reason);
  got.Bool("scaling_limited", n.scaling_limited);
  got.Str("scaling_limited_reason", n.scaling_limited_reason);
  got.Recommendations("recommendations_after", h.recommendations);
}

void RunNormalizeLegacy(const Value& in, Got& got) {
  History h;
  h.recommendations = ParseRecommendations(Field(in, "recommendations"));
  NormalizeInput n;
  n.current = Int32(in, "current_replicas");
  n.desired = Int32(in, "desired_replicas");
  n.min_replicas = Int32(in, "min_replicas");
  n.max_replicas = Int32(in, "max_replicas");
  n.flags.downscale_stabilization_window_seconds = Int32(in, "window_s");
  n.flags.scale_up_limit_factor = Num(in, "scale_up_limit_factor");
  n.flags.scale_up_limit_minimum = Num(in, "scale_up_limit_minimum");
  n.now = kNow;
  PutNormalized(Normalize(n, &h), h, got);
}

void RunStabilizeBehavior(const Value& in, Got& got) {
  std::vector<Recommendation> recs = ParseRecommendations(Field(in, "recommendations"));
  const Stabilized s = StabilizeWithBehavior(
      {Int32(in, "current_replicas"), Int32(in, "desired_replicas"), Int32(in, "scale_up_window_s"),
       Int32(in, "scale_down_window_s"), kNow},
      &recs);
  got.Int("replicas", s.replicas);
  got.Recommendations("recommendations_after", recs);
}

void RunLimit(const Value& in, Got& got, Direction direction) {
  const std::vector<ScaleEvent> up = ParseEvents(in, "scale_up_events");
  const std::vector<ScaleEvent> down = ParseEvents(in, "scale_down_events");
  const std::optional<ScalingRules> rules = ParseRules(in, "rules");
  LimitInput l{Int32(in, "current_replicas"), up, down,
               ResolveRules(rules, direction, ControllerFlags{}), kNow};
  got.Int("limit", direction == Direction::kUp ? ScaleUpLimit(l) : ScaleDownLimit(l));
}

Behavior ParseBehavior(const Value& v) {
  Behavior b;
  b.scale_up = ParseRules(v, "scale_up");
  b.scale_down = ParseRules(v, "scale_down");
  return b;
}

void RunRateLimit(const Value& in, Got& got) {
  const Behavior b = ParseBehavior(in);
  const std::vector<ScaleEvent> up = ParseEvents(in, "scale_up_events");
  const std::vector<ScaleEvent> down = ParseEvents(in, "scale_down_events");
  ControllerFlags flags;
  RateInput r{Int32(in, "current_replicas"),
              Int32(in, "desired_replicas"),
              Int32(in, "min_replicas"),
              Int32(in, "max_replicas"),
              ResolveRules(b.scale_up, Direction::kUp, flags),
              ResolveRules(b.scale_down, Direction::kDown, flags),
              up,
              down,
              kNow};
  const Bounded out = ConvertWithBehaviorRate(r);
  got.Int("replicas", out.replicas);
  got.Str("reason", out.reason);
}

void RunNormalizeBehavior(const Value& in, Got& got) {
  const Behavior b = ParseBehavior(in);
  History h;
  h.recommendations = ParseRecommendations(Field(in, "recommendations"));
  h.scale_up_events = ParseEvents(in, "scale_up_events");
  h.scale_down_events = ParseEvents(in, "scale_down_events");
  NormalizeInput n;
  n.current = Int32(in, "current_replicas");
  n.desired = Int32(in, "desired_replicas");
  n.min_replicas = Int32(in, "min_replicas");
  n.max_replicas = Int32(in, "max_replicas");
  n.behavior = &b;
  n.flags.downscale_stabilization_window_seconds = Int32(in, "downscale_stabilization_window_s");
  n.now = kNow;
  PutNormalized(Normalize(n, &h), h, got);
}

void RunStoreScaleEvent(const Value& in, Got& got) {
  std::vector<ScaleEvent> events = ParseEvents(in, "events");
  const std::optional<ScalingRules> rules = ParseRules(in, "rules");
  got.Int("replicas_change_in_period_before_store",
          ReplicasChangeInPeriod(Int32(in, "query_period_s"), events, kNow));
  // The events are one direction's list; which one does not matter to the bookkeeping.
  const RulesView view = ResolveRules(rules, Direction::kUp, ControllerFlags{});
  StoreScaleEvent(rules.has_value() ? &view : nullptr, Int32(in, "change"), kNow, &events);
  Value arr(rapidjson::kArrayType);
  for (const ScaleEvent& e : events) {
    Value obj(rapidjson::kObjectType);
    obj.AddMember("change", Value(e.change), got.a());
    obj.AddMember("outdated", Value(e.outdated), got.a());
    arr.PushBack(obj, got.a());
  }
  got.Set("events_after", std::move(arr));
}

void RunReconcile(const Value& in, Got& got) {
  std::optional<Behavior> behavior;
  if (!IsNullOrAbsent(in, "behavior")) behavior = ParseBehavior(in["behavior"]);
  const std::vector<MetricProposal> proposals = ParseProposals(in, "metric_proposals");
  History h;
  const bool first = IsNullOrAbsent(in, "recommendations");
  if (!first) h.recommendations = ParseRecommendations(in["recommendations"]);
  h.scale_up_events = ParseEvents(in, "scale_up_events");
  h.scale_down_events = ParseEvents(in, "scale_down_events");
  ReconcileInput r;
  r.current_replicas = Int32(in, "current_replicas");
  if (!IsNullOrAbsent(in, "min_replicas")) r.min_replicas = Int32(in, "min_replicas");
  r.max_replicas = Int32(in, "max_replicas");
  r.behavior = behavior.has_value() ? &*behavior : nullptr;
  r.metric_proposals = proposals;
  r.first_reconcile = first;
  r.flags.downscale_stabilization_window_seconds = Int32(in, "downscale_stabilization_window_s");
  r.flags.scale_up_limit_factor = Num(in, "scale_up_limit_factor");
  r.flags.scale_up_limit_minimum = Num(in, "scale_up_limit_minimum");
  r.scale_to_zero_gate = Bool(Field(in, "feature_gates"), "HPAScaleToZero");
  r.scaled_to_zero_condition = Bool(in, "scaled_to_zero_condition");
  r.has_object_or_external_metric = Bool(in, "has_object_or_external_metric");
  r.now = kNow;
  const ReconcileResult out = Reconcile(r, &h);
  got.Int("desired_replicas", out.desired_replicas);
  got.Bool("rescale", out.rescale);
  got.Bool("metrics_computed", out.metrics_computed);
  got.Bool("error", out.error);
  got.Condition("scaling_limited", out.scaling_limited);
  got.Condition("scaling_active", out.scaling_active);
  if (!out.able_to_scale_reason.empty()) got.Str("able_to_scale_reason", out.able_to_scale_reason);
}

// --- comparison ---

bool SubsetEqual(const Value& expected, const Value& got) {
  if (expected.IsObject()) {
    if (!got.IsObject()) return false;
    for (auto it = expected.MemberBegin(); it != expected.MemberEnd(); ++it) {
      auto g = got.FindMember(it->name);
      if (g == got.MemberEnd() || !SubsetEqual(it->value, g->value)) return false;
    }
    return true;
  }
  if (expected.IsArray()) {
    if (!got.IsArray() || expected.Size() != got.Size()) return false;
    for (rapidjson::SizeType i = 0; i < expected.Size(); ++i) {
      if (!SubsetEqual(expected[i], got[i])) return false;
    }
    return true;
  }
  if (expected.IsNumber()) {
    if (!got.IsNumber()) return false;
    if (expected.IsInt64() && got.IsInt64()) return expected.GetInt64() == got.GetInt64();
    if (expected.IsUint64() && got.IsUint64()) return expected.GetUint64() == got.GetUint64();
    return expected.GetDouble() == got.GetDouble();
  }
  return expected == got;
}

std::string ToJson(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

// Returns "" on a match, else a description of the mismatch.
std::string RunVector(const Value& vec) {
  const Value& in = Field(vec, "inputs");
  const Value& expected = Field(vec, "expected");
  const std::string op = Str(in, "op");
  Got got;
  if (op == "replicas_resource_utilization") {
    RunResourceUtilization(in, got);
  } else if (op == "replicas_average_value") {
    RunAverageValue(in, got);
  } else if (op == "replicas_object_value") {
    RunValue(in, got, false);
  } else if (op == "replicas_external_value") {
    RunValue(in, got, true);
  } else if (op == "replicas_object_average_value") {
    RunAverageTarget(in, got, false);
  } else if (op == "replicas_external_average_value") {
    RunAverageTarget(in, got, true);
  } else if (op == "classify_pod") {
    RunClassifyPod(in, got);
  } else if (op == "combine_metric_proposals") {
    RunCombine(in, got);
  } else if (op == "stabilize_legacy") {
    RunStabilizeLegacy(in, got);
  } else if (op == "convert_legacy") {
    RunConvertLegacy(in, got);
  } else if (op == "normalize_legacy") {
    RunNormalizeLegacy(in, got);
  } else if (op == "stabilize_behavior") {
    RunStabilizeBehavior(in, got);
  } else if (op == "scale_up_limit") {
    RunLimit(in, got, Direction::kUp);
  } else if (op == "scale_down_limit") {
    RunLimit(in, got, Direction::kDown);
  } else if (op == "rate_limit_behavior") {
    RunRateLimit(in, got);
  } else if (op == "normalize_behavior") {
    RunNormalizeBehavior(in, got);
  } else if (op == "store_scale_event") {
    RunStoreScaleEvent(in, got);
  } else if (op == "reconcile") {
    RunReconcile(in, got);
  } else {
    return "unknown op " + op;
  }

  // `error` is a message for failing ops, a bool for reconcile ("some metric failed").
  if (expected.HasMember("error") && expected["error"].IsString()) {
    const std::string want = Str(expected, "error");
    const Value& g = got.doc();
    if (!g.HasMember("error") || !g["error"].IsString())
      return "expected error containing \"" + want + "\", got " + ToJson(g);
    const std::string have = g["error"].GetString();
    if (have.find(want) == std::string::npos) {
      return "expected error containing \"" + want + "\", got \"" + have + "\"";
    }
    return "";
  }
  if (got.doc().HasMember("error") && got.doc()["error"].IsString()) {
    return std::string("unexpected error \"") + got.doc()["error"].GetString() + "\"";
  }
  if (!SubsetEqual(expected, got.doc())) {
    return "expected " + ToJson(expected) + "\n      got      " + ToJson(got.doc());
  }
  return "";
}

std::string FindVectors() {
  std::error_code ec;
  const char* env = std::getenv("AMAS_HPA_VECTORS");
  if (env != nullptr && *env != '\0' && std::filesystem::is_regular_file(env, ec)) return env;
  const std::string shared = amas::testing::SharedPath("conformance/hpa/vectors.json");
  if (!shared.empty() && std::filesystem::is_regular_file(shared, ec)) return shared;
  return "";
}

}  // namespace

int main() {
  const std::string path = FindVectors();
  if (path.empty()) {
    const char* env = std::getenv("AMAS_HPA_VECTORS");
    std::fprintf(stderr, "SKIPPED: hpa_conformance: no vector file (AMAS_HPA_VECTORS=%s)\n",
                 env != nullptr ? env : "<unset>");
    return amas::testing::SkipMissingShared("hpa_conformance");
  }
  bool ok = false;
  const std::string text = amas::testing::ReadFile(path, &ok);
  if (!ok) {
    std::fprintf(stderr, "hpa_conformance: cannot read %s\n", path.c_str());
    return 1;
  }
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  if (doc.HasParseError() || !doc.IsArray()) {
    std::fprintf(stderr, "hpa_conformance: %s is not a JSON array\n", path.c_str());
    return 1;
  }
  std::printf("hpa_conformance: %s\n", path.c_str());

  struct Count {
    int pass = 0;
    int total = 0;
  };
  std::map<std::string, Count> per_op;
  int pass = 0;
  int total = 0;
  for (const Value& vec : doc.GetArray()) {
    std::string op = "?";
    std::string name = "?";
    std::string failure;
    try {
      op = Str(Field(vec, "inputs"), "op");
      name = Str(vec, "name");
      failure = RunVector(vec);
    } catch (const BadVector& bad) {
      failure = "malformed vector: " + bad.what;
    }
    Count& c = per_op[op];
    ++c.total;
    ++total;
    if (failure.empty()) {
      ++c.pass;
      ++pass;
    } else {
      std::printf("FAIL [%s] %s\n      %s\n", op.c_str(), name.c_str(), failure.c_str());
    }
  }
  for (const auto& [op, c] : per_op) {
    std::printf("  %-34s %3d / %3d\n", op.c_str(), c.pass, c.total);
  }
  std::printf("hpa_conformance: %d / %d vectors pass\n", pass, total);
  return pass == total ? 0 : 1;
}
