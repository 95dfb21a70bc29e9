// A daemon's log (spdlog): one line per record on stdout, written through at once (a journal or
// a pipe sees it as it happens), each with a UTC timestamp, a level and the component.
//   --log-format text   2026-12-04T14:55:01.123Z info  wzp-relay  listening on ...
//   --log-format json
//   {"time":"2026-12-04T14:55:01.123Z","level":"info","component":"wzp-relay","msg":"listening on
//   ..."}
// Events (the relay's joins, leaves and refusals; the bridge's pages) are JSON objects: in json
// format their fields join the record's; in text format the object follows the prefix.
// --log-level drops records below it (debug, info, warn, error).
#pragma once

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace wzp::apps {

struct LogOptions {
  std::string format = "text";
  std::string level = "info";
};

// The two flags, bound to `o`; returned so that a caller with a config file can tell whether
// they were given.
inline std::pair<CLI::Option*, CLI::Option*> add_log_flags(CLI::App& app, LogOptions& o) {
  return {app.add_option("--log-format", o.format, "text or json (one JSON object per line)")
              ->check(CLI::IsMember({"text", "json"})),
          app.add_option("--log-level", o.level,
                         "the least a record must be to be written: debug, info, warn or error")
              ->check(CLI::IsMember({"debug", "info", "warn", "error"}))};
}

class Log {
 public:
  Log(const std::string& component, const LogOptions& o)
      : json_(o.format == "json"),
        logger_(std::make_shared<spdlog::logger>(
            component, std::make_shared<spdlog::sinks::stdout_sink_mt>())) {
    // The level's short name is padded in text (the lines align), exact in JSON.
    logger_->set_pattern(
        json_ ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","component":"%n",%v})"
              : "%Y-%m-%dT%H:%M:%S.%eZ %-5l %n  %v",
        spdlog::pattern_time_type::utc);
    logger_->set_level(spdlog::level::from_str(o.level));
    logger_->flush_on(spdlog::level::trace);
  }

  // From now on (a reload).
  void set_level(const std::string& level) { logger_->set_level(spdlog::level::from_str(level)); }

  void info(const std::string& text) { say(spdlog::level::info, text); }
  void warn(const std::string& text) { say(spdlog::level::warn, text); }
  void error(const std::string& text) { say(spdlog::level::err, text); }

  // An event: a JSON object (anything else is logged as text).
  void event(spdlog::level::level_enum level, const std::string& object) {
    if (!json_) return logger_->log(level, "{}", object);
    if (object.size() < 2 || object.front() != '{' || object.back() != '}')
      return say(level, object);
    const std::string fields = object.substr(1, object.size() - 2);
    logger_->log(level, "{}", fields.empty() ? R"("msg":"")" : fields);
  }

 private:
  void say(spdlog::level::level_enum level, const std::string& text) {
    if (!json_) return logger_->log(level, "{}", text);
    logger_->log(
        level, "\"msg\":{}",
        nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  bool json_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace wzp::apps
