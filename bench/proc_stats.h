// What a running process costs, read from /proc, and what a process says over HTTP (/metrics,
// /healthz).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace wzp::bench {

struct ProcessSample {
  bool alive = false;
  double rss_kb = 0;
  double fds = 0;    // open file descriptors
  double cpu_s = 0;  // user + system time so far
};
ProcessSample sample_process(pid_t pid);

// The body of an HTTP GET (curl, 5 s at most), or nothing when it failed.
std::optional<std::string> fetch_http(const std::string& url);
// The value of an unlabelled sample `name` in Prometheus text, or -1.
double metric_value(const std::string& text, const std::string& name);

}  // namespace wzp::bench
